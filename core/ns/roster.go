package ns

import (
	"iter"
	"slices"
	"strings"
	"unique"

	"github.com/nudge-im/nudge/core/store"
)

// roster is a session's copy of the user's contact list as presence needs
// it: which lists each handle is on, and whether the client was told that
// the contact is online. Everything else about a contact (names, GUIDs,
// groups) stays in the store.
//
// A server holds tens of thousands of sessions whose lists name the same
// people, so the roster is small: a sorted slice of 16-byte entries whose
// handles are interned, one copy of each handle for every list it is on.
type roster struct {
	entries []rosterEntry // sorted by handle
}

type rosterEntry struct {
	handle unique.Handle[string]
	lists  store.List
	shown  bool // the client was told this contact is online
}

func (e *rosterEntry) email() string { return e.handle.Value() }

// intern returns the one shared copy of a handle.
func intern(email string) string { return unique.Make(email).Value() }

func (r *roster) find(email string) (int, bool) {
	return slices.BinarySearchFunc(r.entries, email, func(e rosterEntry, email string) int {
		return strings.Compare(e.email(), email)
	})
}

// fill replaces the roster with a contact list read from the store.
func (r *roster) fill(contacts []store.Contact) {
	entries := make([]rosterEntry, 0, len(contacts))
	for _, c := range contacts {
		if c.Lists != 0 {
			entries = append(entries, rosterEntry{handle: unique.Make(c.Email), lists: c.Lists})
		}
	}
	slices.SortFunc(entries, func(a, b rosterEntry) int { return strings.Compare(a.email(), b.email()) })
	r.entries = entries
}

// lists returns the lists email is on (0 when none).
func (r *roster) lists(email string) store.List {
	if i, ok := r.find(email); ok {
		return r.entries[i].lists
	}
	return 0
}

// set puts email on exactly the lists l; with none it leaves the roster,
// and the client is no longer considered told of it.
func (r *roster) set(email string, l store.List) {
	i, ok := r.find(email)
	switch {
	case ok && l == 0:
		r.entries = slices.Delete(r.entries, i, i+1)
	case ok:
		r.entries[i].lists = l
	case l != 0:
		r.entries = slices.Insert(r.entries, i, rosterEntry{handle: unique.Make(email), lists: l})
	}
}

// shown reports whether the client was told that email is online.
func (r *roster) shown(email string) bool {
	i, ok := r.find(email)
	return ok && r.entries[i].shown
}

// setShown records whether the client was told that email is online; a
// handle not on any list is never shown.
func (r *roster) setShown(email string, shown bool) {
	if i, ok := r.find(email); ok {
		r.entries[i].shown = shown
	}
}

// on yields the handles on list l.
func (r *roster) on(l store.List) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := range r.entries {
			if r.entries[i].lists&l != 0 && !yield(r.entries[i].email()) {
				return
			}
		}
	}
}

func (r *roster) len() int { return len(r.entries) }
