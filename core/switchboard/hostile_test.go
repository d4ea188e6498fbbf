package switchboard

import (
	"strconv"
	"testing"
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
	e := newEnv(t)
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
