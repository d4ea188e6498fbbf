package discord_test

import (
	"strings"
	"testing"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/msnp/client"
)

// Every /msn command, checked on the MSN side where it shows.
func TestCommands(t *testing.T) {
	h := newHarness(t)
	nellyMSN := "nelly@" + domain

	// Before signing in, commands say what to do.
	if r := h.run(h.nelly, h.general, "msn contacts", nil); !strings.Contains(r.Content, "/msn login") || !r.Ephemeral {
		t.Fatalf("contacts before login: %+v", r)
	}
	ch := h.login(h.nelly)
	if r := h.run(h.nelly, h.general, "msn login", nil); !strings.Contains(r.Content, "already signed in") {
		t.Fatalf("second login: %+v", r)
	}
	bob := h.peer("bob@example.com", "Bob")
	carol := h.peer("carol@example.com", "Carol")

	// add: Bob learns that Nelly added him; contacts shows him online.
	if r := h.run(h.nelly, h.general, "msn add", map[string]any{"contact": "bob@example.com"}); !strings.Contains(r.Content, "Added bob@example.com") {
		t.Fatalf("add: %+v", r)
	}
	bob.wait("Nelly's add", func(ev client.Event) bool { a, ok := ev.(*client.ContactAdded); return ok && a.Email == nellyMSN })
	h.run(h.nelly, h.general, "msn add", map[string]any{"contact": "carol@example.com"})
	if r := h.run(h.nelly, h.general, "msn add", map[string]any{"contact": "nobody@nowhere.example"}); !strings.Contains(r.Content, "not an MSN account") {
		t.Fatalf("add unknown: %+v", r)
	}
	if r := h.run(h.nelly, h.general, "msn add", map[string]any{"contact": "not an address"}); !strings.Contains(r.Content, "not an MSN handle") {
		t.Fatalf("add junk: %+v", r)
	}
	bob.cl.SetPersonalMessage(ctxT(t), "gone fishing")
	ctx := ctxT(t)
	if err := h.dc.WaitFor(ctx, func() bool {
		r := h.run(h.nelly, h.general, "msn contacts", nil)
		return strings.Contains(r.Content, "🟢 online — **Bob** (bob@example.com) — _gone fishing_") &&
			strings.Contains(r.Content, "**Carol** (carol@example.com)")
	}); err != nil {
		t.Fatalf("contacts: %+v", h.run(h.nelly, h.general, "msn contacts", nil))
	}

	// status: Bob sees Nelly busy, with her personal message and name.
	bob.cl.AddContact(ctx, nellyMSN)
	r := h.run(h.nelly, h.general, "msn status", map[string]any{"status": "busy", "message": "coding", "name": "Nelly N."})
	if !strings.Contains(r.Content, "busy") {
		t.Fatalf("status: %+v", r)
	}
	bob.waitPresence(nellyMSN, client.Busy)
	bob.wait("Nelly's personal message", func(ev client.Event) bool {
		p, ok := ev.(*client.Presence)
		return ok && p.Email == nellyMSN && p.PersonalMessage == "coding"
	})
	bob.wait("Nelly's new name", func(ev client.Event) bool {
		p, ok := ev.(*client.Presence)
		return ok && p.Email == nellyMSN && p.FriendlyName == "Nelly N."
	})
	h.run(h.nelly, h.general, "msn status", map[string]any{"status": "online"})
	bob.waitPresence(nellyMSN, client.Online)

	// chat opens the thread; nudge with a contact named works anywhere.
	r = h.run(h.nelly, h.general, "msn chat", map[string]any{"contact": "carol@example.com"})
	th := h.thread(ch, "Carol (carol@example.com)")
	if !strings.Contains(r.Content, "<#"+th+">") {
		t.Fatalf("chat: %+v", r)
	}
	h.post(th, h.nelly, "hi carol")
	carol.waitText("hi carol")
	if r := h.run(h.nelly, h.general, "msn nudge", map[string]any{"contact": "carol@example.com"}); !strings.HasPrefix(r.Content, "Nudged Carol") {
		t.Fatalf("nudge: %+v", r)
	}
	carol.wait("a nudge", func(ev client.Event) bool { _, ok := ev.(*client.Nudge); return ok })
	if r := h.run(h.nelly, h.general, "msn nudge", nil); !strings.Contains(r.Content, "in a contact's thread") {
		t.Fatalf("nudge outside a thread: %+v", r)
	}

	// block: Bob can no longer reach Nelly; unblock lets him again.
	if r := h.run(h.nelly, h.general, "msn block", map[string]any{"contact": "bob@example.com"}); !strings.Contains(r.Content, "Blocked") {
		t.Fatalf("block: %+v", r)
	}
	bob.waitPresence(nellyMSN, client.Offline)
	if _, err := bob.cl.Conversation(ctx, nellyMSN); err == nil {
		t.Fatal("a blocked contact opened a conversation")
	}
	h.run(h.nelly, h.general, "msn unblock", map[string]any{"contact": "bob@example.com"})
	bob.waitPresence(nellyMSN, client.Online)
	if r := h.run(h.nelly, h.general, "msn contacts", nil); strings.Contains(r.Content, "Blocked:") {
		t.Fatalf("still blocked: %+v", r)
	}

	// remove: Bob leaves Nelly's list.
	if r := h.run(h.nelly, h.general, "msn remove", map[string]any{"contact": "bob@example.com"}); !strings.Contains(r.Content, "Removed") {
		t.Fatalf("remove: %+v", r)
	}
	if r := h.run(h.nelly, h.general, "msn contacts", nil); strings.Contains(r.Content, "**Bob**") {
		t.Fatalf("Bob still listed: %+v", r)
	}

	// logout: Nelly goes offline for Carol; the channel stays; login again
	// brings her back in the same channel.
	if r := h.run(h.nelly, h.general, "msn logout", nil); !strings.Contains(r.Content, "Signed out") {
		t.Fatalf("logout: %+v", r)
	}
	carol.cl.AddContact(ctx, nellyMSN)
	carol.waitPresence(nellyMSN, client.Offline)
	if r := h.run(h.nelly, h.general, "msn contacts", nil); !strings.Contains(r.Content, "/msn login") {
		t.Fatalf("contacts after logout: %+v", r)
	}
	if got := h.login(h.nelly); got != ch {
		t.Fatalf("a new channel %s after logging in again (was %s)", got, ch)
	}
	carol.waitPresence(nellyMSN, client.Online)
	carol.say(nellyMSN, "welcome back", nil)
	h.waitContent(th, "welcome back")

	// Writing in the channel itself (not a thread) gets a hint.
	h.post(ch, h.nelly, "hello?")
	h.waitMessage(ch, func(m discordtest.Message) bool { return strings.Contains(m.Content, "Write in a contact's thread") })

	// Admin commands are refused to members without Manage Channels.
	if r := h.run(h.nelly, h.general, "msn bridge", nil); !strings.Contains(r.Content, "Only members who can manage channels") {
		t.Fatalf("bridge by a member: %+v", r)
	}
	if r := h.run(h.admin, h.general, "msn unbridge", nil); !strings.Contains(r.Content, "not bridged") {
		t.Fatalf("unbridge unbridged: %+v", r)
	}
}
