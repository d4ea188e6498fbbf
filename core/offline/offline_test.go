package offline_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
