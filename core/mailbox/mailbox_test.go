package mailbox_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/mailbox"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
)

// peer is a signed-in user who records what the mailbox tells them.
type peer struct {
	mu     sync.Mutex
	mailed []directory.Mail
}

func (p *peer) PresenceFor(string) (directory.Presence, bool) { return directory.Presence{}, false }
func (p *peer) Self() (directory.Presence, msnp.Version)      { return directory.Presence{}, 12 }
func (p *peer) ShowPresence(directory.Presence)               {}
func (p *peer) HidePresence(string)                           {}
func (p *peer) Ring(directory.Ring)                           {}
func (p *peer) ReverseAdded(string, string, int64)            {}
func (p *peer) ReverseRemoved(string, int64)                  {}
func (p *peer) Replace()                                      {}
func (p *peer) Revoke(int64)                                  {}
func (p *peer) BookChanged(string)                            {}
func (p *peer) Note(directory.Note)                           {}
func (p *peer) Share(directory.Presence)                      {}
func (p *peer) ShareList(directory.Listing)                   {}
func (p *peer) ShowSelf(directory.Presence)                   {}
func (p *peer) Endpoint() msnp.Endpoint                       { return msnp.Endpoint{} }
func (p *peer) Mailed(m directory.Mail) {
	p.mu.Lock()
	p.mailed = append(p.mailed, m)
	p.mu.Unlock()
}

// The rule: the recipient's block list and privacy mode decide, alike for
// every way in, and what they refuse is dropped as if kept; Reachable
// wants the recipient on the sender's list and nothing else; a message
// kept for someone signed in is told to them.
func TestRule(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "nudge.db"), store.Options{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := st.CreateAccount(ctx, u+"@example.com", "pw", u); err != nil {
			t.Fatal(err)
		}
	}
	const alice, bob, carol = "alice@example.com", "bob@example.com", "carol@example.com"
	dir := directory.New()
	mb := mailbox.New(st, dir, zerolog.Nop())

	if err := mb.Allowed(ctx, alice, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("to nobody: %v", err)
	}
	if err := mb.Allowed(ctx, "Alice@Example.com", bob); err != nil {
		t.Errorf("alice to bob (allow by default): %v", err)
	}
	if _, err := mb.Reachable(ctx, alice, bob); !errors.Is(err, mailbox.ErrRefused) {
		t.Errorf("bob not on alice's list, reachable: %v", err)
	}
	if _, err := st.AddToList(ctx, alice, bob, store.Forward, "Bob", ""); err != nil {
		t.Fatal(err)
	}
	if name, err := mb.Reachable(ctx, alice, bob); err != nil || name != "bob" {
		t.Errorf("bob on alice's list: %q, %v", name, err)
	}
	if _, err := st.AddToList(ctx, bob, alice, store.Block, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Reachable(ctx, alice, bob); err != nil {
		t.Errorf("bob blocks alice, reachable: %v (a block must look like being offline)", err)
	}
	if err := mb.Allowed(ctx, alice, bob); !errors.Is(err, mailbox.ErrRefused) {
		t.Errorf("bob blocks alice, allowed: %v", err)
	}
	if m, err := mb.Leave(ctx, store.OfflineMessage{To: bob, From: alice, Body: []byte("hi")}); err != nil || m.ID != "" {
		t.Errorf("bob blocks alice, left: %+v, %v", m, err)
	}
	if msgs, _ := st.OfflineMessages(ctx, bob); len(msgs) != 0 {
		t.Errorf("kept from someone bob blocks: %+v", msgs)
	}
	// Only the allow list may: carol must be on it.
	if _, err := st.SetPrivacy(ctx, bob, store.BlockByDefault); err != nil {
		t.Fatal(err)
	}
	if err := mb.Allowed(ctx, carol, bob); !errors.Is(err, mailbox.ErrRefused) {
		t.Errorf("carol to bob (allow list only): %v", err)
	}
	if _, err := st.AddToList(ctx, bob, carol, store.Allow, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := mb.Allowed(ctx, carol, bob); err != nil {
		t.Errorf("carol to bob (on his allow list): %v", err)
	}

	// Kept, and told to bob, who is signed in.
	p := &peer{}
	dir.Register(bob, p)
	m, err := mb.Leave(ctx, store.OfflineMessage{To: "Bob@Example.com", From: carol, FromName: "Carol", Body: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := st.OfflineMessages(ctx, bob)
	if len(msgs) != 1 || msgs[0].ID != m.ID || string(msgs[0].Body) != "hello" {
		t.Errorf("kept %+v", msgs)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.mailed) != 1 || p.mailed[0].ID != m.ID || p.mailed[0].From != carol || p.mailed[0].FromName != "Carol" || p.mailed[0].Size != 5 {
		t.Errorf("bob was told %+v", p.mailed)
	}
}
