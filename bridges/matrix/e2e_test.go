//go:build goolm

package matrix_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/nudge-im/nudge/bridges/matrix/matrixtest"
	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

const aliceMSN = "alice@nudge.test"

// eventually polls cond until it holds, for state that has no event to
// wait for (a profile, a presence read back from the homeserver).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(matrixtest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so within %s", what, matrixtest.Timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func joined(room id.RoomID, user id.UserID) func(*event.Event) bool {
	return membership(room, user, event.MembershipJoin)
}

func membership(room id.RoomID, user id.UserID, m event.Membership) func(*event.Event) bool {
	return func(e *event.Event) bool {
		if e.Type != event.StateMember || e.GetStateKey() != string(user) || (room != "" && e.RoomID != room) {
			return false
		}
		_ = e.Content.ParseRaw(e.Type)
		return e.Content.AsMember().Membership == m
	}
}

func nudged(from string) func(client.Event) bool {
	return func(e client.Event) bool {
		n, ok := e.(*client.Nudge)
		return ok && strings.EqualFold(n.From, from)
	}
}

// A 1×1 PNG.
var tinyPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// TestEndToEnd walks through what a Matrix user does with the bridge, with
// real MSN users on the other side: a hosted login, chatting both ways with
// formatting, typing, nudges and the text fallbacks, a delivery failure,
// the contact commands, presence both ways, a group conversation with three
// MSN users, relay mode, and a restart of each component with nothing lost
// or repeated.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	alice := e.hs.NewUser(t, "alice")
	if err := alice.SetDisplayName(ctx, "Alice Liddell"); err != nil {
		t.Fatal(err)
	}
	setPresence := func(p event.Presence) {
		t.Helper()
		if err := alice.SetPresence(ctx, mautrix.ReqPresence{Presence: p}); err != nil {
			t.Fatal(err)
		}
	}
	setPresence(event.PresenceOnline)

	// Logging in: a DM with the bridge bot is the management room.
	mgmt := alice.DirectChat(t, bot)
	alice.WaitEvent(t, "the bot joining", joined(mgmt, bot))
	say := func(room id.RoomID, command, reply string) *event.Event {
		t.Helper()
		mark := alice.Mark()
		alice.Send(t, room, command)
		return alice.WaitSince(t, mark, "the reply to "+command, botSays(room, reply))
	}
	say(mgmt, "login hosted", "Signed in to your hosted MSN account, "+aliceMSN)
	acct, err := adminapi.New(e.srv.HTTPURL, e.srv.Server.AdminToken).Account(ctx, aliceMSN)
	if err != nil {
		t.Fatalf("the hosted account: %v", err)
	}
	if acct.FriendlyName != "Alice Liddell" {
		t.Errorf("hosted account's friendly name = %q, want her Matrix display name", acct.FriendlyName)
	}

	// An MSN user adds her; she accepts from Matrix, and he sees her
	// Matrix presence as her MSN status.
	e.srv.AddUser(t, "bob@example.com", "bob-secret", "Bob")
	bob := dialMSN(t, e.srv, "bob@example.com", "bob-secret")
	if err := bob.AddContact(ctx, aliceMSN); err != nil {
		t.Fatal(err)
	}
	alice.WaitEvent(t, "the contact request", botSays(mgmt, "(bob@example.com) added you"))
	say(mgmt, "accept bob@example.com", "Added bob@example.com back")
	mark := bob.mark()
	setPresence(event.PresenceUnavailable)
	bob.waitSince(t, mark, "alice idle", presence(aliceMSN, client.Idle))
	mark = bob.mark()
	setPresence(event.PresenceOnline)
	bob.waitSince(t, mark, "alice online", presence(aliceMSN, client.Online))

	// MSN → Matrix, with its formatting; emoticon codes stay text.
	conv, err := bob.Conversation(ctx, aliceMSN)
	if err != nil {
		t.Fatal(err)
	}
	red := &message.Format{Font: "Comic Sans MS", Bold: true, Color: message.Color{R: 0xff}}
	if err := conv.SendText(ctx, "Hello Alice :) (Y)", red); err != nil {
		t.Fatal(err)
	}
	first := alice.WaitEvent(t, "bob's first message", matrixtest.Message("", ghost("bob@example.com"), "Hello Alice :) (Y)"))
	dm := first.RoomID
	if c := first.Content.AsMessage(); !strings.Contains(c.FormattedBody, "<b>") || !strings.Contains(c.FormattedBody, "#ff0000") {
		t.Errorf("formatted body %q lacks bold and red", c.FormattedBody)
	}
	eventually(t, "bob's ghost named after his friendly name", func() bool {
		p, err := alice.GetProfile(ctx, ghost("bob@example.com"))
		return err == nil && p.DisplayName == "Bob (MSN)"
	})
	eventually(t, "bob's ghost online", func() bool {
		p, err := alice.GetPresence(ctx, ghost("bob@example.com"))
		return err == nil && p.Presence == event.PresenceOnline
	})

	// Matrix → MSN, with formatting.
	alice.SendContent(t, dm, &event.MessageEventContent{MsgType: event.MsgText, Body: "hi bob",
		Format: event.FormatHTML, FormattedBody: "<b><i>hi bob</i></b>"})
	got := bob.wait(t, "alice's formatted reply", text(aliceMSN, "hi bob")).(*client.Message)
	if got.Text != "hi bob" || !got.Format.Bold || !got.Format.Italic {
		t.Errorf("bob got %q with %+v, want \"hi bob\" bold and italic", got.Text, got.Format)
	}
	// A reply quotes what it answers.
	alice.SendContent(t, dm, &event.MessageEventContent{MsgType: event.MsgText, Body: "thumbs up to you",
		RelatesTo: (&event.RelatesTo{}).SetReplyTo(first.ID)})
	if m := bob.wait(t, "a reply", text(aliceMSN, "thumbs up to you")).(*client.Message); !strings.HasPrefix(m.Text, "> Hello Alice") {
		t.Errorf("reply reads %q, want it to quote bob's message", m.Text)
	}

	// Typing and nudges, both ways (Matrix typing never reaches an
	// appservice on Dendrite: the unit tests cover that direction).
	mark = alice.Mark()
	if err := conv.SendTyping(ctx); err != nil {
		t.Fatal(err)
	}
	alice.WaitSince(t, mark, "bob typing", func(e *event.Event) bool {
		if e.Type != event.EphemeralEventTyping || e.RoomID != dm {
			return false
		}
		_ = e.Content.ParseRaw(e.Type)
		for _, u := range e.Content.AsTyping().UserIDs {
			if u == ghost("bob@example.com") {
				return true
			}
		}
		return false
	})
	if err := conv.SendNudge(ctx); err != nil {
		t.Fatal(err)
	}
	n := alice.WaitEvent(t, "the nudge notice", matrixtest.Message(dm, ghost("bob@example.com"), "Bob sent a nudge!"))
	if n.Content.AsMessage().MsgType != event.MsgNotice {
		t.Errorf("nudge arrived as %s, want a notice", n.Content.AsMessage().MsgType)
	}
	alice.Send(t, dm, "!nudge")
	bob.wait(t, "alice's nudge", nudged(aliceMSN))

	// A picture is offered as a file.
	up, err := alice.UploadBytes(ctx, tinyPNG, "image/png")
	if err != nil {
		t.Fatal(err)
	}
	alice.SendContent(t, dm, &event.MessageEventContent{MsgType: event.MsgImage, Body: "cat.png", FileName: "cat.png",
		URL: up.ContentURI.CUString(), Info: &event.FileInfo{MimeType: "image/png", Size: len(tinyPNG)}})
	cat := bob.wait(t, "the image as a file", func(ev client.Event) bool {
		o, ok := ev.(*client.FileOffer)
		return ok && o.Transfer.Name == "cat.png" && o.Transfer.Size == int64(len(tinyPNG))
	}).(*client.FileOffer).Transfer
	var catData bytes.Buffer
	cat.Accept(&catData)
	if err := cat.Wait(ctx); err != nil || !bytes.Equal(catData.Bytes(), tinyPNG) {
		t.Fatalf("the picture on MSN: %v (%d bytes)", err, catData.Len())
	}
	noon := alice.Send(t, dm, "see you at noon")
	bob.wait(t, "the message to edit", text(aliceMSN, "see you at noon"))
	alice.SendContent(t, dm, &event.MessageEventContent{MsgType: event.MsgText, Body: "* see you at one",
		NewContent: &event.MessageEventContent{MsgType: event.MsgText, Body: "see you at one"},
		RelatesTo:  &event.RelatesTo{Type: event.RelReplace, EventID: noon}})
	bob.wait(t, "the edit", text(aliceMSN, "(edited) see you at one"))
	if _, err := alice.SendReaction(ctx, dm, noon, "👍"); err != nil {
		t.Fatal(err)
	}
	bob.wait(t, "the reaction", text(aliceMSN, "(reacted 👍 to “see you at"))
	// Deleting (redacting) is not tested here: Dendrite v0.13.8 does not
	// pass redactions to appservices (element-hq/dendrite#3445); the unit
	// tests cover HandleMatrixMessageRemove.

	// A message to a contact who is offline is left for them (MSNP15:
	// an OIM); carol (MSNP12) gets it as a conversation when she signs in.
	e.srv.AddUser(t, "carol@example.com", "carol-secret", "Carol")
	mark = alice.Mark()
	alice.Send(t, mgmt, "start-chat carol@example.com")
	carolDM := alice.WaitSince(t, mark, "the DM with carol", joined("", ghost("carol@example.com"))).RoomID
	alice.WaitSince(t, mark, "alice in the DM with carol", joined(carolDM, alice.UserID))
	alice.Send(t, carolDM, "are you there?")
	eventually(t, "the message kept for carol", func() bool {
		kept, err := e.srv.Store.OfflineMessages(ctx, "carol@example.com")
		return err == nil && len(kept) == 1
	})

	// Contact list commands.
	e.srv.AddUser(t, "dave@example.com", "dave-secret", "Dave")
	dave := dialMSN(t, e.srv, "dave@example.com", "dave-secret")
	carol := dialMSN(t, e.srv, "carol@example.com", "carol-secret")
	carol.wait(t, "alice's offline message", text(aliceMSN, "\r\nare you there?"))
	say(mgmt, "contacts", "**bob@example.com** (Bob) — online")
	say(mgmt, "add-contact dave@example.com", "Added dave@example.com to your contact list")
	dave.wait(t, "alice adding dave", func(e client.Event) bool {
		a, ok := e.(*client.ContactAdded)
		return ok && a.Email == aliceMSN
	})
	say(mgmt, "block dave@example.com", "Blocked dave@example.com")
	say(mgmt, "contacts", "dave@example.com** (Dave) — online, blocked")
	say(mgmt, "unblock dave@example.com", "Unblocked dave@example.com")
	say(mgmt, "remove-contact dave@example.com", "Took dave@example.com off your contact list")
	mark = bob.mark()
	say(mgmt, "status busy", "Your MSN status is now busy")
	bob.waitSince(t, mark, "alice busy", presence(aliceMSN, client.Busy))
	mark = bob.mark()
	say(mgmt, "psm Down the rabbit hole", "Your personal message is now")
	bob.waitSince(t, mark, "alice's personal message", func(e client.Event) bool {
		p, ok := e.(*client.Presence)
		return ok && p.Email == aliceMSN && p.PersonalMessage == "Down the rabbit hole"
	})
	mark = bob.mark()
	say(mgmt, "status auto", "follows your Matrix presence again")
	bob.waitSince(t, mark, "alice online again", presence(aliceMSN, client.Online))

	// A group conversation with three MSN users: bob brings carol into
	// his chat with alice, which becomes a group room; alice invites dave
	// from Matrix; carol leaves; then alice leaves.
	mark = alice.Mark()
	if err := conv.Invite(ctx, "carol@example.com"); err != nil {
		t.Fatal(err)
	}
	group := alice.WaitSince(t, mark, "the group room", func(e *event.Event) bool {
		return joined("", ghost("carol@example.com"))(e) && e.RoomID != carolDM
	}).RoomID
	alice.WaitSince(t, mark, "bob in the group room", joined(group, ghost("bob@example.com")))
	alice.WaitSince(t, mark, "alice in the group room", joined(group, alice.UserID))
	if err := conv.Send(ctx, "hello everyone"); err != nil {
		t.Fatal(err)
	}
	alice.WaitEvent(t, "bob in the group", matrixtest.Message(group, ghost("bob@example.com"), "hello everyone"))
	carolConv := carol.wait(t, "carol invited", func(e client.Event) bool {
		i, ok := e.(*client.Invited)
		return ok && i.From == "bob@example.com"
	}).(*client.Invited).Conversation
	if err := carolConv.Send(ctx, "hi all"); err != nil {
		t.Fatal(err)
	}
	alice.WaitEvent(t, "carol in the group", matrixtest.Message(group, ghost("carol@example.com"), "hi all"))
	alice.Send(t, group, "hello from Matrix")
	bob.wait(t, "alice in the group, at bob", text(aliceMSN, "hello from Matrix"))
	carol.wait(t, "alice in the group, at carol", text(aliceMSN, "hello from Matrix"))
	if _, err := alice.InviteUser(ctx, group, &mautrix.ReqInviteUser{UserID: ghost("dave@example.com")}); err != nil {
		t.Fatal(err)
	}
	bob.wait(t, "dave joining", func(e client.Event) bool {
		j, ok := e.(*client.Joined)
		return ok && j.Email == "dave@example.com"
	})
	alice.WaitEvent(t, "dave's ghost in the group", joined(group, ghost("dave@example.com")))
	alice.Send(t, group, "welcome dave")
	dave.wait(t, "alice in the group, at dave", text(aliceMSN, "welcome dave"))
	if err := carolConv.Close(); err != nil {
		t.Fatal(err)
	}
	alice.WaitEvent(t, "carol leaving the group", membership(group, ghost("carol@example.com"), event.MembershipLeave))
	if _, err := alice.LeaveRoom(ctx, group); err != nil {
		t.Fatal(err)
	}
	bob.wait(t, "alice leaving the group", func(e client.Event) bool {
		l, ok := e.(*client.Left)
		return ok && l.Email == aliceMSN
	})

	// Relay mode: a Matrix user without an MSN login talks through alice.
	frank := e.hs.NewUser(t, "frank")
	say(dm, "!msn set-relay", "Messages sent by users who haven't logged in will now be relayed")
	if _, err := alice.InviteUser(ctx, dm, &mautrix.ReqInviteUser{UserID: frank.UserID}); err != nil {
		t.Fatal(err)
	}
	frank.WaitEvent(t, "frank in the DM", joined(dm, frank.UserID))
	frank.Send(t, dm, "hello from frank")
	if m := bob.wait(t, "frank's relayed message", text(aliceMSN, "hello from frank")).(*client.Message); !strings.Contains(m.Text, "frank") {
		t.Errorf("relayed message %q does not name frank", m.Text)
	}

	// Restarts. Each ends with a round trip both ways, then checks that
	// nothing before it arrived twice: messages in one conversation keep
	// their order, so a duplicate would have come before the round trip.
	roundTrip := func(label string) {
		t.Helper()
		cv, err := bob.Conversation(ctx, aliceMSN)
		if err != nil {
			t.Fatalf("%s: bob opening a conversation: %v", label, err)
		}
		if err := cv.Send(ctx, "bob after "+label); err != nil {
			t.Fatalf("%s: bob sending: %v", label, err)
		}
		alice.WaitEvent(t, "bob's message after "+label, matrixtest.Message(dm, ghost("bob@example.com"), "bob after "+label))
		alice.Send(t, dm, "alice after "+label)
		bob.wait(t, "alice's message after "+label, text(aliceMSN, "alice after "+label))
	}

	// The bridge: alice writes while it is down; the homeserver keeps the
	// event for the appservice and the bridge sends it once it is back.
	mark = bob.mark()
	e.bridge.stop()
	bob.waitSince(t, mark, "alice signed out with the bridge", presence(aliceMSN, client.Offline))
	alice.Send(t, dm, "sent while the bridge was down")
	e.bridge.start(t)
	bob.wait(t, "the message sent while the bridge was down", text(aliceMSN, "sent while the bridge was down"))
	roundTrip("the bridge restart")
	checkOnce(t, alice, bob, dm)

	// The MSN server: both sides sign in again by themselves, and the
	// bridge state tells alice.
	mark = alice.Mark()
	bobMark := bob.mark()
	e.srv.Restart(t)
	alice.WaitSince(t, mark, "the transient disconnect notice", botSays(mgmt, "TRANSIENT_DISCONNECT"))
	alice.WaitSince(t, mark, "the connected notice", botSays(mgmt, "CONNECTED"))
	bob.waitSince(t, bobMark, "bob signed in again", func(e client.Event) bool { _, ok := e.(*client.Reconnected); return ok })
	roundTrip("the MSN server restart")
	checkOnce(t, alice, bob, dm)

	// The homeserver: bob writes while it is down; the bridge retries.
	e.hs.Stop()
	if conv, err = bob.Conversation(ctx, aliceMSN); err != nil {
		t.Fatal(err)
	}
	if err := conv.Send(ctx, "while the homeserver was down"); err != nil {
		t.Fatal(err)
	}
	e.hs.Restart(t)
	alice.WaitEvent(t, "bob's message from while the homeserver was down",
		matrixtest.Message(dm, ghost("bob@example.com"), "while the homeserver was down"))
	roundTrip("the homeserver restart")
	checkOnce(t, alice, bob, dm)

	// The bridge state is visible through the provisioning API too.
	var who struct {
		Logins []struct {
			ID    string `json:"id"`
			State struct {
				StateEvent string `json:"state_event"`
			} `json:"state"`
		} `json:"logins"`
	}
	if code := e.bridge.provision(t, http.MethodGet, "whoami", alice.UserID, nil, &who); code != http.StatusOK {
		t.Fatalf("whoami: HTTP %d", code)
	}
	if len(who.Logins) != 1 || who.Logins[0].ID != aliceMSN || who.Logins[0].State.StateEvent != "CONNECTED" {
		t.Errorf("whoami logins = %+v, want %s CONNECTED", who.Logins, aliceMSN)
	}
}

// checkOnce fails the test if any message crossed more than once.
func checkOnce(t *testing.T, alice *matrixtest.User, bob *msnUser, dm id.RoomID) {
	t.Helper()
	seen := map[string]int{}
	for _, e := range alice.Events(matrixtest.Message(dm, "", "")) {
		if e.Sender == ghost("bob@example.com") {
			seen["alice:"+matrixtest.Body(e)]++
		}
	}
	bob.mu.Lock()
	for _, ev := range bob.events {
		if m, ok := ev.(*client.Message); ok {
			seen["bob:"+m.Text]++
		}
	}
	bob.mu.Unlock()
	for text, n := range seen {
		if n != 1 {
			t.Errorf("%q arrived %d times", text, n)
		}
	}
}

// TestPasswordLogin logs in to an existing MSN account through the
// provisioning API: a wrong password is refused with a clear error, the
// right one signs in, and messages flow.
func TestPasswordLogin(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	e.srv.AddUser(t, "erin@example.com", "erin-secret", "Erin")
	erin := e.hs.NewUser(t, "erin")

	type step struct {
		LoginID   string `json:"login_id"`
		Type      string `json:"type"`
		StepID    string `json:"step_id"`
		Error     string `json:"error"`
		UserInput struct {
			Fields []struct {
				ID string `json:"id"`
			} `json:"fields"`
		} `json:"user_input"`
	}
	login := func(password string) (int, step) {
		var start step
		if code := e.bridge.provision(t, http.MethodPost, "login/start/password", erin.UserID, nil, &start); code != http.StatusOK {
			t.Fatalf("login/start: HTTP %d (%+v)", code, start)
		}
		if start.Type != "user_input" || len(start.UserInput.Fields) != 2 {
			t.Fatalf("first step = %+v, want user_input with email and password", start)
		}
		var next step
		code := e.bridge.provision(t, http.MethodPost, "login/step/"+start.LoginID+"/"+start.StepID+"/user_input", erin.UserID,
			map[string]string{"email": "erin@example.com", "password": password}, &next)
		return code, next
	}
	if code, resp := login("wrong"); code == http.StatusOK || !strings.Contains(resp.Error, "MSN refused the address or the password") {
		t.Errorf("wrong password: HTTP %d %+v, want a refusal", code, resp)
	}
	if code, resp := login("erin-secret"); code != http.StatusOK || resp.Type != "complete" {
		t.Fatalf("right password: HTTP %d %+v, want complete", code, resp)
	}

	e.srv.AddUser(t, "bob@example.com", "bob-secret", "Bob")
	bob := dialMSN(t, e.srv, "bob@example.com", "bob-secret")
	conv, err := bob.Conversation(ctx, "erin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := conv.Send(ctx, "hello erin"); err != nil {
		t.Fatal(err)
	}
	dm := erin.WaitEvent(t, "bob's message", matrixtest.Message("", ghost("bob@example.com"), "hello erin")).RoomID
	erin.Send(t, dm, "hello bob")
	bob.wait(t, "erin's reply", text("erin@example.com", "hello bob"))

	// A group chat started from Matrix: the provisioning API's create_group
	// (what the create-group command does for a room) opens a conversation
	// with bob and invites carol into it.
	e.srv.AddUser(t, "carol@example.com", "carol-secret", "Carol")
	carol := dialMSN(t, e.srv, "carol@example.com", "carol-secret")
	var group struct {
		ID     string         `json:"id"`
		MXID   id.RoomID      `json:"mxid"`
		Failed map[string]any `json:"failed_participants"`
	}
	code := e.bridge.provision(t, http.MethodPost, "create_group/group", erin.UserID,
		map[string]any{"participants": []string{"bob@example.com", "carol@example.com"}}, &group)
	if code != http.StatusOK || group.MXID == "" || len(group.Failed) != 0 {
		t.Fatalf("create_group: HTTP %d %+v", code, group)
	}
	erin.WaitEvent(t, "erin in the new group", joined(group.MXID, erin.UserID))
	erin.Send(t, group.MXID, "a group from Matrix")
	bob.wait(t, "the group message at bob", text("erin@example.com", "a group from Matrix"))
	carol.wait(t, "the group message at carol", text("erin@example.com", "a group from Matrix"))
	m := carol.wait(t, "the group message at carol", text("erin@example.com", "a group from Matrix")).(*client.Message)
	if n := len(m.Conversation.Participants()); n != 2 {
		t.Errorf("carol's conversation has %d others, want erin and bob", n)
	}
}
