package coretest

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// WLMAddresses are the RST addresses WLM 8 asks tokens for.
var WLMAddresses = []string{"http://Passport.NET/tb", "messengerclear.live.com", "messenger.msn.com",
	"contacts.msn.com", "messengersecure.live.com", "spaces.live.com", "storage.msn.com"}

// Tokens signs in at RST.srf as an MSNP13+ client does and returns the
// compact tokens ("t=…&p=…") by address; with no addresses given it asks
// for WLMAddresses.
func (s *Server) Tokens(t testing.TB, email, password string, addresses ...string) map[string]string {
	t.Helper()
	if len(addresses) == 0 {
		addresses = WLMAddresses
	}
	var b strings.Builder
	esc := func(v string) { _ = xml.EscapeText(&b, []byte(v)) }
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust"><Header><wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>`)
	esc(email)
	b.WriteString(`</wsse:Username><wsse:Password>`)
	esc(password)
	b.WriteString(`</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">`)
	for i, a := range addresses {
		b.WriteString(`<wst:RequestSecurityToken Id="RST` + strconv.Itoa(i) + `"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>`)
		esc(a)
		b.WriteString(`</wsa:Address></wsa:EndpointReference></wsp:AppliesTo></wst:RequestSecurityToken>`)
	}
	b.WriteString(`</ps:RequestMultipleSecurityTokens></Body></Envelope>`)
	resp, err := http.Post(s.HTTPURL+"/RST.srf", "text/xml", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		R []struct {
			Address string `xml:"AppliesTo>EndpointReference>Address"`
			Token   string `xml:"RequestedSecurityToken>BinarySecurityToken"`
		} `xml:"Body>RequestSecurityTokenResponseCollection>RequestSecurityTokenResponse"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range res.R {
		if r.Token != "" {
			m[r.Address] = r.Token
		}
	}
	if len(m) == 0 {
		t.Fatalf("RST for %s gave no tokens", email)
	}
	return m
}
