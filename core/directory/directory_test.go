package directory_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/msnp"
)

// peer is a signed-in session as far as the directory cares: something
// with an identity. (The directory never calls its methods.)
type peer struct{ name string }

func (p *peer) PresenceFor(string) (directory.Presence, bool) { return directory.Presence{}, false }
func (p *peer) Self() (directory.Presence, msnp.Version) {
	return directory.Presence{Email: p.name}, 0
}
func (p *peer) ShowPresence(directory.Presence)    {}
func (p *peer) HidePresence(string)                {}
func (p *peer) Ring(directory.Ring)                {}
func (p *peer) ReverseAdded(string, string, int64) {}
func (p *peer) ReverseRemoved(string, int64)       {}
func (p *peer) Replace()                           {}
func (p *peer) Revoke(int64)                       {}
func (p *peer) String() string                     { return p.name }
func newPeer(name string) *peer                    { return &peer{name: name} }

var _ directory.Peer = (*peer)(nil)

func TestRegisterLookupUnregister(t *testing.T) {
	d := directory.New()
	if d.Len() != 0 || d.Lookup("alice@example.com") != nil {
		t.Fatal("a new directory is not empty")
	}

	alice, bob := newPeer("alice"), newPeer("bob")
	if prev := d.Register("alice@example.com", alice); prev != nil {
		t.Errorf("first Register returned %v, want nil", prev)
	}
	if prev := d.Register("bob@example.com", bob); prev != nil {
		t.Errorf("Register of another handle returned %v, want nil", prev)
	}
	if d.Len() != 2 {
		t.Errorf("Len = %d, want 2", d.Len())
	}
	if got := d.Lookup("alice@example.com"); got != alice {
		t.Errorf("Lookup(alice) = %v", got)
	}
	if got := d.Lookup("bob@example.com"); got != bob {
		t.Errorf("Lookup(bob) = %v", got)
	}
	if got := d.Lookup("carol@example.com"); got != nil {
		t.Errorf("Lookup of someone not signed in = %v, want nil", got)
	}

	if !d.Unregister("alice@example.com", alice) {
		t.Error("Unregister of the current peer = false")
	}
	if got := d.Lookup("alice@example.com"); got != nil {
		t.Errorf("Lookup after Unregister = %v", got)
	}
	if d.Len() != 1 {
		t.Errorf("Len after Unregister = %d, want 1", d.Len())
	}
	// A second Unregister is a no-op and does not miscount.
	if d.Unregister("alice@example.com", alice) {
		t.Error("second Unregister = true")
	}
	if d.Unregister("nobody@example.com", alice) {
		t.Error("Unregister of a handle never registered = true")
	}
	if d.Len() != 1 || d.Lookup("bob@example.com") != bob {
		t.Errorf("Len = %d, bob = %v after no-op Unregisters", d.Len(), d.Lookup("bob@example.com"))
	}
}

// Signing in again elsewhere: Register hands back the older session (which
// the caller then ends with OUT OTH), and the older session's sign-out must
// not remove the newer one.
func TestReplaceAndStaleUnregister(t *testing.T) {
	d := directory.New()
	first, second, third := newPeer("first"), newPeer("second"), newPeer("third")

	d.Register("alice@example.com", first)
	if prev := d.Register("alice@example.com", second); prev != first {
		t.Fatalf("Register over a signed-in user returned %v, want the first session", prev)
	}
	if d.Len() != 1 {
		t.Errorf("Len after a replace = %d, want 1 (one user, one session)", d.Len())
	}
	if got := d.Lookup("alice@example.com"); got != second {
		t.Errorf("Lookup after replace = %v, want the second session", got)
	}

	// The first session, on its way out, unregisters itself: no effect.
	if d.Unregister("alice@example.com", first) {
		t.Error("Unregister of the replaced session = true")
	}
	if got := d.Lookup("alice@example.com"); got != second {
		t.Errorf("a stale Unregister removed the new session: Lookup = %v", got)
	}
	if d.Len() != 1 {
		t.Errorf("Len after a stale Unregister = %d, want 1", d.Len())
	}

	if prev := d.Register("alice@example.com", third); prev != second {
		t.Errorf("third Register returned %v, want the second session", prev)
	}
	// Registering the same session again returns itself and does not
	// count twice.
	if prev := d.Register("alice@example.com", third); prev != third {
		t.Errorf("re-Register returned %v, want the same session", prev)
	}
	if d.Len() != 1 {
		t.Errorf("Len = %d, want 1", d.Len())
	}
	if !d.Unregister("alice@example.com", third) || d.Len() != 0 || d.Lookup("alice@example.com") != nil {
		t.Errorf("after the last Unregister: Len %d, Lookup %v", d.Len(), d.Lookup("alice@example.com"))
	}
}

// Handles are exact keys: the service lower-cases them before it gets here.
func TestHandlesAreDistinct(t *testing.T) {
	d := directory.New()
	var peers []*peer
	for i := range 1000 {
		p := newPeer(fmt.Sprint(i))
		peers = append(peers, p)
		d.Register(fmt.Sprintf("user%d@example.com", i), p)
	}
	if d.Len() != 1000 {
		t.Fatalf("Len = %d, want 1000", d.Len())
	}
	for i, p := range peers {
		if got := d.Lookup(fmt.Sprintf("user%d@example.com", i)); got != p {
			t.Fatalf("Lookup(user%d) = %v, want %v", i, got, p)
		}
	}
	for i := 0; i < 1000; i += 2 {
		d.Unregister(fmt.Sprintf("user%d@example.com", i), peers[i])
	}
	if d.Len() != 500 {
		t.Errorf("Len = %d, want 500", d.Len())
	}
	for i, p := range peers {
		got := d.Lookup(fmt.Sprintf("user%d@example.com", i))
		if (i%2 == 0 && got != nil) || (i%2 == 1 && got != p) {
			t.Fatalf("Lookup(user%d) = %v after removing the even ones", i, got)
		}
	}
}

// Sign-ins, sign-outs, replacements and look-ups from many goroutines (run
// with -race). Afterwards the directory holds exactly who is left, and Len
// agrees with it.
func TestConcurrentUse(t *testing.T) {
	d := directory.New()
	const workers, users, rounds = 8, 64, 300
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				email := fmt.Sprintf("user%d@example.com", (w*7+r)%users)
				p := newPeer(fmt.Sprintf("w%d-r%d", w, r))
				d.Register(email, p)
				// Another worker may have replaced and then unregistered it
				// already; only a worker's own address must be there.
				own := fmt.Sprintf("own%d@example.com", w)
				d.Register(own, p)
				if got := d.Lookup(own); got != p {
					t.Errorf("Lookup(%s) = %v right after Register, want %v", own, got, p)
					return
				}
				d.Unregister(own, p)
				if r%3 != 0 {
					d.Unregister(email, p) // may be a no-op if another worker replaced it
				}
				d.Lookup(fmt.Sprintf("user%d@example.com", r%users))
				if n := d.Len(); n < 0 || n > users+workers {
					t.Errorf("Len = %d during concurrent use (users: %d)", n, users)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	for i := range users {
		if d.Lookup(fmt.Sprintf("user%d@example.com", i)) != nil {
			n++
		}
	}
	if d.Len() != n {
		t.Errorf("Len = %d, but %d handles are registered", d.Len(), n)
	}
}

// Len is what /healthz and the metrics report: while sessions of one user
// replace one another and sign out, it must never count below zero or
// more sessions than there are users.
func TestLenUnderReplacement(t *testing.T) {
	d := directory.New()
	const email = "alice@example.com"
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := newPeer(fmt.Sprint(w))
			for i := 0; i < 20000 && !stop.Load(); i++ {
				d.Register(email, p)
				d.Unregister(email, p)
			}
		}()
	}
	bad := 0
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for {
		select {
		case <-done:
			if bad > 0 {
				t.Errorf("Len left 0..1 %d times for one user", bad)
			}
			if d.Len() != 0 {
				t.Errorf("Len = %d after everyone signed out", d.Len())
			}
			return
		default:
			if n := d.Len(); n < 0 || n > 1 {
				bad++
				stop.Store(true)
			}
		}
	}
}

func TestStatusSettable(t *testing.T) {
	for _, s := range []directory.Status{directory.Online, directory.Busy, directory.Idle, directory.BeRightBack,
		directory.Away, directory.OnThePhone, directory.OutToLunch, directory.Hidden} {
		if !s.Settable() {
			t.Errorf("%s not settable with CHG", s)
		}
	}
	for _, s := range []directory.Status{directory.Offline, "", "nln", "XXX"} {
		if s.Settable() {
			t.Errorf("%q settable with CHG; clients may not set it", s)
		}
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	d := directory.New()
	const users = 10000
	emails := make([]string, users)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%d@example.com", i)
		d.Register(emails[i], newPeer(emails[i]))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if d.Lookup(emails[i%users]) == nil {
				b.Error("Lookup = nil")
				return
			}
			i += 7
		}
	})
}

// Sign-ins and sign-outs racing with look-ups, as at a busy hour.
func BenchmarkRegisterLookupParallel(b *testing.B) {
	d := directory.New()
	const users = 10000
	emails := make([]string, users)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%d@example.com", i)
		d.Register(emails[i], newPeer(emails[i]))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		p := newPeer("bench")
		i := 0
		for pb.Next() {
			e := emails[i%users]
			if i%10 == 0 {
				old := d.Register(e, p)
				d.Unregister(e, p)
				if old != nil {
					d.Register(e, old)
				}
			} else {
				d.Lookup(e)
			}
			i += 13
		}
	})
}
