package clientweb_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
)

func request(t *testing.T, method, url, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// msgrConfig is what clients read of the configuration.
type msgrConfig struct {
	XMLName xml.Name `xml:"MsgrConfig"`
	Expires string   `xml:"Simple>Config>ExpiresInDays"`
	Relay   string   `xml:"Simple>Relay>Enabled"`
}

// TestMsgrConfig: WLM 8.x and 2009 GET the configuration with their
// version (from both ports, any case of the path), MSN 6 and 7 POST a SOAP
// GetClientConfig and find it inside the answer.
func TestMsgrConfig(t *testing.T) {
	srv := coretest.Start(t)
	for _, url := range []string{
		srv.HTTPURL + "/Config/MsgrConfig.asmx?ver=8.5.1302.1018&Country=US&PLCID=0409&CLCID=0409&GeoID=244",
		srv.HTTPURL + "/config/MsgrConfig.asmx?ver=14.0.8117.0416&Country=US&PLCID=0409&CLCID=0409",
		srv.HTTPURL + "//Config/MsgrConfig.asmx?ver=8.1.0178.00",
		srv.HTTPURL + "/etc/MsgrConfig?ver=14.0.8089",
	} {
		status, h, body := request(t, http.MethodGet, url, "", nil)
		var c msgrConfig
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/xml") || xml.Unmarshal([]byte(body), &c) != nil ||
			c.Expires != "0" || c.Relay != "0" {
			t.Fatalf("GET %s: %d %s\n%s", url, status, h.Get("Content-Type"), body)
		}
		if strings.Contains(body, "http") {
			t.Fatalf("the configuration names a page or service: %s", body)
		}
	}
	if status, _, _ := request(t, http.MethodGet, srv.HTTPURL+"/Config/MsgrConfig.asmx?ver=14.0.beta", "", nil); status != http.StatusBadRequest {
		t.Fatalf("a ver that is not a version: HTTP %d", status)
	}

	soapReq := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetClientConfig xmlns="http://www.msn.com/webservices/Messenger/Client"><clientinfo><Country>US</Country><CLCID>0409</CLCID><PLCID>0409</PLCID><GeoID>244</GeoID></clientinfo></GetClientConfig></soap:Body></soap:Envelope>`
	status, _, body := request(t, http.MethodPost, srv.HTTPURL+"/Config/MsgrConfig.asmx", soapReq, map[string]string{
		"SOAPAction": `"http://www.msn.com/webservices/Messenger/Client/GetClientConfig"`, "Content-Type": "text/xml; charset=utf-8",
	})
	var env struct {
		Result string `xml:"Body>GetClientConfigResponse>GetClientConfigResult"`
	}
	var c msgrConfig
	if status != http.StatusOK || xml.Unmarshal([]byte(body), &env) != nil || xml.Unmarshal([]byte(env.Result), &c) != nil || c.Expires != "0" {
		t.Fatalf("GetClientConfig: HTTP %d\n%s", status, body)
	}
	status, _, body = request(t, http.MethodPost, srv.HTTPURL+"/Config/MsgrConfig.asmx", strings.Replace(soapReq, "GetClientConfig", "Reboot", 2), nil)
	if status != http.StatusInternalServerError || !strings.Contains(body, "<soap:Fault>") {
		t.Fatalf("another SOAP call: HTTP %d\n%s", status, body)
	}
}

// TestProbeAndSha1auth: the key-port probe (POST / with nothing) gets an
// empty 200, and WLM's sha1auth.srf a page saying there is nothing, not a
// redirect to where the form says.
func TestProbeAndSha1auth(t *testing.T) {
	srv := coretest.Start(t)
	status, _, body := request(t, http.MethodPost, srv.HTTPURL+"/", "", nil)
	if status != http.StatusOK || body != "" {
		t.Fatalf("POST /: %d %q", status, body)
	}
	if status, _, _ := request(t, http.MethodGet, srv.HTTPURL+"/", "", nil); status == http.StatusOK {
		t.Fatal("GET / answers 200: only the POST probe is served at the root")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, srv.HTTPURL+"/ppsecure/sha1auth.srf?lc=1033&id=73625",
		strings.NewReader("token=t%3Dabc%26p%3D%26ru%3Dhttp%3A%2F%2Fevil.example%2F"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !strings.Contains(string(b), "nothing to show") {
		t.Fatalf("sha1auth: %d, Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), b)
	}
}
