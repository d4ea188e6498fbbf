package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// DefaultNexusURL is the Passport nexus MSN Messenger asked for the login
// server's address.
const DefaultNexusURL = "https://nexus.passport.com/rdr/pprdr.asp"

// PassportConfig says where MSNP8–12 sign-ins get their Passport ticket.
//
// Passport 1.4, the way MSN Messenger 5–7 signed in: the client asks the
// nexus for the login server (the DALogin item of its PassportURLs
// header), then sends the credentials to that login server (login2.srf) in
// an Authorization header and takes the ticket from the
// Authentication-Info header of the answer. Or, with RSTURL, the client
// asks the SOAP RequestSecurityToken service (RST.srf), as MSN Messenger
// 7.5 could.
//
// Which one is used: RSTURL if set; else LoginURL if set; else the nexus
// at NexusURL if set; else URL/login2.srf if URL is set; else the nexus at
// DefaultNexusURL.
type PassportConfig struct {
	// URL is the base URL of a server that serves the Passport endpoints
	// itself under their usual paths, such as "http://127.0.0.1:8080" for
	// a Nudge server: the client signs in at URL/login2.srf directly.
	URL string
	// NexusURL is the Passport nexus (…/rdr/pprdr.asp) to ask for the
	// login server.
	NexusURL string
	// LoginURL is the Passport 1.4 login server (…/login2.srf).
	LoginURL string
	// RSTURL is the SOAP RequestSecurityToken service (…/RST.srf). MSNP13+
	// sign-ins always use one: RSTURL, else URL/RST.srf, else RST.srf on
	// the host of LoginURL or NexusURL, else DefaultRSTURL.
	RSTURL string
	// AddressBookURL is the base of the address book service MSNP13+
	// clients read their lists from (…/abservice/abservice.asmx below
	// it); empty means the scheme and host of the RST service.
	AddressBookURL string
	// InsecureSkipVerify accepts any TLS certificate, for servers with a
	// self-signed one. It applies to the client built when HTTPClient is
	// nil.
	InsecureSkipVerify bool
	// HTTPClient makes the requests; nil means a client with a 30-second
	// timeout. Redirects are followed by the sign-in code itself, which
	// must send the credentials again.
	HTTPClient *http.Client
}

func (p PassportConfig) httpClient() *http.Client {
	var hc http.Client
	if p.HTTPClient != nil {
		hc = *p.HTTPClient
	} else {
		hc.Timeout = 30 * time.Second
		if p.InsecureSkipVerify {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
			hc.Transport = tr
		}
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

// passportTicket gets the ticket string for "USR trid TWN S" from the
// parameters the server sent in "USR trid TWN S <params>".
func passportTicket(ctx context.Context, hc *http.Client, p PassportConfig, email, password, params string) (string, error) {
	if p.RSTURL != "" {
		return rstTicket(ctx, hc, p.RSTURL, email, password)
	}
	login := p.LoginURL
	if login == "" && p.NexusURL == "" && p.URL != "" {
		login = strings.TrimSuffix(p.URL, "/") + "/login2.srf"
	}
	if login == "" {
		nexus := p.NexusURL
		if nexus == "" {
			nexus = DefaultNexusURL
		}
		var err error
		if login, err = nexusLogin(ctx, hc, nexus); err != nil {
			return "", err
		}
	}
	return passport14(ctx, hc, login, email, password, params)
}

// nexusLogin asks the nexus where the login server is.
func nexusLogin(ctx context.Context, hc *http.Client, nexus string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, nexus, nil)
	if err != nil {
		return "", fmt.Errorf("client: passport nexus %q: %w", nexus, err)
	}
	req.Header.Set("User-Agent", "MSMSGS")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("client: passport nexus: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	h := headerValue(resp.Header, "PassportURLs")
	if h == "" {
		return "", fmt.Errorf("client: passport nexus %s answered %s without a PassportURLs header", nexus, resp.Status)
	}
	u, err := auth.ParsePassportURLs(h)
	if err != nil {
		return "", fmt.Errorf("client: passport nexus: %w", err)
	}
	return loginURLFrom(nexus, u.DALogin), nil
}

// loginURLFrom makes DALogin absolute. Without a scheme Passport meant
// https; but when DALogin names the nexus's own host and port, it is taken
// with the nexus's scheme, so that a development server that serves both on
// one plain-HTTP port works.
func loginURLFrom(nexus, daLogin string) string {
	if strings.Contains(daLogin, "://") {
		return daLogin
	}
	if n, err := url.Parse(nexus); err == nil && n.Host != "" {
		host, _, _ := strings.Cut(daLogin, "/")
		if strings.EqualFold(host, n.Host) {
			return n.Scheme + "://" + daLogin
		}
	}
	return "https://" + daLogin
}

// headerValue looks a header up by name without regard to case: servers
// send "PassportURLs" and "Authentication-Info" in their historical case.
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// passport14 signs in at a Passport 1.4 login server, following redirects
// with the credentials.
func passport14(ctx context.Context, hc *http.Client, login, email, password, params string) (string, error) {
	a, err := auth.NewPassportAuthorization(email, password, params)
	if err != nil {
		return "", fmt.Errorf("client: passport parameters from the server: %w", err)
	}
	authz := a.String()
	for range 5 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, login, nil)
		if err != nil {
			return "", fmt.Errorf("client: passport login URL %q: %w", login, err)
		}
		req.Header.Set("Authorization", authz)
		req.Header.Set("User-Agent", "MSMSGS")
		resp, err := hc.Do(req)
		if err != nil {
			return "", fmt.Errorf("client: passport login: %w", err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			h := headerValue(resp.Header, "Authentication-Info")
			ai, err := auth.ParseAuthenticationInfo(h)
			if err != nil {
				return "", fmt.Errorf("client: passport login: bad Authentication-Info %q: %w", h, err)
			}
			if !strings.EqualFold(ai.Status, "success") || ai.FromPP == "" {
				return "", fmt.Errorf("client: passport login for %s refused (da-status=%s): %w", email, ai.Status, msnp.ErrAuthFailed)
			}
			return ai.FromPP, nil
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return "", fmt.Errorf("client: passport login for %s refused: wrong e-mail address or password: %w", email, msnp.ErrAuthFailed)
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return "", fmt.Errorf("client: passport login: redirect without a location: %w", err)
			}
			login = loc.String()
		default:
			return "", fmt.Errorf("client: passport login at %s answered %s", login, resp.Status)
		}
	}
	return "", errors.New("client: passport login: too many redirects")
}

// rstAddress is a service an RST request asks a token for, with the
// policy of that token.
type rstAddress struct{ address, policy string }

// msnpRST is what MSN Messenger 7.5 asked RST.srf for: the Passport token
// and the messenger ticket.
var msnpRST = []rstAddress{{"http://Passport.NET/tb", ""}, {"messenger.msn.com", "?id=507"}}

// rstRequest is the WS-Trust request for the tokens of addrs, numbered
// RST0, RST1… as Windows Live Messenger numbers them (the answer's
// CompactN is the token of RSTN).
func rstRequest(email, password string, addrs []rstAddress) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` +
		`<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" ` +
		`xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" ` +
		`xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" ` +
		`xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wssc="http://schemas.xmlsoap.org/ws/2004/04/sc" ` +
		`xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">` +
		`<Header><ps:AuthInfo xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="PPAuthInfo">` +
		`<ps:HostingApp>{7108E71A-9926-4FCB-BCC9-9A9D3F32E423}</ps:HostingApp><ps:BinaryVersion>4</ps:BinaryVersion>` +
		`<ps:UIVersion>1</ps:UIVersion><ps:Cookies></ps:Cookies><ps:RequestParams>AQAAAAIAAABsYwQAAAAxMDMz</ps:RequestParams>` +
		`</ps:AuthInfo><wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>`)
	b.WriteString(xmlEscape(email))
	b.WriteString(`</wsse:Username><wsse:Password>`)
	b.WriteString(xmlEscape(password))
	b.WriteString(`</wsse:Password></wsse:UsernameToken></wsse:Security></Header>` +
		`<Body><ps:RequestMultipleSecurityTokens xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">`)
	for i, a := range addrs {
		fmt.Fprintf(&b, `<wst:RequestSecurityToken Id="RST%d"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>`+
			`<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>%s</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>`, i, xmlEscape(a.address))
		if a.policy != "" {
			fmt.Fprintf(&b, `<wsse:PolicyReference URI="%s"></wsse:PolicyReference>`, xmlEscape(a.policy))
		}
		b.WriteString(`</wst:RequestSecurityToken>`)
	}
	b.WriteString(`</ps:RequestMultipleSecurityTokens></Body></Envelope>`)
	return b.String()
}

// rstTicket gets the messenger ticket from a SOAP RST.srf service.
func rstTicket(ctx context.Context, hc *http.Client, rst, email, password string) (string, error) {
	ans, err := requestTokens(ctx, hc, rst, email, password, msnpRST)
	if err != nil {
		return "", err
	}
	return ans.ticket("messenger.msn.com")
}

// requestTokens asks the RST service at rst for the tokens of addrs.
func requestTokens(ctx context.Context, hc *http.Client, rst, email, password string, addrs []rstAddress) (*rstAnswer, error) {
	body := rstRequest(email, password, addrs)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rst, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("client: RST URL %q: %w", rst, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("User-Agent", "MSMSGS")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: RST request: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("client: RST response: %w", err)
	}
	ans, fault, err := parseRST(data)
	switch {
	case fault != "":
		if strings.Contains(strings.ToLower(fault), "failedauthentication") {
			return nil, fmt.Errorf("client: RST sign-in for %s refused: %w", email, msnp.ErrAuthFailed)
		}
		return nil, fmt.Errorf("client: RST fault %q", fault)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("client: RST sign-in for %s refused: %w", email, msnp.ErrAuthFailed)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("client: RST at %s answered %s", rst, resp.Status)
	case err != nil:
		return nil, fmt.Errorf("client: RST response: %w", err)
	}
	return ans, nil
}

// rstAnswer is what an RST service gave: compact tokens ("t=…&p=…") and
// proof keys (the BinarySecret, decoded) by address, in lower case.
type rstAnswer struct {
	tokens  map[string]string
	secrets map[string][]byte
	first   string // the first token, whatever its address
}

// ticket is the token for address, or the first one when none is marked
// for it (an older server's single ticket).
func (a *rstAnswer) ticket(address string) (string, error) {
	if t := a.tokens[address]; t != "" {
		return t, nil
	}
	if a.first != "" {
		return a.first, nil
	}
	return "", errors.New("client: no messenger ticket in the RST response")
}

// parseRSTResponse finds the compact ticket for messenger.msn.com in an RST
// response (any compact "t=" token if none is marked for it), or the fault
// code.
func parseRSTResponse(data []byte) (ticket, fault string, err error) {
	ans, fault, err := parseRST(data)
	if err != nil || fault != "" {
		return "", fault, err
	}
	ticket, err = ans.ticket("messenger.msn.com")
	return ticket, "", err
}

// parseRST reads every token of an RST response, or its fault code.
func parseRST(data []byte) (ans *rstAnswer, fault string, err error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	ans = &rstAnswer{tokens: map[string]string{}, secrets: map[string][]byte{}}
	var (
		path                   []string
		address, token, secret string
		faultCode              string
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if t.Name.Local == "RequestSecurityTokenResponse" {
				address, token, secret = "", "", ""
			}
		case xml.EndElement:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
			if t.Name.Local != "RequestSecurityTokenResponse" {
				continue
			}
			a := strings.ToLower(address)
			if token != "" {
				if ans.first == "" {
					ans.first = token
				}
				ans.tokens[a] = token
			}
			if key, err := base64.StdEncoding.DecodeString(secret); err == nil && len(key) > 0 {
				ans.secrets[a] = key
			}
		case xml.CharData:
			if len(path) == 0 {
				continue
			}
			s := strings.TrimSpace(string(t))
			switch path[len(path)-1] {
			case "Address":
				address += s
			case "BinarySecurityToken":
				if strings.HasPrefix(s, "t=") || token != "" {
					token += s
				}
			case "BinarySecret":
				secret += s
			case "faultcode":
				faultCode += s
			case "Code", "Value", "Subcode":
				if slices.Contains(path, "Fault") {
					faultCode += s
				}
			}
		}
	}
	if faultCode != "" {
		return nil, faultCode, nil
	}
	if ans.first == "" {
		return nil, "", errors.New("no messenger ticket in the RST response")
	}
	return ans, "", nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
