package passport

import (
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock lets tests move a Tickets' time by hand.
type fakeClock struct{ d atomic.Int64 }

func (c *fakeClock) now() time.Duration      { return time.Duration(c.d.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.d.Add(int64(d)) }

func withClock(t *Tickets) *fakeClock {
	c := new(fakeClock)
	t.now = c.now
	return c
}

var ticketShape = regexp.MustCompile(`^[A-Za-z0-9]{20,}$`)

func TestTicketShape(t *testing.T) {
	tk := NewTickets(time.Minute)
	seen := map[string]bool{}
	for range 1000 {
		s := tk.Issue("a@b.c")
		if !ticketShape.MatchString(s) {
			t.Fatalf("ticket %q is not 20+ characters of [A-Za-z0-9]", s)
		}
		if seen[s] {
			t.Fatalf("ticket %q issued twice", s)
		}
		seen[s] = true
	}
}

func TestRedeemOnceForItsAddressOnly(t *testing.T) {
	tk := NewTickets(time.Minute)
	a := tk.Issue("Alice@Example.com")
	b := tk.Issue("bob@example.com")

	if tk.Redeem(a, "bob@example.com") {
		t.Fatal("alice's ticket redeemed for bob")
	}
	if tk.Redeem("", "alice@example.com") || tk.Redeem("NOSUCHTICKET", "alice@example.com") {
		t.Fatal("unknown ticket redeemed")
	}
	if !tk.Redeem(a, " alice@EXAMPLE.com") {
		t.Fatal("alice's ticket refused for alice (after a wrong-address attempt, with other case)")
	}
	if tk.Redeem(a, "alice@example.com") {
		t.Fatal("ticket redeemed twice")
	}
	if !tk.Redeem(b, "bob@example.com") {
		t.Fatal("bob's ticket refused")
	}
	if n := tk.Len(); n != 0 {
		t.Fatalf("Len = %d after redeeming everything, want 0", n)
	}
}

// A ticket with a proof key is only for RedeemKey, which hands the key
// back once.
func TestProofKeysAndCheck(t *testing.T) {
	tk := NewTickets(time.Minute)
	clock := withClock(tk)
	key := []byte("0123456789abcdefghijklmn")
	k := tk.IssueKey("alice@example.com", key)
	p := tk.Issue("alice@example.com")
	if tk.Redeem(k, "alice@example.com") {
		t.Fatal("a proof-key ticket redeemed without the proof")
	}
	if _, ok := tk.RedeemKey(p, "alice@example.com"); ok {
		t.Fatal("a plain ticket redeemed as a proof-key one")
	}
	if _, ok := tk.RedeemKey(k, "bob@example.com"); ok {
		t.Fatal("alice's ticket redeemed for bob")
	}
	if got, ok := tk.RedeemKey(k, "Alice@Example.com"); !ok || string(got) != string(key) {
		t.Fatalf("RedeemKey = %q, %v", got, ok)
	}
	if _, ok := tk.RedeemKey(k, "alice@example.com"); ok {
		t.Fatal("redeemed twice")
	}
	if !tk.Redeem(p, "alice@example.com") {
		t.Fatal("the plain ticket refused")
	}
	clock.advance(time.Minute)
	k = tk.IssueKey("alice@example.com", key)
	clock.advance(time.Minute)
	if _, ok := tk.RedeemKey(k, "alice@example.com"); ok {
		t.Fatal("an expired proof-key ticket redeemed")
	}
}

func TestRedeemExpired(t *testing.T) {
	tk := NewTickets(30 * time.Second)
	clock := withClock(tk)
	a := tk.Issue("a@x.com")
	b := tk.Issue("b@x.com")
	clock.advance(29 * time.Second)
	if !tk.Redeem(a, "a@x.com") {
		t.Fatal("ticket refused before expiry")
	}
	clock.advance(time.Second)
	if tk.Redeem(b, "b@x.com") {
		t.Fatal("ticket accepted at expiry")
	}
}

func TestExpiredAreSwept(t *testing.T) {
	tk := NewTickets(time.Second)
	clock := withClock(tk)
	for i := range 5000 {
		tk.Issue(fmt.Sprintf("u%d@x.com", i))
	}
	if n := tk.Len(); n != 5000 {
		t.Fatalf("Len = %d, want 5000", n)
	}
	clock.advance(2 * time.Second)
	// Each Issue sweeps its shard; enough of them touch every shard.
	for i := range 5000 {
		tk.Issue(fmt.Sprintf("v%d@x.com", i))
	}
	if n := tk.Len(); n != 5000 {
		t.Fatalf("Len = %d after the first 5000 expired, want 5000", n)
	}
}

func TestLimitEvictsOldest(t *testing.T) {
	tk := NewTicketsLimit(time.Hour, 10)
	var issued []string
	for i := range 25 {
		issued = append(issued, tk.Issue(fmt.Sprintf("u%d@x.com", i)))
	}
	if n := tk.Len(); n != 10 {
		t.Fatalf("Len = %d, want the limit 10", n)
	}
	for i, s := range issued {
		ok := tk.Redeem(s, fmt.Sprintf("u%d@x.com", i))
		if want := i >= 15; ok != want {
			t.Fatalf("ticket %d redeemed = %v, want %v (the oldest are evicted)", i, ok, want)
		}
	}
}

func TestLimitWithRedeemedInQueue(t *testing.T) {
	// Redeemed tickets leave stale queue entries; the bound must still hold
	// and live tickets must not be evicted early because of them.
	tk := NewTicketsLimit(time.Hour, 4)
	for i := range 100 {
		s := tk.Issue("a@x.com")
		if i%2 == 0 && !tk.Redeem(s, "a@x.com") {
			t.Fatal("fresh ticket refused")
		}
		if n := tk.Len(); n > 4 {
			t.Fatalf("Len = %d, over the limit 4", n)
		}
	}
	if sh := &tk.shards[0]; len(sh.q)-sh.head > 4 {
		t.Fatalf("queue holds %d entries, over the limit 4", len(sh.q)-sh.head)
	}
}

func TestQueueCompacts(t *testing.T) {
	tk := NewTicketsLimit(time.Second, 10)
	clock := withClock(tk)
	for range 100000 {
		tk.Issue("a@x.com")
		clock.advance(100 * time.Millisecond)
	}
	if sh := &tk.shards[0]; cap(sh.q) > 4096 {
		t.Fatalf("queue capacity grew to %d for a limit of 10", cap(sh.q))
	}
}

func TestTicketsConcurrent(t *testing.T) {
	tk := NewTickets(time.Minute)
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := range workers {
		wg.Go(func() {
			email := fmt.Sprintf("user%d@x.com", w)
			for range each {
				s := tk.Issue(email)
				if tk.Redeem(s, "someone@else.com") || !tk.Redeem(s, email) || tk.Redeem(s, email) {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d tickets misbehaved under concurrency", n)
	}

	// Many goroutines racing for one ticket: exactly one wins.
	for range 200 {
		s := tk.Issue("race@x.com")
		var wins atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				if tk.Redeem(s, "race@x.com") {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("ticket redeemed %d times by racing goroutines, want 1", n)
		}
	}
}

func TestTicketFromUSR(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"t=ABCDEF&p=XYZ", "ABCDEF"},
		{"t=ABCDEF&p=", "ABCDEF"},
		{"t=ABCDEF&amp;p=", "ABCDEF"},
		{"t=ABCDEF", "ABCDEF"},
		{"'t=ABCDEF&p='", "ABCDEF"},
		{`"t=ABCDEF&p="`, "ABCDEF"},
		{"p=XYZ&t=ABCDEF", "ABCDEF"},
		{"p=XYZ&amp;t=ABCDEF", "ABCDEF"},
		{"T=ABCDEF&P=", "ABCDEF"},
		{"t%3DABCDEF%26p%3D", "ABCDEF"},
		{"  t=ABCDEF&p=  ", "ABCDEF"},
		{"ABCDEF", "ABCDEF"},
		{"ABCDEF&p=", "ABCDEF"},
		{"", ""},
		{"p=XYZ", ""},
		{"&&&", ""},
		{"t=", ""},
	} {
		if got := TicketFromUSR(tc.in); got != tc.want {
			t.Errorf("TicketFromUSR(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func BenchmarkTicketsIssueRedeem(b *testing.B) {
	tk := NewTickets(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		s := tk.Issue("alice@example.com")
		if !tk.Redeem(s, "alice@example.com") {
			b.Fatal("redeem failed")
		}
	}
}

func BenchmarkTicketsIssueRedeemParallel(b *testing.B) {
	tk := NewTickets(time.Minute)
	var lost atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := tk.Issue("alice@example.com")
			if !tk.Redeem(s, "alice@example.com") {
				// Only possible if this goroutine stalled while others issued
				// DefaultMaxTickets tickets and the oldest were evicted.
				lost.Add(1)
			}
		}
	})
	b.ReportMetric(float64(lost.Load())/float64(b.N), "lost/op")
}
