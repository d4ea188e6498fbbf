package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// eventually waits until ok holds.
func eventually(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// presenceOf waits for a Presence event about email with status st.
func presenceOf(t testing.TB, c *client.Client, email string, st client.Status) {
	t.Helper()
	for {
		if p := next[*client.Presence](t, c); p.Email == email && p.Status == st {
			return
		}
	}
}

// groupNamed finds a group of c's list by name.
func groupNamed(c *client.Client, name string) (client.Group, bool) {
	for _, g := range c.Groups() {
		if g.Name == name {
			return g, true
		}
	}
	return client.Group{}, false
}

// inGroup reports whether email is in c's group called name.
func inGroup(c *client.Client, email, name string) bool {
	g, ok := groupNamed(c, name)
	ct, _ := c.Contact(email)
	return ok && slices.Contains(ct.Groups, g.ID)
}

// Every list and group edit of an MSNP13+ client goes through the address
// book as Windows Live Messenger's do, and is seen by the other person at
// MSNP7 or MSNP18, by the user's second endpoint (MSNP16+), and by the
// user signing in with another version.
func TestServerAddressBookEdits(t *testing.T) {
	srv := coretest.Start(t)
	for _, v := range []msnp.Version{13, 15, 18} {
		for _, peer := range []msnp.Version{7, 18} {
			t.Run(fmt.Sprintf("%v-%v", v, peer), func(t *testing.T) {
				t.Parallel()
				bookEdits(t, srv, v, peer)
			})
		}
	}
}

func bookEdits(t *testing.T, srv *coretest.Server, v, peer msnp.Version) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	aEmail, bEmail := newUser(t, srv, "alice"), newUser(t, srv, "bob")
	a := dial(t, userConfig(srv, aEmail, v))
	b := dial(t, userConfig(srv, bEmail, peer))
	var a2 *client.Client // Alice's second endpoint, from MSNP16
	if v >= 16 {
		a2 = dial(t, userConfig(srv, aEmail, v))
	}
	listed := func(owner, contact string) store.List {
		l, err := srv.Store.Listed(ctx, owner, contact)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	// Bob has Alice on his list; she adds him and sees him online.
	if err := b.AddContact(ctx, aEmail); err != nil {
		t.Fatal(err)
	}
	if added := next[*client.ContactAdded](t, a); added.Email != bEmail {
		t.Errorf("added %+v", added)
	}
	if err := a.AddContact(ctx, bEmail); err != nil {
		t.Fatal(err)
	}
	if ct, _ := a.Contact(bEmail); !ct.Lists.Has(client.Forward|client.Allow|client.Reverse) || ct.GUID == "" {
		t.Errorf("contact %+v", ct)
	}
	if l := listed(aEmail, bEmail); l&(store.Forward|store.Allow) != store.Forward|store.Allow {
		t.Errorf("stored lists %v", l)
	}
	presenceOf(t, a, bEmail, client.Online)
	presenceOf(t, b, aEmail, client.Online)
	if a2 != nil {
		eventually(t, "the second endpoint has Bob on its list", func() bool {
			ct, _ := a2.Contact(bEmail)
			return ct.Lists.Has(client.Forward|client.Allow) && ct.GUID != ""
		})
	}

	// Groups: made, filled, renamed; the ids are the address book's.
	g, err := a.AddGroup(ctx, "Friends & Co")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.ID) != 36 || strings.Count(g.ID, "-") != 4 {
		t.Errorf("group id %q is not a GUID", g.ID)
	}
	if err := a.AddToGroup(ctx, bEmail, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.RenameGroup(ctx, g.ID, "Best Friends"); err != nil {
		t.Fatal(err)
	}
	if !inGroup(a, bEmail, "Best Friends") {
		t.Errorf("groups %+v, contact %+v", a.Groups(), must(a.Contact(bEmail)))
	}
	if _, err := a.AddGroup(ctx, "Best Friends"); !errors.Is(err, msnp.ErrGroupExists) {
		t.Errorf("a second group of one name: %v", err)
	}
	if a2 != nil {
		eventually(t, "the second endpoint sees the group", func() bool { return inGroup(a2, bEmail, "Best Friends") })
	}

	// Blocked, Bob sees Alice go offline; allowed again, back online.
	if err := a.Block(ctx, bEmail); err != nil {
		t.Fatal(err)
	}
	if ct, _ := a.Contact(bEmail); !ct.Lists.Has(client.Block) || ct.Lists.Has(client.Allow) {
		t.Errorf("contact %+v", ct)
	}
	if l := listed(aEmail, bEmail); l&store.Block == 0 || l&store.Allow != 0 {
		t.Errorf("stored lists %v", l)
	}
	presenceOf(t, b, aEmail, client.Offline)
	if a2 != nil {
		eventually(t, "the second endpoint sees the block", func() bool {
			ct, _ := a2.Contact(bEmail)
			return ct.Lists.Has(client.Block) && !ct.Lists.Has(client.Allow)
		})
	}
	if err := a.Allow(ctx, bEmail); err != nil {
		t.Fatal(err)
	}
	if ct, _ := a.Contact(bEmail); ct.Lists.Has(client.Block) || !ct.Lists.Has(client.Allow) {
		t.Errorf("contact %+v", ct)
	}
	presenceOf(t, b, aEmail, client.Online)

	// Out of the group, the group gone, the contact gone.
	if err := a.RemoveFromGroup(ctx, bEmail, g.ID); err != nil {
		t.Fatal(err)
	}
	if ct, _ := a.Contact(bEmail); len(ct.Groups) != 0 {
		t.Errorf("groups %+v", ct.Groups)
	}
	if err := a.RemoveGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := groupNamed(a, "Best Friends"); ok {
		t.Errorf("groups %+v", a.Groups())
	}
	if a2 != nil {
		eventually(t, "the second endpoint sees the group go", func() bool {
			_, ok := groupNamed(a2, "Best Friends")
			return !ok
		})
	}
	if err := a.RemoveContact(ctx, bEmail); err != nil {
		t.Fatal(err)
	}
	if ct, _ := a.Contact(bEmail); ct.Lists.Has(client.Forward) {
		t.Errorf("contact %+v", ct)
	}
	if removed := next[*client.ContactRemoved](t, b); removed.Email != aEmail {
		t.Errorf("removed %+v", removed)
	}
	if l := listed(aEmail, bEmail); l&store.Forward != 0 {
		t.Errorf("stored lists %v", l)
	}
	if a2 != nil {
		eventually(t, "the second endpoint sees the contact go", func() bool {
			ct, _ := a2.Contact(bEmail)
			return !ct.Lists.Has(client.Forward)
		})
		a2.Close()
	}
	if err := a.AddContact(ctx, "nobody@example.com"); !errors.Is(err, msnp.ErrInvalidPrincipal) {
		t.Errorf("adding nobody: %v", err)
	}

	// What Bob does at his version reaches Alice's too.
	if err := b.Block(ctx, aEmail); err != nil {
		t.Fatal(err)
	}
	if err := a.AddContact(ctx, bEmail); err != nil {
		t.Fatal(err)
	}
	if ct, _ := a.Contact(bEmail); ct.Status != client.Offline {
		t.Errorf("a contact who blocks Alice shows %v", ct.Status)
	}
	if err := b.Allow(ctx, aEmail); err != nil {
		t.Fatal(err)
	}
	presenceOf(t, a, bEmail, client.Online)

	// A group made at one version is there at the other, with its
	// contact, and the other way round.
	made := "Made at " + v.String()
	g, err = a.AddGroup(ctx, made)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddToGroup(ctx, bEmail, g.ID); err != nil {
		t.Fatal(err)
	}
	a.Close()
	old := dial(t, userConfig(srv, aEmail, peer))
	if !inGroup(old, bEmail, made) {
		t.Errorf("at %v: groups %+v, contact %+v", peer, old.Groups(), must(old.Contact(bEmail)))
	}
	back := "Made back at " + peer.String()
	g, err = old.AddGroup(ctx, back)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.AddToGroup(ctx, bEmail, g.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the group reaches the list", func() bool { return inGroup(old, bEmail, back) })
	old.Close()
	a = dial(t, userConfig(srv, aEmail, v))
	if !inGroup(a, bEmail, back) || !inGroup(a, bEmail, made) {
		t.Errorf("at %v: groups %+v, contact %+v", v, a.Groups(), must(a.Contact(bEmail)))
	}
}

func must[T any](v T, _ bool) T { return v }

// A contact added to the address book at one endpoint shows up online at
// the user's other endpoint at once, not at the contact's next change;
// a contact appearing offline stays unseen there.
func TestServerBookAddShowsAtOtherEndpoint(t *testing.T) {
	srv := coretest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	aEmail, bEmail, cEmail := newUser(t, srv, "alice"), newUser(t, srv, "bob"), newUser(t, srv, "carol")
	a1 := dial(t, userConfig(srv, aEmail, 18))
	a2 := dial(t, userConfig(srv, aEmail, 18))
	b := dial(t, userConfig(srv, bEmail, 18))
	c := dial(t, userConfig(srv, cEmail, 18))
	if a1.MachineGUID() == a2.MachineGUID() {
		t.Fatalf("one GUID for both: %s", a1.MachineGUID())
	}
	if err := c.SetStatus(ctx, client.Hidden); err != nil {
		t.Fatal(err)
	}
	// Carol, appearing offline, first: her NLN would reach a2 before Bob's.
	for _, email := range []string{cEmail, bEmail} {
		if err := a1.AddContact(ctx, email); err != nil {
			t.Fatal(err)
		}
	}
	for {
		p := next[*client.Presence](t, a2)
		if p.Email == cEmail && p.Status != client.Offline {
			t.Fatalf("Carol, appearing offline, shown as %s", p.Status)
		}
		if p.Email == bEmail && p.Status == client.Online {
			break
		}
	}
	if eps := a2.Endpoints(bEmail); len(eps) != 1 || eps[0].GUID != b.MachineGUID() {
		t.Errorf("Bob's endpoints at the second endpoint: %+v", eps)
	}
	// The endpoint that added Bob keeps him online (its ADL shows him again).
	eventually(t, "Bob online at the first endpoint", func() bool {
		ct, _ := a1.Contact(bEmail)
		return ct.Status == client.Online
	})
	if ct, _ := a1.Contact(cEmail); ct.Status != client.Offline {
		t.Errorf("Carol at the first endpoint: %+v", ct)
	}
}
