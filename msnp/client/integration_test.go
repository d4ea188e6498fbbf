package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// These tests run the client against the real service on loopback.

var userSeq atomic.Int64

// newUser makes an account with a fresh address.
func newUser(t testing.TB, srv *coretest.Server, name string) string {
	t.Helper()
	email := fmt.Sprintf("%s%d@example.com", name, userSeq.Add(1))
	srv.AddUser(t, email, "secret-"+name, name)
	return email
}

func userConfig(srv *coretest.Server, email string, v msnp.Version) client.Config {
	name := email[:len(email)-len("@example.com")]
	for len(name) > 0 && name[len(name)-1] >= '0' && name[len(name)-1] <= '9' {
		name = name[:len(name)-1]
	}
	return client.Config{
		Server:     srv.NSAddr,
		Email:      email,
		Password:   "secret-" + name,
		Version:    v,
		MinVersion: v,
		// The nexus sends clients to the HTTPS port, whose certificate is
		// self-signed.
		Passport:       client.PassportConfig{NexusURL: srv.HTTPURL + "/rdr/pprdr.asp", InsecureSkipVerify: true},
		RequestTimeout: 10 * time.Second,
	}
}

func dial(t testing.TB, cfg client.Config) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("%s as %s: %v", cfg.Email, cfg.Version, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// next waits for an event of type T, skipping others.
func next[T client.Event](t testing.TB, c *client.Client) T {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				var zero T
				t.Fatalf("events closed while waiting for %T (%v)", zero, c.Err())
			}
			if e, ok := ev.(T); ok {
				return e
			}
		case <-timeout:
			var zero T
			t.Fatalf("no %T event", zero)
		}
	}
}

func TestServerSignInEveryVersion(t *testing.T) {
	srv := coretest.Start(t, coretest.WithDispatch())
	for v := msnp.MinVersion; v <= msnp.LatestVersion; v++ {
		t.Run(v.String(), func(t *testing.T) {
			email := newUser(t, srv, "user")
			cfg := userConfig(srv, email, v)
			if v%2 == 0 {
				cfg.Server = srv.DSAddr // through the dispatch server's referral
			}
			if v%3 == 0 {
				cfg.Passport = client.PassportConfig{URL: srv.HTTPURL} // login2.srf over plain HTTP
			}
			c := dial(t, cfg)
			if c.Version() != v {
				t.Errorf("signed in with %v", c.Version())
			}
			if self := c.Self(); self.FriendlyName != "user" || self.Status != client.Online {
				t.Errorf("self %+v", self)
			}
		})
	}
}

func TestServerSignInWithRST(t *testing.T) {
	srv := coretest.Start(t)
	email := newUser(t, srv, "rst")
	cfg := userConfig(srv, email, 12)
	cfg.Passport = client.PassportConfig{RSTURL: srv.HTTPSURL + "/RST.srf", InsecureSkipVerify: true}
	dial(t, cfg)
}

func TestServerWrongPassword(t *testing.T) {
	srv := coretest.Start(t)
	email := newUser(t, srv, "wrong")
	for _, v := range []msnp.Version{5, 8, 12} {
		cfg := userConfig(srv, email, v)
		cfg.Password = "not it"
		_, err := client.Dial(context.Background(), cfg)
		if !errors.Is(err, msnp.ErrAuthFailed) {
			t.Errorf("%v: %v does not wrap msnp.ErrAuthFailed", v, err)
		}
	}
}

// A server that allows only Passport logins refuses MSNP2–7 clients: the
// client says so at once.
func TestServerRefusesVersion(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) { c.Login.MD5 = false }))
	email := newUser(t, srv, "old")
	start := time.Now()
	_, err := client.Dial(context.Background(), userConfig(srv, email, 7))
	if !errors.Is(err, client.ErrVersionRefused) {
		t.Fatalf("error %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusal took %v", d)
	}
	// Offering a range, the client gets the version the server allows.
	cfg := userConfig(srv, email, 12)
	cfg.MinVersion = 2
	if c := dial(t, cfg); c.Version() != 12 {
		t.Errorf("version %v", c.Version())
	}
}

// Every version with one of each generation, both ways: MD5 (2–7),
// Passport 1.4 (8–10, 11–12 with personal messages), TWN with RST (13–14),
// single sign-on (15), several places at once (16–17) and MSNP18. Each pair
// chats, sees each other's presence, and leaves an offline message that the
// other gets at the next sign-in (as an OIM from MSNP13, as a conversation
// before). One service serves every pair, in parallel.
func TestServerVersionMatrix(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) { c.Offline.AcceptCalls = true }))
	generations := []msnp.Version{2, 8, 11, 13, 15, 16, 18}
	for va := msnp.MinVersion; va <= msnp.LatestVersion; va++ {
		for _, vb := range generations {
			t.Run(fmt.Sprintf("%v-%v", va, vb), func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				a := dial(t, userConfig(srv, newUser(t, srv, "alice"), va))
				bEmail := newUser(t, srv, "bob")
				b := dial(t, userConfig(srv, bEmail, vb))
				chat(ctx, t, a, b)
				presenceAndOffline(ctx, t, srv, a, b)
			})
		}
	}
}

// presenceAndOffline: Alice and Bob add each other and see each other's
// presence; Bob signs out, Alice leaves him a message, and he gets it when
// he signs in again.
func presenceAndOffline(ctx context.Context, t *testing.T, srv *coretest.Server, a, b *client.Client) {
	aEmail, bEmail := a.Self().Email, b.Self().Email
	va, vb := a.Version(), b.Version()
	if err := a.AddContact(ctx, bEmail); err != nil {
		t.Fatal(err)
	}
	presenceOf(t, a, bEmail, client.Online)
	if err := b.AddContact(ctx, aEmail); err != nil {
		t.Fatal(err)
	}
	presenceOf(t, b, aEmail, client.Online)
	if err := b.SetStatus(ctx, client.Away); err != nil {
		t.Fatal(err)
	}
	presenceOf(t, a, bEmail, client.Away)
	b.Close()
	presenceOf(t, a, bEmail, client.Offline)

	text := "while you were out, from " + va.String()
	if va >= 13 {
		if err := a.SendOffline(ctx, bEmail, text); err != nil {
			t.Fatal(err)
		}
	} else {
		cv, err := a.Conversation(ctx, bEmail)
		if err != nil {
			t.Fatal(err)
		}
		if err := cv.Send(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	b = dial(t, userConfig(srv, bEmail, vb))
	if vb >= 13 {
		if m := next[*client.OfflineMessage](t, b); m.From != aEmail || m.Text != text || m.Sent.IsZero() {
			t.Errorf("offline message %+v", m)
		}
		return
	}
	if m := next[*client.Message](t, b); m.From != aEmail || !strings.HasSuffix(m.Text, text) {
		t.Errorf("offline message %+v", m)
	}
}

func chat(ctx context.Context, t *testing.T, a, b *client.Client) {
	aEmail, bEmail := a.Self().Email, b.Self().Email
	va, vb := a.Version(), b.Version()

	// Alice opens the conversation; Bob is invited into it.
	cv, err := a.Conversation(ctx, bEmail)
	if err != nil {
		t.Fatal(err)
	}
	if p := cv.Participants(); len(p) != 1 || p[0].Email != bEmail {
		t.Errorf("participants %+v", p)
	}
	if err := cv.SendTyping(ctx); err != nil {
		t.Fatal(err)
	}
	f := &message.Format{Font: "Comic Sans MS", Bold: true, Color: message.Color{R: 255}}
	if err := cv.SendText(ctx, "hello from "+va.String(), f); err != nil {
		t.Fatal(err)
	}
	inv := next[*client.Invited](t, b)
	if inv.From != aEmail {
		t.Errorf("invited by %q", inv.From)
	}
	if ty := next[*client.Typing](t, b); ty.From != aEmail || ty.Conversation != inv.Conversation {
		t.Errorf("typing %+v", ty)
	}
	m := next[*client.Message](t, b)
	if m.From != aEmail || m.Text != "hello from "+va.String() || m.Conversation != inv.Conversation {
		t.Errorf("bob got %+v", m)
	}
	if !m.Format.Bold || m.Format.Font != "Comic Sans MS" || m.Format.Color.R != 255 {
		t.Errorf("format %+v", m.Format)
	}

	// Bob answers in the same conversation.
	bcv := inv.Conversation
	if p := bcv.Participants(); len(p) != 1 || p[0].Email != aEmail {
		t.Errorf("bob's participants %+v", p)
	}
	if err := bcv.SendTyping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bcv.Send(ctx, "hello from "+vb.String()); err != nil {
		t.Fatal(err)
	}
	if ty := next[*client.Typing](t, a); ty.From != bEmail {
		t.Errorf("typing %+v", ty)
	}
	m = next[*client.Message](t, a)
	if m.From != bEmail || m.Text != "hello from "+vb.String() || m.Conversation != cv {
		t.Errorf("alice got %+v", m)
	}

	// Nudges exist from MSN Messenger 7 (MSNP11) on.
	if va >= 11 && vb >= 11 {
		if err := cv.SendNudge(ctx); err != nil {
			t.Fatal(err)
		}
		if n := next[*client.Nudge](t, b); n.From != aEmail {
			t.Errorf("nudge %+v", n)
		}
		if err := bcv.SendNudge(ctx); err != nil {
			t.Fatal(err)
		}
		if n := next[*client.Nudge](t, a); n.From != bEmail {
			t.Errorf("nudge %+v", n)
		}
	}

	// Bob leaves; Alice's next message brings him back.
	bcv.Close()
	if l := next[*client.Left](t, a); l.Email != bEmail {
		t.Errorf("left %+v", l)
	}
	if err := cv.Send(ctx, "come back"); err != nil {
		t.Fatal(err)
	}
	inv = next[*client.Invited](t, b)
	if m := next[*client.Message](t, b); m.Text != "come back" || m.Conversation != inv.Conversation {
		t.Errorf("bob got %+v", m)
	}
	cv.Close()
}

// Contact list and presence, between an old and a new version.
func TestServerContactsAndPresence(t *testing.T) {
	srv := coretest.Start(t)
	for _, pair := range [][2]msnp.Version{{7, 12}, {12, 7}, {2, 9}, {11, 11}, {18, 5}, {5, 18}, {15, 12}, {12, 16}, {13, 18}, {18, 14}} {
		t.Run(fmt.Sprintf("%v-%v", pair[0], pair[1]), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a := dial(t, userConfig(srv, newUser(t, srv, "alice"), pair[0]))
			bEmail := newUser(t, srv, "bob")
			bCfg := userConfig(srv, bEmail, pair[1])
			bCfg.Capabilities = msnp.CapWebClient
			b := dial(t, bCfg)
			aEmail := a.Self().Email
			caps := uint32(0) // what a sees of b's client
			if pair[0] >= 8 && pair[1] >= 8 {
				caps = msnp.CapWebClient
			}

			if err := a.AddContact(ctx, bEmail); err != nil {
				t.Fatal(err)
			}
			if ct, ok := a.Contact(bEmail); !ok || !ct.Lists.Has(client.Forward|client.Allow) {
				t.Errorf("contact %+v", ct)
			}
			if added := next[*client.ContactAdded](t, b); added.Email != aEmail {
				t.Errorf("added %+v", added)
			}
			// (The client adds its own P2P capabilities to the ones set.)
			if p := next[*client.Presence](t, a); p.Email != bEmail || p.Status != client.Online || p.Capabilities&msnp.CapWebClient != caps {
				t.Errorf("presence %+v, want capabilities %#x", p, caps)
			}

			if err := b.SetStatus(ctx, client.Away); err != nil {
				t.Fatal(err)
			}
			if p := next[*client.Presence](t, a); p.Status != client.Away {
				t.Errorf("presence %+v", p)
			}
			if err := b.SetFriendlyName(ctx, "Bob 100% Away"); err != nil {
				t.Fatal(err)
			}
			if p := next[*client.Presence](t, a); p.FriendlyName != "Bob 100% Away" {
				t.Errorf("presence %+v", p)
			}
			if b.Self().FriendlyName != "Bob 100% Away" {
				t.Errorf("self %+v", b.Self())
			}
			if pair[1] >= 11 {
				if err := b.SetPersonalMessage(ctx, "gone <fishing> & back"); err != nil {
					t.Fatal(err)
				}
				if pair[0] >= 11 {
					if p := next[*client.Presence](t, a); p.PersonalMessage != "gone <fishing> & back" {
						t.Errorf("presence %+v", p)
					}
				}
			}
			if pair[0] >= 7 { // from MSNP13 in the address book
				g, err := a.AddGroup(ctx, "Best Friends")
				if err != nil {
					t.Fatal(err)
				}
				if err := a.AddToGroup(ctx, bEmail, g.ID); err != nil {
					t.Fatal(err)
				}
				if ct, _ := a.Contact(bEmail); len(ct.Groups) == 0 || ct.Groups[len(ct.Groups)-1] != g.ID {
					t.Errorf("groups %+v", ct.Groups)
				}
				if err := a.RenameGroup(ctx, g.ID, "Bestest"); err != nil {
					t.Fatal(err)
				}
				if err := a.RemoveFromGroup(ctx, bEmail, g.ID); err != nil {
					t.Fatal(err)
				}
				if err := a.RemoveGroup(ctx, g.ID); err != nil {
					t.Fatal(err)
				}
			}

			// Blocked, Bob can no longer reach Alice.
			if err := a.Block(ctx, bEmail); err != nil {
				t.Fatal(err)
			}
			if ct, _ := a.Contact(bEmail); !ct.Lists.Has(client.Block) || ct.Lists.Has(client.Allow) {
				t.Errorf("contact %+v", ct)
			}
			if _, err := b.Conversation(ctx, aEmail); !errors.Is(err, msnp.ErrNotOnline) {
				t.Errorf("conversation with a blocker: %v", err)
			}
			if err := a.Allow(ctx, bEmail); err != nil {
				t.Fatal(err)
			}
			if err := a.RemoveContact(ctx, bEmail); err != nil {
				t.Fatal(err)
			}
			if ct, _ := a.Contact(bEmail); ct.Lists.Has(client.Forward) {
				t.Errorf("contact %+v", ct)
			}

			// Signing out is seen as going offline.
			b.Close()
			if err := a.AddContact(ctx, bEmail); err != nil {
				t.Fatal(err)
			}
			// (Bob's sign-out may reach the server after the add: then
			// Alice sees him online for a moment, and then offline.)
			for ct, _ := a.Contact(bEmail); ct.Status != client.Offline; ct, _ = a.Contact(bEmail) {
				if p := next[*client.Presence](t, a); p.Email == bEmail && p.Status == client.Offline {
					break
				}
			}
		})
	}
}

// After the service restarts the client signs in again by itself, and the
// conversation whose switchboard went away with it is reopened by the
// next Send.
func TestServerRestart(t *testing.T) {
	srv := coretest.Start(t)
	for _, v := range []msnp.Version{7, 12} {
		t.Run(v.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cfgA := userConfig(srv, newUser(t, srv, "alice"), v)
			cfgA.Reconnect = true
			cfgA.ReconnectMinDelay = 50 * time.Millisecond
			cfgA.ReconnectMaxDelay = 500 * time.Millisecond
			a := dial(t, cfgA)
			bEmail := newUser(t, srv, "bob")
			cfgB := userConfig(srv, bEmail, v)
			cfgB.Reconnect = true
			cfgB.ReconnectMinDelay = 50 * time.Millisecond
			cfgB.ReconnectMaxDelay = 500 * time.Millisecond
			b := dial(t, cfgB)

			cv, err := a.Conversation(ctx, bEmail)
			if err != nil {
				t.Fatal(err)
			}
			if err := cv.Send(ctx, "before"); err != nil {
				t.Fatal(err)
			}
			next[*client.Message](t, b)

			srv.Restart(t)
			if d := next[*client.Disconnected](t, a); !d.Reconnecting {
				t.Fatalf("disconnected %+v", d)
			}
			next[*client.Reconnected](t, a)
			next[*client.Reconnected](t, b)

			if err := cv.Send(ctx, "after"); err != nil {
				t.Fatal(err)
			}
			if m := next[*client.Message](t, b); m.Text != "after" {
				t.Errorf("bob got %+v", m)
			}
			if a.Version() != v {
				t.Errorf("version %v", a.Version())
			}
		})
	}
}
