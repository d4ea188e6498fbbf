package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// An MSNP13+ sign-in keeps a token for each web service, which the
// service takes.
func TestServerTokens(t *testing.T) {
	srv := coretest.Start(t)
	for _, v := range []msnp.Version{13, 15, 18} {
		c := dial(t, userConfig(srv, newUser(t, srv, "tokens"), v))
		tokens := c.Tokens()
		for _, a := range []string{client.TokenContacts, client.TokenMessengerSecure, client.TokenMessenger, client.TokenStorage} {
			if !strings.HasPrefix(tokens[a], "t=") {
				t.Errorf("%v: token for %s is %q", v, a, tokens[a])
			}
		}
	}
	if c := dial(t, userConfig(srv, newUser(t, srv, "old"), 12)); len(c.Tokens()) != 0 {
		t.Errorf("MSNP12 tokens %v", c.Tokens())
	}
}

// The list a WLM client reads from the address book is the one an older
// client made.
func TestServerAddressBook(t *testing.T) {
	srv := coretest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	aEmail, bEmail := newUser(t, srv, "alice"), newUser(t, srv, "bob")
	old := dial(t, userConfig(srv, aEmail, 12))
	if err := old.AddContact(ctx, bEmail); err != nil {
		t.Fatal(err)
	}
	old.Close()
	live := dial(t, userConfig(srv, aEmail, 18))
	if ct, ok := live.Contact(bEmail); !ok || !ct.Lists.Has(client.Forward|client.Allow) {
		t.Errorf("bob in the address book: %+v", ct)
	}
	if err := live.RemoveContact(ctx, bEmail); err != nil {
		t.Fatal(err)
	}
	live.Close()
	old = dial(t, userConfig(srv, aEmail, 12))
	if ct, _ := old.Contact(bEmail); ct.Lists.Has(client.Forward) {
		t.Errorf("bob still on the list: %+v", ct)
	}
}

// MSNP16+: one account at two machines stays signed in at both, and a
// conversation reaches both; the same machine again, or an older version,
// replaces them.
func TestServerSeveralPlaces(t *testing.T) {
	srv := coretest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	aEmail := newUser(t, srv, "alice")
	home := userConfig(srv, aEmail, 18)
	work := userConfig(srv, aEmail, 16)
	a1, a2 := dial(t, home), dial(t, work)
	if a1.MachineGUID() == a2.MachineGUID() {
		t.Fatalf("one GUID for both: %s", a1.MachineGUID())
	}
	b := dial(t, userConfig(srv, newUser(t, srv, "bob"), 12))
	cv, err := b.Conversation(ctx, aEmail)
	if err != nil {
		t.Fatal(err)
	}
	if err := cv.Send(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	// Both endpoints are rung; once both are in, a message reaches both.
	for _, a := range []*client.Client{a1, a2} {
		if inv := next[*client.Invited](t, a); inv.From != b.Self().Email {
			t.Errorf("%s invited by %+v", a.MachineGUID(), inv)
		}
	}
	if err := cv.Send(ctx, "to both of you"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*client.Client{a1, a2} {
		m := next[*client.Message](t, a)
		if m.Text == "hello" { // if that endpoint was in early
			m = next[*client.Message](t, a)
		}
		if m.Text != "to both of you" {
			t.Errorf("%s got %+v", a.MachineGUID(), m)
		}
	}
	if p := cv.Participants(); len(p) != 1 || p[0].Email != aEmail {
		t.Errorf("bob sees %+v", p)
	}

	// The same machine again replaces the first session there.
	again := home
	again.MachineGUID = strings.ToUpper(strings.Trim(a1.MachineGUID(), "{}"))
	dial(t, again)
	select {
	case <-a1.Done():
		if !errors.Is(a1.Err(), client.ErrSignedInElsewhere) {
			t.Errorf("first session ended with %v", a1.Err())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the same machine signed in twice")
	}
	select {
	case <-a2.Done():
		t.Fatalf("the other machine was signed out: %v", a2.Err())
	default:
	}

	// An MSNP15 client is the account's only place.
	dial(t, userConfig(srv, aEmail, 15))
	select {
	case <-a2.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("an MSNP15 sign-in left the MSNP16 one on")
	}
}

// Offline messages wait as OIMs for an MSNP13+ client, which reads them
// at sign-in and deletes them; an MSNP12 one gets a conversation.
func TestServerOfflineMessages(t *testing.T) {
	srv := coretest.Start(t)
	ctx := context.Background()
	aEmail, bEmail := newUser(t, srv, "alice"), newUser(t, srv, "bob")
	sent := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, text := range []string{"first", "second, with é"} {
		if _, err := srv.Store.StoreOffline(ctx, store.OfflineMessage{To: aEmail, From: bEmail, FromName: "Bob",
			Sent: sent, ContentType: "text/plain; charset=UTF-8", Body: []byte(text)}); err != nil {
			t.Fatal(err)
		}
	}
	a := dial(t, userConfig(srv, aEmail, 18))
	for _, text := range []string{"first", "second, with é"} {
		m := next[*client.OfflineMessage](t, a)
		if m.From != bEmail || m.FriendlyName != "Bob" || m.Text != text || !m.Sent.Equal(sent) {
			t.Errorf("offline message %+v", m)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		left, err := srv.Store.OfflineMessages(ctx, aEmail)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d offline messages not deleted after reading", len(left))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An MSNP13+ client leaves offline messages (Store2); the recipient gets
// them at the next sign-in whatever version they run: as OIMs from MSNP13,
// as a conversation from the sender before.
func TestServerSendOffline(t *testing.T) {
	srv := coretest.Start(t)
	for _, pair := range [][2]msnp.Version{{13, 18}, {18, 15}, {15, 12}, {18, 7}} {
		t.Run(fmt.Sprintf("%v-%v", pair[0], pair[1]), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			aEmail, bEmail := newUser(t, srv, "alice"), newUser(t, srv, "bob")
			a := dial(t, userConfig(srv, aEmail, pair[0]))
			if err := a.SendOffline(ctx, bEmail, "see you later"); err != nil {
				t.Fatal(err)
			}
			if err := a.SendOffline(ctx, "nobody@example.com", "hello?"); !errors.Is(err, client.ErrNotDelivered) {
				t.Errorf("to nobody: %v", err)
			}
			b := dial(t, userConfig(srv, bEmail, pair[1]))
			if pair[1] >= 13 {
				if m := next[*client.OfflineMessage](t, b); m.From != aEmail || m.Text != "see you later" || m.Sent.IsZero() {
					t.Errorf("offline message %+v", m)
				}
				return
			}
			if m := next[*client.Message](t, b); m.From != aEmail || !strings.HasSuffix(m.Text, "see you later") {
				t.Errorf("offline message %+v", m)
			}
		})
	}
	c := dial(t, userConfig(srv, newUser(t, srv, "carol"), 12))
	if err := c.SendOffline(context.Background(), "x@example.com", "hi"); !errors.Is(err, client.ErrNotSupported) {
		t.Errorf("MSNP12 SendOffline: %v", err)
	}
}

// Adding a contact who is online shows them online with their friendly
// name at once, whatever the version: from MSNP13 the address book,
// read again after the add, names them by address only, and the name
// their presence gave stays.
func TestServerAddShowsPresence(t *testing.T) {
	srv := coretest.Start(t)
	for _, v := range []msnp.Version{12, 15, 18} {
		t.Run(v.String(), func(t *testing.T) {
			aEmail, bEmail := newUser(t, srv, "alice"), newUser(t, srv, "bob")
			b := dial(t, userConfig(srv, bEmail, v))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := b.SetStatus(ctx, client.Online); err != nil {
				t.Fatal(err)
			}
			a := dial(t, userConfig(srv, aEmail, v))
			if err := a.AddContact(ctx, bEmail); err != nil {
				t.Fatal(err)
			}
			seen := 0
			for {
				// Held for a while once seen: a book read again later
				// must not undo it.
				if ct, ok := a.Contact(bEmail); ok && ct.Status == client.Online && ct.FriendlyName == "bob" {
					if seen++; seen == 25 {
						return
					}
				} else {
					seen = 0
				}
				select {
				case <-ctx.Done():
					ct, _ := a.Contact(bEmail)
					t.Fatalf("%s after adding them: %+v", bEmail, ct)
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
}
