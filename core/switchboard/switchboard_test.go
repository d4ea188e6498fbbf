package switchboard

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp"
)

func TestUSRStartsSession(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice Liddell", 8, "268435456")
	a := e.start(alice) // USR OK carries the encoded friendly name
	if got := e.srv.Sessions(); got != 1 {
		t.Fatalf("Sessions() = %d, want 1", got)
	}
	if got := value(t, e.metrics.Switchboards); got != 1 {
		t.Fatalf("switchboards gauge = %v, want 1", got)
	}
	a.send("OUT")
	a.expectClosed()
	eventually(t, "the session to end", func() bool { return e.srv.Sessions() == 0 })
	eventually(t, "the gauge to drop", func() bool { return value(t, e.metrics.Switchboards) == 0 })
}

func TestCookieShape(t *testing.T) {
	e := newEnv(t)
	shape := regexp.MustCompile(`^[0-9]{1,10}\.[0-9]{1,10}\.[0-9]{1,10}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		_, c := e.open(User{Email: fmt.Sprintf("a%d@example.com", i)})
		if !shape.MatchString(c) || seen[c] {
			t.Fatalf("cookie %q: bad shape or repeated", c)
		}
		seen[c] = true
	}
}

func TestAuthenticationRefused(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 8, "")
	bob := e.peer("Bob", 8, "")

	_, used := e.open(alice.user())
	a := e.dial("first use")
	a.send("USR 1 %s %s", alice.email(), used)
	a.expect("USR 1 OK alice@example.com Alice")

	_, wrongUser := e.open(alice.user())
	_, fresh := e.open(alice.user())

	// A ring for bob, to try the ANS paths.
	caller := e.start(bob)
	carol := e.peer("Carol", 8, "")
	caller.send("CAL 2 %s", carol.email())
	ringing := caller.read()
	ring := carol.nextRing(t)

	for _, tc := range []struct {
		name, line, reply string
	}{
		{"unknown cookie", "USR 5 alice@example.com 1.2.3", "911 5"},
		{"reused cookie", "USR 5 alice@example.com " + used, "911 5"},
		{"cookie of someone else", "USR 5 mallory@example.com " + wrongUser, "911 5"},
		{"cookie of someone else, reused by its owner", "USR 5 alice@example.com " + wrongUser, "911 5"},
		{"USR without cookie", "USR 5 alice@example.com", "911 5"},
		{"CAL first", "CAL 5 bob@example.com", "911 5"},
		{"MSG first", "MSG 5 A 0", "911 5"},
		{"unknown command first", "XYZ 5", "911 5"},
		{"OUT first", "OUT", ""},
		{"empty line", "", ""},
		{"ANS with a wrong cookie", "ANS 5 carol@example.com 1.2.3 " + ringing.Param(1), "911 5"},
		{"ANS with the cookie of another session", "ANS 5 carol@example.com " + ring.Cookie + " 1", "911 5"},
		{"ANS by another user", "ANS 5 dave@example.com " + ring.Cookie + " " + ring.SessionID, "911 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(tc.name)
			c.t = t
			c.send("%s", tc.line)
			if tc.reply != "" {
				c.expect(tc.reply)
			}
			c.expectClosed()
		})
	}

	// The ring survived the wrong answers; once used, its cookie is spent.
	c := e.dial("carol")
	c.send("ANS 6 carol@example.com %s %s", ring.Cookie, ring.SessionID)
	c.expect("IRO 6 1 1 bob@example.com Bob")
	c.expect("ANS 6 OK")
	again := e.dial("consumed")
	again.send("ANS 5 carol@example.com %s %s", ring.Cookie, ring.SessionID)
	again.expect("911 5")
	again.expectClosed()

	// The fresh cookie was untouched by all of the above.
	f := e.dial("fresh")
	f.send("USR 9 %s %s", strings.ToUpper(alice.email()), fresh)
	f.expect("USR 9 OK alice@example.com Alice")
}

func TestCookieExpires(t *testing.T) {
	e := newEnv(t, setup{config: func(c *Config) { c.CookieTTL = 50 * time.Millisecond }})
	alice := e.peer("Alice", 8, "")
	_, expired := e.open(alice.user())
	time.Sleep(100 * time.Millisecond)
	a := e.dial("late")
	a.send("USR 1 %s %s", alice.email(), expired)
	a.expect("911 1")
	a.expectClosed()
}

func TestJoinTimeout(t *testing.T) {
	e := newEnv(t, setup{config: func(c *Config) { c.JoinTimeout = 100 * time.Millisecond }})
	c := e.dial("silent")
	start := time.Now()
	c.expectClosed()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
}

func TestCallAndAnswer(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 8, "")
	bob := e.peer("Bob Builder", 8, "")
	a := e.start(alice)

	a.send("CAL 2 %s", strings.ToUpper(bob.email()))
	cal := a.read()
	if cal.Name != "CAL" || cal.TrID != 2 || cal.Param(0) != "RINGING" {
		t.Fatalf("got %q", cal)
	}
	r := bob.nextRing(t)
	if r.SessionID != cal.Param(1) || r.Address != e.addr || r.Caller != alice.email() || r.CallerName != "Alice" {
		t.Fatalf("ring %+v", r)
	}

	b := e.dial("bob")
	b.send("ANS 11 %s %s %s", bob.email(), r.Cookie, r.SessionID)
	b.expect("IRO 11 1 1 alice@example.com Alice")
	b.expect("ANS 11 OK")
	a.expect("JOI bobbuilder@example.com Bob%20Builder")

	// Both can talk.
	b.sendMsg(12, "A", text("hi"))
	a.expect("MSG bobbuilder@example.com Bob%20Builder " + itoa(len(text("hi"))))
	b.expect("ACK 12")
}

func TestAnswerAfterSignOut(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 8, "")
	bob := e.peer("Bob", 8, "")
	a := e.start(alice)
	a.send("CAL 2 %s", bob.email())
	a.read()
	r := bob.nextRing(t)
	e.dir.Unregister(bob.email(), bob)
	b := e.dial("bob")
	b.send("ANS 3 %s %s %s", bob.email(), r.Cookie, r.SessionID)
	b.expect("911 3")
	b.expectClosed()
}

func TestRingExpires(t *testing.T) {
	e := newEnv(t, setup{config: func(c *Config) { c.CookieTTL = 100 * time.Millisecond }})
	alice := e.peer("Alice", 8, "")
	bob := e.peer("Bob", 8, "")
	a := e.start(alice)
	a.send("CAL 2 %s", bob.email())
	a.read()
	r := bob.nextRing(t)
	time.Sleep(150 * time.Millisecond)
	b := e.dial("bob")
	b.send("ANS 3 %s %s %s", bob.email(), r.Cookie, r.SessionID)
	b.expect("911 3")
	b.expectClosed()
	// An expired ring no longer counts as ringing.
	a.send("CAL 4 %s", bob.email())
	a.expect("CAL 4 RINGING " + r.SessionID)
}

func TestThreeParty(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 9, "")
	bob := e.peer("Bob", 9, "")
	carol := e.peer("Carol", 9, "")
	a := e.start(alice)
	b, roster := e.invite(a, 2, bob)
	if want := []string{"IRO 7 1 1 alice@example.com Alice"}; fmt.Sprint(roster) != fmt.Sprint(want) {
		t.Fatalf("roster %q, want %q", roster, want)
	}
	a.expect("JOI bob@example.com Bob")

	// Bob invites Carol.
	c, roster := e.invite(b, 3, carol)
	want := []string{"IRO 7 1 2 alice@example.com Alice", "IRO 7 2 2 bob@example.com Bob"}
	if fmt.Sprint(roster) != fmt.Sprint(want) {
		t.Fatalf("roster %q, want %q", roster, want)
	}
	a.expect("JOI carol@example.com Carol")
	b.expect("JOI carol@example.com Carol")

	// Everyone hears everyone else, and not themselves.
	c.sendMsg(4, "A", text("hello both"))
	a.expect("MSG carol@example.com Carol " + itoa(len(text("hello both"))))
	b.expect("MSG carol@example.com Carol " + itoa(len(text("hello both"))))
	c.expect("ACK 4")

	// Carol leaves; the others see BYE; Alice and Bob go on.
	c.send("OUT")
	c.expectClosed()
	a.expect("BYE carol@example.com")
	b.expect("BYE carol@example.com")
	a.sendMsg(5, "A", text("still here"))
	b.expect("MSG alice@example.com Alice " + itoa(len(text("still here"))))
	a.expect("ACK 5")
}

func TestMessageRelay(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 12, "1342177280")
	bob := e.peer("Bob", 12, "1342177280")
	a := e.start(alice)
	b, _ := e.invite(a, 2, bob)
	a.expect("JOI bob@example.com Bob 1342177280")

	payloads := map[string][]byte{
		"text":    text("héllo wörld"),
		"typing":  []byte("MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: alice@example.com\r\n\r\n\r\n"),
		"nudge":   []byte("MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n"),
		"p2p":     p2p(bob.email()),
		"empty":   {},
		"largest": bytes.Repeat([]byte{0, '\r', '\n', 0xff}, msnp.MaxMessagePayload/4),
	}
	trid := 10
	for _, mode := range []string{"U", "N", "A", "D"} {
		for name, p := range payloads {
			trid++
			a.sendMsg(trid, mode, p)
			got := b.read()
			if got.Name != "MSG" || fmt.Sprint(got.Params) != "[alice@example.com Alice]" || !bytes.Equal(got.Payload, p) {
				t.Fatalf("%s %s: relayed %q with payload %q", mode, name, got, got.Payload)
			}
			if mode == "A" || mode == "D" {
				a.expect("ACK " + itoa(trid))
			}
		}
	}
	// U and N got no reply: the next reply Alice sees is for this.
	a.sendMsg(99, "A", text("x"))
	a.expect("ACK 99")
	b.read()
	if got, want := value(t, e.metrics.Messages), float64(4*len(payloads)+1); got != want {
		t.Errorf("messages counter = %v, want %v", got, want)
	}
}

func TestMessageAlone(t *testing.T) {
	e := newEnv(t)
	a := e.start(e.peer("Alice", 9, ""))
	a.sendMsg(1, "U", text("anyone?"))
	a.sendMsg(2, "N", text("anyone?"))
	a.expect("NAK 2")
	a.sendMsg(3, "A", text("anyone?"))
	a.expect("NAK 3")
	a.sendMsg(4, "D", p2p("x@example.com"))
	a.expect("NAK 4")
}

// TestOversizedMessage: an MSG over 1664 bytes closes the sender's
// connection, whatever its acknowledgement mode, and is never relayed —
// what the MSN switchboard did (and Escargot does); no NAK.
func TestOversizedMessage(t *testing.T) {
	e := newEnv(t)
	big := bytes.Repeat([]byte("x"), msnp.MaxMessagePayload+1)
	for _, mode := range []string{"U", "N", "A", "D", "Q"} {
		alice := e.peer("Alice", 9, "")
		bob := e.peer("Bob", 9, "")
		a := e.start(alice)
		b, _ := e.invite(a, 2, bob)
		a.expect("JOI bob@example.com Bob")
		a.sendMsg(3, mode, big)
		a.expectClosed()
		// The next thing Bob hears is that Alice left: no MSG before it.
		b.expect("BYE alice@example.com")
		e.dir.Unregister(alice.email(), alice)
		e.dir.Unregister(bob.email(), bob)
	}
}

func TestHugeMessageCloses(t *testing.T) {
	e := newEnv(t)
	a := e.start(e.peer("Alice", 9, ""))
	// Far past anything worth skipping: the server does not read it.
	a.send("MSG 2 A 999999")
	a.expectClosed()
}

func TestBadAckMode(t *testing.T) {
	for _, mode := range []string{"a", "n", "X", "AA", "A extra", "S"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			alice := e.peer("Alice", 9, "")
			bob := e.peer("Bob", 9, "")
			a := e.start(alice)
			b, _ := e.invite(a, 2, bob)
			a.expect("JOI bob@example.com Bob")
			a.sendMsg(3, mode, text("hi"))
			a.expectClosed()
			b.expect("BYE alice@example.com")
		})
	}
	t.Run("no mode", func(t *testing.T) {
		e := newEnv(t)
		a := e.start(e.peer("Alice", 9, ""))
		a.send("MSG 3 5\r\nhello")
		a.expectClosed()
	})
}

func TestCallRefused(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 9, "")
	bob := e.peer("Bob", 9, "")
	hidden := e.peer("Hidden", 9, "")
	hidden.setHidden(true)
	blocker := e.peer("Blocker", 9, "")
	blocker.block(alice.email())
	allowOnly := e.peer("AllowOnly", 9, "") // AL mode without Alice on the AL: PresenceFor says no
	allowOnly.block(alice.email())

	a := e.start(alice)
	b, _ := e.invite(a, 2, bob)
	a.expect("JOI bob@example.com Bob")
	_ = b
	ringer := e.peer("Ringer", 9, "")

	long := strings.Repeat("x", 120) + "@example.com"
	cases := []struct{ handle, reply string }{
		{"offline@example.com", "217"},
		{hidden.email(), "217"},
		{blocker.email(), "217"},
		{allowOnly.email(), "217"},
		{bob.email(), "215"},                  // already in the session
		{strings.ToUpper(bob.email()), "215"}, // in any case
		{alice.email(), "215"},                // the caller herself
		{ringer.email(), "RINGING"},
		{ringer.email(), "215"}, // already ringing
		{"no-at-sign", "208"},
		{"@example.com", "208"},
		{"alice@", "208"},
		{long, "208"},
	}
	for i, tc := range cases {
		trid := 10 + i
		a.send("CAL %d %s", trid, tc.handle)
		got := a.read()
		var want string
		if tc.reply == "RINGING" {
			want = fmt.Sprintf("CAL %d RINGING %s", trid, got.Param(1))
		} else {
			want = fmt.Sprintf("%s %d", tc.reply, trid)
		}
		if got.String() != want {
			t.Errorf("CAL %s: got %q, want %q", tc.handle, got, want)
		}
	}
	a.send("CAL 50")
	a.expect("208 50")
	for _, p := range []*testPeer{hidden, blocker, allowOnly} {
		select {
		case r := <-p.rings:
			t.Errorf("%s was rung: %+v", p, r)
		default:
		}
	}
	if got := len(ringer.rings); got != 1 {
		t.Errorf("ringer got %d rings, want 1", got)
	}
	// The connection is fine after all the refusals.
	a.sendMsg(60, "A", text("ok"))
	a.expect("ACK 60")
}

// Someone who answered and left may be called again at once, with a new
// invitation.
func TestCallAgainAfterLeaving(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 12, "")
	bob := e.peer("Bob", 12, "")
	a := e.start(alice)
	b, _ := e.invite(a, 2, bob)
	a.expect("JOI bob@example.com Bob 0")
	b.send("OUT")
	b.expectClosed()
	a.expect("BYE bob@example.com")

	b2, _ := e.invite(a, 3, bob)
	a.expect("JOI bob@example.com Bob 0")
	b2.sendMsg(8, "A", text("back"))
	b2.expect("ACK 8")
}

func TestLeaving(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 9, "")
	bob := e.peer("Bob", 9, "")
	carol := e.peer("Carol", 9, "")
	dave := e.peer("Dave", 9, "")
	a := e.start(alice)
	b, _ := e.invite(a, 2, bob)
	a.expect("JOI bob@example.com Bob")
	c, _ := e.invite(a, 3, carol)
	a.expect("JOI carol@example.com Carol")
	b.expect("JOI carol@example.com Carol")

	// A ring outstanding when the session ends.
	a.send("CAL 4 %s", dave.email())
	a.read()
	ring := dave.nextRing(t)

	// OUT.
	b.send("OUT")
	b.expectClosed()
	a.expect("BYE bob@example.com")
	c.expect("BYE bob@example.com")

	// A dropped connection.
	c.nc.Close()
	a.expect("BYE carol@example.com")
	if got := e.srv.Sessions(); got != 1 {
		t.Fatalf("Sessions() = %d, want 1", got)
	}

	// The last one leaves: the session ends and its ring is void.
	a.nc.Close()
	eventually(t, "the session to end", func() bool { return e.srv.Sessions() == 0 })
	d := e.dial("dave")
	d.send("ANS 5 %s %s %s", dave.email(), ring.Cookie, ring.SessionID)
	d.expect("911 5")
	d.expectClosed()
	eventually(t, "the connections gauge to drop", func() bool {
		return value(t, e.metrics.Connections.WithLabelValues("sb")) == 0
	})
}

func TestIdleTimeout(t *testing.T) {
	const idle = 1200 * time.Millisecond
	e := newEnv(t, setup{config: func(c *Config) { c.IdleTimeout = idle }})
	alice := e.peer("Alice", 9, "")
	bob := e.peer("Bob", 8, "")     // sees the reason
	carol := e.peer("Carol", 5, "") // does not
	a := e.start(alice)
	a.send("CAL 2 %s", bob.email())
	a.read()
	a.send("CAL 3 %s", carol.email())
	a.read()
	// Bob and Carol join well after Alice's last word, so she is the first
	// to have been silent too long.
	time.Sleep(idle / 3)
	join := func(p *testPeer) *client {
		r := p.nextRing(t)
		c := e.dial(p.email())
		c.send("ANS 1 %s %s %s", p.email(), r.Cookie, r.SessionID)
		for c.read().Name != "ANS" {
		}
		return c
	}
	b := join(bob)
	c := join(carol)
	a.expect("JOI bob@example.com Bob")
	a.expect("JOI carol@example.com Carol")
	b.expect("JOI carol@example.com Carol")
	b.expect("BYE alice@example.com 1")
	c.expect("BYE alice@example.com")
	a.expectClosed()
}

func TestRosterShapes(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 12, "1342177280")
	bob := e.peer("Bob", 5, "")
	carol := e.peer("Carol", 12, "1073741824")
	a := e.start(alice)

	b, roster := e.invite(a, 2, bob) // MSNP5 joiner: no caps in IRO
	if want := "[IRO 7 1 1 alice@example.com Alice]"; fmt.Sprint(roster) != want {
		t.Fatalf("MSNP5 roster %q, want %s", roster, want)
	}
	a.expect("JOI bob@example.com Bob 0") // MSNP12 recipient: caps

	_, roster = e.invite(b, 3, carol) // MSNP12 joiner: caps in IRO
	if want := "[IRO 7 1 2 alice@example.com Alice 1342177280 IRO 7 2 2 bob@example.com Bob 0]"; fmt.Sprint(roster) != want {
		t.Fatalf("MSNP12 roster %q, want %s", roster, want)
	}
	a.expect("JOI carol@example.com Carol 1073741824")
	b.expect("JOI carol@example.com Carol") // MSNP5 recipient: no caps
}

func TestFriendlyNameFromSelfAtAnswer(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 9, "")
	bob := e.peer("Bob", 9, "")
	a := e.start(alice)
	a.send("CAL 2 %s", bob.email())
	a.read()
	r := bob.nextRing(t)
	bob.mu.Lock()
	bob.pres.FriendlyName = "Bob 100% new"
	bob.mu.Unlock()
	b := e.dial("bob")
	b.send("ANS 3 %s %s %s", bob.email(), r.Cookie, r.SessionID)
	b.expect("IRO 3 1 1 alice@example.com Alice")
	b.expect("ANS 3 OK")
	a.expect("JOI bob@example.com Bob%20100%25%20new")
}

func TestUnexpectedCommandsClose(t *testing.T) {
	for _, line := range []string{
		"USR 2 alice@example.com 1.2.3",
		"ANS 2 alice@example.com 1.2.3 1",
		"PNG",
		"XFR 2 SB",
		"FOO 2",
		"CAL x bob@example.com",
		"",
		"UUX 2 0",
		strings.Repeat("A", 5000),
	} {
		t.Run(line[:min(len(line), 16)], func(t *testing.T) {
			e := newEnv(t)
			alice := e.peer("Alice", 9, "")
			bob := e.peer("Bob", 9, "")
			a := e.start(alice)
			b, _ := e.invite(a, 2, bob)
			a.expect("JOI bob@example.com Bob")
			a.send("%s", line)
			a.expectClosed()
			b.expect("BYE alice@example.com")
			b.sendMsg(3, "A", text("alone"))
			b.expect("NAK 3")
		})
	}
}

func TestSlowConsumerCutOff(t *testing.T) {
	e := newEnv(t, setup{server: func(s *Server) { s.outboxLimit = 16 << 10 }})
	alice := e.peer("Alice", 9, "")
	bob := e.peer("Bob", 9, "")
	carol := e.peer("Carol", 9, "")
	a := e.start(alice)
	b, _ := e.invite(a, 2, bob)
	a.expect("JOI bob@example.com Bob")
	c, _ := e.invite(a, 3, carol) // Carol never reads again
	a.expect("JOI carol@example.com Carol")
	b.expect("JOI carol@example.com Carol")
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}

	// Bob reads everything until Carol is gone.
	byeSeen := make(chan struct{})
	var relayed atomic.Int64
	go func() {
		defer close(byeSeen)
		for {
			b.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			cmd, err := b.r.ReadCommand()
			if err != nil {
				return
			}
			if cmd.Name == "MSG" {
				relayed.Add(1)
			}
			if cmd.String() == "BYE carol@example.com" {
				return
			}
		}
	}()

	payload := bytes.Repeat([]byte("z"), msnp.MaxMessagePayload)
	frame := fmt.Appendf(nil, "MSG 9 U %d\r\n", len(payload))
	frame = append(frame, payload...)
	sent := 0
	deadline := time.Now().Add(30 * time.Second)
loop:
	for {
		select {
		case <-byeSeen:
			break loop
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("Carol was not cut off after %d messages", sent)
		}
		// Alice waits for Bob to keep up, so that only Carol falls
		// behind.
		if int64(sent)-relayed.Load() >= 4 {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		a.nc.SetWriteDeadline(time.Now().Add(waitFor))
		if _, err := a.nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	a.expect("BYE carol@example.com")
	// The outbox counts the cut-off just after closing the connection.
	eventually(t, "the slow consumer to be counted", func() bool {
		return value(t, e.metrics.SlowConsumers.WithLabelValues("sb")) == 1
	})
	t.Logf("cut off after %d messages, %d relayed to Bob meanwhile", sent, relayed.Load())

	// Alice and Bob keep chatting.
	a.sendMsg(100, "A", text("carry on"))
	for {
		cmd := b.read()
		if cmd.Name == "MSG" && bytes.Equal(cmd.Payload, text("carry on")) {
			break
		}
	}
	a.expect("ACK 100")
}

func TestCloseEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newEnv(t)
	var clients []*client
	for i := 0; i < 5; i++ {
		a := e.start(e.peer(fmt.Sprintf("Host%d", i), 9, ""))
		b, _ := e.invite(a, 2, e.peer(fmt.Sprintf("Guest%d", i), 9, ""))
		a.read() // JOI
		clients = append(clients, a, b)
	}
	clients = append(clients, e.dial("unauthenticated"))
	if got := e.srv.Sessions(); got != 5 {
		t.Fatalf("Sessions() = %d, want 5", got)
	}

	done := make(chan struct{})
	go func() { e.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("Close did not return")
	}
	for _, c := range clients {
		c.nc.SetReadDeadline(time.Now().Add(waitFor))
		for {
			if _, err := c.r.ReadCommand(); err != nil {
				if isTimeout(err) {
					t.Fatalf("%s still open after Close", c.name)
				}
				break
			}
		}
	}
	if got := e.srv.Sessions(); got != 0 {
		t.Fatalf("Sessions() = %d after Close", got)
	}
	// A server that is closed refuses to serve.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Serve(l); err != ErrServerClosed {
		t.Fatalf("Serve after Close = %v", err)
	}
	e.close() // Serve has returned
	for _, c := range clients {
		c.nc.Close()
	}
	eventually(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestAckFollowsSlowReader: a P2P sender that waits for each ACK, as every
// one does, is held back while the recipient does not read, instead of
// filling the recipient's outbox until it is cut off; once the recipient
// reads, every message arrives, byte for byte.
func TestAckFollowsSlowReader(t *testing.T) {
	e := newEnv(t, setup{server: func(s *Server) { s.outboxLimit = 16 << 10 }})
	alice := e.peer("Alice", 12, "")
	bob := e.peer("Bob", 12, "")
	a := e.start(alice)
	b, _ := e.invite(a, 2, bob)
	a.expect("JOI bob@example.com Bob 0")

	// A file's worth of 1202-byte chunks, far more than the outbox
	// limit; Bob reads nothing meanwhile.
	chunk := append(p2p(bob.email()), bytes.Repeat([]byte{0x0d, 0x0a, 0}, 400)...)
	acks := make(chan string, 1)
	go func() {
		for {
			cmd, err := a.r.ReadCommand()
			if err != nil {
				close(acks)
				return
			}
			acks <- cmd.String()
		}
	}()
	sent, held := 0, false
	for sent < 20000 && !held {
		sent++
		a.sendMsg(100+sent, "D", chunk)
		select {
		case got := <-acks:
			if got != "ACK "+itoa(100+sent) {
				t.Fatalf("after message %d: %q", sent, got)
			}
		case <-time.After(time.Second):
			held = true
		}
	}
	if !held {
		t.Fatalf("%d messages (%d KiB) were acknowledged while the recipient read nothing", sent, sent*len(chunk)>>10)
	}
	t.Logf("held back after %d messages (%d KiB)", sent, sent*len(chunk)>>10)

	for i := 1; i <= sent; i++ {
		cmd := b.read()
		if cmd.Name != "MSG" || !bytes.Equal(cmd.Payload, chunk) {
			t.Fatalf("message %d: %v", i, cmd)
		}
	}
	select {
	case got := <-acks:
		if got != "ACK "+itoa(100+sent) {
			t.Fatalf("last acknowledgement %q", got)
		}
	case <-time.After(waitFor):
		t.Fatal("the last message was not acknowledged once read")
	}
	if n := value(t, e.metrics.SlowConsumers.WithLabelValues("sb")); n != 0 {
		t.Errorf("%v slow consumers cut off", n)
	}
}
