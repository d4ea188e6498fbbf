package discord_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// Offline messages both ways, with the bridge's accounts at their default
// MSNP15: what a Discord user writes to an MSN contact who is offline
// reaches them when they sign in — at MSNP7 as a conversation from the
// bridged user, at MSNP18 as an OIM — and what an MSNP18 user leaves for
// the bridged user while the bridge is down is posted in the contact's
// thread, saying when it was sent, once the bridge signs in again.
func TestOfflineMessages(t *testing.T) {
	h := newHarness(t)
	nellyMSN := "nelly@" + domain
	ch := h.login(h.nelly)
	threadRE := regexp.MustCompile(`<#(\d+)>`)
	threads := map[msnp.Version]string{}
	peers := map[msnp.Version]*peer{}
	for _, v := range []msnp.Version{7, 18} {
		email := fmt.Sprintf("away%d@example.com", v)
		h.srv.AddUser(t, email, "pw", fmt.Sprintf("Away %d", v))
		if r := h.run(h.nelly, h.general, "msn add", map[string]any{"contact": email}); !strings.Contains(r.Content, "Added") {
			t.Fatalf("add %s: %+v", email, r)
		}
		r := h.run(h.nelly, h.general, "msn chat", map[string]any{"contact": email})
		m := threadRE.FindStringSubmatch(r.Content)
		if m == nil {
			t.Fatalf("chat %s: %+v", email, r)
		}
		threads[v] = m[1]
		h.post(m[1], h.nelly, "written while you were away")

		// The text is kept, and no "not delivered" notice is given.
		ctx := ctxT(t)
		if err := h.dc.WaitFor(ctx, func() bool {
			kept, err := h.srv.Store.OfflineMessages(ctx, email)
			return err == nil && len(kept) == 1
		}); err != nil {
			t.Fatalf("nothing kept for %s; thread: %q", email, contents(h, m[1]))
		}
		for _, c := range contents(h, m[1]) {
			if strings.Contains(c, "Not delivered") {
				t.Fatalf("%s: %q", email, c)
			}
		}

		p := dialAt(h, email, "pw", v)
		peers[v] = p
		if v >= 13 {
			p.wait("the OIM", func(ev client.Event) bool {
				o, ok := ev.(*client.OfflineMessage)
				return ok && o.From == nellyMSN && o.Text == "written while you were away" && !o.Sent.IsZero()
			})
		} else {
			p.wait("the offline message as a conversation", func(ev client.Event) bool {
				o, ok := ev.(*client.Message)
				return ok && o.From == nellyMSN && strings.HasPrefix(o.Text, "[Offline message, sent ") &&
					strings.HasSuffix(o.Text, "written while you were away")
			})
		}
	}
	_ = ch

	// The other way: the bridge is down, an MSNP18 user leaves Nelly a
	// message; it is posted when the bridge signs her in again.
	h.b.Close()
	p := peers[18]
	if err := p.cl.SendOffline(ctxT(t), nellyMSN, "left while your bridge was down"); err != nil {
		t.Fatal(err)
	}
	h.start()
	got := h.waitMessage(threads[18], func(m discordtest.Message) bool {
		return strings.HasPrefix(m.Content, "left while your bridge was down\n")
	})
	if !regexp.MustCompile(`\n-# offline message, sent at <t:\d+:f>$`).MatchString(got.Content) {
		t.Fatalf("posted as %q", got.Content)
	}
	if got.Author.Username != "Away 18" {
		t.Errorf("posted by %q, not the contact's webhook name", got.Author.Username)
	}
}

// dialAt signs an MSN user in with the client at version v exactly.
func dialAt(h *harness, email, password string, v msnp.Version) *peer {
	h.t.Helper()
	cl, err := client.Dial(ctxT(h.t), client.Config{
		Server: h.srv.NSAddr, Email: email, Password: password, Version: v, MinVersion: v,
		Passport: client.PassportConfig{URL: h.srv.HTTPURL},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.watch(email, cl)
}

func contents(h *harness, channel string) []string {
	var out []string
	for _, m := range h.dc.Messages(channel) {
		out = append(out, m.Content)
	}
	return out
}
