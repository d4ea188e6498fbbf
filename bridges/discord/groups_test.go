package discord_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

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

// A group everyone left is opened again, from its thread, with all its
// people — those it began with and one who joined later — invited at
// once; and the bridge remembers who joined across a restart.
func TestReopenedGroupInvitesEveryone(t *testing.T) {
	h := newHarness(t)
	dave := h.peer("dave@example.com", "Dave")
	ctx := ctxT(t)
	th, cv, bob, carol := h.groupOfThree()
	if err := cv.Invite(ctx, "dave@example.com"); err != nil {
		t.Fatal(err)
	}
	h.waitMessage(th, func(m discordtest.Message) bool { return strings.Contains(m.Content, "Dave joined the conversation") })

	// Dave leaves, then Bob, then Carol: the conversation is empty.
	for _, p := range []*peer{dave, bob, carol} {
		for _, c := range p.cl.Conversations() {
			c.Close()
		}
	}
	// The thread says nothing when the last one leaves, so Nelly writes
	// until a message went after Carol's leaving reached the service.
	everyone := func(text string) {
		t.Helper()
		for i := 1; ; i++ {
			line := fmt.Sprintf("%s %d", text, i)
			h.post(th, h.nelly, line)
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				if slices.Contains(dave.texts(), line) && slices.Contains(bob.texts(), line) && slices.Contains(carol.texts(), line) {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			if i == 3 {
				t.Fatalf("%q reached: dave %v, bob %v, carol %v", text, dave.texts(), bob.texts(), carol.texts())
			}
		}
	}
	everyone("back again")
	// The conversation everyone had left is left by Nelly too, not kept
	// open with her alone in it: one switchboard is open, the new one.
	deadline := time.Now().Add(wait)
	for n := h.srv.Switchboards(); n != 1; n = h.srv.Switchboards() {
		if time.Now().After(deadline) {
			t.Fatalf("%d switchboards open, want 1", n)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// After a restart Nelly's side of the conversation is gone: her next
	// message opens it with Dave too.
	h.restart()
	everyone("after the restart")
}
