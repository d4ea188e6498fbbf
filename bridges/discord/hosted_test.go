package discord_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/msnp/client"
)

// loginAs signs a Discord user in with a hosted account and returns the
// address the bridge gave them.
func (h *harness) loginAs(u discordtest.User) string {
	h.t.Helper()
	r := h.run(u, h.general, "msn login", nil)
	_, rest, ok := strings.Cut(r.Content, "Signed in to MSN as **")
	if !ok {
		h.t.Fatalf("login reply %+v", r)
	}
	email, _, _ := strings.Cut(rest, "**")
	return email
}

// signsIn reports whether an address still signs in with a password.
func (h *harness) signsIn(email, password string) bool {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cl, err := client.Dial(ctx, client.Config{Server: h.srv.NSAddr, Email: email, Password: password, Passport: client.PassportConfig{URL: h.srv.HTTPURL}})
	if err != nil {
		return false
	}
	cl.Close()
	return true
}

// Hosted accounts belong to whom they were made for, by Discord ID: a
// member named like a bridged room, a newcomer who took a username
// someone gave up, and an account the bridge did not make each stay
// someone else's — nobody is signed out, no password changes.
func TestHostedAccountsCannotBeTakenOver(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t)

	// #general is bridged as general@; MSN user Bob is in it.
	if r := h.run(h.admin, h.general, "msn bridge", nil); !strings.Contains(r.Content, "**general@"+domain+"**") {
		t.Fatalf("bridge reply %+v", r)
	}
	bob := h.peer("bob@example.com", "Bob")
	if err := bob.cl.AddContact(ctx, "general@"+domain); err != nil {
		t.Fatal(err)
	}
	bob.waitPresence("general@"+domain, client.Online)

	// A member whose username is "general" signs in: not as the room.
	general := h.dc.AddUser("general", "")
	h.dc.AddMember(h.guild, general.ID, 0)
	if got := h.loginAs(general); got != "general-2@"+domain {
		t.Fatalf("the member called general got %s", got)
	}
	// The room is still on MSN and still carries Bob's words.
	bob.say("general@"+domain, "still the room?", nil)
	h.waitMessage(h.general, func(m discordtest.Message) bool { return m.Author.Username == "Bob" && m.Content == "still the room?" })
	if c, _ := bob.cl.Contact("general@" + domain); c.Status != client.Online {
		t.Fatalf("the room's account is %s", c.Status)
	}

	// Nelly signs in, then gives her username up; someone else takes it.
	nellyMSN := h.loginAs(h.nelly)
	if nellyMSN != "nelly@"+domain {
		t.Fatalf("nelly got %s", nellyMSN)
	}
	if err := bob.cl.AddContact(ctx, nellyMSN); err != nil {
		t.Fatal(err)
	}
	bob.waitPresence(nellyMSN, client.Online)
	if err := h.dc.SetUsername(h.nelly.ID, "nelly_old"); err != nil {
		t.Fatal(err)
	}
	impostor := h.dc.AddUser("nelly", "Not Nelly")
	h.dc.AddMember(h.guild, impostor.ID, 0)
	if got := h.loginAs(impostor); got != "nelly-2@"+domain {
		t.Fatalf("the new nelly got %s", got)
	}
	// The first Nelly was not signed out; she keeps her address for good.
	time.Sleep(200 * time.Millisecond)
	if c, _ := bob.cl.Contact(nellyMSN); c.Status != client.Online {
		t.Fatalf("nelly@ is %s after the newcomer signed in", c.Status)
	}
	h.run(h.nelly, h.general, "msn logout", nil)
	if got := h.loginAs(h.nelly); got != nellyMSN {
		t.Fatalf("nelly signed in again as %s", got)
	}

	// An account the operator made is nobody's to take.
	h.srv.AddUser(t, "ann@"+domain, "ann-secret", "Ann")
	ann := h.dc.AddUser("ann", "")
	h.dc.AddMember(h.guild, ann.ID, 0)
	if got := h.loginAs(ann); got != "ann-2@"+domain {
		t.Fatalf("ann got %s", got)
	}
	if !h.signsIn("ann@"+domain, "ann-secret") {
		t.Fatal("the operator's account lost its password")
	}

	// A room asked for by a handle that is taken is refused, not numbered.
	other, _ := h.dc.AddChannel(h.guild, "other", discordtest.ChannelText, "")
	if r := h.run(h.admin, other, "msn bridge", map[string]any{"handle": "nelly"}); !strings.Contains(r.Content, "taken") {
		t.Fatalf("bridging as a taken handle: %+v", r)
	}

	// After a restart (the accounts are recorded) nothing changes hands.
	h.restart()
	h.run(h.nelly, h.general, "msn logout", nil)
	if got := h.loginAs(h.nelly); got != nellyMSN {
		t.Fatalf("after a restart nelly signed in as %s", got)
	}
	bob.waitPresence("general@"+domain, client.Online)
}
