package discord_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// An admin links #general with an MSN room; two MSN users join it by
// adding it; they and two Discord users see each other's messages with
// their own names, both ways.
func TestRoomBridge(t *testing.T) {
	h := newHarness(t)
	r := h.run(h.admin, h.general, "msn bridge", nil)
	room := "general@" + domain
	if !strings.Contains(r.Content, "**"+room+"**") || r.Ephemeral {
		t.Fatalf("bridge reply %+v", r)
	}
	if again := h.run(h.admin, h.general, "msn bridge", nil); !strings.Contains(again.Content, "already bridged") {
		t.Fatalf("second bridge %+v", again)
	}
	bob := h.peer("bob@example.com", "Bob")
	carol := h.peer("carol@example.com", "Carol")
	ctx := ctxT(t)
	for _, p := range []*peer{bob, carol} {
		if err := p.cl.AddContact(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	h.waitMessage(h.general, func(m discordtest.Message) bool {
		return strings.Contains(m.Content, "**Bob** (bob@example.com) joined from MSN")
	})
	h.waitMessage(h.general, func(m discordtest.Message) bool {
		return strings.Contains(m.Content, "**Carol** (carol@example.com) joined from MSN")
	})
	// The room adds its members back, so it sees them online.
	bob.waitPresence(room, client.Online)
	carol.waitPresence(room, client.Online)
	bob.wait("the room adding him", func(ev client.Event) bool { a, ok := ev.(*client.ContactAdded); return ok && a.Email == room })

	// Discord → MSN: both members get each Discord user's line, named.
	h.post(h.general, h.nelly, "hello **MSN** people")
	h.post(h.general, h.admin, "__welcome__")
	for _, p := range []*peer{bob, carol} {
		p.waitText("Nelly: hello *MSN* people")
		if m := p.waitText("Admin Ann: welcome"); !m.Format.Underline {
			t.Fatalf("%s: format %+v", p.email, m.Format)
		}
	}

	// MSN → Discord and → the other member.
	bob.say(room, "hi from bob", &message.Format{Italic: true})
	m := h.waitContent(h.general, "*hi from bob*")
	if m.Author.Username != "Bob" || m.WebhookID == "" {
		t.Fatalf("bob's message on Discord %+v", m)
	}
	if got := carol.waitText("Bob: hi from bob"); !got.Format.Italic {
		t.Fatalf("carol got %+v", got)
	}
	carol.say(room, "and carol", nil)
	h.waitMessage(h.general, func(m discordtest.Message) bool { return m.Author.Username == "Carol" && m.Content == "and carol" })
	bob.waitText("Carol: and carol")

	// Nobody gets their own words back, nor the bridge's echoes (its
	// notices, the webhook's messages).
	if bob.count("Bob: hi from bob") != 0 || carol.count("Carol: and carol") != 0 {
		t.Fatalf("echo: bob %q carol %q", bob.texts(), carol.texts())
	}
	for _, p := range []*peer{bob, carol} {
		for _, text := range p.texts() {
			if strings.Contains(text, "joined from MSN") || strings.Contains(text, "bridged") || strings.HasSuffix(text, ": *hi from bob*") {
				t.Fatalf("%s got the bridge's own message %q", p.email, text)
			}
		}
	}
	// A second Discord message after the MSN ones still reaches both once.
	h.post(h.general, h.nelly, "last")
	bob.waitText("Nelly: last")
	carol.waitText("Nelly: last")
	for _, p := range []*peer{bob, carol} {
		if n := p.count("Nelly: hello *MSN* people"); n != 1 {
			t.Fatalf("%s got Nelly's line %d times", p.email, n)
		}
	}

	// Leaving: removing the room from one's list.
	if err := carol.cl.RemoveContact(ctx, room); err != nil {
		t.Fatal(err)
	}
	h.waitMessage(h.general, func(m discordtest.Message) bool { return strings.Contains(m.Content, "**Carol** left") })
	h.post(h.general, h.nelly, "only bob now")
	bob.waitText("Nelly: only bob now")

	// Unbridging stops it.
	if r := h.run(h.admin, h.general, "msn unbridge", nil); !strings.Contains(r.Content, "no longer bridged") {
		t.Fatalf("unbridge %+v", r)
	}
	bob.waitPresence(room, client.Offline)
}

// Attachments arrive on MSN as file offers; edits and deletes, which MSN does
// not have, arrive as notes; a message to an offline contact is reported
// as not delivered.
func TestAttachmentsEditsDeletesAndFailures(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	bob.say(nellyMSN, "hey", nil)
	th := h.thread(ch, "Bob (bob@example.com)")

	m := h.post(th, h.nelly, "look at this", discordtest.File{Name: "cat.png", ContentType: "image/png", Data: []byte("\x89PNG")})
	bob.waitText("look at this")
	bob.wait("the attachment", func(ev client.Event) bool {
		o, ok := ev.(*client.FileOffer)
		return ok && o.Transfer.Name == "cat.png"
	})
	if err := h.dc.Edit(th, m.ID, "look at **this**"); err != nil {
		t.Fatal(err)
	}
	bob.waitText("(edited) look at *this*")
	if err := h.dc.Delete(th, m.ID); err != nil {
		t.Fatal(err)
	}
	bob.wait("the delete note", func(ev client.Event) bool {
		mm, ok := ev.(*client.Message)
		return ok && strings.HasPrefix(mm.Text, "(deleted the message “look at *this*")
	})

	// Bob goes away: Nelly's next message is reported as not delivered.
	// His client closes its sockets without waiting for the switchboard to
	// take him out of the conversation, so a message sent in that instant
	// still reaches his connection and is acknowledged; like a person,
	// Nelly asks again until the bridge says he is gone.
	bob.cl.Close()
	notDelivered := func(m discordtest.Message) bool {
		return m.Author.ID == h.dc.Bot.ID && strings.Contains(m.Content, "Not delivered") && strings.Contains(m.Content, "Bob is offline")
	}
	for try := 0; ; try++ {
		h.post(th, h.nelly, "are you there?")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := h.dc.WaitFor(ctx, func() bool { return slices.ContainsFunc(h.dc.Messages(th), notDelivered) })
		cancel()
		if err == nil {
			break
		}
		if try == 4 {
			h.waitMessage(th, notDelivered) // fails with what the thread holds
		}
	}
}
