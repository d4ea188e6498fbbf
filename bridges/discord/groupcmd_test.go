package discord_test

import (
	"strings"
	"testing"

	"github.com/nudge-im/nudge/msnp/client"
)

// /msn group starts a conversation with several contacts in a thread of
// its own; /msn invite in that thread invites one more; both say in one
// line what to do when it cannot be done.
func TestGroupAndInviteCommands(t *testing.T) {
	h := newHarness(t)
	h.login(h.nelly)
	ctx := ctxT(t)
	bob := h.peer("bob@example.com", "Bob")
	carol := h.peer("carol@example.com", "Carol")
	dave := h.peer("dave@example.com", "Dave")
	h.peer("erin@example.com", "Erin")
	for _, c := range []string{"bob@example.com", "carol@example.com", "dave@example.com"} {
		h.run(h.nelly, h.general, "msn add", map[string]any{"contact": c})
	}
	if err := h.dc.WaitFor(ctx, func() bool {
		r := h.run(h.nelly, h.general, "msn contacts", nil)
		return strings.Count(r.Content, "🟢 online — ") == 3
	}); err != nil {
		t.Fatalf("contacts: %+v", h.run(h.nelly, h.general, "msn contacts", nil))
	}

	if r := h.run(h.nelly, h.general, "msn group", map[string]any{"contacts": "bob@example.com, erin@example.com"}); !strings.Contains(r.Content, "erin@example.com is not one of your contacts") {
		t.Fatalf("group with a stranger: %+v", r)
	}
	r := h.run(h.nelly, h.general, "msn group", map[string]any{"contacts": "bob@example.com, carol@example.com"})
	if !strings.Contains(r.Content, "Your group conversation with Bob, Carol is in <#") {
		t.Fatalf("group: %+v", r)
	}
	th := r.Content[strings.Index(r.Content, "<#")+2 : strings.Index(r.Content, ">")]
	for _, p := range []*peer{bob, carol} {
		p.wait("the invitation", func(ev client.Event) bool { _, ok := ev.(*client.Invited); return ok })
	}
	h.post(th, h.nelly, "hello both")
	bob.waitText("hello both")
	carol.waitText("hello both")

	if r := h.run(h.nelly, h.general, "msn invite", map[string]any{"contact": "dave@example.com"}); !strings.Contains(r.Content, "in one of your group threads") {
		t.Fatalf("invite outside a thread: %+v", r)
	}
	if r := h.run(h.nelly, th, "msn invite", map[string]any{"contact": "erin@example.com"}); !strings.Contains(r.Content, "not one of your contacts") {
		t.Fatalf("invite a stranger: %+v", r)
	}
	if r := h.run(h.nelly, th, "msn invite", map[string]any{"contact": "dave@example.com"}); !strings.Contains(r.Content, "Invited Dave") {
		t.Fatalf("invite: %+v", r)
	}
	dave.wait("the invitation", func(ev client.Event) bool { _, ok := ev.(*client.Invited); return ok })
	h.post(th, h.nelly, "hi dave")
	dave.waitText("hi dave")

	// Dave goes offline: inviting him says so.
	dave.cl.Close()
	if err := h.dc.WaitFor(ctx, func() bool {
		r := h.run(h.nelly, th, "msn invite", map[string]any{"contact": "dave@example.com"})
		return strings.Contains(r.Content, "dave@example.com is offline")
	}); err != nil {
		t.Fatal("invite offline: never said offline")
	}
}
