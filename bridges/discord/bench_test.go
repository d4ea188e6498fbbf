package discord_test

import (
	"fmt"
	"testing"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
)

// BenchmarkDiscordToMSN measures a message's way from a Discord thread to
// the MSN contact: gateway event, queue, conversion, switchboard.
func BenchmarkDiscordToMSN(b *testing.B) {
	h := newHarness(b)
	ch := h.login(h.nelly)
	bob := h.peer("bob@example.com", "Bob")
	bob.say("nelly@"+domain, "hi", nil)
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, "hi")
	i := 0
	for b.Loop() {
		text := fmt.Sprintf("message %d", i)
		h.post(th, h.nelly, text)
		bob.waitText(text)
		i++
	}
}

// BenchmarkMSNToDiscord measures the other way: switchboard, queue,
// conversion, webhook execution.
func BenchmarkMSNToDiscord(b *testing.B) {
	h := newHarness(b)
	ch := h.login(h.nelly)
	bob := h.peer("bob@example.com", "Bob")
	ctx := ctxT(b)
	cv, err := bob.cl.Conversation(ctx, "nelly@"+domain)
	if err != nil {
		b.Fatal(err)
	}
	cv.Send(ctx, "hi")
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, "hi")
	i := 0
	for b.Loop() {
		text := fmt.Sprintf("message %d", i)
		if err := cv.Send(ctx, text); err != nil {
			b.Fatal(err)
		}
		h.waitMessage(th, func(m discordtest.Message) bool { return m.Content == text })
		i++
	}
}
