package offline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// Offline messages reach MSN Messenger 1.0-7.5 clients as a conversation
// from the sender when they sign in, each marked with when it was sent,
// and are gone once delivered.
func TestDeliveredAsConversation(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "pw-alice", "Alice")
	srv.AddUser(t, "carol@example.com", "pw-carol", "Carol")
	for _, v := range []msnp.Version{2, 8, 12} {
		t.Run(v.String(), func(t *testing.T) {
			bob := "bob" + v.String() + "@example.com"
			srv.AddUser(t, bob, "pw-bob", "Bob")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			sent := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
			for _, m := range []store.OfflineMessage{
				{To: bob, From: "alice@example.com", FromName: "Alice", Sent: sent, Body: []byte("first from alice")},
				{To: bob, From: "carol@example.com", FromName: "Carol", Sent: sent.Add(time.Minute), Body: []byte("carol here")},
				{To: bob, From: "alice@example.com", FromName: "Alice", Sent: sent.Add(2 * time.Minute), Body: []byte("second from alice")},
			} {
				if _, err := srv.Store.StoreOffline(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			c, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: bob, Password: "pw-bob", Version: v, MinVersion: v,
				Passport: client.PassportConfig{URL: srv.HTTPURL}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var got []string
			for len(got) < 3 {
				select {
				case ev := <-c.Events():
					if m, ok := ev.(*client.Message); ok {
						got = append(got, m.From+": "+m.Text)
					}
				case <-ctx.Done():
					t.Fatalf("got only %q", got)
				}
			}
			want := []string{
				"alice@example.com: [Offline message, sent Wed 4 Mar 2026 05:06 UTC]\r\nfirst from alice",
				"alice@example.com: [Offline message, sent Wed 4 Mar 2026 05:08 UTC]\r\nsecond from alice",
				"carol@example.com: [Offline message, sent Wed 4 Mar 2026 05:07 UTC]\r\ncarol here",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got\n%q\nwant\n%q", got, want)
			}
			// Acknowledged ones are gone.
			deadline := time.Now().Add(10 * time.Second)
			for {
				msgs, _ := srv.Store.OfflineMessages(ctx, bob)
				if len(msgs) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d messages still waiting", len(msgs))
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// An MSNP2-12 client that calls a contact who is offline sees them join,
// and what it says is kept for them and reaches them when they sign in,
// as a conversation from the sender; someone who appears offline looks the
// same to the caller (and, being uncallable, gets it at the next sign-in),
// and so does someone who blocks the caller — who keeps nothing. Someone
// not on the caller's list cannot be called (217). All this with
// offline.accept_calls; by default each of these calls is 217 (core/ns
// TestCallOffline).
func TestLeftInConversation(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) { c.Offline.AcceptCalls = true }))
	for _, v := range []msnp.Version{2, 8, 12} {
		t.Run(v.String(), func(t *testing.T) {
			n := strings.ToLower(v.String())
			alice, bob := "alice"+n+"@example.com", "bob"+n+"@example.com"
			carol, dave := "carol"+n+"@example.com", "dave"+n+"@example.com"
			for _, u := range []string{alice, bob, carol, dave} {
				srv.AddUser(t, u, "pw", strings.Split(u, "@")[0])
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			for _, c := range []string{bob, carol} {
				if _, err := srv.Store.AddToList(ctx, alice, c, store.Forward, c, ""); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := srv.Store.AddToList(ctx, carol, alice, store.Block, alice, ""); err != nil {
				t.Fatal(err)
			}
			dial := func(email string, st client.Status) *client.Client {
				c, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: email, Password: "pw", Version: v, MinVersion: v,
					Status: st, Passport: client.PassportConfig{URL: srv.HTTPURL}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			a := dial(alice, client.Online)
			cv, err := a.Conversation(ctx, bob)
			if err != nil {
				t.Fatalf("calling %s while offline: %v", bob, err)
			}
			if err := cv.Send(ctx, "are you there?"); err != nil {
				t.Fatalf("saying something to %s while offline: %v", bob, err)
			}
			msgs, err := srv.Store.OfflineMessages(ctx, bob)
			if err != nil || len(msgs) != 1 || msgs[0].From != alice || string(msgs[0].Body) != "are you there?" || msgs[0].FromName != "alice"+n {
				t.Fatalf("kept for %s: %+v, %v", bob, msgs, err)
			}
			if _, err := a.Conversation(ctx, dave); !errors.Is(err, msnp.ErrNotOnline) {
				t.Errorf("calling %s, not on the caller's list: %v, want 217", dave, err)
			}
			cv3, err := a.Conversation(ctx, carol)
			if err != nil {
				t.Fatalf("calling %s, who blocks the caller: %v", carol, err)
			}
			if err := cv3.Send(ctx, "hello?"); err != nil {
				t.Fatalf("saying something to %s, who blocks the caller: %v", carol, err)
			}
			if msgs, _ := srv.Store.OfflineMessages(ctx, carol); len(msgs) != 0 {
				t.Errorf("kept for %s, who blocks the caller: %+v", carol, msgs)
			}

			b := dial(bob, client.Online)
			awaitText(t, ctx, b, alice, "are you there?")

			// Appearing offline: the call is taken the same way.
			b.Close()
			h := dial(bob, client.Hidden)
			cv2, err := a.Conversation(ctx, bob)
			if err != nil {
				t.Fatalf("calling %s while hidden: %v", bob, err)
			}
			if err := cv2.Send(ctx, "still there?"); err != nil {
				t.Fatal(err)
			}
			h.Close()
			b = dial(bob, client.Online)
			awaitText(t, ctx, b, alice, "still there?")
		})
	}
}

// awaitText waits for a message from sender whose text ends with text.
func awaitText(t *testing.T, ctx context.Context, c *client.Client, from, text string) {
	t.Helper()
	for {
		select {
		case ev := <-c.Events():
			if m, ok := ev.(*client.Message); ok && m.From == from && strings.HasSuffix(m.Text, "\r\n"+text) {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no message %q from %s", text, from)
		}
	}
}
