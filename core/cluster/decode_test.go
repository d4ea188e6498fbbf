package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/bus"
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/switchboard"
	"github.com/nudge-im/nudge/msnp"
)

// What a node reads from the bus: announcements, snapshots, peer calls and
// questions, each decoded and applied here on a node of its own (a real
// in-process bus, a real directory, a session that records what reaches
// it).

// recorder is a session signed in on the node under test: it records each
// Peer call that reaches it.
type recorder struct {
	email string
	ep    string // its endpoint GUID, "" for none
	mu    sync.Mutex
	calls []string
}

func (r *recorder) record(format string, args ...any) {
	r.mu.Lock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *recorder) PresenceFor(viewer string) (directory.Presence, bool) {
	if viewer == "blocked@example.com" {
		return directory.Presence{}, false
	}
	return directory.Presence{Email: r.email, FriendlyName: "R", Status: directory.Away}, true
}
func (r *recorder) Self() (directory.Presence, msnp.Version) {
	return directory.Presence{Email: r.email, FriendlyName: "R", Status: directory.Hidden}, 12
}
func (r *recorder) ShowPresence(p directory.Presence) {
	r.record("show %s %s %s %s %s %q", p.Email, p.FriendlyName, p.Status, p.Capabilities, p.MSNObject, p.Personal)
}
func (r *recorder) HidePresence(email string) { r.record("hide %s", email) }
func (r *recorder) Ring(g directory.Ring) {
	r.record("ring %s %s %s %s %s", g.SessionID, g.Address, g.Cookie, g.Caller, g.CallerName)
}
func (r *recorder) ReverseAdded(email, name string, v int64) {
	r.record("radd %s %s %d", email, name, v)
}
func (r *recorder) ReverseRemoved(email string, v int64) { r.record("rrem %s %d", email, v) }
func (r *recorder) Replace()                             { r.record("replace") }
func (r *recorder) BookChanged(contact string)           { r.record("book %s", contact) }
func (r *recorder) Mailed(m directory.Mail)              { r.record("mailed %s %s", m.ID, m.From) }
func (r *recorder) Revoke(seq int64)                     { r.record("revoke %d", seq) }
func (r *recorder) Share(p directory.Presence) {
	r.record("share %s %s %s %s %s %q", p.Email, p.FriendlyName, p.Status, p.Capabilities, p.MSNObject, p.Personal)
}
func (r *recorder) ShowSelf(p directory.Presence) {
	r.record("self %s %s %d", p.Email, p.Status, len(p.Endpoints))
}
func (r *recorder) ShareList(l directory.Listing) {
	r.record("list %s %d %s %v", l.Contact, l.Lists, l.Privacy, l.Prompt)
}
func (r *recorder) Note(n directory.Note) {
	r.record("note %s %s %s %d %q", n.From, n.FromEndpoint, n.To, n.Type, n.Payload)
}
func (r *recorder) Endpoint() msnp.Endpoint { return msnp.Endpoint{ID: r.ep} }

// watchers records what the node's Notification Server is told.
type watchers struct {
	mu                sync.Mutex
	vanished, reapped []string
	of                []string // the handles it asks about
}

func (w *watchers) Vanished(gone func(string) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.of {
		if gone(e) {
			w.vanished = append(w.vanished, e)
		}
	}
}

func (w *watchers) Reappeared(there func(string) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.of {
		if there(e) {
			w.reapped = append(w.reapped, e)
		}
	}
}

// switchboards is a switchboard server that hands out cookies.
type switchboards struct{}

func (switchboards) Open(u switchboard.User) (string, string, error) {
	return "127.0.0.1:1864", "cookie-for-" + u.Email, nil
}
func (switchboards) Sessions() int { return 0 }

// testNode is a Cluster that is not started: the test hands it messages as
// the bus would. sent has what it publishes.
type testNode struct {
	*Cluster
	dir  *directory.Directory
	w    *watchers
	mu   sync.Mutex
	sent []envelope
}

func newTestNode(t testing.TB) *testNode {
	t.Helper()
	b := bus.NewLocal()
	t.Cleanup(func() { b.Close() })
	n := &testNode{dir: directory.New(), w: &watchers{of: []string{"alice@example.com", "bob@example.com", "carol@example.com"}}}
	c, err := New(Config{Node: "self", Bus: b, Directory: n.dir, NS: "127.0.0.1:1863", SB: "127.0.0.1:1864",
		Watchers: n.w, Switchboards: switchboards{}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	n.Cluster = c
	n.dir.SetRemote(c)
	spy, err := b.Subscribe(func(m *bus.Msg) {
		var e envelope
		if json.Unmarshal(m.Data, &e) == nil {
			n.mu.Lock()
			n.sent = append(n.sent, e)
			n.mu.Unlock()
		}
	}, "nudge.>")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { spy.Close() })
	return n
}

// feed hands the node a message from another node, as the bus would.
func (n *testNode) feed(e envelope) {
	b, _ := json.Marshal(e)
	n.receive(bus.NewMsg(subjectAll, b, nil))
}

// question asks the node as another node would and returns the raw answer.
func (n *testNode) question(t testing.TB, data []byte) []byte {
	t.Helper()
	got := make(chan []byte, 1)
	n.answer(bus.NewMsg(subjectAsk("self"), data, func(b []byte) error { got <- b; return nil }))
	select {
	case b := <-got:
		return b
	default:
		return nil // none, or not yet (an XFR waiting for this node to hear more)
	}
}

// sentOp waits until the node published an envelope with op to subject
// (checked by Op and its fields).
func (n *testNode) sentOp(t *testing.T, op string) envelope {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n.mu.Lock()
		for _, e := range n.sent {
			if e.Op == op {
				n.mu.Unlock()
				return e
			}
		}
		n.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the node never sent %q", op)
	return envelope{}
}

func (n *testNode) where(email string) (node string, gen int64) {
	ps := n.Endpoints(email)
	if len(ps) == 0 {
		return "", 0
	}
	p := ps[len(ps)-1].(*remotePeer)
	return p.node, p.gen
}

// Announcements of another node, in order and with gaps, and its
// snapshot: the node's map of who is where follows them.
func TestReceiveAnnouncements(t *testing.T) {
	n := newTestNode(t)
	const inc = 7
	n.feed(envelope{Op: opHello, Node: "n2", Inc: inc, NS: "10.0.0.2:1863"})
	// Seq 0 announced, none known: in step, no snapshot asked for.
	n.feed(envelope{Op: opIn, Node: "n2", Inc: inc, Seq: 1, Email: "alice@example.com", Gen: 100})
	if at, gen := n.where("alice@example.com"); at != "n2" || gen != 100 {
		t.Fatalf("alice is at %q (gen %d), want n2 (100)", at, gen)
	}
	// A repeat of an applied announcement changes nothing.
	n.feed(envelope{Op: opOut, Node: "n2", Inc: inc, Seq: 1, Email: "alice@example.com", Gen: 100})
	if at, _ := n.where("alice@example.com"); at != "n2" {
		t.Fatal("a replayed announcement was applied")
	}
	n.feed(envelope{Op: opOut, Node: "n2", Inc: inc, Seq: 2, Email: "alice@example.com", Gen: 100})
	if at, _ := n.where("alice@example.com"); at != "" {
		t.Fatalf("alice signed out but is still at %q", at)
	}
	if !reflect.DeepEqual(n.w.vanished, []string{"alice@example.com"}) {
		t.Fatalf("vanished %v, want alice", n.w.vanished)
	}

	// A gap: the node asks n2 for its snapshot and keeps what comes
	// meanwhile.
	n.feed(envelope{Op: opIn, Node: "n2", Inc: inc, Seq: 5, Email: "carol@example.com", Gen: 300})
	n.sentOp(t, opSync)
	n.feed(envelope{Op: opIn, Node: "n2", Inc: inc, Seq: 6, Email: "alice@example.com", Gen: 400})
	n.feed(envelope{Op: opSnap, Node: "n2", Inc: inc, Seq: 5, Entries: []entry{{Email: "bob@example.com", Gen: 200}, {Email: "carol@example.com", Gen: 300}}})
	if at, _ := n.where("bob@example.com"); at != "" {
		t.Fatal("a part of a snapshot was applied before its last part")
	}
	n.feed(envelope{Op: opSnap, Node: "n2", Inc: inc, Seq: 5, Last: true})
	for email, want := range map[string]int64{"bob@example.com": 200, "carol@example.com": 300, "alice@example.com": 400} {
		if at, gen := n.where(email); at != "n2" || gen != want {
			t.Errorf("%s is at %q (gen %d), want n2 (%d)", email, at, gen, want)
		}
	}
	if len(n.w.reapped) != 3 {
		t.Errorf("reappeared %v, want all three", n.w.reapped)
	}
	// Everything after the snapshot was stamped later than it.
	if n.tick() <= 400 {
		t.Error("the sign-in clock did not move past the stamps heard")
	}

	// n2 restarts: its old users are gone until it says otherwise.
	n.w.vanished = nil
	n.feed(envelope{Op: opHello, Node: "n2", Inc: inc + 1})
	for _, email := range []string{"alice@example.com", "bob@example.com", "carol@example.com"} {
		if at, _ := n.where(email); at != "" {
			t.Errorf("%s still at n2 after it restarted", email)
		}
	}
	if len(n.w.vanished) != 3 {
		t.Errorf("vanished %v after the restart, want all three", n.w.vanished)
	}
	// A late word from before the restart is ignored.
	n.feed(envelope{Op: opIn, Node: "n2", Inc: inc, Seq: 7, Email: "alice@example.com", Gen: 500})
	if at, _ := n.where("alice@example.com"); at != "" {
		t.Error("an announcement of n2's old incarnation was applied")
	}
	// Another process with this node's name is refused.
	n.feed(envelope{Op: opIn, Node: "self", Inc: 1, Seq: 1, Email: "alice@example.com", Gen: 600})
	if at, _ := n.where("alice@example.com"); at != "" {
		t.Error("an announcement in this node's name was applied")
	}
	// So is n2 leaving.
	n.feed(envelope{Op: opIn, Node: "n2", Inc: inc + 1, Seq: 1, Email: "bob@example.com", Gen: 700})
	n.feed(envelope{Op: opBye, Node: "n2", Inc: inc + 1})
	if at, _ := n.where("bob@example.com"); at != "" || len(n.Nodes()) != 0 {
		t.Errorf("bob at %q and nodes %v after n2 left", at, n.Nodes())
	}
}

// A newer sign-in elsewhere ends the session here with OUT OTH; an older
// one does not.
func TestReceiveReplaces(t *testing.T) {
	n := newTestNode(t)
	n.feed(envelope{Op: opHello, Node: "n2", Inc: 1})
	alice := &recorder{email: "alice@example.com"}
	n.dir.Register(alice.email, alice)
	gen := n.local[alice.email][0].gen
	n.feed(envelope{Op: opIn, Node: "n2", Inc: 1, Seq: 1, Email: alice.email, Gen: gen - 1})
	if calls := alice.take(); len(calls) != 0 || n.dir.LookupLocal(alice.email) == nil {
		t.Fatalf("an older sign-in elsewhere ended the session here: %v", calls)
	}
	n.feed(envelope{Op: opIn, Node: "n2", Inc: 1, Seq: 2, Email: alice.email, Gen: gen + 1})
	if calls := alice.take(); !reflect.DeepEqual(calls, []string{"replace"}) || n.dir.LookupLocal(alice.email) != nil {
		t.Fatalf("a newer sign-in elsewhere: calls %v, still registered %v", calls, n.dir.LookupLocal(alice.email) != nil)
	}
}

// startedNode is a node joined to others on one in-process bus.
type startedNode struct {
	*Cluster
	dir *directory.Directory
}

// startNodes starts nodes on one in-process bus and returns once each has
// met the others.
func startNodes(t testing.TB, names ...string) []startedNode {
	b := bus.NewLocal()
	t.Cleanup(func() { b.Close() })
	return startNodesOn(t, func(string) bus.Bus { return b }, names...)
}

// startNodesOn is startNodes with each node's bus from busOf.
func startNodesOn(t testing.TB, busOf func(node string) bus.Bus, names ...string) []startedNode {
	var nodes []startedNode
	for _, name := range names {
		d := directory.New()
		c, err := New(Config{Node: name, Bus: busOf(name), Directory: d, Heartbeat: 20 * time.Millisecond, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		d.SetRemote(c)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		nodes = append(nodes, startedNode{c, d})
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		for len(n.Nodes()) < len(nodes)-1 {
			if time.Now().After(deadline) {
				t.Fatal("the nodes never met")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nodes
}

// Every Peer call made on a remote peer arrives, whole, at the session on
// its node: two nodes on one bus.
func TestPeerCallsCrossTheBus(t *testing.T) {
	nodes := startNodes(t, "a", "b")
	a, dirB := nodes[0].Cluster, nodes[1].dir
	bob := &recorder{email: "bob@example.com"}
	dirB.Register(bob.email, bob)
	var p directory.Peer
	deadline := time.Now().Add(10 * time.Second)
	for p == nil {
		if time.Now().After(deadline) {
			t.Fatal("node a never learnt that bob is on b")
		}
		time.Sleep(5 * time.Millisecond)
		if ps := a.Endpoints(bob.email); len(ps) == 1 {
			p = ps[0]
		}
	}

	p.ShowPresence(directory.Presence{Email: "alice@example.com", FriendlyName: "Alice ünï", Status: directory.Busy,
		Capabilities: "1342177280", MSNObject: "%3Cmsnobj%2F%3E", Personal: []byte("<Data><PSM>hi</PSM></Data>")})
	p.HidePresence("alice@example.com")
	p.Ring(directory.Ring{SessionID: "17", Address: "10.0.0.3:1864", Cookie: "c.1", Caller: "alice@example.com", CallerName: "Alice"})
	p.ReverseAdded("alice@example.com", "Alice", 42)
	p.ReverseRemoved("alice@example.com", 43)
	p.Revoke(99)
	p.Note(directory.Note{From: "alice@example.com", FromEndpoint: "{a}", To: "{b}", Type: 2, Payload: []byte("<sip/>")})
	p.BookChanged("carol@example.com")
	p.Mailed(directory.Mail{ID: "m-1", From: "alice@example.com", FromName: "Alice", Sent: time.Now(), Size: 5})
	p.Share(directory.Presence{Email: bob.email, FriendlyName: "Bob", Status: directory.Away,
		Capabilities: "2788999228:48", Personal: []byte("<Data><PSM>out</PSM></Data>")})
	p.ShowSelf(directory.Presence{Email: bob.email, Status: directory.Away,
		Endpoints: []msnp.Endpoint{{ID: "{a}"}, {ID: "{b}"}}})
	p.ShareList(directory.Listing{Contact: "carol@example.com", Lists: 5})
	p.ShareList(directory.Listing{Privacy: "BL", Prompt: true})
	want := []string{
		`show alice@example.com Alice ünï BSY 1342177280 %3Cmsnobj%2F%3E "<Data><PSM>hi</PSM></Data>"`,
		"hide alice@example.com",
		"ring 17 10.0.0.3:1864 c.1 alice@example.com Alice",
		"radd alice@example.com Alice 42",
		"rrem alice@example.com 43",
		"revoke 99",
		`note alice@example.com {a} {b} 2 "<sip/>"`,
		"book carol@example.com",
		"mailed m-1 alice@example.com",
		`share bob@example.com Bob AWY 2788999228:48  "<Data><PSM>out</PSM></Data>"`,
		"self bob@example.com AWY 2",
		"list carol@example.com 5  false",
		"list  0 BL true",
	}
	var got []string
	for len(got) < len(want) && time.Now().Before(deadline.Add(10*time.Second)) {
		got = append(got, bob.take()...)
		time.Sleep(5 * time.Millisecond)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("calls at b:\n%q\nwant\n%q", got, want)
	}

	pr, ok := p.PresenceFor("carol@example.com")
	if !ok || pr.Status != directory.Away || pr.Email != bob.email {
		t.Errorf("PresenceFor = %+v, %v", pr, ok)
	}
	if _, ok := p.PresenceFor("blocked@example.com"); ok {
		t.Error("PresenceFor a viewer bob blocks answered true")
	}
	if self, v := p.Self(); self.Status != directory.Hidden || v != 12 {
		t.Errorf("Self = %+v, %d", self, v)
	}
	p.Replace()
	deadline = time.Now().Add(10 * time.Second)
	for dirB.LookupLocal(bob.email) != nil {
		if time.Now().After(deadline) {
			t.Fatal("Replace from another node did not end bob's session")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if calls := bob.take(); !reflect.DeepEqual(calls, []string{"replace"}) {
		t.Errorf("calls after Replace: %v", calls)
	}
}

// Questions are answered in the shape ask reads; what is not a question
// gets no answer.
func TestAnswerQuestions(t *testing.T) {
	n := newTestNode(t)
	bob := &recorder{email: "bob@example.com"}
	n.dir.Register(bob.email, bob)
	ask := func(e envelope) (answer, error) {
		b, _ := json.Marshal(e)
		raw := n.question(t, b)
		if raw == nil {
			return answer{}, errNoAnswer
		}
		return decodeAnswer(raw)
	}
	if a, err := ask(envelope{Op: opAskPres, To: bob.email, Email: "carol@example.com"}); err != nil || !a.OK || a.Presence.Status != directory.Away {
		t.Errorf("presence: %+v %v", a, err)
	}
	if a, err := ask(envelope{Op: opAskPres, To: "nobody@example.com", Email: "carol@example.com"}); err != nil || a.OK {
		t.Errorf("presence of someone not here: %+v %v", a, err)
	}
	if a, err := ask(envelope{Op: opAskSelf, To: bob.email}); err != nil || !a.OK || a.Version != 12 || a.Presence.Status != directory.Hidden {
		t.Errorf("self: %+v %v", a, err)
	}
	if a, err := ask(envelope{Op: opAskOpen, User: &switchboard.User{Email: "alice@example.com"}}); err != nil || a.Cookie != "cookie-for-alice@example.com" {
		t.Errorf("open: %+v %v", a, err)
	}
	if _, err := ask(envelope{Op: opAskOpen}); err == nil {
		t.Error("open without a user was answered with a cookie")
	}
	for _, data := range [][]byte{[]byte("not json"), []byte(`{"op":"hello"}`), nil} {
		if raw := n.question(t, data); raw != nil {
			t.Errorf("%q answered %q", data, raw)
		}
	}
	if _, err := decodeAnswer([]byte(`{"err":"no switchboard server on this node"}`)); err == nil {
		t.Error("an answer with an error decoded as a success")
	}
	if _, err := decodeAnswer([]byte(`[1,2]`)); err == nil {
		t.Error("an answer that is not an object decoded")
	}
}

// Messages that are not what a node sends change nothing and crash
// nothing: broken JSON, unknown ops, calls without their data, snapshots
// nobody asked for.
func TestReceiveMalformed(t *testing.T) {
	n := newTestNode(t)
	bob := &recorder{email: "bob@example.com"}
	n.dir.Register(bob.email, bob)
	n.feed(envelope{Op: opHello, Node: "n2", Inc: 1})
	for _, raw := range []string{
		``, `{`, `null`, `[]`, `"x"`, `{"op":12}`, `{"op":"nope","n":"n2","i":1}`,
		`{"op":"peer","n":"n2","i":1,"t":"bob@example.com","c":"show"}`,
		`{"op":"peer","n":"n2","i":1,"t":"bob@example.com","c":"ring"}`,
		`{"op":"peer","n":"n2","i":1,"t":"bob@example.com","c":"bogus"}`,
		`{"op":"peer","n":"n2","i":1,"t":"nobody@example.com","c":"hide","e":"x"}`,
		`{"op":"snap","n":"n2","i":1,"l":true,"x":[{"e":"alice@example.com","g":5}]}`,
		`{"op":"snap","n":"n9","i":1,"l":true,"x":[{"e":"alice@example.com","g":5}]}`,
		`{"op":"in","n":"n9","i":1,"s":1,"e":"alice@example.com","g":5}`,
		`{"op":"in","n":"n2","i":1,"s":1,"e":"","g":5}`,
		`{"op":"in","n":"","i":0,"s":1,"e":"alice@example.com"}`,
		`{"op":"other","n":"n2","i":1,"k":"signin","d":"!!"}`,
	} {
		n.receive(bus.NewMsg(subjectAll, []byte(raw), nil))
	}
	if calls := bob.take(); len(calls) != 0 {
		t.Errorf("bob saw %v", calls)
	}
	if at, _ := n.where("alice@example.com"); at != "" {
		t.Errorf("alice placed at %q by a message that should not place her", at)
	}
	if n.Endpoints("") != nil {
		t.Error("an empty handle was placed")
	}
}

// FuzzReceive feeds the node arbitrary messages on each of its
// subscriptions. Nothing panics, the answers are JSON ask can read, and the
// map of who is where only names live nodes.
func FuzzReceive(f *testing.F) {
	seed := []envelope{
		{Op: opHello, Node: "n2", Inc: 1, Seq: 3, NS: "a:1", SB: "b:2", Sessions: 4, Switchboards: 1},
		{Op: opBye, Node: "n2", Inc: 1},
		{Op: opIn, Node: "n2", Inc: 1, Seq: 1, Email: "alice@example.com", Gen: 10},
		{Op: opOut, Node: "n2", Inc: 1, Seq: 2, Email: "alice@example.com", Gen: 10},
		{Op: opSync, Node: "n2", Inc: 1},
		{Op: opSnap, Node: "n2", Inc: 1, Seq: 2, Entries: []entry{{Email: "bob@example.com", Gen: 3}}, Last: true},
		{Op: opPeer, Node: "n2", Inc: 1, To: "bob@example.com", Call: callShow, Presence: &directory.Presence{Email: "a@b", Status: directory.Online}},
		{Op: opPeer, Node: "n2", Inc: 1, To: "bob@example.com", Call: callRing, Ring: &directory.Ring{SessionID: "1"}},
		{Op: opPeer, Node: "n2", Inc: 1, To: "bob@example.com", Call: callReplace, Gen: 1},
		{Op: opPeer, Node: "n2", Inc: 1, To: "bob@example.com", Call: callRevoke, Version: 1},
		{Op: opPeer, Node: "n2", Inc: 1, To: "bob@example.com", Call: callNote, Note: &directory.Note{From: "a@b", Type: 1}},
		{Op: opPeer, Node: "n2", Inc: 1, To: "bob@example.com", Call: callList, Listing: &directory.Listing{Contact: "a@b", Lists: 4}},
		{Op: opBatch, Node: "n2", Inc: 1, Presences: []directory.Presence{{Email: "a@b", Status: directory.Busy}},
			Calls: []batchCall{{To: "bob@example.com", Show: 1}, {To: "bob@example.com", Gen: 1, Hide: "a@b"}}},
		{Op: opOther, Node: "n2", Inc: 1, Kind: "signin", Data: []byte(`{"a":"1.2.3.4","u":"x@y"}`)},
		{Op: opAskPres, Node: "n2", Inc: 1, To: "bob@example.com", Email: "alice@example.com"},
		{Op: opAskSelf, Node: "n2", Inc: 1, To: "bob@example.com"},
		{Op: opAskOpen, Node: "n2", Inc: 1, User: &switchboard.User{Email: "alice@example.com", Version: 12}},
		{Op: opAskOpen, Node: "n2", Inc: 1, User: &switchboard.User{Email: "alice@example.com", Version: 12},
			Heard: []mark{{Node: "n2", Inc: 1, Seq: 2}, {Node: "n3", Inc: 5, Seq: 1}}},
	}
	for _, e := range seed {
		b, _ := json.Marshal(e)
		f.Add(b)
	}
	f.Add([]byte(`{"op":"in","n":"n2","i":1,"s":1,"e":"alice@example.com","g":9223372036854775807}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := newTestNode(t)
		bob := &recorder{email: "bob@example.com"}
		n.dir.Register(bob.email, bob)
		n.feed(envelope{Op: opHello, Node: "n2", Inc: 1})
		before := n.clock.Load()
		n.receive(bus.NewMsg(subjectAll, data, nil))
		after := n.clock.Load()
		if raw := n.question(t, data); raw != nil {
			if _, err := decodeAnswer(raw); err != nil && !isRemoteError(raw) {
				t.Fatalf("answer %q does not decode: %v", raw, err)
			}
		}
		decodeAnswer(data)
		if n.clock.Load() < before {
			t.Fatalf("the sign-in clock went back from %d to %d", before, n.clock.Load())
		}
		if g := n.tick(); g <= after {
			t.Fatalf("a sign-in after %d was stamped %d", after, g)
		}
		n.Cluster.mu.RLock()
		defer n.Cluster.mu.RUnlock()
		for email, ps := range n.Cluster.where {
			for _, p := range ps {
				if n.nodes[p.node] == nil {
					t.Fatalf("%s is placed on %s, which is not a live node", email, p.node)
				}
			}
		}
	})
}

// isRemoteError reports whether raw is an answer that carries the other
// node's error.
func isRemoteError(raw []byte) bool {
	var a answer
	return json.Unmarshal(raw, &a) == nil && a.Err != ""
}

var errNoAnswer = errors.New("no answer")

// A gateway's switchboard address names the node that serves it: by host
// and port, or by host alone when one node has it.
func TestSwitchboardAt(t *testing.T) {
	n := newTestNode(t) // its own switchboard: 127.0.0.1:1864
	n.feed(envelope{Op: opHello, Node: "n2", Inc: 1, SB: "10.0.0.2:1864"})
	n.feed(envelope{Op: opHello, Node: "n3", Inc: 1, SB: "10.0.0.3:1864"})
	n.feed(envelope{Op: opHello, Node: "n4", Inc: 1, SB: "10.0.0.3:1874"})
	n.feed(envelope{Op: opHello, Node: "n5", Inc: 1, NS: "10.0.0.5:1863"})
	for addr, want := range map[string]string{
		"":               "",
		"127.0.0.1:1864": "",
		"127.0.0.1":      "",
		"10.0.0.2:1864":  "10.0.0.2:1864",
		"10.0.0.2":       "10.0.0.2:1864",
		"10.0.0.3:1874":  "10.0.0.3:1874",
		"10.0.0.3":       "", // two nodes there: not a guess
		"10.0.0.5":       "", // no switchboard there
		"192.0.2.1:1864": "", // nobody's: never dialled
	} {
		if got := n.SwitchboardAt(addr); got != want {
			t.Errorf("SwitchboardAt(%q) = %q, want %q", addr, got, want)
		}
	}
}

// A user's endpoints (MSNP16+, each with its GUID) stand side by side on
// different nodes: every node's lookup reaches each of them once, a sign-in
// without a GUID or from the same machine ends the older ones anywhere,
// and the user is offline only when the last endpoint anywhere leaves.
func TestEndpointsAcrossNodes(t *testing.T) {
	nodes := startNodes(t, "a", "b")
	a, bb := nodes[0].dir, nodes[1].dir
	const alice = "alice@example.com"
	seen := func(d *directory.Directory, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for len(d.Endpoints(alice)) != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d endpoints of alice seen, want %d", len(d.Endpoints(alice)), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	calls := func(r *recorder, want ...string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		var got []string
		for len(got) < len(want) && time.Now().Before(deadline) {
			got = append(got, r.take()...)
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // and nothing more
		got = append(got, r.take()...)
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%s saw %q, want %q", r.ep, got, want)
		}
	}

	home := &recorder{email: alice, ep: "{1}"}
	work := &recorder{email: alice, ep: "{2}"}
	a.Register(alice, home)
	seen(bb, 1)
	bb.Register(alice, work)
	seen(a, 2)
	seen(bb, 2)
	calls(home)
	calls(work)

	// Each endpoint hears a presence once, from either node.
	for _, d := range []*directory.Directory{a, bb} {
		d.Lookup(alice).HidePresence("bob@example.com")
		calls(home, "hide bob@example.com")
		calls(work, "hide bob@example.com")
	}
	var ids []string
	for _, p := range a.Endpoints(alice) {
		ids = append(ids, p.Endpoint().ID)
	}
	if !reflect.DeepEqual(ids, []string{"{1}", "{2}"}) {
		t.Fatalf("endpoints seen at a: %v", ids)
	}
	// A call for one endpoint reaches that one.
	for _, p := range a.Endpoints(alice) {
		if p.Endpoint().ID == "{2}" {
			p.Note(directory.Note{From: "bob@example.com", To: "{2}", Type: 1})
		}
	}
	calls(work, `note bob@example.com  {2} 1 ""`)
	calls(home)

	// Home leaves: work is still there.
	if removed, left := a.Unregister(alice, home); !removed || left != 1 {
		t.Fatalf("home left: removed %v, %d left, want 1 (work, on b)", removed, left)
	}
	seen(bb, 1)

	// The same machine on the other node ends the older session there.
	work2 := &recorder{email: alice, ep: "{2}"}
	a.Register(alice, work2)
	calls(work, "replace")
	seen(bb, 1)
	seen(a, 1)

	// A client without a GUID ends every endpoint, on every node.
	home2 := &recorder{email: alice, ep: "{1}"}
	a.Register(alice, home2)
	seen(bb, 2)
	old := &recorder{email: alice}
	bb.Register(alice, old)
	calls(work2, "replace")
	calls(home2, "replace")
	seen(a, 1)
	seen(bb, 1)
	if removed, left := bb.Unregister(alice, old); !removed || left != 0 {
		t.Fatalf("the last endpoint left: removed %v, %d left", removed, left)
	}
	seen(a, 0)
}
