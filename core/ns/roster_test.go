package ns

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/nudge-im/nudge/core/store"
)

func TestRoster(t *testing.T) {
	var r roster
	r.fill([]store.Contact{
		{Email: "carol@example.com", Lists: store.Forward | store.Allow},
		{Email: "alice@example.com", Lists: store.Reverse},
		{Email: "nobody@example.com"},
		{Email: "bob@example.com", Lists: store.Forward | store.Reverse},
	})
	if r.len() != 3 || r.lists("nobody@example.com") != 0 {
		t.Fatalf("a contact on no list is kept: %d entries", r.len())
	}
	if got := slices.Collect(r.on(store.Forward)); !slices.Equal(got, []string{"bob@example.com", "carol@example.com"}) {
		t.Fatalf("FL %v", got)
	}
	r.set("dave@example.com", store.Reverse)
	r.set("alice@example.com", store.Reverse|store.Block)
	if got := slices.Collect(r.on(store.Reverse)); !slices.Equal(got, []string{"alice@example.com", "bob@example.com", "dave@example.com"}) {
		t.Fatalf("RL %v", got)
	}
	if r.lists("alice@example.com") != store.Reverse|store.Block {
		t.Fatal("set did not change the lists")
	}

	r.setShown("bob@example.com", true)
	r.setShown("erin@example.com", true) // on no list: never shown
	if !r.shown("bob@example.com") || r.shown("erin@example.com") || r.shown("carol@example.com") {
		t.Fatal("shown is wrong")
	}
	// Leaving every list forgets that the client was told.
	r.set("bob@example.com", 0)
	r.set("bob@example.com", store.Forward)
	if r.shown("bob@example.com") {
		t.Fatal("a contact that left the lists is still shown")
	}
	if !slices.IsSortedFunc(r.entries, func(a, b rosterEntry) int { return strings.Compare(a.email(), b.email()) }) {
		t.Fatal("entries out of order")
	}
}

// Two sessions whose lists name the same person share one copy of the
// handle, however the store handed it over.
func TestRosterInternsHandles(t *testing.T) {
	var a, b roster
	a.fill([]store.Contact{{Email: strings.Clone("bob@example.com"), Lists: store.Forward}})
	b.set(strings.Clone("bob@example.com"), store.Reverse)
	if unsafe.StringData(a.entries[0].email()) != unsafe.StringData(b.entries[0].email()) {
		t.Fatal("the same handle is stored twice")
	}
}
