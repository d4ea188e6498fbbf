package discord_test

import (
	"strings"
	"testing"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
)

// A group thread is told who of its people did not get what the user
// wrote — once, not after every message — as a Matrix group room is.
func TestGroupThreadSaysWhoMissedOut(t *testing.T) {
	h := newHarness(t)
	th, _, bob, carol := h.groupOfThree()

	// Carol signs out: the next message reaches Bob alone, and the thread
	// says so.
	carol.cl.Close()
	h.waitMessage(th, func(m discordtest.Message) bool { return strings.Contains(m.Content, "Carol left the conversation") })
	missed := func(m discordtest.Message) bool {
		return m.Author.ID == h.dc.Bot.ID && strings.Contains(m.Content, "Not delivered to Carol (carol@example.com): offline, or not answering")
	}
	h.post(th, h.nelly, "just us")
	bob.waitText("just us")
	h.waitMessage(th, missed)

	// Said once: the messages after it go without another notice.
	h.post(th, h.nelly, "still just us")
	h.post(th, h.nelly, "and again")
	bob.waitText("and again")
	n := 0
	for _, m := range h.dc.Messages(th) {
		if missed(m) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the thread was told %d times who missed out, want once", n)
	}
}
