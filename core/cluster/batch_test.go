package cluster

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/bus"
	"github.com/nudge-im/nudge/core/directory"
)

// seen waits until d's node knows that every one of emails is signed in
// somewhere else.
func seen(t *testing.T, d *directory.Directory, emails ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, e := range emails {
		for d.Lookup(e) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s never seen", e)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// callsOf waits for want at r, then checks that nothing else came.
func callsOf(t *testing.T, r *recorder, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got []string
	for len(got) < len(want) && time.Now().Before(deadline) {
		got = append(got, r.take()...)
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	got = append(got, r.take()...)
	if !slices.Equal(got, want) {
		t.Fatalf("%s saw %q, want %q", r.email, got, want)
	}
}

// One status change told to watchers on two other nodes crosses as one
// message to each node, and every watcher there gets exactly its call, in
// order after what was sent to it before; a watcher who left meanwhile
// gets nothing, and the others do not wait for it.
func TestPresenceBatch(t *testing.T) {
	nodes := startNodes(t, "a", "b", "c")
	a := nodes[0]
	var (
		mu      sync.Mutex
		batches = map[string]int{} // subject → batch messages
	)
	b := a.cfg.Bus
	spy, err := b.Subscribe(func(m *bus.Msg) {
		var e envelope
		if json.Unmarshal(m.Data, &e) == nil && e.Op == opBatch {
			mu.Lock()
			batches[m.Subject]++
			mu.Unlock()
		}
	}, "nudge.node.>")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { spy.Close() })

	var onB, onC []*recorder
	for i := range 5 {
		r := &recorder{email: fmt.Sprintf("b%d@example.com", i)}
		nodes[1].dir.Register(r.email, r)
		onB = append(onB, r)
		r = &recorder{email: fmt.Sprintf("c%d@example.com", i)}
		nodes[2].dir.Register(r.email, r)
		onC = append(onC, r)
	}
	// Two endpoints of one user on b: each is told.
	home := &recorder{email: "multi@example.com", ep: "{1}"}
	work := &recorder{email: "multi@example.com", ep: "{2}"}
	nodes[1].dir.Register(home.email, home)
	nodes[1].dir.Register(work.email, work)
	for _, r := range append(onB, onC...) {
		seen(t, a.dir, r.email)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(a.dir.Endpoints(home.email)) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("node a never saw both endpoints")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// A call sent before the batch arrives before it.
	a.dir.Lookup("b0@example.com").ShowPresence(directory.Presence{Email: "alice@example.com", Status: directory.Online})

	alice := directory.Presence{Email: "alice@example.com", FriendlyName: "Alice", Status: directory.Busy,
		Personal: []byte("<Data><PSM>hi</PSM></Data>")}
	batch := a.dir.Batch()
	var wg sync.WaitGroup
	for _, r := range append(append(onB, onC...), home) {
		wg.Add(1)
		go func() { // as a fan-out over several goroutines does
			defer wg.Done()
			p := batch.Lookup(r.email)
			if r.email == "c4@example.com" {
				p.HidePresence(alice.Email) // blocked: sees her offline
				return
			}
			p.ShowPresence(alice)
		}()
	}
	wg.Wait()
	// b3 leaves before the batch arrives; a Ring through a batch's peer
	// goes at once.
	batch.Lookup("b2@example.com").Ring(directory.Ring{SessionID: "9", Caller: alice.Email})
	nodes[1].dir.Unregister("b3@example.com", onB[3])
	time.Sleep(20 * time.Millisecond)
	callsOf(t, onB[2], "ring 9   alice@example.com ")
	batch.Send()

	show := `show alice@example.com Alice BSY   "<Data><PSM>hi</PSM></Data>"`
	callsOf(t, onB[0], "show alice@example.com  NLN   \"\"", show)
	callsOf(t, onB[1], show)
	callsOf(t, onB[2], show)
	callsOf(t, onB[3])
	callsOf(t, onB[4], show)
	for _, r := range onC[:4] {
		callsOf(t, r, show)
	}
	callsOf(t, onC[4], "hide alice@example.com")
	callsOf(t, home, show)
	callsOf(t, work, show)

	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{subjectNode("b"): 1, subjectNode("c"): 1}; !reflect.DeepEqual(batches, want) {
		t.Errorf("batch messages by subject %v, want %v", batches, want)
	}
}

// A batch for more watchers on one node than one message carries is split,
// and every watcher is told once; each part carries only the presences
// its calls show.
func TestPresenceBatchSplit(t *testing.T) {
	nodes := startNodes(t, "a", "b")
	a := nodes[0]
	n := maxBatchCalls + 10
	rs := make([]*recorder, n)
	for i := range rs {
		rs[i] = &recorder{email: fmt.Sprintf("w%d@example.com", i)}
		nodes[1].dir.Register(rs[i].email, rs[i])
	}
	seen(t, a.dir, rs[n-1].email)
	for _, r := range rs {
		seen(t, a.dir, r.email)
	}
	var mu sync.Mutex
	var parts []envelope
	spy, err := a.cfg.Bus.Subscribe(func(m *bus.Msg) {
		var e envelope
		if json.Unmarshal(m.Data, &e) == nil && e.Op == opBatch {
			mu.Lock()
			parts = append(parts, e)
			mu.Unlock()
		}
	}, subjectNode("b"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { spy.Close() })
	batch := a.dir.Batch()
	for i, r := range rs {
		// The last ten are told of another user: the second part carries
		// that presence alone.
		who := "alice@example.com"
		if i >= maxBatchCalls {
			who = "carol@example.com"
		}
		batch.Lookup(r.email).ShowPresence(directory.Presence{Email: who, Status: directory.Online})
	}
	batch.Send()
	for i, r := range rs {
		who := "alice@example.com"
		if i >= maxBatchCalls {
			who = "carol@example.com"
		}
		callsOf(t, r, fmt.Sprintf("show %s  NLN   \"\"", who))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(parts) != 2 || len(parts[0].Calls) != maxBatchCalls || len(parts[1].Calls) != 10 ||
		len(parts[0].Presences) != 1 || len(parts[1].Presences) != 1 || parts[1].Presences[0].Email != "carol@example.com" {
		t.Fatalf("%d parts: %d calls/%d presences, then %d/%d", len(parts),
			len(parts[0].Calls), len(parts[0].Presences), len(parts[len(parts)-1].Calls), len(parts[len(parts)-1].Presences))
	}
}

// Batches that are not what a node sends are dropped whole: no watcher
// hears part of one.
func TestPresenceBatchMalformed(t *testing.T) {
	n := newTestNode(t)
	bob := &recorder{email: "bob@example.com"}
	n.dir.Register(bob.email, bob)
	n.feed(envelope{Op: opHello, Node: "n2", Inc: 1})
	p := directory.Presence{Email: "alice@example.com", Status: directory.Online}
	many := make([]batchCall, maxBatchCalls+1)
	for i := range many {
		many[i] = batchCall{To: bob.email, Hide: "alice@example.com"}
	}
	for _, e := range []envelope{
		{Op: opBatch, Node: "n2", Inc: 1, Calls: many},
		{Op: opBatch, Node: "n2", Inc: 1, Presences: make([]directory.Presence, maxBatchPresences+1), Calls: []batchCall{{To: bob.email, Show: 1}}},
		{Op: opBatch, Node: "n2", Inc: 1, Presences: []directory.Presence{p}, Calls: []batchCall{{To: bob.email, Show: 1}, {To: bob.email, Show: 2}}},
		{Op: opBatch, Node: "n2", Inc: 1, Presences: []directory.Presence{p}, Calls: []batchCall{{To: bob.email, Show: 1}, {To: bob.email, Show: -1, Hide: "x"}}},
		{Op: opBatch, Node: "n2", Inc: 1, Calls: []batchCall{{To: bob.email, Hide: "x"}, {To: bob.email}}},
		{Op: opBatch, Node: "n2", Inc: 1, Presences: []directory.Presence{p}, Calls: []batchCall{{To: bob.email, Show: 1, Hide: "x"}}},
	} {
		n.feed(e)
	}
	for _, raw := range []string{
		`{"op":"peers","n":"n2","i":1,"cs":{}}`,
		`{"op":"peers","n":"n2","i":1,"cs":[{"t":"bob@example.com","p":"1"}],"ps":[{}]}`,
		`{"op":"peers","n":"n2","i":1,"cs":[null],"ps":[null]}`,
	} {
		n.receive(bus.NewMsg(subjectAll, []byte(raw), nil))
	}
	if calls := bob.take(); len(calls) != 0 {
		t.Errorf("bob saw %v", calls)
	}
	// And a good one is delivered.
	n.feed(envelope{Op: opBatch, Node: "n2", Inc: 1, Presences: []directory.Presence{p}, Calls: []batchCall{{To: bob.email, Show: 1}, {To: "nobody@example.com", Hide: "x"}, {To: bob.email, Hide: "carol@example.com"}}})
	if calls := bob.take(); !slices.Equal(calls, []string{`show alice@example.com  NLN   ""`, "hide carol@example.com"}) {
		t.Errorf("bob saw %q", calls)
	}
}
