package passport

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rstBody builds a RequestMultipleSecurityTokens request the way MSN
// Messenger 7.5 / Windows Live Messenger 8 shape it.
func rstBody(user, password string, addresses ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext"
  xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion"
  xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy"
  xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
  xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing"
  xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc"
  xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">
 <Header>
  <ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo">
   <ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp>
   <ps:BinaryVersion>4</ps:BinaryVersion>
   <ps:UIVersion>1</ps:UIVersion>
   <ps:Cookies></ps:Cookies>
   <ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams>
  </ps:AuthInfo>
  <wsse:Security>
   <wsse:UsernameToken Id="user">
    <wsse:Username>`)
	_ = xml.EscapeText(&b, []byte(user))
	b.WriteString(`</wsse:Username>
    <wsse:Password>`)
	_ = xml.EscapeText(&b, []byte(password))
	b.WriteString(`</wsse:Password>
   </wsse:UsernameToken>
  </wsse:Security>
 </Header>
 <Body>
  <ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">
`)
	for i, a := range addresses {
		fmt.Fprintf(&b, `   <wst:RequestSecurityToken Id="RST%d">
    <wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>
    <wsp:AppliesTo><wsa:EndpointReference><wsa:Address>%s</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>
    <wsse:PolicyReference URI="MBI"></wsse:PolicyReference>
   </wst:RequestSecurityToken>
`, i, a)
	}
	b.WriteString("  </ps:RequestMultipleSecurityTokens>\n </Body>\n</Envelope>\n")
	return b.String()
}

var msnAddresses = []string{
	"http://Passport.NET/tb", "messengerclear.live.com", "messenger.msn.com",
	"contacts.msn.com", "messengersecure.live.com", "spaces.live.com", "storage.msn.com",
}

// rstResult is the part of a response the tests check, read namespace-aware.
type rstResult struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	PP      struct {
		PUID      string `xml:"PUID"`
		ReqStatus string `xml:"reqstatus"`
		Creds     []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"credProperties>credProperty"`
	} `xml:"Header>pp"`
	Responses []struct {
		TokenType string `xml:"http://schemas.xmlsoap.org/ws/2004/04/trust TokenType"`
		Address   string `xml:"AppliesTo>EndpointReference>Address"`
		Created   string `xml:"LifeTime>Created"`
		Expires   string `xml:"LifeTime>Expires"`
		Token     struct {
			ID    string `xml:"Id,attr"`
			Value string `xml:",chardata"`
		} `xml:"RequestedSecurityToken>BinarySecurityToken"`
		Encrypted string `xml:"RequestedSecurityToken>EncryptedData>CipherData>CipherValue"`
		Secret    string `xml:"RequestedProofToken>BinarySecret"`
	} `xml:"Body>RequestSecurityTokenResponseCollection>RequestSecurityTokenResponse"`
	Fault struct {
		Code string `xml:"faultcode"`
	} `xml:"Body>Fault"`
}

func postRST(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "text/xml; charset=utf-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestRSTSuccess(t *testing.T) {
	srv, tk := newServer(t, time.Minute, "")
	before := time.Now()
	status, body := postRST(t, srv.URL+"/RST.srf", rstBody("Alice@Example.com", testPassword, msnAddresses...))
	if status != http.StatusOK {
		t.Fatalf("status %d\n%s", status, body)
	}
	var res rstResult
	if err := xml.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("response is not the expected XML: %v\n%s", err, body)
	}
	if res.Fault.Code != "" {
		t.Fatalf("fault %q", res.Fault.Code)
	}
	if res.PP.ReqStatus != "0x0" || len(res.PP.PUID) != 16 {
		t.Fatalf("psf:pp reqstatus %q PUID %q", res.PP.ReqStatus, res.PP.PUID)
	}
	if len(res.Responses) != len(msnAddresses) {
		t.Fatalf("%d token responses for %d addresses", len(res.Responses), len(msnAddresses))
	}
	// Escaped '&' on the wire, as clients expect before they XML-decode.
	if !strings.Contains(body, "&amp;p=</wsse:BinarySecurityToken>") {
		t.Fatal("BinarySecurityToken does not end in &amp;p=")
	}

	var ticket, sso string
	var secret []byte
	for i, r := range res.Responses {
		if r.Address != msnAddresses[i] {
			t.Errorf("response %d for %q, want %q", i, r.Address, msnAddresses[i])
		}
		created, err1 := time.Parse(time.RFC3339, r.Created)
		expires, err2 := time.Parse(time.RFC3339, r.Expires)
		if err1 != nil || err2 != nil || !created.Before(before) || !expires.After(before.Add(time.Minute)) {
			t.Errorf("%s: LifeTime %q .. %q", r.Address, r.Created, r.Expires)
		}
		if i == 0 { // Passport.NET/tb
			if r.TokenType != "urn:passport:legacy" || r.Encrypted == "" || r.Token.Value != "" {
				t.Errorf("tb token: type %q encrypted %q compact %q", r.TokenType, r.Encrypted, r.Token.Value)
			}
			continue
		}
		if r.TokenType != "urn:passport:compact" {
			t.Errorf("%s: TokenType %q", r.Address, r.TokenType)
		}
		if want := fmt.Sprintf("Compact%d", i); r.Token.ID != want {
			t.Errorf("%s: Id %q, want %q", r.Address, r.Token.ID, want)
		}
		if !strings.HasPrefix(r.Token.Value, "t=") || !strings.HasSuffix(r.Token.Value, "&p=") {
			t.Errorf("%s: token %q", r.Address, r.Token.Value)
		}
		got := TicketFromUSR(r.Token.Value)
		if r.Address == "messengerclear.live.com" {
			// The SSO ticket is its own, bound to the BinarySecret.
			sso = got
			var err error
			if secret, err = base64.StdEncoding.DecodeString(r.Secret); err != nil || len(secret) != 24 {
				t.Errorf("BinarySecret %q: %d bytes, %v", r.Secret, len(secret), err)
			}
			continue
		}
		if ticket == "" {
			ticket = got
		} else if got != ticket {
			t.Errorf("%s: ticket %q differs from %q", r.Address, got, ticket)
		}
		if r.Secret != "" {
			t.Errorf("%s: unexpected BinarySecret", r.Address)
		}
	}
	if sso == "" || sso == ticket {
		t.Fatalf("SSO ticket %q, sign-in ticket %q", sso, ticket)
	}
	// It signs in only with its proof key (which the client must prove it
	// holds): alone it does nothing, and it is used up once shown.
	if tk.Redeem(sso, testEmail) {
		t.Fatal("the SSO ticket redeemed without its proof key")
	}
	if key, ok := tk.RedeemKey(sso, testEmail); !ok || !bytes.Equal(key, secret) {
		t.Fatalf("RedeemKey = %x, %v; want the BinarySecret %x", key, ok, secret)
	}
	if _, ok := tk.RedeemKey(sso, testEmail); ok {
		t.Fatal("the SSO ticket redeemed twice")
	}
	if _, ok := tk.RedeemKey(ticket, testEmail); ok {
		t.Fatal("the TWN ticket taken as an SSO one")
	}

	var cid, member string
	for _, c := range res.PP.Creds {
		switch c.Name {
		case "CID":
			cid = c.Value
		case "AuthMembername":
			member = c.Value
		}
	}
	if member != testEmail || len(cid) != 16 {
		t.Errorf("credProperties AuthMembername %q CID %q", member, cid)
	}

	// The NS takes it from "USR n TWN S t=…&amp;p=" without decoding it.
	if !tk.Redeem(TicketFromUSR("t="+ticket+"&amp;p="), testEmail) {
		t.Fatal("RST ticket refused")
	}
	if tk.Redeem(ticket, testEmail) {
		t.Fatal("RST ticket redeemed twice")
	}

	// A second sign-in: new ticket, same PUID.
	_, body2 := postRST(t, srv.URL+"/RST.srf", rstBody(testEmail, testPassword, "messenger.msn.com"))
	var res2 rstResult
	if err := xml.Unmarshal([]byte(body2), &res2); err != nil || len(res2.Responses) != 1 {
		t.Fatalf("second RST: %v, %d responses", err, len(res2.Responses))
	}
	if res2.PP.PUID != res.PP.PUID {
		t.Errorf("PUID changed between sign-ins: %q, %q", res.PP.PUID, res2.PP.PUID)
	}
	if t2 := TicketFromUSR(res2.Responses[0].Token.Value); t2 == ticket || !tk.Redeem(t2, testEmail) {
		t.Errorf("second ticket %q (first %q) not fresh or refused", t2, ticket)
	}
}

func TestRST2Namespaces(t *testing.T) {
	// WLM 2009 era requests (RST2.srf) use the 2005/02 trust and OASIS
	// secext namespaces and SOAP 1.2-era prefixes; answer in the same terms.
	const wst = "http://schemas.xmlsoap.org/ws/2005/02/trust"
	const wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	body := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsse="` + wsse + `" xmlns:wst="` + wst + `"
 xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" xmlns:wsa="http://www.w3.org/2005/08/addressing">
 <s:Header><wsse:Security><wsse:UsernameToken><wsse:Username>alice@example.com</wsse:Username>
 <wsse:Password>` + strings.ReplaceAll(testPassword, "&", "&amp;") + `</wsse:Password></wsse:UsernameToken></wsse:Security></s:Header>
 <s:Body><wst:RequestSecurityToken Id="RST0"><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messengerclear.live.com</wsa:Address>
 </wsa:EndpointReference></wsp:AppliesTo></wst:RequestSecurityToken></s:Body></s:Envelope>`
	srv, tk := newServer(t, time.Minute, "")
	status, resp := postRST(t, srv.URL+"/RST2.srf", body)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	for _, ns := range []string{`xmlns:wst="` + wst + `"`, `xmlns:wsse="` + wsse + `"`, `xmlns:wsa="http://www.w3.org/2005/08/addressing"`} {
		if !strings.Contains(resp, ns) {
			t.Errorf("response does not declare %s", ns)
		}
	}
	var tok struct {
		Value string `xml:",chardata"`
	}
	dec := xml.NewDecoder(strings.NewReader(resp))
	for {
		tt, err := dec.Token()
		if err != nil {
			t.Fatalf("no BinarySecurityToken: %v", err)
		}
		if se, ok := tt.(xml.StartElement); ok && se.Name.Local == "BinarySecurityToken" {
			if se.Name.Space != wsse {
				t.Errorf("BinarySecurityToken in namespace %q", se.Name.Space)
			}
			if err := dec.DecodeElement(&tok, &se); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if _, ok := tk.RedeemKey(TicketFromUSR(tok.Value), testEmail); !ok {
		t.Fatalf("ticket from %q refused", tok.Value)
	}
}

func TestRSTNoAddresses(t *testing.T) {
	srv, tk := newServer(t, time.Minute, "")
	_, body := postRST(t, srv.URL+"/RST.srf", rstBody(testEmail, testPassword))
	var res rstResult
	if err := xml.Unmarshal([]byte(body), &res); err != nil || len(res.Responses) != 1 {
		t.Fatalf("%v, %d responses", err, len(res.Responses))
	}
	if r := res.Responses[0]; r.Address != "messenger.msn.com" || !tk.Redeem(TicketFromUSR(r.Token.Value), testEmail) {
		t.Fatalf("default token for %q, %q not redeemable", r.Address, r.Token.Value)
	}
}

func TestRSTFailures(t *testing.T) {
	srv, tk := newServer(t, time.Minute, "")
	for name, body := range map[string]string{
		"wrong password":        rstBody(testEmail, "nope", msnAddresses...),
		"unknown user":          rstBody("bob@example.com", testPassword, msnAddresses...),
		"empty password":        rstBody(testEmail, "", msnAddresses...),
		"empty body":            "",
		"not XML":               "hello, world",
		"truncated":             rstBody(testEmail, testPassword, msnAddresses...)[:300],
		"unbalanced":            "<a><b></a>",
		"no credentials":        "<Envelope><Body/></Envelope>",
		"outside UsernameToken": "<Envelope><Username>alice@example.com</Username><Password>x</Password></Envelope>",
		"deep":                  strings.Repeat("<a>", 1000) + strings.Repeat("</a>", 1000),
	} {
		for _, path := range []string{"/RST.srf", "/RST2.srf"} {
			status, resp := postRST(t, srv.URL+path, body)
			if status != http.StatusOK {
				t.Errorf("%s %s: status %d, want 200 with a fault", name, path, status)
				continue
			}
			var res rstResult
			if err := xml.Unmarshal([]byte(resp), &res); err != nil {
				t.Errorf("%s %s: fault is not XML: %v", name, path, err)
				continue
			}
			if res.Fault.Code != "wsse:FailedAuthentication" || res.PP.ReqStatus != "0x80048823" || len(res.Responses) != 0 {
				t.Errorf("%s %s: faultcode %q reqstatus %q, %d tokens", name, path, res.Fault.Code, res.PP.ReqStatus, len(res.Responses))
			}
		}
	}
	if n := tk.Len(); n != 0 {
		t.Fatalf("%d tickets issued by failed RSTs", n)
	}
}

func TestRSTOversized(t *testing.T) {
	srv, tk := newServer(t, time.Minute, "")
	// Valid credentials, padded past the limit with whitespace.
	body := strings.Replace(rstBody(testEmail, testPassword, "messenger.msn.com"), "<Body>", "<Body>"+strings.Repeat(" ", maxRSTBody), 1)
	status, _ := postRST(t, srv.URL+"/RST.srf", body)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", status)
	}
	if n := tk.Len(); n != 0 {
		t.Fatalf("%d tickets issued for an oversized request", n)
	}
}

func TestRSTMethod(t *testing.T) {
	srv, _ := newServer(t, time.Minute, "")
	resp, err := http.Get(srv.URL + "/RST.srf")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /RST.srf: status %d, want 405", resp.StatusCode)
	}
}

func TestParseRSTLimits(t *testing.T) {
	addrs := make([]string, 100)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("svc%d.example.com", i)
	}
	addrs[3] = strings.Repeat("x", maxAddressLen+1)
	req, err := parseRST([]byte(rstBody(testEmail, testPassword, addrs...)))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.addresses) != maxRSTAddresses {
		t.Fatalf("%d addresses kept, want %d", len(req.addresses), maxRSTAddresses)
	}
	for _, a := range req.addresses {
		if len(a) > maxAddressLen {
			t.Fatal("overlong address kept")
		}
	}
	if req.username != testEmail || req.password != testPassword {
		t.Fatalf("credentials %q %q", req.username, req.password)
	}
}

// pidginTWNBody is the RST.srf request of Pidgin 2.5's MSN plugin (and, in
// the same shape, phpmsnclass) at MSNP12: the ticket for messenger.msn.com
// is asked for with the USR TWN S challenge as its policy, "?" first.
const pidginTWNBody = `<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">` +
	`<Header><ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo"><ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion><ps:UIVersion>1</ps:UIVersion><ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAzMDg0</ps:RequestParams></ps:AuthInfo>` +
	`<wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>alice@example.com</wsse:Username><wsse:Password>secret</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body>` +
	`<ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">` +
	`<wst:RequestSecurityToken Id="RST0"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>http://Passport.NET/tb</wsa:Address></wsa:EndpointReference></wsp:AppliesTo></wst:RequestSecurityToken>` +
	`<wst:RequestSecurityToken Id="RST1"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
	`<wsse:PolicyReference URI="?lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1136214245,kpp=1,kv=5,ver=2.1.0173.1,tpf=0123456789abcdef0123456789abcdef"></wsse:PolicyReference>` +
	`</wst:RequestSecurityToken></ps:RequestMultipleSecurityTokens></Body></Envelope>`

// TestRSTTokenShapes: each generation finds its ticket where it looks.
// Clients compare the element as a string: Pidgin 2.5's plugin and
// phpmsnclass look only for Id="PPToken1", which is what Passport gave
// tokens asked for with a Passport 1.4 ("?…") policy; Windows Live clients
// ask with an MBI policy and read Compact1. msn-pecan and bitlbee take
// either.
func TestRSTTokenShapes(t *testing.T) {
	srv, _ := newServer(t, time.Minute, "")
	const user, pass = testEmail, testPassword
	var esc strings.Builder
	xml.EscapeText(&esc, []byte(pass))
	body := strings.Replace(strings.Replace(pidginTWNBody, "alice@example.com", user, 1), ">secret<", ">"+esc.String()+"<", 1)
	status, resp := postRST(t, srv.URL+"/RST.srf", body)
	if status != 200 || !strings.Contains(resp, `<wsse:BinarySecurityToken Id="PPToken1">t=`) ||
		!strings.Contains(resp, `<wsse:Reference URI="#PPToken1">`) || strings.Contains(resp, `Id="Compact1"`) {
		t.Fatalf("Passport 1.4 policy: status %d\n%s", status, resp)
	}
	// The token is where Pidgin cuts it out: between the tag and the next
	// '<', "t=…&amp;p=…".
	start := strings.Index(resp, `<wsse:BinarySecurityToken Id="PPToken1">`) + len(`<wsse:BinarySecurityToken Id="PPToken1">`)
	if token := resp[start : start+strings.IndexByte(resp[start:], '<')]; !strings.HasPrefix(token, "t=") || !strings.HasSuffix(token, "&amp;p=") {
		t.Fatalf("PPToken1 holds %q", token)
	}

	// Windows Live Messenger asks with MBI_KEY_OLD: Compact1.
	wlm := strings.Replace(rstBody(user, pass, "http://Passport.NET/tb", "messengerclear.live.com"), `URI="MBI"`, `URI="MBI_KEY_OLD"`, -1)
	status, resp = postRST(t, srv.URL+"/RST.srf", wlm)
	if status != 200 || !strings.Contains(resp, `<wsse:BinarySecurityToken Id="Compact1">t=`) || strings.Contains(resp, "PPToken") {
		t.Fatalf("MBI policy: status %d\n%s", status, resp)
	}

	// The policy may come before the address, and goes with its own token.
	mixed := strings.Replace(rstBody(user, pass, "messenger.msn.com", "contacts.msn.com"),
		`<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com`,
		`<wsse:PolicyReference URI="?id=507"></wsse:PolicyReference><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com`, 1)
	mixed = strings.Replace(mixed, `<wsse:PolicyReference URI="MBI"></wsse:PolicyReference>
   </wst:RequestSecurityToken>
   <wst:RequestSecurityToken Id="RST1">`, `</wst:RequestSecurityToken>
   <wst:RequestSecurityToken Id="RST1">`, 1)
	status, resp = postRST(t, srv.URL+"/RST.srf", mixed)
	if status != 200 || !strings.Contains(resp, `Id="PPToken0">`) || !strings.Contains(resp, `Id="Compact1">`) {
		t.Fatalf("policy before the address: status %d\n%s", status, resp)
	}
}
