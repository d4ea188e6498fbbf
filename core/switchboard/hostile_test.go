package switchboard

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWrongANSCookieTouchesNothing: a bare connection guessing Bob's cookie
// with the real session id fails on its own connection, and Bob's real
// invitation still works afterwards.
func TestWrongANSCookieTouchesNothing(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice", 8, "")
	bob := e.peer("Bob", 8, "")
	a := e.start(alice)
	a.send("CAL 2 %s", bob.email())
	a.read()
	r := bob.nextRing(t)

	for i := 0; i < 3; i++ {
		m := e.dial("mallory")
		m.send("ANS 1 %s WRONGCOOKIE %s", bob.email(), r.SessionID)
		m.expect("911 1")
		m.expectClosed()
	}

	b := e.dial("bob")
	b.send("ANS 3 %s %s %s", bob.email(), r.Cookie, r.SessionID)
	b.expect("IRO 3 1 1 alice@example.com Alice")
	b.expect("ANS 3 OK")
	a.expect("JOI bob@example.com Bob")
}

// TestSessionIDsAreRandom: session ids are decimal numbers below 2^31 that
// do not follow one another, so they cannot be swept.
func TestSessionIDsAreRandom(t *testing.T) {
	e := newEnv(t, setup{config: func(c *Config) { c.RequestsPerMinute = 1000 }})
	alice := e.peer("Alice", 8, "")
	bob := e.peer("Bob", 8, "")
	seen := map[uint64]bool{}
	var prev uint64
	near := 0
	for i := 0; i < 20; i++ {
		a := e.start(alice)
		a.send("CAL 2 %s", bob.email())
		cal := a.read()
		bob.nextRing(t)
		id := cal.Param(1)
		n, err := strconv.ParseUint(id, 10, 32)
		if cal.Param(0) != "RINGING" || err != nil || n >= 1<<31 || n < 10_000_000 {
			t.Fatalf("%q: want a session id of 8 to 10 digits below 2^31", cal)
		}
		if seen[n] {
			t.Fatalf("session id %d repeated", n)
		}
		seen[n] = true
		if i > 0 && n > prev && n-prev < 1000 {
			near++
		}
		prev = n
		a.send("OUT")
	}
	if near > 2 {
		t.Fatalf("%d of 19 session ids followed the one before: they are sequential", near)
	}
}

// TestOpenLimits: one user may not hold more than MaxCookies unused
// cookies, run more than MaxSessions sessions, or ask faster than
// RequestsPerMinute; a spent or expired cookie makes room again.
func TestOpenLimits(t *testing.T) {
	e := newEnv(t, setup{config: func(c *Config) {
		c.MaxCookies, c.MaxSessions, c.RequestsPerMinute = 3, 2, 1<<20
		c.CookieTTL = 200 * time.Millisecond
	}})
	alice := e.peer("Alice", 8, "")
	var cookies []string
	for i := 0; i < 3; i++ {
		_, c := e.open(alice.user())
		cookies = append(cookies, c)
	}
	if _, _, err := e.srv.Open(alice.user()); !errors.Is(err, ErrTooManyCookies) {
		t.Fatalf("fourth cookie: %v, want ErrTooManyCookies", err)
	}
	// Someone else is not affected.
	e.open(e.peer("Bob", 8, "").user())

	// Two sessions started: the third cookie is fine, its session is not.
	for i, cookie := range cookies[:2] {
		c := e.dial("alice")
		c.send("USR %d %s %s", i+1, alice.email(), cookie)
		c.expect(fmt.Sprintf("USR %d OK alice@example.com Alice", i+1))
	}
	if _, _, err := e.srv.Open(alice.user()); !errors.Is(err, ErrTooManySessions) {
		t.Fatalf("with two sessions open: %v, want ErrTooManySessions", err)
	}

	// Rate: a burst of a quarter of the per-minute figure, then refusals.
	e2 := newEnv(t, setup{config: func(c *Config) { c.RequestsPerMinute = 40 }})
	carol := e2.peer("Carol", 8, "")
	n := 0
	for ; n < 100; n++ {
		_, c, err := e2.srv.Open(carol.user())
		if err != nil {
			if !errors.Is(err, ErrTooFast) {
				t.Fatalf("request %d: %v", n, err)
			}
			break
		}
		conn := e2.dial("carol") // spend it, so that the cookie cap is not what stops her
		conn.send("USR 1 %s %s", carol.email(), c)
		conn.expect("USR 1 OK carol@example.com Carol")
		conn.send("OUT")
	}
	if n < 5 || n > 11 {
		t.Fatalf("%d requests before the first refusal, want a burst of about 10", n)
	}
}

// TestSweepReleasesMemory: a flood of cookies from many users, once
// expired and swept, gives its memory back (Go maps keep their size when
// emptied, so the sweep must build them anew).
func TestSweepReleasesMemory(t *testing.T) {
	ttl := 3 * time.Second // longer than making the cookies takes
	e := newEnv(t, setup{config: func(c *Config) { c.CookieTTL = ttl }})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	const n = 50_000
	for i := 0; i < n; i++ {
		e.open(User{Email: "flood" + strconv.Itoa(i) + "@example.com", FriendlyName: "Flood"})
	}
	full := heap()
	if full-before < 4<<20 {
		t.Skipf("%d cookies took only %d bytes; nothing to measure", n, full-before)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	e.open(User{Email: "late@example.com"}) // sweeps
	after := heap()
	if after > before+(full-before)/4 {
		t.Fatalf("heap %d MB before, %d MB with %d cookies, %d MB after they expired: the memory was kept",
			before>>20, full>>20, n, after>>20)
	}
	e.srv.cookieMu.Lock()
	left := len(e.srv.cookies) + len(e.srv.users)
	e.srv.cookieMu.Unlock()
	if left != 2 {
		t.Fatalf("%d entries left, want the late user's cookie and state", left)
	}
}

// TestBurstOfTinyMessagesDoesNotCutOffTheReader: one read of tiny messages
// from someone with a long name grows many times over on the way (each
// relayed MSG carries the name); the reader, who keeps up, still gets
// every one instead of being cut off as a slow consumer.
func TestBurstOfTinyMessagesDoesNotCutOffTheReader(t *testing.T) {
	e := newEnv(t)
	alice := e.peer("Alice"+strings.Repeat(" ", 300)+"Long", 12, "0")
	a := e.start(alice)
	bob, _ := e.invite(a, 2, e.peer("Bob", 12, "0"))
	a.read()       // JOI
	const n = 1500 // ~19 KB sent, ~1.4 MB relayed
	var burst []byte
	for i := range n {
		burst = fmt.Appendf(burst, "MSG %d U 1\r\nx", i+3)
	}
	got := make(chan error, 1)
	go func() {
		for i := range n {
			bob.nc.SetReadDeadline(time.Now().Add(waitFor))
			c, err := bob.r.ReadCommand()
			if err != nil || c.Name != "MSG" || string(c.Payload) != "x" {
				got <- fmt.Errorf("message %d: %v %v", i+1, c, err)
				return
			}
		}
		got <- nil
	}()
	a.nc.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := a.nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
