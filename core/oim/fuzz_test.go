package oim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/store"
)

type anyTicket struct{}

func (anyTicket) Check(token, domain string) (string, bool) {
	return "alice@example.com", strings.Contains(token, "good")
}

// FuzzHandler: any body to Store2 or rsi gets a SOAP answer, never a panic.
func FuzzHandler(f *testing.F) {
	st, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"), store.Options{BcryptCost: 4})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	for _, u := range []string{"alice@example.com", "bob@example.com"} {
		if _, err := st.CreateAccount(context.Background(), u, "pw", u); err != nil {
			f.Fatal(err)
		}
	}
	h := Handler(Config{Store: st, Grants: anyTicket{}})
	f.Add(false, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><From memberName="alice@example.com" friendlyName="=?utf-8?B?QQ==?="/><To memberName="bob@example.com"/><Ticket passport="good" lockkey="0123456789abcdef0123456789abcdef"/></soap:Header><soap:Body><Content>MIME-Version: 1.0
Content-Transfer-Encoding: base64

aGk=</Content></soap:Body></soap:Envelope>`)
	f.Add(true, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><PassportCookie><t>good</t><p/></PassportCookie></soap:Header><soap:Body><GetMessage><messageId>x</messageId></GetMessage></soap:Body></soap:Envelope>`)
	f.Add(true, `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><PassportCookie><t>good</t><p/></PassportCookie></soap:Header><soap:Body><DeleteMessages><messageIds><messageId>x</messageId></messageIds></DeleteMessages></soap:Body></soap:Envelope>`)
	f.Fuzz(func(t *testing.T, read bool, body string) {
		path := "/OimWS/oim.asmx"
		if read {
			path = "/rsi/rsi.asmx"
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		if w.Code == http.StatusOK && !strings.Contains(w.Body.String(), "<soap:Body>") {
			t.Fatalf("200 without a body: %s", w.Body.String())
		}
		_, _ = decodeContent(body)
	})
}
