package discord_test

import (
	"strings"
	"testing"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/msnp/client"
)

// Conversations with several MSN people: a thread per conversation, the
// participants listed in it as they come and go, everyone speaking under
// their own name, and Nelly's answers reaching all of them.
func TestGroupConversation(t *testing.T) {
	h := newHarness(t)
	dave := h.peer("dave@example.com", "Dave")
	ctx := ctxT(t)
	th, cv, bob, carol := h.groupOfThree()

	// Dave joins: the thread says who is in it now; he speaks as himself.
	if err := cv.Invite(ctx, "dave@example.com"); err != nil {
		t.Fatal(err)
	}
	h.waitMessage(th, func(m discordtest.Message) bool {
		return strings.Contains(m.Content, "Dave joined the conversation. In it now:") && strings.Contains(m.Content, "Dave")
	})
	inv := dave.wait("the invitation", func(ev client.Event) bool { _, ok := ev.(*client.Invited); return ok }).(*client.Invited)
	if err := inv.Conversation.Send(ctx, "dave here"); err != nil {
		t.Fatal(err)
	}
	if m := h.waitContent(th, "dave here"); m.Author.Username != "Dave" {
		t.Fatalf("author %+v", m.Author)
	}
	h.post(th, h.nelly, "hi dave")
	dave.waitText("hi dave")
	bob.waitText("hi dave")

	// Carol leaves: said in the thread.
	for _, c := range carol.cl.Conversations() {
		c.Close()
	}
	h.waitMessage(th, func(m discordtest.Message) bool { return strings.Contains(m.Content, "Carol left the conversation") })
}

// A private channel deleted on Discord is made again when the next
// message needs it.
func TestDeletedChannelIsRemade(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	bob.say(nellyMSN, "first", nil)
	h.waitContent(h.thread(ch, "Bob (bob@example.com)"), "first")

	if err := h.dc.DeleteChannel(ch); err != nil {
		t.Fatal(err)
	}
	bob.say(nellyMSN, "second", nil)
	ch2 := h.newChannel("msn-nelly", ch)
	th := h.thread(ch2, "Bob (bob@example.com)")
	h.waitContent(th, "second")
	h.post(th, h.nelly, "back")
	bob.waitText("back")
}

// A webhook deleted on Discord is made again by the next message that
// needs it; the message is not lost.
func TestDeletedWebhookIsRemade(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	bob := h.peer("bob@example.com", "Bob")
	bob.say("nelly@"+domain, "first", nil)
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, "first")
	old := h.dc.Webhooks(ch)[0].ID
	if err := h.dc.DeleteWebhook(old); err != nil {
		t.Fatal(err)
	}
	bob.say("nelly@"+domain, "second", nil)
	m := h.waitContent(th, "second")
	if m.WebhookID == old || len(h.dc.Webhooks(ch)) != 1 {
		t.Fatalf("message %+v, webhooks %+v", m, h.dc.Webhooks(ch))
	}
}

// groupOfThree signs Nelly in; Bob and Carol talk, then invite her: a new
// thread for the group, in which she greets them both.
func (h *harness) groupOfThree() (thread string, cv *client.Conversation, bob, carol *peer) {
	h.t.Helper()
	ch := h.login(h.nelly)
	bob = h.peer("bob@example.com", "Bob")
	carol = h.peer("carol@example.com", "Carol")
	ctx := ctxT(h.t)
	cv, err := bob.cl.Conversation(ctx, "carol@example.com")
	if err != nil {
		h.t.Fatal(err)
	}
	if err := cv.Invite(ctx, "nelly@"+domain); err != nil {
		h.t.Fatal(err)
	}
	thread = h.thread(ch, "Bob, Carol")
	h.waitMessage(thread, func(m discordtest.Message) bool {
		return m.Author.ID == h.dc.Bot.ID && strings.Contains(m.Content, "invited you to a conversation with Bob, Carol")
	})
	if err := cv.Send(ctx, "welcome to the group"); err != nil {
		h.t.Fatal(err)
	}
	if m := h.waitContent(thread, "welcome to the group"); m.Author.Username != "Bob" {
		h.t.Fatalf("author %+v", m.Author)
	}
	h.post(thread, h.nelly, "hello both")
	bob.waitText("hello both")
	carol.waitText("hello both")
	return thread, cv, bob, carol
}
