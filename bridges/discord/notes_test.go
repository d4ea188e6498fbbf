package discord_test

import (
	"strings"
	"testing"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/msnp/client"
)

// Discord sends MESSAGE_UPDATE for link previews and pins with the text
// unchanged: only a real edit reaches MSN as one.
func TestOnlyRealEditsAreEdits(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	bob.say(nellyMSN, "hi", nil)
	th := h.thread(ch, "Bob (bob@example.com)")

	link := h.post(th, h.nelly, "see https://example.com/cats")
	bob.waitText("see https://example.com/cats")
	if err := h.dc.Pin(th, link.ID, h.nelly.ID); err != nil {
		t.Fatal(err)
	}
	h.post(th, h.nelly, "and now?")
	bob.waitText("and now?")
	// An "edit" that leaves the words alone is no edit either.
	if err := h.dc.Edit(th, link.ID, "see https://example.com/cats"); err != nil {
		t.Fatal(err)
	}
	if err := h.dc.Edit(th, link.ID, "see https://example.com/dogs"); err != nil {
		t.Fatal(err)
	}
	bob.waitText("(edited) see https://example.com/dogs")
	for _, text := range bob.texts() {
		if strings.Contains(text, "(edited) see https://example.com/cats") {
			t.Fatalf("a false edit reached MSN: %q", bob.texts())
		}
	}
	if got := bob.texts(); len(got) != 3 {
		t.Fatalf("bob got %q", got)
	}

	// In a room too.
	h.run(h.admin, h.general, "msn bridge", nil)
	c := h.roomMember("carol@example.com", "Carol")
	h.post(h.general, h.admin, "look: https://example.com")
	c.waitText("Admin Ann: look: https://example.com")
	h.post(h.general, h.admin, "done")
	c.waitText("Admin Ann: done")
	for _, text := range c.texts() {
		if strings.Contains(text, "(edited)") {
			t.Fatalf("a link preview reached the room as an edit: %q", c.texts())
		}
	}
}

// A reply reaches MSN with a quote of what it answers; reactions, and
// taking them back, as short notes about the message.
func TestRepliesAndReactions(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	bob.say(nellyMSN, "are we meeting at noon?", nil)
	th := h.thread(ch, "Bob (bob@example.com)")
	bobs := h.waitContent(th, "are we meeting at noon?")

	if _, err := h.dc.PostReply(th, h.nelly.ID, "yes, at the *usual* place", bobs.ID); err != nil {
		t.Fatal(err)
	}
	bob.waitText("> are we meeting at noon?\nyes, at the _usual_ place")

	if err := h.dc.React(th, bobs.ID, h.nelly.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	bob.waitText("(reacted 👍 to “are we meeting at noon?”)")
	if err := h.dc.Unreact(th, bobs.ID, h.nelly.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	bob.waitText("(took back the 👍 reaction to “are we meeting at noon?”)")

	// Her own message, and a custom emoji.
	mine := h.post(th, h.nelly, "see you")
	bob.waitText("see you")
	if err := h.dc.React(th, mine.ID, h.nelly.ID, "blob:1234"); err != nil {
		t.Fatal(err)
	}
	bob.waitText("(reacted :blob: to “see you”)")

	// In a room, a member's reaction names them.
	h.run(h.admin, h.general, "msn bridge", nil)
	c := h.roomMember("carol@example.com", "Carol")
	c.say("general@"+domain, "lunch?", nil)
	lunch := h.waitMessage(h.general, func(m discordtest.Message) bool { return m.Content == "lunch?" })
	if err := h.dc.React(h.general, lunch.ID, h.admin.ID, "🍕"); err != nil {
		t.Fatal(err)
	}
	c.waitText("Admin Ann: (reacted 🍕 to “lunch?”)")
	if _, err := h.dc.PostReply(h.general, h.admin.ID, "sure", lunch.ID); err != nil {
		t.Fatal(err)
	}
	c.waitText("Admin Ann: > lunch?\nsure")
}

// roomMember is an MSN user who joined #general's room.
func (h *harness) roomMember(email, name string) *peer {
	h.t.Helper()
	p := h.peer(email, name)
	if err := p.cl.AddContact(ctxT(h.t), "general@"+domain); err != nil {
		h.t.Fatal(err)
	}
	h.waitMessage(h.general, func(m discordtest.Message) bool { return strings.Contains(m.Content, "("+email+") joined from MSN") })
	p.waitPresence("general@"+domain, client.Online)
	return p
}
