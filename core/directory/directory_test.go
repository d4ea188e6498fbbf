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
type peer struct{ name, id string }

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
func (p *peer) Endpoint() msnp.Endpoint            { return msnp.Endpoint{ID: p.id} }
func (p *peer) Note(directory.Note)                {}
func (p *peer) BookChanged(string)                 {}
func (p *peer) Mailed(directory.Mail)              {}
func (p *peer) Share(directory.Presence)           {}
func (p *peer) ShareList(directory.Listing)        {}
func (p *peer) ShowSelf(directory.Presence)        {}
func (p *peer) String() string                     { return p.name }
func newPeer(name string) *peer                    { return &peer{name: name} }

// at is a peer signed in with a machine GUID (MSNP16+).
func at(name, guid string) *peer { return &peer{name: name, id: guid} }

// one is the single peer Register replaced, or nil.
func one(t *testing.T, replaced []directory.Peer) directory.Peer {
	t.Helper()
	switch len(replaced) {
	case 0:
		return nil
	case 1:
		return replaced[0]
	}
	t.Fatalf("replaced %d sessions, want at most one", len(replaced))
	return nil
}

// gone is Unregister's first result.
func gone(removed bool, _ int) bool { return removed }

var _ directory.Peer = (*peer)(nil)

func TestRegisterLookupUnregister(t *testing.T) {
	d := directory.New()
	if d.Len() != 0 || d.Lookup("alice@example.com") != nil {
		t.Fatal("a new directory is not empty")
	}

	alice, bob := newPeer("alice"), newPeer("bob")
	if prev := one(t, d.Register("alice@example.com", alice)); prev != nil {
		t.Errorf("first Register returned %v, want nil", prev)
	}
	if prev := one(t, d.Register("bob@example.com", bob)); prev != nil {
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

	if removed, left := d.Unregister("alice@example.com", alice); !removed || left != 0 {
		t.Errorf("Unregister of the current peer = %v, %d left", removed, left)
	}
	if got := d.Lookup("alice@example.com"); got != nil {
		t.Errorf("Lookup after Unregister = %v", got)
	}
	if d.Len() != 1 {
		t.Errorf("Len after Unregister = %d, want 1", d.Len())
	}
	// A second Unregister is a no-op and does not miscount.
	if gone(d.Unregister("alice@example.com", alice)) {
		t.Error("second Unregister = true")
	}
	if gone(d.Unregister("nobody@example.com", alice)) {
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
	if prev := one(t, d.Register("alice@example.com", second)); prev != first {
		t.Fatalf("Register over a signed-in user returned %v, want the first session", prev)
	}
	if d.Len() != 1 {
		t.Errorf("Len after a replace = %d, want 1 (one user, one session)", d.Len())
	}
	if got := d.Lookup("alice@example.com"); got != second {
		t.Errorf("Lookup after replace = %v, want the second session", got)
	}

	// The first session, on its way out, unregisters itself: no effect.
	if gone(d.Unregister("alice@example.com", first)) {
		t.Error("Unregister of the replaced session = true")
	}
	if got := d.Lookup("alice@example.com"); got != second {
		t.Errorf("a stale Unregister removed the new session: Lookup = %v", got)
	}
	if d.Len() != 1 {
		t.Errorf("Len after a stale Unregister = %d, want 1", d.Len())
	}

	if prev := one(t, d.Register("alice@example.com", third)); prev != second {
		t.Errorf("third Register returned %v, want the second session", prev)
	}
	// Registering the same session again replaces nothing and does not
	// count twice.
	if prev := one(t, d.Register("alice@example.com", third)); prev != nil {
		t.Errorf("re-Register returned %v, want nothing", prev)
	}
	if d.Len() != 1 {
		t.Errorf("Len = %d, want 1", d.Len())
	}
	if !gone(d.Unregister("alice@example.com", third)) || d.Len() != 0 || d.Lookup("alice@example.com") != nil {
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

// Several points of presence (MSNP16+): sessions with different machine
// GUIDs stay side by side, the same GUID again replaces its predecessor, a
// session without one (MSNP15 or older) replaces them all and is replaced
// by the next; Lookup reaches every endpoint, and the user is gone only
// with the last one.
func TestEndpoints(t *testing.T) {
	d := directory.New()
	const alice = "alice@example.com"
	home, work := at("home", "{0000000a-0000-0000-0000-000000000001}"), at("work", "{0000000a-0000-0000-0000-000000000002}")
	if r := d.Register(alice, home); len(r) != 0 {
		t.Fatalf("first endpoint replaced %v", r)
	}
	if r := d.Register(alice, work); len(r) != 0 {
		t.Fatalf("a second machine replaced %v", r)
	}
	if d.Len() != 1 || len(d.Endpoints(alice)) != 2 {
		t.Fatalf("Len %d, %d endpoints", d.Len(), len(d.Endpoints(alice)))
	}
	rings := &ringCount{}
	homeRing, workRing := &ringingPeer{peer: home, n: rings}, &ringingPeer{peer: work, n: rings}
	d2 := directory.New()
	d2.Register(alice, homeRing)
	d2.Register(alice, workRing)
	d2.Lookup(alice).Ring(directory.Ring{})
	if rings.n != 2 {
		t.Fatalf("Lookup rang %d endpoints, want both", rings.n)
	}

	// The same machine signs in again: its old session goes.
	home2 := at("home2", home.id)
	if r := one(t, d.Register(alice, home2)); r != home {
		t.Fatalf("same GUID replaced %v, want home", r)
	}
	// One endpoint leaves; the user is still there.
	if removed, left := d.Unregister(alice, work); !removed || left != 1 || d.Len() != 1 {
		t.Fatalf("Unregister(work) = %v, %d left; Len %d", removed, left, d.Len())
	}
	if d.Lookup(alice) != home2 {
		t.Fatalf("Lookup with one endpoint = %v", d.Lookup(alice))
	}
	// A client without MPoP replaces every endpoint, and is replaced.
	d.Register(alice, work)
	old := newPeer("msnp12")
	if r := d.Register(alice, old); len(r) != 2 {
		t.Fatalf("an MSNP12 sign-in replaced %v, want both endpoints", r)
	}
	if r := one(t, d.Register(alice, home)); r != old {
		t.Fatalf("an endpoint after MSNP12 replaced %v", r)
	}
	if removed, left := d.Unregister(alice, home); !removed || left != 0 || d.Len() != 0 {
		t.Fatalf("last endpoint: %v %d, Len %d", removed, left, d.Len())
	}
}

type ringCount struct{ n int }

type ringingPeer struct {
	*peer
	n *ringCount
}

func (p *ringingPeer) Ring(directory.Ring) { p.n.n++ }

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
				for _, o := range old {
					d.Register(e, o)
				}
			} else {
				d.Lookup(e)
			}
			i += 13
		}
	})
}
