package ns_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// usrOK is the USR OK line each version expects (TrID 4).
func usrOK(v int, email, friendly string) string {
	switch {
	case v <= 5:
		return "USR 4 OK " + email + " " + friendly
	case v <= 7:
		return "USR 4 OK " + email + " " + friendly + " 1"
	case v <= 9:
		return "USR 4 OK " + email + " " + friendly + " 1 0"
	}
	return "USR 4 OK " + email + " 1 0"
}

func TestLoginEveryVersion(t *testing.T) {
	srv := coretest.Start(t)
	for v := 2; v <= 12; v++ {
		t.Run(fmt.Sprintf("MSNP%d", v), func(t *testing.T) {
			email := fmt.Sprintf("user%d@example.com", v)
			srv.AddUser(t, email, "pw"+strconv.Itoa(v), "User "+strconv.Itoa(v))
			w, ok := loginOK(t, srv, v, email, "pw"+strconv.Itoa(v))
			if want := usrOK(v, email, "User%20"+strconv.Itoa(v)); ok != want {
				t.Fatalf("got %q, want %q", ok, want)
			}
			// A new account's first SYN gets the whole (empty) list:
			// "SYN 5 0" answered "SYN 5 0" would mean "up to date", and
			// Pidgin's MSNP9 plugin then says the list is unavailable.
			switch {
			case v <= 7:
				w.send("SYN 5 0")
				w.expect("SYN 5 1")
				w.expect("GTC 5 1 A")
				w.expect("BLP 5 1 AL")
				if v == 7 {
					w.expect("LSG 5 1 1 1 0 Other%20Contacts 0")
				}
				for _, l := range []string{"FL", "AL", "BL", "RL"} {
					w.expect("LST 5 " + l + " 1 0 0")
				}
			case v <= 9:
				w.send("SYN 5 0")
				w.expect("SYN 5 1 0 1")
				w.expect("GTC A")
				w.expect("BLP AL")
				w.expect("LSG 0 Other%20Contacts 0")
			default:
				w.send("SYN 5 0 0")
				w.expect("SYN 5 * * 0 0")
				w.expect("GTC A")
				w.expect("BLP AL")
				w.expect("PRP MFN User%20" + strconv.Itoa(v))
			}
			chg := "CHG 6 NLN"
			if v >= 8 {
				chg += " 268435492"
			}
			w.send(chg)
			w.expect(chg)
			if v >= 6 {
				w.answerChallenge(v, 7, w.expect("CHL 0 *"))
			}
			w.send("PNG")
			if v >= 9 {
				w.expect("QNG 60")
			} else {
				w.expect("QNG")
			}
			w.send("OUT")
			w.expectClosed()
		})
	}
}

func TestPipelinedLogin(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "old@example.com", "secret", "Old")
	w := dial(t, srv.NSAddr, "old")
	// MSN 1.0 sends its first commands before any reply.
	w.send("VER 1 MSNP2\r\nINF 2\r\nUSR 3 MD5 I old@example.com")
	w.expect("VER 1 MSNP2")
	w.expect("INF 2 MD5")
	salt := w.expect("USR 3 MD5 S *").Param(2)
	w.send("USR 4 MD5 S " + auth.MD5Digest(salt, "secret"))
	w.expect("USR 4 OK old@example.com Old")
}

func TestVersionNegotiation(t *testing.T) {
	srv := coretest.Start(t)
	w := dial(t, srv.NSAddr, "a")
	w.send("VER 1 MSNP21 MSNP19 CVR0")
	w.expect("VER 1 0")
	w.expectClosed()

	w = dial(t, srv.NSAddr, "b")
	w.send("VER 1 MSNP21 MSNP15 MSNP12 MSNP11")
	w.expect("VER 1 MSNP15")
	w.send("VER 2 MSNP15")
	w.expect("715 2")

	// With MD5 logins off, old clients find no common version.
	srv2 := coretest.Start(t, coretest.WithConfig(func(c *coretestConfig) { c.Login.MD5 = false }))
	w = dial(t, srv2.NSAddr, "c")
	w.send("VER 1 MSNP7 MSNP6 CVR0")
	w.expect("VER 1 0")
	w.expectClosed()
}

func TestLoginFailures(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "right", "Alice")

	w := dial(t, srv.NSAddr, "md5")
	w.send("VER 1 MSNP7\r\nINF 2\r\nUSR 3 MD5 I alice@example.com")
	w.expect("VER 1 MSNP7")
	w.expect("INF 2 MD5")
	salt := w.expect("USR 3 MD5 S *").Param(2)
	w.send("USR 4 MD5 S " + auth.MD5Digest(salt, "wrong"))
	w.expect("911 4")
	w.expectClosed()

	// An unknown user gets a salt like anyone (no account probing), and
	// the same one every time.
	w = dial(t, srv.NSAddr, "ghost")
	w.send("VER 1 MSNP7\r\nUSR 2 MD5 I ghost@example.com")
	w.expect("VER 1 MSNP7")
	salt1 := w.expect("USR 2 MD5 S *").Param(2)
	w.send("USR 3 MD5 S " + auth.MD5Digest(salt1, "anything"))
	w.expect("911 3")
	w = dial(t, srv.NSAddr, "ghost2")
	w.send("VER 1 MSNP7\r\nUSR 2 MD5 I ghost@example.com")
	w.expect("VER 1 MSNP7")
	if salt2 := w.expect("USR 2 MD5 S *").Param(2); salt2 != salt1 {
		t.Errorf("unknown user's salt changed: %s, %s", salt1, salt2)
	}

	// A Passport ticket is for one user, and for one use.
	w = dial(t, srv.NSAddr, "twn")
	w.send("VER 1 MSNP8\r\nUSR 2 TWN I alice@example.com")
	w.expect("VER 1 MSNP8")
	params := w.expect("USR 2 TWN S *").Param(2)
	ticket := passportLogin(t, srv, "alice@example.com", "right", params)
	srv.AddUser(t, "mallory@example.com", "m", "M")
	m := dial(t, srv.NSAddr, "mallory")
	m.send("VER 1 MSNP8\r\nUSR 2 TWN I mallory@example.com")
	m.expect("VER 1 MSNP8")
	m.expect("USR 2 TWN S *")
	m.send("USR 3 TWN S " + ticket)
	m.expect("911 3")
	w.send("USR 3 TWN S " + ticket)
	w.expect("USR 3 OK alice@example.com Alice 1 0")

	w = dial(t, srv.NSAddr, "replay")
	w.send("VER 1 MSNP8\r\nUSR 2 TWN I alice@example.com")
	w.expect("VER 1 MSNP8")
	w.expect("USR 2 TWN S *")
	w.send("USR 3 TWN S " + ticket)
	w.expect("911 3")

	// MD5 on a Passport version, and the reverse, are refused.
	w = dial(t, srv.NSAddr, "mixed")
	w.send("VER 1 MSNP8\r\nUSR 2 MD5 I alice@example.com")
	w.expect("VER 1 MSNP8")
	w.expect("911 2")
	w.expectClosed()
}

func TestSignInElsewhere(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	first := login(t, srv, 7, "alice@example.com", "pw")
	login(t, srv, 12, "alice@example.com", "pw")
	first.expect("OUT OTH")
	first.expectClosed()
}

// A SYN right after sign-in answers from the account and list read at
// sign-in only while nothing changed them: a change made meanwhile by
// anyone else (another user's add, the admin API, another node) shows.
func TestSYNSeesChangesSinceSignIn(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	ctx := context.Background()
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	w := login(t, srv, 7, "alice@example.com", "pw")
	if _, err := srv.Store.SetPrivacy(ctx, "alice@example.com", store.BlockByDefault); err != nil {
		t.Fatal(err)
	}
	w.send("SYN 5 0")
	w.expect("SYN 5 2")
	w.expect("GTC 5 2 A")
	w.expect("BLP 5 2 BL")

	w = login(t, srv, 12, "alice@example.com", "pw")
	if _, err := srv.Store.AddToList(ctx, "bob@example.com", "alice@example.com", store.Forward, "Alice", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store.SetFriendlyName(ctx, "alice@example.com", "Alice A."); err != nil {
		t.Fatal(err)
	}
	w.send("SYN 5 0 0")
	w.expect("SYN 5 * * 1 0")
	w.expect("GTC A")
	w.expect("BLP BL")
	w.expect("PRP MFN Alice%20A.")
	w.expect("LST N=bob@example.com F=Bob 8 1") // on the RL (pending is not shown before MSNP13)
}

func TestListsNumbered(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob Smith")
	w := login(t, srv, 7, "alice@example.com", "pw")
	w.send("ADG 5 Work%20Friends 0")
	w.expect("ADG 5 2 Work%20Friends 1 0")
	w.send("ADD 6 FL bob@example.com Bob%20Smith 1")
	w.expect("ADD 6 FL 3 bob@example.com Bob%20Smith 1")
	w.send("ADD 6 AL nobody@example.com nobody@example.com")
	w.expect("205 6")
	w.send("ADD 7 AL bob@example.com bob@example.com")
	w.expect("ADD 7 AL 4 bob@example.com bob@example.com")
	w.send("ADD 8 BL bob@example.com bob@example.com")
	w.expect("219 8")
	w.send("ADD 9 FL nobody@example.com nobody@example.com 0")
	w.expect("205 9")
	w.send("ADD 10 FL bob@example.com Bob 1")
	w.expect("215 10")
	w.send("ADD 11 FL not-an-address x")
	w.expect("201 11")
	w.send("RMG 12 0")
	w.expect("230 12")
	w.send("ADD 13 FL bob@example.com Bob 9")
	w.expect("224 13")
	w.send("SYN 14 0")
	w.expect("SYN 14 4")
	w.expect("GTC 14 4 A")
	w.expect("BLP 14 4 AL")
	w.expect("LSG 14 4 1 2 0 Other%20Contacts 0")
	w.expect("LSG 14 4 2 2 1 Work%20Friends 0")
	w.expect("LST 14 FL 4 1 1 bob@example.com Bob%20Smith 1")
	w.expect("LST 14 AL 4 1 1 bob@example.com Bob%20Smith")
	w.expect("LST 14 BL 4 0 0")
	w.expect("LST 14 RL 4 0 0")
	w.send("SYN 15 4")
	w.expect("SYN 15 4")
	w.send("REM 16 FL bob@example.com 1")
	w.expect("REM 16 FL 5 bob@example.com 1")
	w.send("REM 17 FL bob@example.com")
	w.expect("REM 17 FL 6 bob@example.com")
	w.send("REM 18 FL bob@example.com")
	w.expect("216 18")
	w.send("REA 19 alice@example.com Alice%20A.")
	w.expect("REA 19 7 alice@example.com Alice%20A.")
	w.send("BLP 20 BL")
	w.expect("BLP 20 8 BL")
	w.send("BLP 21 BL")
	w.expect("BLP 21 8 BL")
	w.send("GTC 22 N")
	w.expect("GTC 22 9 N")
	w.send("ADD 23 RL bob@example.com Bob")
	w.expectClosed()

	// Bob was told about the FL add and the removal.
	b := login(t, srv, 7, "bob@example.com", "pw")
	b.send("SYN 5 0")
	b.expect("SYN 5 *")
	b.expectSkip("LST 5 RL * 0 0")
}

func TestListsGUID(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	w := login(t, srv, 12, "alice@example.com", "pw")
	w.send("ADG 5 Friends")
	gid := w.expect("ADG 5 Friends *").Param(1)
	w.send("ADC 6 FL N=bob@example.com F=Bob")
	cid := strings.TrimPrefix(w.expect("ADC 6 FL N=bob@example.com F=Bob C=*").Param(3), "C=")
	w.send("ADC 7 FL C=" + cid + " " + gid)
	w.expect("ADC 7 FL C=" + cid + " " + gid)
	w.send("ADC 8 BL N=bob@example.com")
	w.expect("ADC 8 BL N=bob@example.com")
	w.send("ADC 9 FL N=nobody@example.com F=x")
	w.expect("208 9")
	w.send("ADD 10 FL bob@example.com Bob")
	w.expect("502 10")
	w.send("REA 11 alice@example.com New")
	w.expect("502 11")
	w.send("PRP 12 MFN Alice%20B")
	w.expect("PRP 12 MFN Alice%20B")
	w.send("SBP 13 " + cid + " MFN Bobby")
	w.expect("SBP 13 " + cid + " MFN Bobby")
	w.send("SYN 14 0 0")
	w.expect("SYN 14 * * 1 1")
	w.expect("GTC A")
	w.expect("BLP AL")
	w.expect("PRP MFN Alice%20B")
	w.expect("LSG Friends " + gid)
	w.expect("LST N=bob@example.com F=Bobby C=" + cid + " 5 1 " + gid)
	w.send("REM 15 FL " + cid + " " + gid)
	w.expect("REM 15 FL " + cid + " " + gid)
	w.send("RMG 16 " + gid)
	w.expect("RMG 16 1 " + gid)
	w.send("REM 17 BL bob@example.com")
	w.expect("REM 17 BL bob@example.com")
	w.send("REM 18 FL " + cid)
	w.expect("REM 18 FL " + cid)
	w.send("REM 19 FL " + cid)
	w.expect("216 19")
}

// TestPresence signs in users with different versions and checks each sees
// the others in its own dialect.
func TestPresence(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	srv.AddUser(t, "carol@example.com", "pw", "Carol")

	alice := login(t, srv, 5, "alice@example.com", "pw")
	alice.send("CHG 5 NLN")
	alice.expect("CHG 5 NLN")
	bob := login(t, srv, 12, "bob@example.com", "pw")
	bob.send("CHG 5 NLN 268435492")
	bob.expect("CHG 5 NLN 268435492")
	bob.sendMsg("UUX 6", "<Data><PSM>hello &amp; welcome</PSM><CurrentMedia></CurrentMedia></Data>")
	bob.expect("UUX 6 0")

	// Alice adds Bob: Bob learns it (ADC 0 RL) and Alice sees him at once.
	alice.send("ADD 6 FL bob@example.com Bob")
	alice.expect("ADD 6 FL * bob@example.com Bob")
	alice.expect("ILN 6 NLN bob@example.com Bob")
	bob.expect("ADC 0 RL N=alice@example.com F=Alice")
	alice.expectNothing()

	// Bob adds Alice back and sees her (MSNP12 shape: caps "0").
	bob.send("ADC 7 FL N=alice@example.com F=Alice")
	bob.expect("ADC 7 FL N=alice@example.com F=Alice C=*")
	bob.expect("ILN 7 NLN alice@example.com Alice 0")
	alice.expect("ADD 0 RL * bob@example.com Bob")

	// Status and name changes reach the other side in its dialect.
	alice.send("CHG 7 AWY")
	alice.expect("CHG 7 AWY")
	bob.expect("NLN AWY alice@example.com Alice 0")
	bob.send("CHG 8 BSY 268435492 %3Cmsnobj%20Creator%3D%22bob%40example.com%22%2F%3E")
	bob.expect("CHG 8 BSY 268435492 %3Cmsnobj%20Creator%3D%22bob%40example.com%22%2F%3E")
	alice.expect("NLN BSY bob@example.com Bob")
	bob.send("PRP 9 MFN Bobby")
	bob.expect("PRP 9 MFN Bobby")
	alice.expect("NLN BSY bob@example.com Bobby")

	// Carol (MSNP11) sees the personal message too.
	carol := login(t, srv, 11, "carol@example.com", "pw")
	carol.send("ADC 5 FL N=bob@example.com F=Bob")
	carol.expect("ADC 5 FL N=bob@example.com F=Bob C=*")
	carol.send("CHG 6 NLN 0")
	carol.expect("CHG 6 NLN 0")
	c := carol.expect("ILN 6 BSY bob@example.com Bobby 268435492 %3Cmsnobj%20Creator%3D%22bob%40example.com%22%2F%3E")
	_ = c
	ubx := carol.expect("UBX bob@example.com")
	if string(ubx.Payload) != "<Data><PSM>hello &amp; welcome</PSM><CurrentMedia></CurrentMedia></Data>" {
		t.Errorf("UBX payload %q", ubx.Payload)
	}
	bob.expect("ADC 0 RL N=carol@example.com F=Carol")

	// Hiding is going offline for everyone; coming back is NLN again.
	bob.send("CHG 10 HDN 268435492")
	bob.expect("CHG 10 HDN 268435492")
	alice.expect("FLN bob@example.com")
	carol.expect("FLN bob@example.com")
	bob.send("CHG 11 NLN 268435492")
	bob.expect("CHG 11 NLN 268435492")
	alice.expect("NLN NLN bob@example.com Bobby")
	carol.expectSkip("NLN NLN bob@example.com Bobby 268435492")
	carol.expect("UBX bob@example.com")

	// A block hides Bob from Alice only; unblocking shows him again.
	bob.send("ADC 12 BL N=alice@example.com")
	bob.expect("ADC 12 BL N=alice@example.com")
	alice.expect("FLN bob@example.com")
	carol.expectNothing()
	bob.send("REM 13 BL alice@example.com")
	bob.expect("REM 13 BL alice@example.com")
	alice.expect("NLN NLN bob@example.com Bobby")

	// "Only the allow list" hides Bob from everyone not on his AL.
	bob.send("BLP 14 BL")
	bob.expect("BLP 14 BL")
	alice.expect("FLN bob@example.com")
	carol.expectSkip("FLN bob@example.com")
	bob.send("ADC 15 AL N=carol@example.com")
	bob.expect("ADC 15 AL N=carol@example.com")
	carol.expectSkip("NLN NLN bob@example.com Bobby 268435492")
	alice.expectNothing()

	// Signing out is FLN to those who could see him.
	bob.send("OUT")
	bob.expectClosed()
	carol.expectSkip("FLN bob@example.com")
	alice.expectNothing()
}

func TestChallenge(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	w := login(t, srv, 11, "alice@example.com", "pw")
	w.send("CHG 5 NLN 0")
	w.expect("CHG 5 NLN 0")
	w.expect("CHL 0 *")
	w.sendMsg("QRY 6 PROD0090YUAUV{2B", "00000000000000000000000000000000")
	w.expect("540 6")
	w.expectClosed()
}

func TestDispatchReferral(t *testing.T) {
	srv := coretest.Start(t, coretest.WithDispatch(), coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	for _, tc := range []struct {
		v    int
		want string
	}{
		{2, "XFR 3 NS " + srv.NSAddr},
		{5, "XFR 3 NS " + srv.NSAddr + " 0"},
		{7, "XFR 3 NS " + srv.NSAddr + " 0 " + srv.DSAddr},
		{12, "XFR 3 NS " + srv.NSAddr + " 0 " + srv.DSAddr},
	} {
		w := dial(t, srv.DSAddr, "ds")
		ver := "MSNP" + strconv.Itoa(tc.v)
		w.send("VER 1 " + ver)
		w.expect("VER 1 " + ver)
		if tc.v >= 8 {
			w.send("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 MSMSGS alice@example.com")
			w.expect("CVR 2 **")
			w.send("USR 3 TWN I alice@example.com")
		} else {
			w.send("USR 3 MD5 I alice@example.com")
		}
		w.expect(tc.want)
		w.expectClosed()
	}
	// The referred-to server signs the client in.
	login(t, srv, 7, "alice@example.com", "pw")
}

func TestBadInputKeepsServing(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	alice := login(t, srv, 12, "alice@example.com", "pw")

	bad := []string{
		"HELLO world",
		"VER",
		"VER x MSNP8",
		strings.Repeat("A", 10000),
		"\x00\x01\x02",
		"MSG 1 U 99999999",
		"QRY 1 x notanumber",
	}
	for _, b := range bad {
		w := dial(t, srv.NSAddr, "bad")
		w.send(b)
		w.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			if _, err := w.r.ReadCommand(); err != nil {
				break
			}
		}
	}
	// Before login, real commands are refused and the connection stays.
	w := dial(t, srv.NSAddr, "early")
	w.send("VER 1 MSNP12")
	w.expect("VER 1 MSNP12")
	w.send("SYN 2 0 0")
	w.expect("302 2")
	w.send("CHG 3 NLN")
	w.expect("302 3")

	// After login: bad parameters get codes, unknown commands close.
	alice.send("CHG 5 FLN 0")
	alice.expect("201 5")
	alice.send("CHG 6 XXX 0")
	alice.expect("201 6")
	alice.send("XFR 7 NS")
	alice.expect("201 7")
	alice.send("XFR 8 SB")
	alice.expect("913 8") // not online yet
	alice.sendMsg("UUX 9", "<Data><PSM>unclosed")
	alice.expect("241 9") // the protocol's invalid-XML code, then the disconnect
	alice.expectClosed()

	// Everyone else is still served.
	login(t, srv, 8, "alice@example.com", "pw")
}

// TestSlowReaderIsCutOff fills a client's queue without reading it.
func TestSlowReaderIsCutOff(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	alice := login(t, srv, 12, "alice@example.com", "pw")
	tcp := alice.conn.(*net.TCPConn)
	tcp.SetReadBuffer(4096)
	big := strings.Repeat("x", 7000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ {
			// GCF answers are large; never reading them must not grow the
			// server's memory without bound.
			if _, err := alice.conn.Write([]byte("GCF " + strconv.Itoa(i+10) + " Shields.xml\r\nPNG\r\n")); err != nil {
				return
			}
			_ = big
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("writer stuck")
	}
	// Whether or not the cut-off has happened yet, others are served.
	login(t, srv, 11, "alice@example.com", "pw")
}

func TestRestartKeepsLists(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	srv.AddUser(t, "eve@example.com", "pw", "Eve")
	w := login(t, srv, 10, "alice@example.com", "pw")
	w.send("ADC 4 BL N=nobody@example.com")
	w.expect("208 4") // AL and BL take only accounts that exist
	w.send("ADG 5 Pals")
	gid := w.expect("ADG 5 Pals *").Param(1)
	w.send("ADC 6 FL N=bob@example.com F=Bob")
	w.expect("ADC 6 FL N=bob@example.com F=Bob C=*")
	w.send("ADC 7 BL N=eve@example.com")
	w.expect("ADC 7 BL N=eve@example.com")
	w.send("BLP 8 BL")
	w.expect("BLP 8 BL")

	srv.Restart(t)
	w = login(t, srv, 10, "alice@example.com", "pw")
	w.send("SYN 5 0 0")
	w.expect("SYN 5 * * 2 1")
	w.expect("GTC A")
	w.expect("BLP BL")
	w.expect("PRP MFN Alice")
	w.expect("LSG Pals " + gid)
	lines := []string{w.next().String(), w.next().String()}
	joined := strings.Join(lines, "\n")
	if !strings.Contains(joined, "LST N=bob@example.com F=Bob C=") || !strings.Contains(joined, "LST N=eve@example.com F=eve@example.com 4") {
		t.Fatalf("list after restart:\n%s", joined)
	}
}

// keep msnp imported for helpers used by other files.
var _ = msnp.MaxVersion

// TestLargeListIsNotCutOff: a list dump far larger than what may queue for
// a slow client waits for the client instead of cutting it off.
func TestLargeListIsNotCutOff(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges(), coretest.WithConfig(func(c *coretestConfig) {
		c.Limits.OutboxBytes = 16 << 10
	}))
	srv.AddUser(t, "big@example.com", "pw", "Big")
	const n = 400
	handles := make([]string, n)
	for i := range handles {
		handles[i] = fmt.Sprintf("someone-with-a-rather-long-handle-%03d@example.com", i)
	}
	if err := srv.Store.CreateAccounts(context.Background(), handles, "pw", 4); err != nil {
		t.Fatal(err)
	}
	for _, handle := range handles {
		if _, err := srv.Store.AddToList(context.Background(), "big@example.com", handle, store.Allow, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	w := login(t, srv, 7, "big@example.com", "pw")
	w.send("SYN 5 0")
	w.expect("SYN 5 *")
	w.expect("GTC 5 * A")
	w.expect("BLP 5 * AL")
	w.expect("LSG 5 * 1 1 0 Other%20Contacts 0")
	w.expect("LST 5 FL * 0 0")
	for i := 0; i < n; i++ {
		w.expect(fmt.Sprintf("LST 5 AL * %d %d someone-with-a-rather-long-handle-%03d@example.com *", i+1, n, i))
	}
	w.expect("LST 5 BL * 0 0")
	w.expect("LST 5 RL * 0 0")
	w.send("PNG")
	w.expect("QNG")
}

// TestDeletedAccountIsSignedOut: deleting an account through the admin API
// ends the session it still has.
func TestDeletedAccountIsSignedOut(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "gone@example.com", "pw", "Gone")
	srv.AddUser(t, "stays@example.com", "pw", "Stays")
	gone := login(t, srv, 12, "gone@example.com", "pw")
	stays := login(t, srv, 12, "stays@example.com", "pw")
	c := adminapi.New(srv.HTTPURL, srv.AdminToken)
	if err := c.DeleteAccount(context.Background(), "Gone@Example.com"); err != nil {
		t.Fatal(err)
	}
	gone.expect("OUT")
	gone.expectClosed()
	stays.send("PNG")
	stays.expect("QNG 60")
}

// TestLSTNamesEveryContact: in MSNP10–12 every LST carries F=, also for
// contacts on no FL (someone who added the user, someone blocked):
// "LST N=<handle> F=<name> [C=<guid>] <lists> ...". C= is for FL
// contacts only. msn-pecan reads the name from F= in every line.
func TestLSTNamesEveryContact(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	srv.AddUser(t, "carol@example.com", "pw", "Carol")
	for v := 10; v <= 12; v++ {
		email := fmt.Sprintf("user%d@example.com", v)
		srv.AddUser(t, email, "pw", "User")
		bob := login(t, srv, 12, "bob@example.com", "pw")
		bob.send("ADC 5 FL N=" + email + " F=User")
		bob.expect("ADC 5 FL N=" + email + " F=User C=*")
		bob.send("OUT")
		w := login(t, srv, v, email, "pw")
		w.send("ADC 5 BL N=carol@example.com")
		w.expect("ADC 5 BL N=carol@example.com")
		w.send("SYN 6 0 0")
		w.expect("SYN 6 * * 2 0")
		w.expect("GTC A")
		w.expect("BLP AL")
		w.expect("PRP MFN User")
		network := ""
		if v == 12 {
			network = " 1"
		}
		lst := []string{lineOf(w.next()), lineOf(w.next())}
		sort2(lst)
		if lst[0] != "LST N=bob@example.com F=Bob 8"+network || lst[1] != "LST N=carol@example.com F=carol@example.com 4"+network {
			t.Fatalf("MSNP%d: %q", v, lst)
		}
	}
}

// A client that has read the echo of its first CHG is online for everyone
// already: a bot, say, may have someone call it the moment it signed in.
func TestOnlineWhenCHGEchoed(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	for i := range 20 {
		alice := login(t, srv, 7, "alice@example.com", "pw")
		alice.send("CHG 5 NLN")
		alice.expect("CHG 5 NLN")
		p := srv.Dir.Lookup("alice@example.com")
		if p == nil {
			t.Fatalf("sign-in %d: not in the directory", i)
		}
		if _, ok := p.PresenceFor("bob@example.com"); !ok {
			t.Fatalf("sign-in %d: offline to others after the CHG echo", i)
		}
	}
}
