package discord_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/bridges/discord"
	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/core/coretest/pgtest"
	"github.com/nudge-im/nudge/msnp/client"
)

// restartNoLoss runs a conversation across a restart of the bridge:
// what Nelly writes while the bridge is down reaches Bob after it comes
// back, once each and in order, in the same thread; nothing before the
// restart is sent again.
func restartNoLoss(t *testing.T, h *harness) {
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	if err := bob.cl.AddContact(ctxT(t), nellyMSN); err != nil {
		t.Fatal(err)
	}
	bob.say(nellyMSN, "before", nil)
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, "before")
	h.post(th, h.nelly, "one")
	bob.waitText("one")

	h.b.Close()
	h.post(th, h.nelly, "two (while the bridge was down)")
	h.post(th, h.nelly, "three (while the bridge was down)")
	h.start()

	bob.waitText("two (while the bridge was down)")
	bob.waitText("three (while the bridge was down)")
	texts := bob.texts()
	want := []string{"one", "two (while the bridge was down)", "three (while the bridge was down)"}
	if fmt.Sprint(texts) != fmt.Sprint(want) {
		t.Fatalf("bob got %q, want %q", texts, want)
	}

	// The conversation goes on in the same thread, both ways.
	bob.waitPresence(nellyMSN, client.Online)
	bob.say(nellyMSN, "after", nil)
	h.waitContent(th, "after")
	if n := len(h.dc.Threads(ch)); n != 1 {
		t.Fatalf("%d threads after the restart", n)
	}
	h.post(th, h.nelly, "four")
	bob.waitText("four")

	// A second restart with nothing new sends nothing.
	h.restart()
	h.post(th, h.nelly, "five")
	bob.waitText("five")
	if got := bob.texts(); len(got) != 5 {
		t.Fatalf("bob got %q", got)
	}
	for _, text := range []string{"before", "after"} {
		if n := len(messagesWith(h.dc.Messages(th), text)); n != 1 {
			t.Fatalf("%q is %d times in the thread", text, n)
		}
	}
}

func messagesWith(ms []discordtest.Message, content string) []discordtest.Message {
	var out []discordtest.Message
	for _, m := range ms {
		if m.Content == content {
			out = append(out, m)
		}
	}
	return out
}

func TestRestartLosesAndRepeatsNothing(t *testing.T) {
	restartNoLoss(t, newHarness(t))
}

func TestRestartOnPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL in -short mode")
	}
	dsn := pgtest.Start(t)
	restartNoLoss(t, newHarness(t, func(c *discord.Config) { c.Database = dsn }))
}

// The gateway connection drops; discordgo resumes the session and the
// emulator replays what was dispatched meanwhile: nothing is lost or
// doubled.
func TestGatewayResume(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	bob.say(nellyMSN, "hi", nil)
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, "hi")

	h.dc.DropConnections()
	h.post(th, h.nelly, "during the drop")
	if err := h.dc.WaitFor(ctxT(t), func() bool { return h.dc.Resumes() >= 1 }); err != nil {
		t.Fatal("the bridge did not resume")
	}
	h.post(th, h.nelly, "after the drop")
	bob.waitText("during the drop")
	bob.waitText("after the drop")
	if got := bob.texts(); fmt.Sprint(got) != "[during the drop after the drop]" {
		t.Fatalf("bob got %q", got)
	}
	if n := len(h.dc.Identifies()); n != 1 {
		t.Fatalf("%d IDENTIFYs: the session was not resumed", n)
	}
	// MSN → Discord never depended on the gateway.
	bob.say(nellyMSN, "still here", nil)
	h.waitContent(th, "still here")
}

// The gateway session cannot be resumed (the bot was away too long):
// the bridge identifies anew and fetches the missed messages itself.
func TestGatewayNewSessionCatchesUp(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	bob.say(nellyMSN, "hi", nil)
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, "hi")
	h.post(th, h.nelly, "before the outage")
	bob.waitText("before the outage")

	h.dc.RefuseConnections(true)
	h.dc.InvalidateSessions()
	h.dc.DropConnections()
	h.post(th, h.nelly, "gap one")
	h.post(th, h.nelly, "gap two")
	h.dc.RefuseConnections(false)

	bob.waitText("gap one")
	bob.waitText("gap two")
	if got := bob.texts(); fmt.Sprint(got) != "[before the outage gap one gap two]" {
		t.Fatalf("bob got %q", got)
	}
	if n := len(h.dc.Identifies()); n != 2 {
		t.Fatalf("%d IDENTIFYs, want a new session", n)
	}
	h.post(th, h.nelly, "live again")
	bob.waitText("live again")
}

// The MSN server restarts: the bridged accounts sign in again and the
// conversation goes on.
func TestMSNServerRestart(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	bob.say(nellyMSN, "hi", nil)
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, "hi")

	if err := bob.cl.AddContact(ctxT(t), nellyMSN); err != nil {
		t.Fatal(err)
	}
	h.srv.Restart(t)
	h.waitMessage(ch, func(m discordtest.Message) bool { return strings.Contains(m.Content, "Lost the connection") })
	h.waitMessage(ch, func(m discordtest.Message) bool { return m.Content == "Back on MSN." })
	bob.wait("reconnected", func(ev client.Event) bool { _, ok := ev.(*client.Reconnected); return ok })
	bob.waitPresence(nellyMSN, client.Online)
	bob.say(nellyMSN, "after the restart", nil)
	h.waitContent(th, "after the restart")
	h.post(th, h.nelly, "and back")
	bob.waitText("and back")
}

// Messages keep their order both ways, also when Discord's rate limits
// make the bridge wait.
func TestOrderingUnderRateLimits(t *testing.T) {
	h := newHarness(t)
	h.dc.SetRateLimit("POST /webhooks/{webhook_id}/{token}", 3, 200*time.Millisecond)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	ctx := ctxT(t)
	cv, err := bob.cl.Conversation(ctx, nellyMSN)
	if err != nil {
		t.Fatal(err)
	}
	const n = 15
	for i := range n {
		if err := cv.Send(ctx, fmt.Sprintf("msn %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, fmt.Sprintf("msn %02d", n-1))
	var got []string
	for _, m := range h.dc.Messages(th) {
		if m.Type == 0 { // not Discord's "added to the thread"
			got = append(got, m.Content)
		}
	}
	for i := range n {
		if got[i] != fmt.Sprintf("msn %02d", i) {
			t.Fatalf("Discord order %q", got)
		}
	}
	if h.dc.RateLimited() != 0 {
		t.Logf("%d requests were answered 429 and retried", h.dc.RateLimited())
	}

	for i := range n {
		h.post(th, h.nelly, fmt.Sprintf("discord %02d", i))
	}
	bob.waitText(fmt.Sprintf("discord %02d", n-1))
	texts := bob.texts()
	for i := range n {
		if texts[i] != fmt.Sprintf("discord %02d", i) {
			t.Fatalf("MSN order %q", texts)
		}
	}
}
