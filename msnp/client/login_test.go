package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

func dialAsync(cfg Config) (chan *Client, chan error) {
	cc, ec := make(chan *Client, 1), make(chan error, 1)
	go func() {
		c, err := Dial(context.Background(), cfg)
		cc <- c
		ec <- err
	}()
	return cc, ec
}

func dialResult(t *testing.T, cc chan *Client, ec chan error) *Client {
	t.Helper()
	select {
	case c := <-cc:
		if err := <-ec; err != nil {
			t.Fatalf("Dial: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("Dial did not return")
	}
	return nil
}

func dialError(t *testing.T, cc chan *Client, ec chan error) error {
	t.Helper()
	select {
	case c := <-cc:
		err := <-ec
		if err == nil {
			c.Close()
			t.Fatal("Dial succeeded")
		}
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Dial did not return")
	}
	return nil
}

// MSNP2: dispatch server referral, MD5, the numbered list dump (MSNP2
// transcript shapes).
func TestLoginMSNP2Referral(t *testing.T) {
	ds, ns := newScriptServer(t), newScriptServer(t)
	cfg := testConfig(ds.addr(), 2)
	cc, ec := dialAsync(cfg)

	d := ds.accept()
	d.expect("VER 1 MSNP2 CVR0")
	d.send("VER 1 MSNP2")
	d.expect("INF 2")
	d.send("INF 2 MD5")
	d.expect("USR 3 MD5 I alice@example.com")
	d.send("XFR 3 NS " + ns.addr())
	d.expectClosed()

	n := ns.accept()
	n.md5Login(2, "alice@example.com", "Alice%20A")
	n.expect("SYN 5 0")
	n.send("SYN 5 3",
		"GTC 5 3 A",
		"BLP 5 3 AL",
		"LST 5 FL 3 1 1 bob@example.com Bob",
		"LST 5 AL 3 1 1 bob@example.com Bob",
		"LST 5 BL 3 0 0",
		"LST 5 RL 3 1 2 bob@example.com Bob",
		"LST 5 RL 3 2 2 carol@example.com Carol%20C")
	n.expect("CHG 6 NLN")
	n.send("CHG 6 NLN", "ILN 6 AWY bob@example.com Bob")
	n.expect("PNG")
	n.send("QNG")
	c := dialResult(t, cc, ec)

	if c.Version() != 2 {
		t.Errorf("version %v", c.Version())
	}
	if self := c.Self(); self.FriendlyName != "Alice A" || self.Status != Online {
		t.Errorf("self %+v", self)
	}
	bob, ok := c.Contact("bob@example.com")
	if !ok || bob.Lists != Forward|Allow|Reverse || bob.Status != Away || bob.FriendlyName != "Bob" {
		t.Errorf("bob %+v", bob)
	}
	carol, ok := c.Contact("carol@example.com")
	if !ok || carol.Lists != Reverse || carol.FriendlyName != "Carol C" {
		t.Errorf("carol %+v", carol)
	}
	if p := waitEvent[*Presence](t, c); p.Email != "bob@example.com" || p.Status != Away {
		t.Errorf("presence %+v", p)
	}

	n.send("NLN BSY bob@example.com Bobby", "FLN carol@example.com")
	if p := waitEvent[*Presence](t, c); p.Status != Busy || p.FriendlyName != "Bobby" {
		t.Errorf("presence %+v", p)
	}
	c.Close()
	n.expectClosed()
}

// MSNP7: groups in the numbered dump, list edits and RL notifications.
func TestLoginMSNP7Lists(t *testing.T) {
	ns := newScriptServer(t)
	cc, ec := dialAsync(testConfig(ns.addr(), 7))
	n := ns.accept()
	n.md5Login(7, "alice@example.com", "Alice")
	n.expect("SYN 5 0")
	n.send("SYN 5 12",
		"GTC 5 12 A",
		"BLP 5 12 AL",
		"PRP 5 12 PHH 555",
		"LSG 5 12 1 2 0 Other%20Contacts 0",
		"LSG 5 12 2 2 1 Friends 0",
		"LST 5 FL 12 1 1 bob@example.com Bob 0,1",
		"BPR 12 bob@example.com PHH 123",
		"LST 5 AL 12 1 1 bob@example.com Bob",
		"LST 5 BL 12 0 0",
		"LST 5 RL 12 0 0")
	n.expect("CHG 6 NLN")
	n.send("CHG 6 NLN")
	n.expect("PNG")
	n.send("QNG")
	c := dialResult(t, cc, ec)

	if g := c.Groups(); len(g) != 2 || g[1] != (Group{ID: "1", Name: "Friends"}) {
		t.Errorf("groups %+v", g)
	}
	if bob, _ := c.Contact("bob@example.com"); strings.Join(bob.Groups, ",") != "0,1" {
		t.Errorf("bob %+v", bob)
	}

	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- c.AddContact(ctx, "dave@example.com") }()
	n.expect("ADD 7 FL dave@example.com dave@example.com 0")
	n.send("ADD 7 FL 13 dave@example.com dave@example.com 0")
	n.expect("ADD 8 AL dave@example.com dave@example.com")
	n.send("ADD 8 AL 14 dave@example.com dave@example.com")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Contact("dave@example.com"); d.Lists != Forward|Allow {
		t.Errorf("dave %+v", d)
	}

	go func() { done <- c.Block(ctx, "bob@example.com") }()
	n.expect("REM 9 AL bob@example.com")
	n.send("REM 9 AL 15 bob@example.com")
	n.expect("ADD 10 BL bob@example.com bob@example.com")
	n.send("ADD 10 BL 16 bob@example.com bob@example.com")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _ := c.Contact("bob@example.com"); b.Lists != Forward|Block {
		t.Errorf("bob %+v", b)
	}

	go func() {
		_, err := c.AddGroup(ctx, "Work Mates")
		done <- err
	}()
	n.expect("ADG 11 Work%20Mates 0")
	n.send("ADG 11 17 Work%20Mates 2 0")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if g := c.Groups(); len(g) != 3 || g[2] != (Group{ID: "2", Name: "Work Mates"}) {
		t.Errorf("groups %+v", g)
	}

	go func() { done <- c.SetFriendlyName(ctx, "Alice 100%") }()
	n.expect("REA 12 alice@example.com Alice%20100%25")
	n.send("REA 12 18 alice@example.com Alice%20100%25")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := c.Self(); s.FriendlyName != "Alice 100%" {
		t.Errorf("self %+v", s)
	}

	go func() { done <- c.SetPersonalMessage(ctx, "hi") }()
	if err := <-done; !errors.Is(err, ErrNotSupported) {
		t.Errorf("personal message in MSNP7: %v", err)
	}

	// Refusals come back with the server's code.
	go func() { done <- c.AddContact(ctx, "nobody@example.com") }()
	n.expect("ADD 13 FL nobody@example.com nobody@example.com 0")
	n.send("205 13")
	if err := <-done; !errors.Is(err, msnp.ErrNoSuchUser) {
		t.Errorf("unknown user: %v", err)
	}

	n.send("ADD 0 RL 19 erin@example.com Erin")
	if e := waitEvent[*ContactAdded](t, c); e.Email != "erin@example.com" || e.FriendlyName != "Erin" {
		t.Errorf("added %+v", e)
	}
	n.send("REM 0 RL 20 erin@example.com")
	if e := waitEvent[*ContactRemoved](t, c); e.Email != "erin@example.com" {
		t.Errorf("removed %+v", e)
	}
	n.sendPayload("NOT", "<NOTIFICATION/>")
	if e := waitEvent[*ServerCommand](t, c); e.Command.Name != "NOT" || string(e.Command.Payload) != "<NOTIFICATION/>" {
		t.Errorf("server command %+v", e.Command)
	}
	c.Close()
}

// passportServer serves the nexus and login2.srf on one plain-HTTP port.
func passportServer(t *testing.T, email, password, ticket string) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/rdr/pprdr.asp", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["PassportURLs"] = []string{"DARealm=Passport.Net,DALogin=" + r.Host + "/login2.srf,ConfigVersion=15"}
	})
	mux.HandleFunc("/login2.srf", func(w http.ResponseWriter, r *http.Request) {
		a, err := auth.ParsePassportAuthorization(r.Header.Get("Authorization"))
		if err != nil || a.SignIn != email || a.Password != password || a.Params.Get("lc") != "1033" {
			w.Header()["WWW-Authenticate"] = []string{"Passport1.4 da-status=failed"}
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header()["Authentication-Info"] = []string{"Passport1.4 da-status=success,tname=MSPAuth,from-PP='" + ticket + "',ru=http://messenger.msn.com"}
	})
	mux.HandleFunc("/RST.srf", func(w http.ResponseWriter, r *http.Request) {
		var body strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			body.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if !strings.Contains(body.String(), "<wsse:Username>"+email+"</wsse:Username>") ||
			!strings.Contains(body.String(), "<wsse:Password>"+xmlEscape(password)+"</wsse:Password>") {
			w.Write([]byte(`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault>` +
				`<faultcode>wsse:FailedAuthentication</faultcode><faultstring>Authentication Failure</faultstring></S:Fault></S:Body></S:Envelope>`))
			return
		}
		w.Write([]byte(`<?xml version="1.0" encoding="utf-8" ?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/">` +
			`<S:Body><wst:RequestSecurityTokenResponseCollection xmlns:wst="http://schemas.xmlsoap.org/ws/2004/04/trust" ` +
			`xmlns:wsse="http://schemas.xmlsoap.org/ws/2003/06/secext" xmlns:wsp="http://schemas.xmlsoap.org/ws/2002/12/policy" ` +
			`xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/03/addressing">` +
			`<wst:RequestSecurityTokenResponse><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>http://Passport.NET/tb</wsa:Address>` +
			`</wsa:EndpointReference></wsp:AppliesTo><wst:RequestedSecurityToken><EncryptedData>x</EncryptedData></wst:RequestedSecurityToken>` +
			`</wst:RequestSecurityTokenResponse>` +
			`<wst:RequestSecurityTokenResponse><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com</wsa:Address>` +
			`</wsa:EndpointReference></wsp:AppliesTo><wst:RequestedSecurityToken><wsse:BinarySecurityToken Id="Compact1">` +
			strings.ReplaceAll(ticket, "&", "&amp;") + `</wsse:BinarySecurityToken></wst:RequestedSecurityToken>` +
			`</wst:RequestSecurityTokenResponse></wst:RequestSecurityTokenResponseCollection></S:Body></S:Envelope>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

const twnParams = "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1062764229,kpp=1,kv=5,ver=2.1.0173.1,tpf=43f8a4c8ed940c04e3740be46c4d1619"

// MSNP8: Passport 1.4 through the nexus, the compact list dump.
func TestLoginMSNP8Passport(t *testing.T) {
	ps := passportServer(t, "alice@example.com", "mypassword", "t=tick3t&p=pr0file")
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 8)
	cfg.Passport.NexusURL = ps.URL + "/rdr/pprdr.asp"
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.expect("VER 1 MSNP8 CVR0")
	n.send("VER 1 MSNP8 CVR0")
	n.expect("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0544 MSMSGS alice@example.com")
	n.send("CVR 2 6.0.0602 6.0.0602 1.0.0000 http://download.example http://info.example")
	n.expect("USR 3 TWN I alice@example.com")
	n.send("USR 3 TWN S " + twnParams)
	n.expect("USR 4 TWN S t=tick3t&p=pr0file")
	n.send("USR 4 OK alice@example.com Alice 1 0")
	n.sendPayload("MSG Hotmail Hotmail", "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nLoginTime: 1\r\n\r\n")
	n.expect("SYN 5 0")
	n.send("SYN 5 7 2 1",
		"GTC A",
		"BLP AL",
		"LSG 0 Other%20Contacts 0",
		"LST bob@example.com Bob 11 0",
		"BPR PHH 123",
		"LST carol@example.com Carol 8")
	n.expect("CHG 6 NLN 0")
	n.send("CHG 6 NLN 0", "ILN 6 NLN bob@example.com Bob 268435492")
	n.expect("PNG")
	n.send("QNG")
	c := dialResult(t, cc, ec)
	if bob, _ := c.Contact("bob@example.com"); bob.Lists != Forward|Allow|Reverse || bob.Status != Online {
		t.Errorf("bob %+v", bob)
	}
	if carol, _ := c.Contact("carol@example.com"); carol.Lists != Reverse {
		t.Errorf("carol %+v", carol)
	}
	// No event for the profile: it is the client's own business.
	if ev := nextEvent(t, c); ev.(*Presence).Email != "bob@example.com" {
		t.Errorf("event %#v", ev)
	}
	c.Close()
}

// MSNP11: GUID list dump, PRP MFN, UBX personal messages, challenges.
func TestLoginMSNP11Challenge(t *testing.T) {
	ps := passportServer(t, "alice@example.com", "mypassword", "t=tick3t&p=")
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 11)
	cfg.Passport.LoginURL = ps.URL + "/login2.srf"
	cfg.Status = Away
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.expect("VER 1 MSNP11 CVR0")
	n.send("VER 1 MSNP11")
	n.expect("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.0.0816 MSMSGS alice@example.com")
	n.send("CVR 2 7.0.0816 7.0.0816 7.0.0816 http://a http://b")
	n.expect("USR 3 TWN I alice@example.com")
	n.send("USR 3 TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1033,id=507")
	n.expect("USR 4 TWN S t=tick3t&p=")
	n.send("USR 4 OK alice@example.com 1 0", "SBS 0 null")
	n.expect("SYN 5 0 0")
	n.send("SYN 5 2000-01-01T00:00:00.0-00:00 2000-01-01T00:00:00.0-00:00 1 1",
		"GTC A", "BLP AL", "PRP MFN Alice%20Eleven",
		"LSG Friends 6a2d1f3b-0000-4000-8000-000000000001",
		"LST N=bob@example.com F=Bob C=11111111-2222-3333-4444-555555555555 11 6a2d1f3b-0000-4000-8000-000000000001")
	n.expect("CHG 6 AWY 268730368")
	n.send("CHG 6 AWY 268730368", "ILN 6 NLN bob@example.com Bob 0 %3Cmsnobj%2F%3E")
	n.sendPayload("UBX bob@example.com", "<Data><PSM>out &amp; about</PSM><CurrentMedia></CurrentMedia></Data>")
	n.expect("PNG")
	n.send("QNG 60")
	c := dialResult(t, cc, ec)
	if s := c.Self(); s.FriendlyName != "Alice Eleven" || s.Status != Away {
		t.Errorf("self %+v", s)
	}
	bob, _ := c.Contact("bob@example.com")
	if bob.GUID != "11111111-2222-3333-4444-555555555555" || bob.PersonalMessage != "out & about" ||
		strings.Join(bob.Groups, ",") != "6a2d1f3b-0000-4000-8000-000000000001" {
		t.Errorf("bob %+v", bob)
	}

	n.send("CHL 0 22210219642164014968")
	q := n.expect("QRY * PROD0090YUAUV{2B 32")
	if string(q.Payload) != "85ecb0db8f32113df79ce0892b9a102c" {
		t.Errorf("challenge answer %q", q.Payload)
	}
	n.send("QRY " + itoa(q.TrID))

	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- c.SetPersonalMessage(ctx, "a <b>") }()
	u := n.expect("UUX * *")
	if string(u.Payload) != "<Data><PSM>a &lt;b&gt;</PSM><CurrentMedia></CurrentMedia></Data>" {
		t.Errorf("UUX payload %q", u.Payload)
	}
	n.send("UUX " + itoa(u.TrID) + " 0")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	go func() { done <- c.RemoveContact(ctx, "bob@example.com") }()
	r := n.expect("REM * FL 11111111-2222-3333-4444-555555555555")
	n.send("REM " + itoa(r.TrID) + " FL 11111111-2222-3333-4444-555555555555")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if bob, _ := c.Contact("bob@example.com"); bob.Lists != Allow|Reverse {
		t.Errorf("bob after removal %+v", bob)
	}
	go func() { done <- c.SetFriendlyName(ctx, "A B") }()
	r = n.expect("PRP * MFN A%20B")
	n.send("PRP " + itoa(r.TrID) + " MFN A%20B")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// MSNP12: the ticket from RST.srf; LST with a network id.
func TestLoginMSNP12RST(t *testing.T) {
	ps := passportServer(t, "alice@example.com", "p&ss<word>", "t=rst-ticket&p=")
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 12)
	cfg.Password = "p&ss<word>"
	cfg.Passport.RSTURL = ps.URL + "/RST.srf"
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.expect("VER 1 MSNP12 CVR0")
	n.send("VER 1 MSNP12")
	n.expect("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 MSMSGS alice@example.com")
	n.send("CVR 2 7.5.0324 7.5.0324 7.5.0324 http://a http://b")
	n.expect("USR 3 TWN I alice@example.com")
	n.send("USR 3 TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1033,id=507")
	n.expect("USR 4 TWN S t=rst-ticket&p=")
	n.send("USR 4 OK alice@example.com 1 0", "SBS 0 null")
	n.expect("SYN 5 0 0")
	n.send("SYN 5 2000-01-01T00:00:00.0-00:00 2000-01-01T00:00:00.0-00:00 2 0",
		"GTC A", "BLP AL", "PRP MFN Alice",
		"LST N=bob@example.com F=Bob C=11111111-2222-3333-4444-555555555555 11 1",
		"LST N=carol@example.com F=Carol 8 1")
	n.expect("CHG 6 NLN 268730368")
	n.send("CHG 6 NLN 268730368")
	n.expect("PNG")
	n.send("QNG 60")
	c := dialResult(t, cc, ec)
	if bob, _ := c.Contact("bob@example.com"); bob.Lists != Forward|Allow|Reverse || len(bob.Groups) != 0 {
		t.Errorf("bob %+v", bob)
	}
	if carol, _ := c.Contact("carol@example.com"); carol.Lists != Reverse {
		t.Errorf("carol %+v", carol)
	}
	c.Close()
}

func TestLoginWrongPasswordMD5(t *testing.T) {
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 5)
	cfg.Password = "wrong"
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.expect("VER 1 MSNP5 CVR0")
	n.send("VER 1 MSNP5")
	n.expect("INF 2")
	n.send("INF 2 MD5")
	n.expect("USR 3 MD5 I alice@example.com")
	n.send("USR 3 MD5 S 1013928519.693957190")
	n.expect("USR 4 MD5 S *")
	n.send("911 4")
	err := dialError(t, cc, ec)
	if !errors.Is(err, msnp.ErrAuthFailed) {
		t.Fatalf("error %v does not wrap msnp.ErrAuthFailed", err)
	}
	if !strings.Contains(err.Error(), "wrong e-mail address or password") {
		t.Errorf("error %q", err)
	}
}

func TestLoginWrongPasswordPassport(t *testing.T) {
	ps := passportServer(t, "alice@example.com", "right", "t=x&p=")
	for _, rst := range []bool{false, true} {
		ns := newScriptServer(t)
		cfg := testConfig(ns.addr(), 9)
		cfg.Password = "wrong"
		cfg.Passport.URL = ps.URL
		if rst {
			cfg.Passport.RSTURL = ps.URL + "/RST.srf"
		}
		cc, ec := dialAsync(cfg)
		n := ns.accept()
		n.expect("VER 1 MSNP9 CVR0")
		n.send("VER 1 MSNP9")
		n.expect("CVR ...")
		n.send("CVR 2 6.0.0602 6.0.0602 1.0.0000 http://a http://b")
		n.expect("USR 3 TWN I alice@example.com")
		n.send("USR 3 TWN S " + twnParams)
		if err := dialError(t, cc, ec); !errors.Is(err, msnp.ErrAuthFailed) {
			t.Errorf("rst=%v: error %v does not wrap msnp.ErrAuthFailed", rst, err)
		}
	}
}

func TestLoginVersionRefused(t *testing.T) {
	t.Run("VER 0", func(t *testing.T) {
		ns := newScriptServer(t)
		cfg := testConfig(ns.addr(), 12)
		cfg.MinVersion = 8
		cc, ec := dialAsync(cfg)
		n := ns.accept()
		n.expect("VER 1 MSNP12 MSNP11 MSNP10 MSNP9 MSNP8 CVR0")
		n.send("VER 1 0")
		n.nc.Close()
		if err := dialError(t, cc, ec); !errors.Is(err, ErrVersionRefused) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("hang up", func(t *testing.T) {
		ns := newScriptServer(t)
		cc, ec := dialAsync(testConfig(ns.addr(), 3))
		n := ns.accept()
		n.expect("VER 1 MSNP3 CVR0")
		n.nc.Close()
		if err := dialError(t, cc, ec); !errors.Is(err, ErrVersionRefused) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("other version", func(t *testing.T) {
		ns := newScriptServer(t)
		cc, ec := dialAsync(testConfig(ns.addr(), 10))
		n := ns.accept()
		n.expect("VER 1 MSNP10 CVR0")
		n.send("VER 1 MSNP15")
		if err := dialError(t, cc, ec); !errors.Is(err, ErrVersionRefused) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		ns := newScriptServer(t)
		addr := ns.addr()
		ns.ln.Close()
		_, err := Dial(context.Background(), testConfig(addr, 10))
		if err == nil || !strings.Contains(err.Error(), "cannot reach") {
			t.Errorf("error %v", err)
		}
	})
}

// The server picks the highest version it shares with a client that
// offers several.
func TestLoginNegotiatesAcrossMethods(t *testing.T) {
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 12)
	cfg.MinVersion = 5
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.expect("VER 1 MSNP12 MSNP11 MSNP10 MSNP9 MSNP8 MSNP7 MSNP6 MSNP5 CVR0")
	n.send("VER 1 MSNP7 MSNP6 MSNP5 CVR0") // a server that lists all it accepts
	n.expect("INF 2")
	n.send("INF 2 MD5")
	n.expect("USR 3 MD5 I alice@example.com")
	n.send("USR 3 MD5 S 1013928519.693957190")
	n.expect("USR 4 MD5 S 6f3963009fc8a9d2b2ff137da0905c55")
	n.send("USR 4 OK alice@example.com Alice 1")
	n.expect("SYN 5 0")
	n.send("SYN 5 0")
	n.expect("CHG 6 NLN")
	n.send("CHG 6 NLN")
	n.expect("PNG")
	n.send("QNG")
	c := dialResult(t, cc, ec)
	if c.Version() != 7 {
		t.Errorf("version %v", c.Version())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Email: "a@b", Password: "x"},
		{Server: "x:1", Email: "nope", Password: "x"},
		{Server: "x:1", Email: "a@b", Version: 13},
		{Server: "x:1", Email: "a@b", Version: 5, MinVersion: 8},
		{Server: "x:1", Email: "a@b", Status: Offline},
	} {
		if _, err := Dial(context.Background(), cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
