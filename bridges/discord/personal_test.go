package discord_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/bridges/discord"
	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// A Discord user signs in with an account the bridge makes for them; an
// MSN user talks to them; the conversation is a thread both ways, with
// formatting, typing and nudges.
func TestHostedLoginAndDirectThread(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain

	// The account is on the service, named after the Discord user.
	acct, err := adminapi.New(h.srv.HTTPURL, h.srv.Server.AdminToken).Account(ctxT(t), nellyMSN)
	if err != nil || acct.FriendlyName != "Nelly" {
		t.Fatalf("hosted account %+v %v", acct, err)
	}
	// The private channel is under the MSN category, hidden from everyone
	// but Nelly and the bot.
	c, _ := h.dc.Channel(ch)
	cat, _ := h.dc.Channel(*c.ParentID)
	if cat.Name != "MSN" || cat.Type != discordtest.ChannelCategory {
		t.Fatalf("category %+v", cat)
	}
	var hidden, nellyCan bool
	for _, o := range c.PermissionOverwrites {
		if o.ID == h.guild && o.Deny == "1024" {
			hidden = true
		}
		if o.ID == h.nelly.ID && o.Type == 1 {
			nellyCan = true
		}
	}
	if !hidden || !nellyCan {
		t.Fatalf("overwrites %+v", c.PermissionOverwrites)
	}
	if len(h.dc.Webhooks(ch)) != 1 {
		t.Fatalf("webhooks %+v", h.dc.Webhooks(ch))
	}

	// MSN → Discord: Bob writes in bold; the thread is named after him,
	// he speaks through the webhook with his name.
	bob := h.peer("bob@example.com", "Bob")
	bob.say(nellyMSN, "hi *there*", &message.Format{Bold: true, Font: "Comic Sans MS"})
	th := h.thread(ch, "Bob (bob@example.com)")
	m := h.waitContent(th, `**hi \*there\***`)
	if m.Author.Username != "Bob" || m.WebhookID == "" {
		t.Fatalf("webhook message %+v", m)
	}
	if members := h.dc.ThreadMembers(th); !contains(members, h.nelly.ID) {
		t.Fatalf("Nelly is not in her thread: %v", members)
	}

	// Discord → MSN: whole-message formatting becomes X-MMS-IM-Format,
	// partial formatting stays readable, mentions and emoji get names.
	h.post(th, h.nelly, "**all bold**")
	got := bob.waitText("all bold")
	if !got.Format.Bold || got.From != nellyMSN {
		t.Fatalf("bob got %+v", got)
	}
	h.post(th, h.nelly, "some *words* for <@"+h.admin.ID+"> <:blob:123456> :) (Y)")
	bob.waitText("some _words_ for @Admin Ann :blob: :) (Y)")

	// Typing both ways.
	ctx := ctxT(t)
	cv, _ := bob.cl.Conversation(ctx, nellyMSN)
	if err := cv.SendTyping(ctx); err != nil {
		t.Fatal(err)
	}
	h.dc.WaitFor(ctx, func() bool {
		for _, c := range h.dc.Calls() {
			if c.Route == "POST /channels/{channel_id}/typing" && strings.Contains(c.Path, th) {
				return true
			}
		}
		return false
	})
	if err := h.dc.Typing(th, h.nelly.ID); err != nil {
		t.Fatal(err)
	}
	bob.wait("Nelly typing", func(ev client.Event) bool {
		ty, ok := ev.(*client.Typing)
		return ok && ty.From == nellyMSN
	})

	// Nudges both ways: Bob's shows in the thread, /msn nudge reaches Bob.
	if err := cv.SendNudge(ctx); err != nil {
		t.Fatal(err)
	}
	h.waitMessage(th, func(m discordtest.Message) bool {
		return m.Author.Username == "Bob" && strings.Contains(m.Content, "Bob sent a nudge!")
	})
	r := h.run(h.nelly, th, "msn nudge", nil)
	if !strings.HasPrefix(r.Content, "Nudged Bob") {
		t.Fatalf("nudge reply %+v", r)
	}
	bob.wait("a nudge", func(ev client.Event) bool { n, ok := ev.(*client.Nudge); return ok && n.From == nellyMSN })
	h.waitContent(th, "📳 You sent a nudge.")

	// Echoes: nothing the bridge posted came back to Bob.
	for _, text := range bob.texts() {
		if strings.Contains(text, "hi") || strings.Contains(text, "nudge") {
			t.Fatalf("bob got an echo: %q", text)
		}
	}
}

// Signing in with one's own MSN account goes through a private modal;
// a wrong password is refused with a clear message.
func TestOwnAccountLogin(t *testing.T) {
	h := newHarness(t)
	h.srv.AddUser(t, "carol@example.com", "carolpw", "Carol")

	r := h.run(h.nelly, h.general, "msn login", map[string]any{"account": "own"})
	if r.Modal == nil || r.Type != discordtest.CallbackModal {
		t.Fatalf("no modal: %+v", r)
	}
	var pwField *discordtest.ModalField
	for i, f := range r.Modal.Fields {
		if f.CustomID == "password" {
			pwField = &r.Modal.Fields[i]
		}
	}
	if pwField == nil || !pwField.Required {
		t.Fatalf("modal fields %+v", r.Modal.Fields)
	}
	ix, _ := h.dc.Run(h.guild, h.general, h.nelly.ID, "msn login", map[string]any{"account": "own"})
	h.dc.Reply(ctxT(t), ix)
	sub, err := h.dc.SubmitModal(ix, map[string]string{"email": "carol@example.com", "password": "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := h.dc.Reply(ctxT(t), sub)
	if err != nil || !strings.Contains(bad.Content, "refused the address or the password") || !bad.Ephemeral {
		t.Fatalf("wrong password reply %+v %v", bad, err)
	}
	sub, _ = h.dc.SubmitModal(ix, map[string]string{"email": "Carol@Example.com", "password": "carolpw"})
	ok, err := h.dc.Reply(ctxT(t), sub)
	if err != nil || !strings.Contains(ok.Content, "Signed in to MSN as **carol@example.com**") {
		t.Fatalf("login reply %+v %v", ok, err)
	}
	// The password is never shown anywhere on Discord.
	for _, c := range h.dc.Channels(h.guild) {
		for _, m := range h.dc.Messages(c.ID) {
			if strings.Contains(m.Content, "carolpw") {
				t.Fatalf("password in %s: %q", c.Name, m.Content)
			}
		}
	}
	bob := h.peer("bob@example.com", "Bob")
	bob.say("carol@example.com", "hello carol", nil)
	th := h.thread(h.channelNamed("msn-nelly"), "Bob (bob@example.com)")
	h.waitContent(th, "hello carol")
}

// A missing Message Content Intent, or a wrong token, stops the bridge
// with a line that says what to do.
func TestStartErrors(t *testing.T) {
	srv := coretest.Start(t)
	for _, tc := range []struct {
		opts  []discordtest.Option
		token string
		want  string
	}{
		{[]discordtest.Option{discordtest.WithoutMessageContentIntent()}, "", "Message Content Intent"},
		{nil, "wrong", "refused the bot token"},
	} {
		dc := discordtest.New(tc.opts...)
		defer dc.Close()
		tok := dc.Token
		if tc.token != "" {
			tok = tc.token
		}
		b, err := discord.New(ctxT(t), discord.Config{
			Token: tok, HTTPClient: dc.Client(), Database: filepath.Join(t.TempDir(), "d.db"),
			MSN: discord.MSNConfig{Server: srv.NSAddr}, OwnAccounts: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		err = b.Start(ctxT(t))
		b.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("start error %v, want one line with %q", err, tc.want)
		}
	}
}

// What MSN can do and Discord cannot is said in the thread.
func TestUnsupportedMSNThings(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	bob := h.peer("bob@example.com", "Bob")
	ctx := ctxT(t)
	cv, err := bob.cl.Conversation(ctx, "nelly@"+domain)
	if err != nil {
		t.Fatal(err)
	}
	if err := cv.SendRaw(ctx, message.NewDatacast(message.DatacastWink).Bytes()); err != nil {
		t.Fatal(err)
	}
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, "Bob sent a wink, which the bridge cannot show.")
	inv := message.NewInvite(message.Fields{{Name: "Application-Name", Value: "File Transfer"}, {Name: "Invitation-Command", Value: "INVITE"},
		{Name: "Invitation-Cookie", Value: "7"}, {Name: "Application-File", Value: "notes.txt"}, {Name: "Application-FileSize", Value: "2048"}})
	if err := cv.SendRaw(ctx, inv.Bytes()); err != nil {
		t.Fatal(err)
	}
	h.waitContent(th, "Bob wants to send you a file, notes.txt (2 KB), which the bridge cannot carry yet: ask for a link instead.")
}

// Discord allows 50 channels in a category: the next private channel goes
// in "MSN 2".
func TestFullCategory(t *testing.T) {
	h := newHarness(t)
	cat, err := h.dc.AddChannel(h.guild, "MSN", discordtest.ChannelCategory, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := h.dc.AddChannel(h.guild, "filler "+string(rune('a'+i%26))+string(rune('a'+i/26)), discordtest.ChannelText, cat); err != nil {
			t.Fatal(err)
		}
	}
	ch := h.login(h.nelly)
	c, _ := h.dc.Channel(ch)
	parent, _ := h.dc.Channel(*c.ParentID)
	if parent.Name != "MSN 2" {
		t.Fatalf("the channel is in %q", parent.Name)
	}
}
