package ns_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// The Windows Live Messenger versions (MSNP13–18), as the references and
// the open-source clients (Pidgin 2.5–2.10, bitlbee 3.x) write them.

// rstToken is one compact token of an RST answer.
type rstToken struct {
	Token  string // "t=…&p=…", XML-decoded
	Secret []byte // the proof key, for messengerclear.live.com
}

// requestTokens does the SOAP RST.srf step of WLM sign-ins and returns the
// tokens by address.
func requestTokens(t testing.TB, srv *coretest.Server, email, password string, addresses ...string) map[string]rstToken {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" ` +
		`xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing" xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust">` +
		`<Header><wsse:Security><wsse:UsernameToken Id="user"><wsse:Username>`)
	xml.EscapeText(&b, []byte(email))
	b.WriteString(`</wsse:Username><wsse:Password>`)
	xml.EscapeText(&b, []byte(password))
	b.WriteString(`</wsse:Password></wsse:UsernameToken></wsse:Security></Header><Body><ps:RequestMultipleSecurityTokens ` +
		`xmlns:ps="http://schemas.microsoft.com/Passport/SoapServices/PPCRL" Id="RSTS">`)
	for i, a := range addresses {
		fmt.Fprintf(&b, `<wst:RequestSecurityToken Id="RST%d"><wst:RequestType>http://schemas.xmlsoap.org/ws/2004/04/security/trust/Issue</wst:RequestType>`+
			`<wsp:AppliesTo><wsa:EndpointReference><wsa:Address>%s</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>`+
			`<wsse:PolicyReference URI="MBI"></wsse:PolicyReference></wst:RequestSecurityToken>`, i, a)
	}
	b.WriteString(`</ps:RequestMultipleSecurityTokens></Body></Envelope>`)
	// No connection kept: a fuzzer signs in thousands of times.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	resp, err := hc.Post(srv.HTTPSURL+"/RST.srf", "text/xml; charset=utf-8", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var res struct {
		Responses []struct {
			Address string `xml:"AppliesTo>EndpointReference>Address"`
			Token   string `xml:"RequestedSecurityToken>BinarySecurityToken"`
			Secret  string `xml:"RequestedProofToken>BinarySecret"`
		} `xml:"Body>RequestSecurityTokenResponseCollection>RequestSecurityTokenResponse"`
	}
	if err := xml.Unmarshal(body, &res); err != nil {
		t.Fatalf("RST answer: %v\n%s", err, body)
	}
	out := map[string]rstToken{}
	for _, r := range res.Responses {
		secret, _ := base64.StdEncoding.DecodeString(r.Secret)
		out[r.Address] = rstToken{Token: r.Token, Secret: secret}
	}
	return out
}

// guid makes the machine GUID of test endpoint n.
func guid(n int) string { return fmt.Sprintf("{%08x-0000-4000-8000-000000000000}", n) }

// loginLive signs email in at MSNP13–18 the way Windows Live Messenger and
// the open-source clients do, and stops after USR OK, the profile and
// (MSNP16+) the user's own UBX. MSNP13–14 use TWN with the messenger.msn.com
// token of RST.srf; MSNP15+ use SSO: the messengerclear.live.com token and
// the answer to the nonce made with its proof key, and from MSNP16 the
// machine GUID (endpoint).
func loginLive(t testing.TB, srv *coretest.Server, v int, email, password, endpoint string) *wire {
	t.Helper()
	w := dial(t, srv.NSAddr, email+endpoint)
	ver := "MSNP" + strconv.Itoa(v)
	w.send("VER 1 " + ver + " CVR0")
	w.expect("VER 1 " + ver + " CVR0")
	w.send("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 8.5.1302 BC01 " + email)
	w.expect("CVR 2 8.5.1302 8.5.1302 8.5.1302 * *")
	if v <= 14 {
		w.send("USR 3 TWN I " + email)
		if gcf := w.expect("GCF 0"); !strings.HasPrefix(string(gcf.Payload), "<Policies>") {
			t.Fatalf("GCF payload %q", gcf.Payload)
		}
		w.expect("USR 3 TWN S *")
		tok := requestTokens(t, srv, email, password, "http://Passport.NET/tb", "messengerclear.live.com", "messenger.msn.com")
		w.send("USR 4 TWN S " + tok["messenger.msn.com"].Token)
	} else {
		w.send("USR 3 SSO I " + email)
		w.expect("GCF 0")
		nonce := w.expect("USR 3 SSO S MBI_KEY_OLD *").Param(3)
		tok := requestTokens(t, srv, email, password, "http://Passport.NET/tb", "messengerclear.live.com", "contacts.msn.com")
		clear := tok["messengerclear.live.com"]
		blob, err := auth.RPSResponse(clear.Secret, nonce, nil)
		if err != nil {
			t.Fatal(err)
		}
		line := "USR 4 SSO S " + clear.Token + " " + blob
		if v >= 16 {
			line += " " + endpoint
		}
		w.send(line)
	}
	w.expect("USR 4 OK " + email + " 1 0")
	w.expect("SBS 0 null")
	if c := w.expect("MSG Hotmail Hotmail"); !strings.Contains(string(c.Payload), "text/x-msmsgsprofile") {
		t.Fatalf("profile: %q", c.Payload)
	}
	if v >= 16 {
		handle := email + " 1"
		if v >= 18 {
			handle = "1:" + email
		}
		if c := w.expect("UBX " + handle); len(c.Payload) != 0 {
			t.Fatalf("first UBX payload %q", c.Payload)
		}
	}
	return w
}

// online finishes a WLM sign-in the way Pidgin 2.10 and WLM 2009 do: the
// initial (empty) ADL, then the first status.
func (w *wire) online(v int, trid int, caps string) {
	w.t.Helper()
	w.sendMsg(fmt.Sprintf("ADL %d", trid), `<ml l="1"></ml>`)
	w.expect(fmt.Sprintf("ADL %d OK", trid))
	chg := fmt.Sprintf("CHG %d NLN %s", trid+1, caps)
	w.send(chg)
	w.expect(chg)
}

// mailData reads the Mail-Data notice that follows a WLM client's first
// status: what offline messages wait (none here).
func (w *wire) mailData() {
	w.t.Helper()
	if m := w.expect("MSG Hotmail Hotmail"); !strings.Contains(string(m.Payload), "text/x-msmsgsinitialmdatanotification") {
		w.t.Fatalf("%s: MSG %q", w.name, m.Payload)
	}
}

// settledLive signs email in at MSNP18 from endpoint, sets it online with
// caps and reads what the service sends a WLM client then: its own UBX and
// the Mail-Data notice.
func settledLive(t testing.TB, srv *coretest.Server, email, endpoint, caps string) *wire {
	t.Helper()
	w := loginLive(t, srv, 18, email, "pw", endpoint)
	w.online(18, 5, caps)
	w.expect("UBX 1:" + email)
	w.mailData()
	return w
}

// handle is how a client of version v names a contact in presence commands.
func handle(v int, email string) string {
	switch {
	case v >= 18:
		return "1:" + email
	case v >= 14:
		return email + " 1"
	}
	return email
}

func TestLiveLoginEveryVersion(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	for v := 13; v <= 18; v++ {
		t.Run(fmt.Sprintf("MSNP%d", v), func(t *testing.T) {
			email := fmt.Sprintf("live%d@example.com", v)
			srv.AddUser(t, email, "pw", "Live "+strconv.Itoa(v))
			w := loginLive(t, srv, v, email, "pw", guid(v))
			// bitlbee waits for the BLP and PRP echoes (it is "connected"
			// at PRP), and sends no ADL at all with an empty list.
			w.send("BLP 5 BL")
			w.expect("BLP 5 BL")
			w.send("PRP 6 MFN Live%20" + strconv.Itoa(v))
			w.expect("PRP 6 MFN Live%20" + strconv.Itoa(v))
			caps := "1074004004"
			if v >= 16 {
				caps = "2416181284:00"
			}
			w.send("CHG 7 NLN " + caps)
			w.expect("CHG 7 NLN " + caps)
			if v >= 16 {
				// The user's own UBX, with this endpoint's data.
				ubx := w.expect("UBX " + handle(v, email))
				if eps, err := msnp.Endpoints(ubx.Payload); err != nil || len(eps) != 1 || eps[0].ID != guid(v) {
					t.Fatalf("own UBX %s: %+v, %v", ubx.Payload, eps, err)
				}
			}
			w.mailData()
			w.sendMsg("UUX 8", `<Data><PSM>hi &amp; bye</PSM><CurrentMedia></CurrentMedia><MachineGuid>`+guid(v)+`</MachineGuid></Data>`)
			w.expect("UUX 8 0")
			if v >= 16 {
				// Each change comes back as the user's own UBX: the
				// personal message, then this endpoint's data.
				if ubx := w.expect("UBX " + handle(v, email)); !strings.Contains(string(ubx.Payload), "<PSM>hi &amp; bye</PSM>") {
					t.Fatalf("own UBX after UUX: %s", ubx.Payload)
				}
				w.sendMsg("UUX 9", `<EndpointData><Capabilities>2788999228:48</Capabilities></EndpointData>`)
				w.expect("UUX 9 0")
				if ubx := w.expect("UBX " + handle(v, email)); !strings.Contains(string(ubx.Payload), "<Capabilities>2788999228:48</Capabilities>") {
					t.Fatalf("own UBX after EndpointData: %s", ubx.Payload)
				}
				w.sendMsg("UUX 10", `<PrivateEndpointData><EpName>DESK</EpName><Idle>false</Idle><ClientType>1</ClientType><State>NLN</State></PrivateEndpointData>`)
				w.expect("UUX 10 0")
				if ubx := w.expect("UBX " + handle(v, email)); !strings.Contains(string(ubx.Payload), "<EpName>DESK</EpName>") {
					t.Fatalf("own UBX after PrivateEndpointData: %s", ubx.Payload)
				}
			}
			// The MSNP2–12 list commands are gone.
			w.send("SYN 11 0 0")
			w.expect("502 11")
			w.send("ADC 12 FL N=x@example.com F=x")
			w.expect("502 12")
			w.send("XFR 13 SB")
			tail := "U messenger.msn.com 1"
			if v == 13 {
				tail = "U messenger.msn.com"
			}
			w.expect("XFR 13 SB * CKI * " + tail)
			w.send("PNG")
			w.expect("QNG 60")
			w.send("OUT")
			w.expectClosed()
		})
	}
}

// An SSO ticket alone signs nobody in: the client must prove it holds the
// proof key RST gave with it, for the nonce of this connection, once.
func TestSSORequiresTheProofKey(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	start := func(name string, v int) (*wire, string) {
		w := dial(t, srv.NSAddr, name)
		w.send(fmt.Sprintf("VER 1 MSNP%d CVR0", v))
		w.expect(fmt.Sprintf("VER 1 MSNP%d CVR0", v))
		w.send("USR 3 SSO I alice@example.com")
		w.expect("GCF 0")
		return w, w.expect("USR 3 SSO S MBI_KEY_OLD *").Param(3)
	}
	tokens := func() rstToken {
		return requestTokens(t, srv, "alice@example.com", "pw", "messengerclear.live.com")["messengerclear.live.com"]
	}

	// Someone who saw the ticket go by, without the key.
	tok := tokens()
	w, nonce := start("thief", 15)
	if len(nonce) != auth.NonceLen {
		t.Fatalf("nonce %q", nonce)
	}
	blob, _ := auth.RPSResponse(auth.NewProofKey(), nonce, nil)
	w.send("USR 4 SSO S " + tok.Token + " " + blob)
	w.expect("911 4")
	w.expectClosed()
	// The ticket is gone with that attempt: its holder signs in afresh.
	w, nonce = start("owner-late", 15)
	blob, _ = auth.RPSResponse(tok.Secret, nonce, nil)
	w.send("USR 4 SSO S " + tok.Token + " " + blob)
	w.expect("911 4")

	// The right key, but the answer to another connection's nonce.
	tok = tokens()
	_, other := start("other", 15)
	w, _ = start("replay", 15)
	blob, _ = auth.RPSResponse(tok.Secret, other, nil)
	w.send("USR 4 SSO S " + tok.Token + " " + blob)
	w.expect("911 4")

	// No answer at all (an "MSIDCRL-patched" client): refused too.
	tok = tokens()
	w, _ = start("noblob", 15)
	w.send("USR 4 SSO S " + tok.Token)
	w.expect("911 4")

	// MSNP16+ must name a machine.
	tok = tokens()
	w, nonce = start("noguid", 16)
	blob, _ = auth.RPSResponse(tok.Secret, nonce, nil)
	w.send("USR 4 SSO S " + tok.Token + " " + blob + " not-a-guid")
	w.expect("911 4")

	// TWN on an SSO version, and an SSO ticket shown to TWN, are refused.
	w = dial(t, srv.NSAddr, "twn15")
	w.send("VER 1 MSNP15 CVR0\r\nUSR 2 TWN I alice@example.com")
	w.expect("VER 1 MSNP15 CVR0")
	w.expect("911 2")
	w.expectClosed()
	tok = tokens()
	w = dial(t, srv.NSAddr, "sso-as-twn")
	w.send("VER 1 MSNP14 CVR0\r\nUSR 2 TWN I alice@example.com")
	w.expect("VER 1 MSNP14 CVR0")
	w.expect("GCF 0")
	w.expect("USR 2 TWN S *")
	w.send("USR 3 TWN S " + tok.Token)
	w.expect("911 3")

	// And with everything right, in Pidgin 2.10's shape (no braces).
	tok = tokens()
	w, nonce = start("pidgin", 18)
	blob, _ = auth.RPSResponse(tok.Secret, nonce, nil)
	w.send("USR 4 SSO S " + tok.Token + " " + blob + " F26D1F07-95E2-403C-BC18-D4BFED493428")
	w.expect("USR 4 OK alice@example.com 1 0")
}

// A Dispatch Server refers MSNP13+ clients with "XFR t NS addr U D".
func TestLiveDispatchReferral(t *testing.T) {
	srv := coretest.Start(t, coretest.WithDispatch())
	w := dial(t, srv.DSAddr, "ds")
	w.send("VER 1 MSNP18 CVR0")
	w.expect("VER 1 MSNP18 CVR0")
	w.send("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 14.0.8117.416 msmsgs a@example.com")
	w.expect("CVR 2 * * * * *")
	w.send("USR 3 SSO I a@example.com")
	w.expect("XFR 3 NS " + srv.NSAddr + " U D")
	w.expectClosed()
}

// befriend puts each on the other's FL (and AL), as two people who added
// each other.
func befriend(t testing.TB, srv *coretest.Server, a, b string) {
	t.Helper()
	ctx := t.Context()
	for _, p := range [][2]string{{a, b}, {b, a}} {
		for _, l := range []store.List{store.Forward, store.Allow} {
			if _, err := srv.Store.AddToList(ctx, p[0], p[1], l, "", ""); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Presence of a WLM 2009 user as each generation sees it, and theirs as it
// sees them: the handle with its network (a parameter in MSNP14–17, a
// prefix in MSNP18), capabilities as "caps:capsEx" from MSNP16, the
// MSNObject parameter always there from MSNP13, endpoints in UBX from
// MSNP16, and FLN in each shape.
func TestLivePresenceAcrossVersions(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "star@example.com", "pw", "Star")
	versions := []int{12, 13, 14, 16, 18}
	watchers := map[int]*wire{}
	for _, v := range versions {
		email := fmt.Sprintf("w%d@example.com", v)
		srv.AddUser(t, email, "pw", fmt.Sprintf("W%d", v))
		befriend(t, srv, email, "star@example.com")
	}
	for _, v := range versions {
		email := fmt.Sprintf("w%d@example.com", v)
		if v <= 12 {
			w := login(t, srv, v, email, "pw")
			w.send("CHG 5 NLN 1342177280")
			w.expect("CHG 5 NLN 1342177280")
			watchers[v] = w
			continue
		}
		w := loginLive(t, srv, v, email, "pw", guid(v))
		caps := "1342177280"
		if v >= 16 {
			caps = "1342177280:0"
		}
		w.online(v, 5, caps)
		if v >= 16 {
			w.expect("UBX " + handle(v, email))
		}
		w.mailData()
		watchers[v] = w
	}

	star := loginLive(t, srv, 18, "star@example.com", "pw", guid(1))
	star.sendMsg("ADL 5", `<ml l="1"><d n="example.com"><c n="w12" l="3" t="1"/><c n="w13" l="3" t="1"/></d></ml>`)
	star.expect("ADL 5 OK")
	star.send("CHG 6 NLN 2788999228:48")
	star.expect("CHG 6 NLN 2788999228:48")
	// MSNP18 gets the contacts already online as NLN, not ILN, in their
	// own capabilities written the MSNP18 way.
	seen := map[string]bool{}
	for range versions {
		c := star.expectSkip("NLN NLN **")
		seen[lineOf(c)] = true
	}
	for _, v := range versions {
		want := fmt.Sprintf("NLN NLN 1:w%d@example.com W%d 1342177280:0 0", v, v)
		if !seen[want] {
			t.Errorf("star did not get %q; got %v", want, seen)
		}
	}
	want := map[int]string{
		12: "NLN NLN star@example.com Star 2788999228",
		13: "NLN NLN star@example.com Star 2788999228 0",
		14: "NLN NLN star@example.com 1 Star 2788999228 0",
		16: "NLN NLN star@example.com 1 Star 2788999228:48 0",
		18: "NLN NLN 1:star@example.com Star 2788999228:48 0",
	}
	for _, v := range versions {
		watchers[v].expect(want[v])
		if v >= 16 {
			// The endpoints come with the presence.
			ubx := watchers[v].expect("UBX " + handle(v, "star@example.com"))
			eps, err := msnp.Endpoints(ubx.Payload)
			if err != nil || len(eps) != 1 || eps[0].ID != guid(1) || eps[0].Private.Name != "" {
				t.Errorf("MSNP%d UBX %s: %+v, %v", v, ubx.Payload, eps, err)
			}
		}
	}
	// A personal message reaches MSNP11+ as the client wrote it.
	star.sendMsg("UUX 7", `<Data><PSM>on &lt;air&gt;</PSM><CurrentMedia></CurrentMedia></Data>`)
	star.expectSkip("UUX 7 0")
	for _, v := range versions {
		watchers[v].expectSkip(want[v])
		ubx := watchers[v].expect("UBX " + handle(v, "star@example.com"))
		if !strings.Contains(string(ubx.Payload), "<PSM>on &lt;air&gt;</PSM>") {
			t.Errorf("MSNP%d UBX %s", v, ubx.Payload)
		}
	}

	star.send("OUT")
	fln := map[int]string{
		12: "FLN star@example.com",
		13: "FLN star@example.com",
		14: "FLN star@example.com 1 0",
		16: "FLN star@example.com 1 0:0",
		18: "FLN 1:star@example.com 0:0",
	}
	for _, v := range versions {
		watchers[v].expectSkip(fln[v])
	}
}

// A contact put on the FL through the address book (ABContactAdd, as
// Pidgin and Windows Live Messenger add one) is shown when the book
// changes; an ADL about a contact already shown changes nothing.
func TestADLAfterAddressBook(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	for _, u := range []string{"alice", "bob"} {
		srv.AddUser(t, u+"@example.com", "pw", strings.ToUpper(u[:1])+u[1:])
	}
	bob := login(t, srv, 12, "bob@example.com", "pw")
	bob.send("CHG 5 NLN 1342177280")
	bob.expect("CHG 5 NLN 1342177280")
	alice := settledLive(t, srv, "alice@example.com", guid(1), "2788999228:48")

	// What the address book does for ABContactAdd.
	if _, err := srv.Store.AddToList(context.Background(), "alice@example.com", "bob@example.com", store.Forward, "bob@example.com", ""); err != nil {
		t.Fatal(err)
	}
	srv.Dir.Lookup("alice@example.com").BookChanged("bob@example.com")
	if not := alice.expect("NOT"); !strings.Contains(string(not.Payload), "ABCHInternal") {
		t.Fatalf("NOT %s", not.Payload)
	}

	// Shown as soon as the book has Bob, at every endpoint of Alice's
	// (another may send no ADL); her ADL shows him no second time.
	alice.expect("NLN NLN 1:bob@example.com Bob 1342177280:0 0")
	alice.sendMsg("ADL 7", `<ml><d n="example.com"><c n="bob" l="3" t="1"/></d></ml>`)
	alice.expect("ADL 7 OK")
	alice.sendMsg("ADL 8", `<ml><d n="example.com"><c n="bob" l="1" t="1"/></d></ml>`)
	alice.expect("ADL 8 OK")
}

// ADL and RML edit the lists from MSNP13 and tell the other side in its
// own version's terms; FQY says who is on Messenger; what a client may not
// send ends its connection.
func TestADLRMLFQY(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	for _, u := range []string{"alice", "bob", "carol"} {
		srv.AddUser(t, u+"@example.com", "pw", strings.ToUpper(u[:1])+u[1:])
	}
	bob := login(t, srv, 12, "bob@example.com", "pw")
	bob.send("CHG 5 NLN 1342177280")
	bob.expect("CHG 5 NLN 1342177280")
	carol := loginLive(t, srv, 16, "carol@example.com", "pw", guid(3))
	carol.online(16, 5, "0:0")
	carol.expect("UBX carol@example.com 1")
	carol.mailData()
	alice := settledLive(t, srv, "alice@example.com", guid(1), "2788999228:48")

	// Alice adds Bob (FL and AL): Bob hears it the MSNP12 way, Alice sees
	// him at once.
	alice.sendMsg("ADL 7", `<ml><d n="example.com"><c n="bob" l="3" t="1"/></d></ml>`)
	alice.expect("NLN NLN 1:bob@example.com Bob 1342177280:0 0")
	alice.expect("ADL 7 OK")
	bob.expect("ADC 0 RL N=alice@example.com F=Alice")
	// Again (WLM adds through ADL and the address book): nothing new.
	alice.sendMsg("ADL 8", `<ml><d n="example.com"><c n="bob" l="3" t="1"/></d></ml>`)
	alice.expect("ADL 8 OK")

	// Carol (MSNP16) hears of it as an ADL of her RL and a notice to read
	// her address book again.
	alice.sendMsg("ADL 9", `<ml><d n="example.com"><c n="carol" l="1" t="1"/></d></ml>`)
	alice.expectSkip("ADL 9 OK")
	adl := carol.expect("ADL 0")
	m, err := msnp.ParseML(adl.Payload)
	if err != nil || len(m.Contacts) != 1 || m.Contacts[0] != (msnp.MLContact{Email: "alice@example.com", Lists: 8, Network: 1, Friendly: "Alice"}) {
		t.Fatalf("carol's ADL %s: %+v, %v", adl.Payload, m, err)
	}
	if not := carol.expect("NOT"); !strings.Contains(string(not.Payload), "ABCHInternal") {
		t.Fatalf("NOT %s", not.Payload)
	}

	// Unknown users are 208; other networks (Yahoo) are not this
	// service's, and are left alone.
	alice.sendMsg("ADL 10", `<ml><d n="example.com"><c n="nobody" l="1" t="1"/></d></ml>`)
	alice.expect("208 10")
	alice.sendMsg("ADL 11", `<ml><d n="yahoo.com"><c n="dave" l="1" t="32"/></d></ml>`)
	alice.expect("ADL 11 OK")

	// FQY: Pidgin asks which network contacts are on.
	alice.sendMsg("FQY 12", `<ml><d n="example.com"><c n="bob"/><c n="nobody"/></d></ml>`)
	fqy := alice.expect("FQY 12")
	if string(fqy.Payload) != `<ml><d n="example.com"><c n="bob" t="1"/></d></ml>` {
		t.Fatalf("FQY %s", fqy.Payload)
	}
	alice.sendMsg("FQY 13", `<ml><d n="example.com"><c n="nobody"/></d></ml>`)
	alice.expect("208 13")

	// Blocking through ADL: Bob sees her go; unblocking: back.
	alice.sendMsg("RML 14", `<ml><d n="example.com"><c n="bob" l="2" t="1"/></d></ml>`)
	alice.expect("RML 14 OK")
	alice.sendMsg("ADL 15", `<ml><d n="example.com"><c n="bob" l="4" t="1"/></d></ml>`)
	alice.expect("ADL 15 OK")
	bob.send("ADC 6 FL N=alice@example.com F=Alice")
	bob.expect("ADC 6 FL N=alice@example.com F=Alice C=*")
	// (She blocks him: no presence of hers reaches him.)
	bob.expectNothing()
	alice.sendMsg("RML 16", `<ml><d n="example.com"><c n="bob" l="4" t="1"/></d></ml>`)
	alice.expectSkip("RML 16 OK")
	bob.expect("NLN NLN alice@example.com Alice 2788999228")

	// Removing from FL: Bob (MSNP12) gets REM RL, Carol an RML and a NOT.
	alice.sendMsg("RML 17", `<ml><d n="example.com"><c n="bob" l="1" t="1"/><c n="carol" l="1" t="1"/></d></ml>`)
	alice.expectSkip("RML 17 OK")
	bob.expectSkip("REM 0 RL alice@example.com")
	rml := carol.expectSkip("RML 0")
	if m, err := msnp.ParseML(rml.Payload); err != nil || len(m.Contacts) != 1 || m.Contacts[0].Lists != 8 {
		t.Fatalf("carol's RML %s", rml.Payload)
	}
	carol.expect("NOT")
	if l, _ := srv.Store.Listed(t.Context(), "alice@example.com", "bob@example.com"); l != store.Reverse {
		t.Fatalf("alice lists bob on %d after RML FL", l)
	}

	// What a client may not send: RL or PL bits, AL and BL at once, bad
	// XML, a domain without a name. Each is answered and the connection
	// ends.
	for i, bad := range []struct{ payload, code string }{
		{`<ml><d n="example.com"><c n="bob" l="8" t="1"/></d></ml>`, "241"},
		{`<ml><d n="example.com"><c n="bob" l="6" t="1"/></d></ml>`, "241"},
		{`<ml><d n="example.com"><c n="bob" l="1"`, "241"},
		{`<ml><d><c n="bob" l="1" t="1"/></d></ml>`, "240"},
	} {
		w := loginLive(t, srv, 15, "bob@example.com", "pw", "")
		w.sendMsg("ADL 5", bad.payload)
		w.expect(bad.code + " 5")
		w.expectClosed()
		_ = i
	}
}

// Several points of presence (MSNP16+): a second machine does not end the
// first; the user's own UBX and the watchers' list every endpoint; the same
// machine again, or an older client, replaces; one endpoint signs another
// out with UUN, and the watchers still see the user while one is left.
func TestMultiplePointsOfPresence(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	befriend(t, srv, "alice@example.com", "bob@example.com")
	bob := settledLive(t, srv, "bob@example.com", guid(9), "0:0")

	home := loginLive(t, srv, 18, "alice@example.com", "pw", guid(1))
	home.online(18, 5, "2788999228:48")
	home.expectSkip("UBX 1:alice@example.com")
	bob.expect("NLN NLN 1:alice@example.com Alice 2788999228:48 0")
	bob.expect("UBX 1:alice@example.com")

	// Pidgin 2.10 writes the GUID without braces, in capitals.
	work := loginLive(t, srv, 18, "alice@example.com", "pw", strings.ToUpper(strings.Trim(guid(2), "{}")))
	work.online(18, 5, "2788999228:48")
	endpointsIn := func(w *wire, who string, n int) {
		t.Helper()
		for {
			ubx := w.expectSkip("UBX 1:" + who)
			eps, err := msnp.Endpoints(ubx.Payload)
			if err != nil {
				t.Fatalf("%s: %v", ubx.Payload, err)
			}
			if len(eps) == n {
				return
			}
		}
	}
	endpointsIn(home, "alice@example.com", 2)
	endpointsIn(work, "alice@example.com", 2)
	endpointsIn(bob, "alice@example.com", 2)
	home.expectNothing() // still signed in

	// The same machine signs in again: its old session ends.
	home2 := loginLive(t, srv, 18, "alice@example.com", "pw", guid(1))
	home.expectSkip("OUT OTH")
	home.expectClosed()
	home2.online(18, 5, "2788999228:48")

	// Work signs home out: UUN type 4 to that endpoint. Home hears it as
	// UBN from work, and its session ends; Bob still sees Alice (work).
	work.sendMsg("UUN 8 alice@example.com;"+guid(1)+" 4", "goawyplzthxbye")
	work.expectSkip("UUN 8 OK")
	ubn := home2.expectSkip("UBN alice@example.com;" + guid(2) + " 4")
	if string(ubn.Payload) != "goawyplzthxbye" {
		t.Fatalf("UBN payload %q", ubn.Payload)
	}
	home2.expect("OUT")
	home2.expectClosed()
	endpointsIn(bob, "alice@example.com", 1)

	// Notices between users: Bob to Alice (type 1, sharing).
	bob.sendMsg("UUN 9 alice@example.com 1", "<x/>")
	bob.expectSkip("UUN 9 OK")
	work.expectSkip("UBN bob@example.com;" + guid(9) + " 1")
	// To someone offline: 217.
	bob.sendMsg("UUN 10 nobody@example.com 1", "<x/>")
	bob.expectSkip("217 10")

	// An older client (MSNP15, no endpoints) replaces every endpoint.
	old := loginLive(t, srv, 15, "alice@example.com", "pw", "")
	work.expectSkip("OUT OTH")
	work.expectClosed()
	old.send("OUT")
	bob.expectSkip("FLN 1:alice@example.com 0:0")
}

// "UUN me 8 gtfo" signs every other endpoint out.
func TestSignOutEverywhere(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	var ws []*wire
	for i := 1; i <= 3; i++ {
		w := loginLive(t, srv, 16+i%3, "alice@example.com", "pw", guid(i))
		w.online(16+i%3, 5, "0:0")
		ws = append(ws, w)
	}
	ws[0].sendMsg("UUN 7 alice@example.com 8", "gtfo")
	ws[0].expectSkip("UUN 7 OK")
	for _, w := range ws[1:] {
		w.expectSkip("OUT")
		w.expectClosed()
	}
	ws[0].send("PNG")
	ws[0].expectSkip("QNG 60")
}

// A conversation with someone signed in at two machines reaches both; an
// MSNP16+ participant sees each endpoint, an older one the user once.
func TestSwitchboardEndpoints(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	befriend(t, srv, "alice@example.com", "bob@example.com")
	alice := login(t, srv, 12, "alice@example.com", "pw")
	alice.send("CHG 5 NLN 1342177280")
	alice.expect("CHG 5 NLN 1342177280")
	x, y := guid(0xa), guid(0xb)
	bobX := loginLive(t, srv, 18, "bob@example.com", "pw", x)
	bobX.online(18, 5, "2788999228:48")
	bobY := loginLive(t, srv, 16, "bob@example.com", "pw", y)
	bobY.online(16, 5, "2788999228:48")

	alice.send("XFR 9 SB")
	xfr := alice.expectSkip("XFR 9 SB * CKI *")
	sbAddr := xfr.Param(1)
	asb := dial(t, sbAddr, "alice-sb")
	asb.send("USR 1 alice@example.com " + xfr.Param(3))
	asb.expect("USR 1 OK alice@example.com Alice")
	asb.send("CAL 2 bob@example.com")
	sid := asb.expect("CAL 2 RINGING *").Param(1)
	// Both of Bob's machines are rung, each in its version's shape.
	rx := bobX.expectSkip("RNG " + sid + " " + sbAddr + " CKI * alice@example.com Alice U messenger.hotmail.com 1")
	ry := bobY.expectSkip("RNG " + sid + " " + sbAddr + " CKI * alice@example.com Alice U messenger.hotmail.com 1")

	xsb := dial(t, sbAddr, "bob-x")
	xsb.send("ANS 1 bob@example.com;" + x + " " + rx.Param(3) + " " + sid)
	xsb.expect("IRO 1 1 1 alice@example.com Alice 1342177280:0")
	xsb.expect("ANS 1 OK")
	asb.expect("JOI bob@example.com Bob 2788999228")

	ysb := dial(t, sbAddr, "bob-y")
	ysb.send("ANS 1 bob@example.com;" + strings.ToUpper(y) + " " + ry.Param(3) + " " + sid)
	iro := []string{lineOf(ysb.next()), lineOf(ysb.next())}
	sort2(iro)
	if iro[0] != "IRO 1 1 2 alice@example.com Alice 1342177280:0" && iro[1] != "IRO 1 1 2 alice@example.com Alice 1342177280:0" {
		t.Fatalf("roster %q", iro)
	}
	if !strings.Contains(strings.Join(iro, "|"), " 2 bob@example.com;"+x+" Bob 2788999228:48") {
		t.Fatalf("roster %q does not name Bob's other endpoint", iro)
	}
	ysb.expect("ANS 1 OK")
	// Alice (MSNP12) already sees Bob: nothing new. Bob's first machine
	// sees his second.
	xsb.expect("JOI bob@example.com;" + y + " Bob 2788999228:48")
	asb.expectNothing()
	// The same invitation does not let the same machine in twice.
	again := dial(t, sbAddr, "bob-x-again")
	again.send("ANS 1 bob@example.com;" + x + " " + rx.Param(3) + " " + sid)
	again.expect("911 1")

	hello := "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHi Bob!"
	asb.sendMsg("MSG 3 N", hello)
	for _, w := range []*wire{xsb, ysb} {
		if m := w.expect("MSG alice@example.com Alice"); string(m.Payload) != hello {
			t.Fatalf("relayed %q", m.Payload)
		}
	}
	// What Bob writes at one machine shows at the other too.
	xsb.sendMsg("MSG 2 N", hello)
	asb.expect("MSG bob@example.com Bob")
	ysb.expect("MSG bob@example.com Bob")

	// One machine leaves: the other hears of the endpoint, Alice of
	// nothing; the last one leaves: Alice sees Bob go.
	xsb.send("OUT")
	ysb.expect("BYE bob@example.com;" + x)
	asb.expectNothing()
	ysb.send("OUT")
	asb.expect("BYE bob@example.com")
}

// WLM 2009 calls its own address to bring its other machines in; alone, it
// is shown itself joining. The group-chat commands get what a service
// without group chats answers.
func TestSelfCallAndCircles(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "carol@example.com", "pw", "Carol")
	carol := loginLive(t, srv, 18, "carol@example.com", "pw", guid(3))
	carol.online(18, 5, "2788999228:48")
	carol.send("XFR 7 SB")
	xfr := carol.expectSkip("XFR 7 SB * CKI * U messenger.msn.com 1")
	sb := dial(t, xfr.Param(1), "carol-sb")
	sb.send("USR 1 carol@example.com;" + guid(3) + " " + xfr.Param(3))
	sb.expect("USR 1 OK carol@example.com;" + guid(3) + " Carol")
	sb.send("CAL 2 carol@example.com")
	sb.expect("CAL 2 RINGING *")
	sb.expect("JOI carol@example.com Carol 2788999228:48")

	// A second machine is rung by the self-call.
	other := loginLive(t, srv, 18, "carol@example.com", "pw", guid(4))
	other.online(18, 5, "0:0")
	sb.send("CAL 3 carol@example.com")
	sid := sb.expect("CAL 3 RINGING *").Param(1)
	rng := other.expectSkip("RNG " + sid + " * CKI * carol@example.com Carol U messenger.hotmail.com 1")
	osb := dial(t, xfr.Param(1), "carol-sb2")
	osb.send("ANS 1 carol@example.com;" + guid(4) + " " + rng.Param(3) + " " + sid)
	osb.expect("IRO 1 1 1 carol@example.com;" + guid(3) + " Carol 2788999228:48")
	osb.expect("ANS 1 OK")
	sb.expect("JOI carol@example.com;" + guid(4) + " Carol 0:0")

	// Circles: PUT is acknowledged, SDG and VAS taken quietly, DEL has
	// nothing to delete, and the circle ticket is accepted.
	carol.sendMsg("PUT 8", "Routing: 1.0\r\nTo: 9:00000000-0000-0000-0009-000000000001@live.com\r\n\r\n")
	carol.expectSkip("PUT 8 OK")
	carol.sendMsg("SDG 9", "Routing: 1.0\r\n\r\n")
	carol.sendMsg("VAS 10 x 1 1", "x")
	carol.sendMsg("DEL 11", "x")
	carol.expect("DEL 11 OK")
	carol.send("USR 12 SHA A dGlja2V0")
	carol.expect("USR 12 OK carol@example.com 0 0")
	// An MSNP15 client sending them is out of its version: disconnected.
	old := loginLive(t, srv, 15, "carol@example.com", "pw", "")
	old.sendMsg("PUT 5", "x")
	old.expectClosed()
}

// MSNP18's offline messages over the NS (bitlbee 3.2: "UUM t email 1 1"),
// kept unless the recipient blocks the sender; no reply either way.
func TestUUMOfflineMessage(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	srv.AddUser(t, "carol@example.com", "pw", "Carol")
	if _, err := srv.Store.AddToList(t.Context(), "carol@example.com", "alice@example.com", store.Block, "", ""); err != nil {
		t.Fatal(err)
	}
	alice := loginLive(t, srv, 18, "alice@example.com", "pw", guid(1))
	alice.online(18, 5, "0:0")
	text := "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Segoe%20UI\r\n\r\nsee you ☺"
	alice.sendMsg("UUM 7 bob@example.com 1 1", text)
	alice.sendMsg("UUM 8 carol@example.com 1 1", text)
	alice.sendMsg("UUM 9 dave@yahoo.com 32 1", text)
	alice.send("PNG")
	alice.expectSkip("QNG 60") // no replies before it
	ms, err := srv.Store.OfflineMessages(t.Context(), "bob@example.com")
	if err != nil || len(ms) != 1 || string(ms[0].Body) != "see you ☺" || ms[0].From != "alice@example.com" || ms[0].FromName != "Alice" {
		t.Fatalf("bob's offline messages %+v, %v", ms, err)
	}
	if ms, _ := srv.Store.OfflineMessages(t.Context(), "carol@example.com"); len(ms) != 0 {
		t.Fatalf("carol blocks alice but got %+v", ms)
	}
}
