package host_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/plugins/host"
)

// Offline messages both ways, with bots at their default MSNP15: a bot
// that writes to MSN users who are offline leaves them the text, which
// reaches them when they sign in — at MSNP7 as a conversation from the
// bot, at MSNP18 as an OIM — and what an MSNP18 user leaves for a bot
// while it is offline reaches the bot when it signs in, with the time it
// was sent, and the bot's answer goes back to its sender.
func TestOfflineMessages(t *testing.T) {
	srv := coretest.Start(t)
	e := startOn(t, srv, []host.BotConfig{bot("test", "testbot")})
	const botEmail = "test@bots.localhost"
	srv.AddUser(t, "away7@example.com", "secret", "away7")
	srv.AddUser(t, "away18@example.com", "secret", "away18")

	alice := e.newPerson(t, "alice")
	alice.add(botEmail)
	cv := alice.conv(botEmail)
	for _, to := range []string{"away7@example.com", "away18@example.com"} {
		if got := alice.ask(cv, botEmail, "tell "+to+" hello from the bot"); got != "left" {
			t.Fatalf("telling %s, who is offline: %q", to, got)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p7 := dialAt(t, srv, "away7@example.com", 7)
	waitEvent(t, ctx, p7, "the offline message as a conversation", func(ev client.Event) bool {
		m, ok := ev.(*client.Message)
		return ok && m.From == botEmail && strings.HasPrefix(m.Text, "[Offline message, sent ") && strings.HasSuffix(m.Text, "hello from the bot")
	})
	p18 := dialAt(t, srv, "away18@example.com", 18)
	waitEvent(t, ctx, p18, "the OIM", func(ev client.Event) bool {
		m, ok := ev.(*client.OfflineMessage)
		return ok && m.From == botEmail && m.Text == "hello from the bot" && !m.Sent.IsZero()
	})

	// The other way: the bot is offline while away18 leaves it a message.
	e.host.Close()
	if err := p18.SendOffline(ctx, botEmail, "while you were away"); err != nil {
		t.Fatal(err)
	}
	left := time.Now()
	startOn(t, srv, []host.BotConfig{bot("test", "testbot")})
	got := waitEvent(t, ctx, p18, "the bot's answer", func(ev client.Event) bool {
		m, ok := ev.(*client.Message)
		return ok && m.From == botEmail && strings.HasPrefix(m.Text, "offline message of ")
	}).(*client.Message)
	stamp, text, _ := strings.Cut(strings.TrimPrefix(got.Text, "offline message of "), ": ")
	sent, err := time.Parse(time.RFC3339, stamp)
	if err != nil || text != "while you were away" || sent.After(left) || left.Sub(sent) > time.Minute {
		t.Fatalf("the bot read %q (sent %v, left at %v)", got.Text, sent, left)
	}
}

// dialAt signs email in at version v exactly.
func dialAt(t *testing.T, srv *coretest.Server, email string, v msnp.Version) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: email, Password: "secret", Version: v, MinVersion: v,
		Passport: client.PassportConfig{URL: srv.HTTPURL}, RequestTimeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("%s signs in at %s: %v", email, v, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitEvent reads c's events until one matches.
func waitEvent(t *testing.T, ctx context.Context, c *client.Client, what string, ok func(client.Event) bool) client.Event {
	t.Helper()
	for {
		select {
		case ev := <-c.Events():
			if ok(ev) {
				return ev
			}
		case <-ctx.Done():
			t.Fatalf("%s: no %s", c.Self().Email, what)
		}
	}
}
