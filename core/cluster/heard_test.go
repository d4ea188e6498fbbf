package cluster

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/bus"
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/switchboard"
)

// laggingBus is a bus whose node hears the announcements late while held:
// what arrives on the cluster's subjects waits, in order, until release,
// as behind a busy receiving goroutine. Questions are answered at once.
type laggingBus struct {
	bus.Bus
	mu      sync.Mutex // held while a message is handled
	holding bool
	fn      func(*bus.Msg)
	waiting []*bus.Msg
}

func (l *laggingBus) Subscribe(fn func(*bus.Msg), subjects ...string) (bus.Subscription, error) {
	if !slices.Contains(subjects, subjectAll) {
		return l.Bus.Subscribe(fn, subjects...)
	}
	l.fn = fn
	return l.Bus.Subscribe(func(m *bus.Msg) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.holding {
			l.waiting = append(l.waiting, m)
			return
		}
		fn(m)
	}, subjects...)
}

func (l *laggingBus) hold() {
	l.mu.Lock()
	l.holding = true
	l.mu.Unlock()
}

func (l *laggingBus) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.waiting {
		l.fn(m)
	}
	l.waiting, l.holding = nil, false
}

// A switchboard placed on another node for XFR knows, by the time the
// caller has its address, of everyone the caller's node knew to be signed
// in. Alice is on node a, the switchboard on node s, which hears the
// others' announcements late: Bob signs in on a, Carol on b, Alice's node
// knows of both (she would have seen them come online) and asks for a
// switchboard; s answers only once it has heard of them, so that Alice's
// CAL finds them there.
func TestSwitchboardNodeHearsWhatTheCallerSaw(t *testing.T) {
	shared := bus.NewLocal()
	t.Cleanup(func() { shared.Close() })
	lag := &laggingBus{Bus: shared}
	start := func(cfg Config) (*Cluster, *directory.Directory) {
		cfg.Directory = directory.New()
		cfg.Heartbeat, cfg.Log = 20*time.Millisecond, zerolog.Nop()
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Directory.SetRemote(c)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, cfg.Directory
	}
	a, dirA := start(Config{Node: "a", Bus: shared, NS: "127.0.0.1:1863"})
	b, dirB := start(Config{Node: "b", Bus: shared, NS: "127.0.0.1:1873"})
	s, dirS := start(Config{Node: "s", Bus: lag, SB: "127.0.0.1:1864", Switchboards: switchboards{}})
	await := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	await("the nodes never met", func() bool {
		a.mu.RLock()
		n := a.nodes["s"]
		met := n != nil && n.sb != ""
		a.mu.RUnlock()
		return met && len(b.Nodes()) == 2 && len(s.Nodes()) == 2
	})

	for _, callee := range []struct {
		email string
		at    *directory.Directory
	}{{"bob@example.com", dirA}, {"carol@example.com", dirB}} {
		lag.hold()
		callee.at.Register(callee.email, &recorder{email: callee.email})
		await("node a never heard of "+callee.email, func() bool { return dirA.Lookup(callee.email) != nil })
		late := time.AfterFunc(200*time.Millisecond, lag.release)
		addr, cookie, err := a.Open(switchboard.User{Email: "alice@example.com", Version: 12})
		if err != nil || addr != "127.0.0.1:1864" || cookie == "" {
			t.Fatalf("Open = %q %q %v", addr, cookie, err)
		}
		if dirS.Lookup(callee.email) == nil {
			t.Fatalf("the switchboard's node answered before it knew %s, whom the caller's node knew signed in", callee.email)
		}
		late.Stop()
		lag.release()
	}
}
