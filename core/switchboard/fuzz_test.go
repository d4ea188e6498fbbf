package switchboard

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp"
)

// fuzzRig is a running server with one healthy session (health) that must
// keep working whatever the fuzzed connections send.
type fuzzRig struct {
	e       *env
	fz      *testPeer // the user the fuzzed connection speaks as
	watcher *testPeer // invited into the fuzzed session
	a, b    *client   // the healthy session
	trid    int
}

func newFuzzRig(f *testing.F) *fuzzRig {
	// The fuzzer opens sessions as fast as it can: no per-user limits.
	e := newEnv(f, setup{config: func(c *Config) {
		c.MaxCookies, c.MaxSessions, c.RequestsPerMinute = 1<<30, 1<<30, 1<<30
	}})
	r := &fuzzRig{e: e, fz: e.peer("Fz", 12, "1"), watcher: e.peer("W", 9, "")}
	r.a = e.start(e.peer("Healthy A", 9, ""))
	r.b, _ = e.invite(r.a, 2, e.peer("Healthy B", 9, ""))
	r.a.expect("JOI healthyb@example.com Healthy%20B")
	return r
}

// dial connects without registering a cleanup per iteration.
func (r *fuzzRig) dial(t *testing.T, name string) *client {
	nc, err := net.Dial("tcp", r.e.addr)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, name: name, nc: nc, r: msnp.NewReader(nc, msnp.FromServer)}
}

// feed writes data on c and closes its sending side, while the caller reads.
func feed(c *client, data []byte) {
	go func() {
		c.nc.SetWriteDeadline(time.Now().Add(waitFor))
		c.nc.Write(data)
		c.nc.(*net.TCPConn).CloseWrite()
	}()
}

// drainUntilClosed reads raw bytes until the server closes c.
func drainUntilClosed(t *testing.T, c *client) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(waitFor))
	_, err := io.Copy(io.Discard, c.nc)
	if err != nil && isTimeout(err) {
		t.Fatalf("%s: the server did not close the connection", c.name)
	}
}

// healthy checks that the healthy session still relays and acknowledges,
// and that no session but it is left.
func (r *fuzzRig) healthy(t *testing.T) {
	t.Helper()
	r.a.t, r.b.t = t, t
	r.trid++
	r.a.sendMsg(r.trid, "A", text("ping"))
	r.b.expect("MSG healthya@example.com Healthy%20A " + itoa(len(text("ping"))))
	r.a.expect("ACK " + itoa(r.trid))
	eventually(t, "the fuzzed sessions to end", func() bool { return r.e.srv.Sessions() == 1 })
}

// FuzzFirstCommand sends arbitrary bytes as a new connection's stream.
// "{cookie}" in the input is replaced with a valid XFR cookie for
// fz@example.com, so that the fuzzer also reaches what follows USR.
func FuzzFirstCommand(f *testing.F) {
	for _, s := range []string{
		"USR 1 fz@example.com {cookie}\r\n",
		"USR 1 fz@example.com {cookie}\r\nMSG 2 A 5\r\nhello",
		"USR 1 fz@example.com {cookie}\r\nCAL 2 w@example.com\r\nOUT\r\n",
		"USR 1 FZ@EXAMPLE.COM {cookie}\nMSG 2 D 3\nabcMSG 3 U 1700\n",
		"USR 1 other@example.com {cookie}\r\n",
		"USR 1 fz@example.com 1.2.3\r\n",
		"USR 1\r\n",
		"ANS 1 fz@example.com 1.2.3 4\r\n",
		"MSG 1 N 3\r\nabc",
		"MSG 1 N 20000\r\n",
		"CAL x y\r\n",
		"\r\n",
		"OUT\r\n",
		"\x00\xff\r\n",
		strings.Repeat("A", 5000),
	} {
		f.Add([]byte(s))
	}
	r := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte("{cookie}")) {
			_, cookie, _ := r.e.srv.Open(r.fz.user())
			data = bytes.ReplaceAll(data, []byte("{cookie}"), []byte(cookie))
		}
		c := r.dial(t, "fuzzed")
		defer c.nc.Close()
		feed(c, data)
		drainUntilClosed(t, c)
		r.healthy(t)
	})
}

// FuzzSession sends arbitrary bytes from a participant of a session with
// another participant, who must see the fuzzed one leave and then be able
// to leave cleanly too.
func FuzzSession(f *testing.F) {
	big := "MSG 4 N 1700\r\n" + strings.Repeat("x", 1700)
	for _, s := range []string{
		"MSG 1 U 5\r\nhello",
		"MSG 2 A 5\r\nhelloMSG 3 D 0\r\n",
		big + "MSG 5 A 2\r\nok",
		"MSG 5 a 1\r\nx",
		"MSG 5 A 1 extra\r\nx",
		"MSG 6 A\r\n",
		"MSG 7 A 99999999\r\n",
		"CAL 6 w@example.com\r\nCAL 7 healthya@example.com\r\nCAL 8 nobody\r\n",
		"CAL 9 " + strings.Repeat("x", 200) + "@example.com\r\n",
		"OUT\r\n",
		"USR 1 fz@example.com 1.2.3\r\n",
		"MSG 10 D " + itoa(len(p2p("w@example.com"))) + "\r\n" + string(p2p("w@example.com")),
	} {
		f.Add([]byte(s))
	}
	r := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, cookie, _ := r.e.srv.Open(r.fz.user())
		c := r.dial(t, "fuzzed")
		defer c.nc.Close()
		c.send("USR 1 fz@example.com %s", cookie)
		c.expect("USR 1 OK fz@example.com Fz")
		c.send("CAL 2 w@example.com")
		cal := c.read()
		ring := r.watcher.nextRing(t)
		if cal.String() != "CAL 2 RINGING "+ring.SessionID {
			t.Fatalf("got %q", cal)
		}
		w := r.dial(t, "watcher")
		defer w.nc.Close()
		w.send("ANS 3 w@example.com %s %s", ring.Cookie, ring.SessionID)
		w.expect("IRO 3 1 1 fz@example.com Fz")
		w.expect("ANS 3 OK")
		c.expect("JOI w@example.com W 0") // fz speaks MSNP12

		feed(c, data)
		drainUntilClosed(t, c)
		// The watcher sees whatever was relayed, then the fuzzed one
		// leave, and can still leave itself.
		for {
			cmd := w.read()
			if cmd.String() == "BYE fz@example.com" {
				break
			}
			if cmd.Name != "MSG" && cmd.Name != "JOI" {
				t.Fatalf("watcher got %q", cmd)
			}
		}
		w.send("OUT")
		drainUntilClosed(t, w)
		// Rings the fuzzed connection may have caused are not for us.
		for len(r.watcher.rings) > 0 {
			<-r.watcher.rings
		}
		r.healthy(t)
	})
}
