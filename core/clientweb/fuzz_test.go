package clientweb

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzMsgrConfig feeds arbitrary GetClientConfig bodies and versions: the
// answer is the configuration, a SOAP fault or an HTTP error, never a
// panic.
func FuzzMsgrConfig(f *testing.F) {
	f.Add(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetClientConfig xmlns="http://www.msn.com/webservices/Messenger/Client"><clientinfo><Country>US</Country></clientinfo></GetClientConfig></soap:Body></soap:Envelope>`, "")
	f.Add("", "8.5.1302.1018")
	f.Fuzz(func(t *testing.T, body, ver string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/Config/MsgrConfig.asmx", strings.NewReader(body))
		q := r.URL.Query()
		q.Set("ver", ver)
		r.URL.RawQuery = q.Encode()
		Handler().ServeHTTP(w, r)
		if w.Code == http.StatusOK && !strings.Contains(w.Body.String(), "MsgrConfig") {
			t.Fatalf("200 without the configuration: %s", w.Body.String())
		}
	})
}
