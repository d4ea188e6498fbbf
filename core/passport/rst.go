package passport

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp/auth"
)

// Limits on an RST request.
const (
	maxRSTBody      = 64 << 10 // bytes; real requests are 2–5 KiB
	maxRSTAddresses = 32       // AppliesTo addresses answered; real clients ask for ≤ 10
	maxAddressLen   = 512
	maxXMLDepth     = 64
)

// rstSkew widens the LifeTime written into RST tokens on both sides.
// Vintage machines often run with a wrong clock or time zone, and a client
// that finds its token "expired" by its own clock gives up; the ticket
// authority still enforces its TTL.
const rstSkew = 24 * time.Hour

// Namespaces written in RST responses (the WS-Trust 2004/04 family that
// RST.srf speaks). When a request uses other URIs for these prefixes (RST2.srf
// clients send the 2005/02 trust and OASIS secext ones), the response uses
// the request's.
const (
	nsSOAP = "http://schemas.xmlsoap.org/soap/envelope/"
	nsWST  = "http://schemas.xmlsoap.org/ws/2004/04/trust"
	nsWSSE = "http://schemas.xmlsoap.org/ws/2003/06/secext"
	nsWSU  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsWSP  = "http://schemas.xmlsoap.org/ws/2002/12/policy"
	nsWSA  = "http://schemas.xmlsoap.org/ws/2004/03/addressing"
	nsPSF  = "http://schemas.microsoft.com/Passport/SoapServices/SOAPFault"
	nsENC  = "http://www.w3.org/2001/04/xmlenc#"
	nsDS   = "http://www.w3.org/2000/09/xmldsig#"
)

// AppliesTo addresses that get something besides a plain compact token.
const (
	addrPassportTB     = "http://Passport.NET/tb" // legacy (encrypted) token
	addrMessengerClear = "messengerclear.live.com"
	addrMessenger      = "messenger.msn.com"
)

var errRSTCredentials = errors.New("passport: RST without username and password")

// rstRequest is what Nudge needs from a RequestSecurityToken(s) body.
type rstRequest struct {
	username, password string
	addresses          []string
	// policies[i] is the PolicyReference URI of the token for
	// addresses[i] ("" when it had none).
	policies []string
	ns       rstNamespaces
}

// rstNamespaces are the namespace URIs the request used for the prefixes the
// response writes; empty means not seen.
type rstNamespaces struct{ wst, wsse, wsp, wsa string }

// parseRST reads a WS-Trust RequestSecurityToken (or RequestMultipleSecurity
// Tokens) SOAP request. Elements are matched by local name, so any prefix and
// namespace will do:
//
//	…/UsernameToken/Username, …/UsernameToken/Password
//	…/AppliesTo/…/EndpointReference/Address   (one per requested token)
//	…/RequestSecurityToken/PolicyReference@URI (the token's policy)
//
// Only the first maxRSTAddresses addresses are kept; longer ones than
// maxAddressLen are skipped.
func parseRST(body []byte) (rstRequest, error) {
	var (
		req       rstRequest
		stack     []string
		text      strings.Builder
		capturing string // "Username", "Password", "Address" or ""
		appliesTo int    // open AppliesTo elements
		haveUser  bool
		havePass  bool
		inToken   int    // open RequestSecurityToken elements
		policy    string // of the token being read
		policyAt  = -1   // index of the address the policy belongs to, once known
	)
	setPolicy := func(i int) {
		if i >= 0 && i < len(req.policies) && req.policies[i] == "" {
			req.policies[i] = policy
		}
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rstRequest{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return rstRequest{}, errors.New("passport: RST nested too deep")
			}
			name := t.Name.Local
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			stack = append(stack, name)
			switch name {
			case "RequestSecurityToken":
				noteNS(&req.ns.wst, t.Name.Space)
				inToken++
				policy, policyAt = "", -1
			case "PolicyReference":
				for _, a := range t.Attr {
					if a.Name.Local == "URI" && len(a.Value) <= maxAddressLen {
						policy = a.Value
						setPolicy(policyAt)
					}
				}
			case "Security", "UsernameToken":
				noteNS(&req.ns.wsse, t.Name.Space)
			case "AppliesTo":
				noteNS(&req.ns.wsp, t.Name.Space)
				appliesTo++
			case "EndpointReference":
				noteNS(&req.ns.wsa, t.Name.Space)
			}
			capturing = ""
			switch {
			case parent == "UsernameToken" && (name == "Username" || name == "Password"):
				capturing = name
			case parent == "EndpointReference" && name == "Address" && appliesTo > 0:
				capturing = name
			}
			text.Reset()
		case xml.CharData:
			if capturing != "" && text.Len() < maxRSTBody {
				text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return rstRequest{}, errors.New("passport: RST has unbalanced elements")
			}
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch name {
			case "AppliesTo":
				appliesTo--
			case "RequestSecurityToken":
				inToken--
				policy, policyAt = "", -1
			}
			if capturing != name {
				capturing = ""
				continue
			}
			capturing = ""
			switch v := text.String(); name {
			case "Username":
				if !haveUser {
					req.username, haveUser = strings.TrimSpace(v), true
				}
			case "Password":
				if !havePass {
					req.password, havePass = v, true
				}
			case "Address":
				v = strings.TrimSpace(v)
				if v != "" && len(v) <= maxAddressLen && len(req.addresses) < maxRSTAddresses {
					req.addresses = append(req.addresses, v)
					req.policies = append(req.policies, "")
					if inToken > 0 {
						// The policy may come before or after the address.
						policyAt = len(req.addresses) - 1
						setPolicy(policyAt)
					}
				}
			}
		}
	}
	if len(stack) != 0 {
		return rstRequest{}, errors.New("passport: RST ends inside an element")
	}
	if req.username == "" || req.password == "" || len(req.username) > maxEmailLen || len(req.password) > maxPasswordLen {
		return req, errRSTCredentials
	}
	return req, nil
}

func noteNS(dst *string, ns string) {
	if *dst == "" && len(ns) <= 256 {
		*dst = ns
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// rst answers RST.srf and RST2.srf. Failures of any kind but an oversized
// body are a wsse:FailedAuthentication SOAP fault with HTTP 200, which is
// what clients expect from Passport.
//
// A successful request gets one single-use sign-in ticket of each kind it
// asks for: messenger.msn.com's (TWN, MSNP8-14) and messengerclear.live.com's
// (SSO, MSNP15+). The SSO ticket is bound to a proof key, sent to the client
// as the token's BinarySecret and checked by the Notification server
// (msnp/auth.VerifyRPS): the ticket travels in the clear, the key does not,
// so the ticket alone signs nobody in. The other tokens (address book,
// offline messages, storage …) carry one service ticket (Grants), good for
// those domains only and shown many times.
func (h *handler) rst(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "RequestSecurityToken is a SOAP POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRSTBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.log.Info().Str("remote", r.RemoteAddr).Msg("passport RST body too large")
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		h.log.Info().Str("remote", r.RemoteAddr).Err(err).Msg("passport RST body unreadable")
		h.count("rst", "failed")
		writeXML(w, rstFault(rstNamespaces{}, time.Now()))
		return
	}
	req, err := parseRST(body)
	if err != nil {
		h.log.Info().Str("remote", r.RemoteAddr).Err(err).Msg("passport RST malformed")
		h.count("rst", "failed")
		writeXML(w, rstFault(req.ns, time.Now()))
		return
	}
	if err := h.checkPassword(r, "rst", req.username, req.password); err != nil {
		if store.Unavailable(err) {
			h.unavailable(w, r, "rst")
			return
		}
		h.log.Info().Str("remote", r.RemoteAddr).Str("email", req.username).Err(err).Msg("passport RST refused")
		h.count("rst", "failed")
		h.refused(w, err)
		writeXML(w, rstFault(req.ns, time.Now()))
		return
	}
	ticket := h.cfg.Tickets.Issue(req.username)
	var sso string
	var proof []byte
	for _, a := range req.addresses {
		if ServiceDomain(a) == addrMessengerClear {
			proof = auth.NewProofKey()
			sso = h.cfg.Tickets.IssueKey(req.username, proof)
			break
		}
	}
	service := ticket
	if g := h.cfg.Grants; g != nil {
		var domains []string
		for _, a := range req.addresses {
			if !signInAddress(a) {
				domains = append(domains, a)
			}
		}
		if len(domains) > 0 {
			service = g.Issue(req.username, domains)
		}
		// Offline messages are read with the messenger.msn.com token,
		// which is also the sign-in ticket of MSNP13-14 clients.
		g.Add(ticket, req.username, []string{addrMessenger})
	}
	h.count("rst", "ok")
	h.log.Info().Str("remote", r.RemoteAddr).Str("email", req.username).Int("tokens", len(req.addresses)).Msg("passport RST")
	writeXML(w, rstResponse(req, rstTickets{signIn: ticket, sso: sso, proof: proof, service: service}, time.Now(), h.cfg.Tickets.TTL()))
}

func writeXML(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// xmlWriter builds a document; esc writes text escaped for both element
// content and attribute values.
type xmlWriter struct{ bytes.Buffer }

func (b *xmlWriter) raw(ss ...string) {
	for _, s := range ss {
		b.WriteString(s)
	}
}

func (b *xmlWriter) esc(s string) { _ = xml.EscapeText(b, []byte(s)) }

func (b *xmlWriter) envelopeStart(ns rstNamespaces) {
	b.raw(`<?xml version="1.0" encoding="utf-8" ?>`, "\r\n")
	b.raw(`<S:Envelope xmlns:S="`, nsSOAP, `"`)
	for _, a := range [...][2]string{
		{"wst", orDefault(ns.wst, nsWST)},
		{"wsse", orDefault(ns.wsse, nsWSSE)},
		{"wsu", nsWSU},
		{"wsp", orDefault(ns.wsp, nsWSP)},
		{"wsa", orDefault(ns.wsa, nsWSA)},
		{"psf", nsPSF},
	} {
		b.raw(" xmlns:", a[0], `="`)
		b.esc(a[1])
		b.raw(`"`)
	}
	b.raw(">", "<S:Header><psf:pp>", "<psf:serverVersion>1</psf:serverVersion>")
}

func (b *xmlWriter) serverInfo(now time.Time) {
	b.raw(`<psf:serverInfo Path="Live1" RollingUpgradeState="ExclusiveNew" LocVersion="0" ServerTime="`,
		now.UTC().Format(time.RFC3339), `">Nudge</psf:serverInfo>`)
}

// rstFault is the Passport authentication failure (reqstatus 0x80048823).
func rstFault(ns rstNamespaces, now time.Time) []byte {
	var b xmlWriter
	b.envelopeStart(ns)
	b.raw("<psf:authstate>0x80048800</psf:authstate><psf:reqstatus>0x80048823</psf:reqstatus>")
	b.serverInfo(now)
	b.raw("<psf:cookies/><psf:response/></psf:pp></S:Header>")
	b.raw("<S:Body><S:Fault><faultcode>wsse:FailedAuthentication</faultcode>",
		"<faultstring>Authentication Failure</faultstring></S:Fault></S:Body></S:Envelope>")
	return b.Bytes()
}

// rstTickets are the tickets of one RST answer (see rst).
type rstTickets struct {
	signIn, sso, service string
	proof                []byte // sso's proof key
}

// rstResponse is the RequestSecurityTokenResponseCollection: one response
// per requested address, in request order, numbered by that order
// (Compact1 is the second address, as in Passport's own replies). An empty
// request gets a token for messenger.msn.com.
//
// A compact token is labelled in the shape the request asks for. A token
// requested with a Passport 1.4 policy — the "?" followed by the USR TWN S
// challenge, or "?id=507", that MSNP8–12-era clients send — is
// "PPToken<n>", as MSN 7.x's Passport labelled it and as clients of that
// era (Pidgin 2.5's MSN plugin, phpmsnclass) look for it, literally; one
// requested with an MBI policy (MBI_KEY_OLD, MBI, the Windows Live
// Messenger clients) is "Compact<n>".
func rstResponse(req rstRequest, tk rstTickets, now time.Time, ttl time.Duration) []byte {
	addrs, policies := req.addresses, req.policies
	if len(addrs) == 0 {
		addrs, policies = []string{addrMessenger}, []string{""}
	}
	email := normalizeEmail(req.username)
	puid, cid := accountIDs(email)
	created := now.Add(-rstSkew).UTC().Format(time.RFC3339)
	expires := now.Add(ttl + rstSkew).UTC().Format(time.RFC3339)

	var b xmlWriter
	b.Grow(1024 + 900*len(addrs))
	b.envelopeStart(req.ns)
	b.raw("<psf:PUID>", puid, "</psf:PUID>",
		"<psf:configVersion>3.0.869.0</psf:configVersion><psf:uiVersion>3.0.869.0</psf:uiVersion>",
		"<psf:authstate>0x48803</psf:authstate><psf:reqstatus>0x0</psf:reqstatus>")
	b.serverInfo(now)
	b.raw("<psf:cookies/><psf:credProperties>",
		`<psf:credProperty Name="MainBrandID">MSFT</psf:credProperty>`,
		`<psf:credProperty Name="BrandIDList"></psf:credProperty>`,
		`<psf:credProperty Name="IsWinLiveUser">true</psf:credProperty>`,
		`<psf:credProperty Name="CID">`, cid, `</psf:credProperty>`,
		`<psf:credProperty Name="AuthMembername">`)
	b.esc(email)
	b.raw(`</psf:credProperty>`,
		`<psf:credProperty Name="Country">US</psf:credProperty>`,
		`<psf:credProperty Name="Language">1033</psf:credProperty>`,
		"</psf:credProperties><psf:extProperties></psf:extProperties><psf:response/></psf:pp></S:Header>")

	b.raw("<S:Body><wst:RequestSecurityTokenResponseCollection>")
	for i, addr := range addrs {
		var proof []byte
		token := "t=" + tk.service + "&p="
		switch {
		case ServiceDomain(addr) == addrMessengerClear:
			token, proof = "t="+tk.sso+"&p=", tk.proof
		case signInAddress(addr):
			token = "t=" + tk.signIn + "&p="
		}
		n := strconv.Itoa(i)
		legacy := strings.EqualFold(addr, addrPassportTB)
		b.raw("<wst:RequestSecurityTokenResponse><wst:TokenType>")
		if legacy {
			b.raw("urn:passport:legacy")
		} else {
			b.raw("urn:passport:compact")
		}
		b.raw("</wst:TokenType><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>")
		b.esc(addr)
		b.raw("</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>",
			"<wst:LifeTime><wsu:Created>", created, "</wsu:Created><wsu:Expires>", expires, "</wsu:Expires></wst:LifeTime>",
			"<wst:RequestedSecurityToken>")
		if legacy {
			// Nothing reads this token; it only has to be there and look right.
			b.raw(`<EncryptedData xmlns="`, nsENC, `" Id="BinaryDAToken`, n, `" Type="`, nsENC, `Element">`,
				`<EncryptionMethod Algorithm="`, nsENC, `tripledes-cbc"></EncryptionMethod>`,
				`<ds:KeyInfo xmlns:ds="`, nsDS, `"><ds:KeyName>http://Passport.NET/STS</ds:KeyName></ds:KeyInfo>`,
				"<CipherData><CipherValue>", randomBase64(96), "</CipherValue></CipherData></EncryptedData>",
				"</wst:RequestedSecurityToken>",
				`<wst:RequestedTokenReference><wsse:KeyIdentifier ValueType="urn:passport"></wsse:KeyIdentifier>`,
				`<wsse:Reference URI="#BinaryDAToken`, n, `"></wsse:Reference></wst:RequestedTokenReference>`)
		} else {
			id := "Compact" + n
			if i < len(policies) && strings.HasPrefix(policies[i], "?") {
				id = "PPToken" + n
			}
			b.raw(`<wsse:BinarySecurityToken Id="`, id, `">`)
			b.esc(token)
			b.raw("</wsse:BinarySecurityToken></wst:RequestedSecurityToken>",
				`<wst:RequestedTokenReference><wsse:KeyIdentifier ValueType="urn:passport:compact"></wsse:KeyIdentifier>`,
				`<wsse:Reference URI="#`, id, `"></wsse:Reference></wst:RequestedTokenReference>`)
		}
		switch {
		case proof != nil:
			// The key SSO answers are made with (msnp/auth.RPSResponse).
			b.raw("<wst:RequestedProofToken><wst:BinarySecret>", base64.StdEncoding.EncodeToString(proof),
				"</wst:BinarySecret></wst:RequestedProofToken>")
		case legacy:
			// A key for renewing tokens, which Nudge never asks for.
			b.raw("<wst:RequestedProofToken><wst:BinarySecret>", randomBase64(24),
				"</wst:BinarySecret></wst:RequestedProofToken>")
		}
		b.raw("</wst:RequestSecurityTokenResponse>")
	}
	b.raw("</wst:RequestSecurityTokenResponseCollection></S:Body></S:Envelope>")
	return b.Bytes()
}

// signInAddress reports whether addr's token is the one clients show to
// the Notification server (USR TWN S / USR SSO S).
func signInAddress(addr string) bool {
	d := ServiceDomain(addr)
	return d == addrMessengerClear || d == addrMessenger || strings.EqualFold(addr, addrPassportTB)
}

// accountIDs derives a stable Passport PUID and CID (16 hex digits each)
// from an address, so an account keeps its IDs across sign-ins and restarts.
func accountIDs(email string) (puid, cid string) {
	p := sha256.Sum256([]byte("nudge passport puid\x00" + email))
	c := sha256.Sum256([]byte("nudge passport cid\x00" + email))
	return strings.ToUpper(hex.EncodeToString(p[:8])), hex.EncodeToString(c[:8])
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	return base64.StdEncoding.EncodeToString(b)
}
