//go:build goolm

package matrix_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/nudge-im/nudge/bridges/matrix/matrixtest"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// A Matrix user whose name an MSN user has gets an address of her own;
// the same people meet in the same room; what MSN sends besides text is
// announced; a reopened group says who did not get a message without
// holding it for them; an invite the bridge cannot carry is told in the
// room; and her own ghost bears her name.
func TestNewcomerGroupsAndNotices(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	// alice@nudge.test is an MSN user's already.
	e.srv.AddUser(t, aliceMSN, "msn-alice-pw", "Alice from MSN")
	alice := e.hs.NewUser(t, "alice")
	if err := alice.SetDisplayName(ctx, "Alice Liddell"); err != nil {
		t.Fatal(err)
	}
	mgmt := alice.DirectChat(t, bot)
	alice.WaitEvent(t, "the bot joining", joined(mgmt, bot))
	say := func(room id.RoomID, command, reply string) {
		t.Helper()
		mark := alice.Mark()
		alice.Send(t, room, command)
		alice.WaitSince(t, mark, "the reply to "+command, botSays(room, reply))
	}
	const me = "alice-2@nudge.test"
	say(mgmt, "login hosted", "Signed in to your hosted MSN account, "+me)
	dialMSN(t, e.srv, aliceMSN, "msn-alice-pw") // her password is untouched
	say(mgmt, "logout "+me, "Logged out")
	say(mgmt, "login hosted", "Signed in to your hosted MSN account, "+me)

	for _, p := range []struct{ email, name string }{{"bob@example.com", "Bob"}, {"carol@example.com", "Carol"}, {"dave@example.com", "Dave"}} {
		e.srv.AddUser(t, p.email, "pw-"+p.name, p.name)
	}
	bob := dialMSN(t, e.srv, "bob@example.com", "pw-Bob")
	carol := dialMSN(t, e.srv, "carol@example.com", "pw-Carol")
	holder := &rngHolder{}
	dave := dialMSNWith(t, e.srv, "dave@example.com", "pw-Dave", holder.dial)

	// Bob brings Carol and Dave into his chat with Alice: a group room.
	gather := func(text string) {
		t.Helper()
		conv, err := bob.Conversation(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"carol@example.com", "dave@example.com"} {
			if err := conv.Invite(ctx, who); err != nil {
				t.Fatal(err)
			}
		}
		if err := conv.Send(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	gather("first time")
	group := alice.WaitEvent(t, "bob in the group", matrixtest.Message("", ghost("bob@example.com"), "first time")).RoomID
	alice.WaitEvent(t, "dave in the group", joined(group, ghost("dave@example.com")))

	// Her own ghost is named after her friendly name, not her address.
	eventually(t, "her own ghost named Alice Liddell (MSN)", func() bool {
		p, err := alice.GetProfile(ctx, ghost(me))
		return err == nil && p.DisplayName == "Alice Liddell (MSN)"
	})

	// Everyone leaves; the same people meet again: the same room.
	closeAll := func(users ...*msnUser) {
		for _, u := range users {
			for _, cv := range u.Conversations() {
				cv.Close()
			}
		}
	}
	closeAll(bob, carol, dave)
	gather("second time")
	if got := alice.WaitEvent(t, "bob's second message", matrixtest.Message("", ghost("bob@example.com"), "second time")).RoomID; got != group {
		t.Fatalf("the same people met in room %s, not %s", got, group)
	}

	// A file Bob sends (MSN 6+, over P2P) arrives as a file: its name
	// says PNG, its bytes do not, so it is no m.image.
	tr, err := bob.SendFile(ctx, me, client.File{Name: "cat.png", Size: 12345, Reader: strings.NewReader(strings.Repeat("c", 12345))})
	if err != nil {
		t.Fatal(err)
	}
	file := alice.WaitEvent(t, "the file", matrixtest.Message("", ghost("bob@example.com"), "cat.png"))
	if c := file.Content.AsMessage(); c.MsgType != event.MsgFile || c.Info == nil || c.Info.Size != 12345 {
		t.Fatalf("the file's event %+v", c)
	}
	if err := tr.Wait(ctx); err != nil {
		t.Fatalf("the transfer ended with %v", err)
	}

	// The group's conversation ends; Carol signs out and Dave, online,
	// does not answer invitations. Alice writes: Bob gets it at once — not
	// after Dave joins — and the room is told who did not.
	mark := alice.Mark()
	closeAll(bob, carol, dave)
	for _, who := range []string{"bob@example.com", "carol@example.com", "dave@example.com"} {
		alice.WaitSince(t, mark, who+" leaving the group", membership(group, ghost(who), event.MembershipLeave))
	}
	carol.Close()
	switchboards := e.srv.Switchboards()
	holder.hold(true)
	released, caught := make(chan struct{}), holder.caught
	go func() {
		// Let go when the test says, or, should it fail before, once the
		// invitation was held a while (less than its timeout) — however
		// long the message took to come from Matrix.
		select {
		case <-released:
		case <-caught:
			select {
			case <-released:
			case <-time.After(20 * time.Second):
			}
		}
		holder.hold(false)
	}()
	mark = alice.Mark()
	alice.Send(t, group, "anyone there?")
	bob.wait(t, "alice's message in the reopened group", text(me, "anyone there?"))
	close(released)
	alice.WaitSince(t, mark, "the notice of who did not get it", botSays(group, "Not delivered to carol@example.com, dave@example.com: offline, or not answering"))
	bob.wait(t, "dave joining after the message went", func(ev client.Event) bool {
		j, ok := ev.(*client.Joined)
		return ok && j.Email == "dave@example.com"
	})
	if dave.got(text(me, "anyone there?")) {
		t.Fatal("the message waited for dave")
	}
	// The conversation everyone had left is left by Alice too: it is the
	// new one that is open, not both.
	eventually(t, "the old group's switchboard closed", func() bool { return e.srv.Switchboards() == switchboards })

	// Inviting a contact into a direct chat is refused, in the room.
	bobDM := alice.WaitEvent(t, "the DM with bob", matrixtest.Message("", ghost("bob@example.com"), "cat.png")).RoomID
	mark = alice.Mark()
	if _, err := alice.InviteUser(ctx, bobDM, &mautrix.ReqInviteUser{UserID: ghost("carol@example.com")}); err != nil {
		t.Fatal(err)
	}
	alice.WaitSince(t, mark, "the refused invite", botSays(bobDM, "Could not invite carol@example.com to MSN: a direct chat stays between two people"))
}

// The presence of online contacts is set again while they stay online:
// Synapse would take them for offline after 30 seconds without. And a
// bridge told to stop first hands on the MSN messages it has.
func TestPresenceRefreshAndCleanStop(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	alice := e.hs.NewUser(t, "alice")
	mgmt := alice.DirectChat(t, bot)
	alice.WaitEvent(t, "the bot joining", joined(mgmt, bot))
	mark := alice.Mark()
	alice.Send(t, mgmt, "login hosted")
	alice.WaitSince(t, mark, "signed in", botSays(mgmt, "Signed in to your hosted MSN account"))
	e.srv.AddUser(t, "bob@example.com", "pw-bob", "Bob")
	bob := dialMSN(t, e.srv, "bob@example.com", "pw-bob")
	if err := bob.AddContact(ctx, aliceMSN); err != nil {
		t.Fatal(err)
	}
	mark = alice.Mark()
	alice.Send(t, mgmt, "accept bob@example.com")
	alice.WaitSince(t, mark, "bob added back", botSays(mgmt, "Added bob@example.com back"))
	// A room with bob, so that his ghost's presence reaches alice's sync.
	conv, err := bob.Conversation(ctx, aliceMSN)
	if err != nil {
		t.Fatal(err)
	}
	if err := conv.Send(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	alice.WaitEvent(t, "bob's message", matrixtest.Message("", ghost("bob@example.com"), "hi"))
	ghostPresence := func(p event.Presence) func(*event.Event) bool {
		return func(e *event.Event) bool {
			if e.Type != event.EphemeralEventPresence || e.Sender != ghost("bob@example.com") {
				return false
			}
			_ = e.Content.ParseRaw(e.Type)
			return e.Content.AsPresence().Presence == p
		}
	}
	alice.WaitEvent(t, "bob's ghost online", ghostPresence(event.PresenceOnline))

	// The homeserver forgets (as Synapse does for a user who does not
	// sync): the bridge sets it again. The homeserver is asked rather
	// than alice's sync watched: a sync shows only the latest presence,
	// so a refresh quicker than alice's next sync would hide the offline.
	as := appservice(t, e)
	as.UserID = ghost("bob@example.com")
	if err := as.SetPresence(ctx, mautrix.ReqPresence{Presence: event.PresenceOffline}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		p, err := as.GetPresence(ctx, as.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Presence == event.PresenceOnline {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob's ghost still %s 90s after the homeserver was told offline: the bridge did not set it again", p.Presence)
		}
	}

	// A clean stop: Bob's messages, acknowledged by the switchboard, all
	// reach Matrix though the bridge is told to stop right after.
	const n = 5
	for i := range n {
		if err := conv.Send(ctx, fmt.Sprintf("last words %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	e.bridge.stop()
	alice.WaitCount(t, 0, "every message sent before the stop", n, matrixtest.Message("", ghost("bob@example.com"), "last words"))
	mark = bob.mark()
	e.bridge.start(t)
	bob.waitSince(t, mark, "alice back on MSN", presence(aliceMSN, client.Online))
	conv, err = bob.Conversation(ctx, aliceMSN)
	if err != nil {
		t.Fatal(err)
	}
	if err := conv.Send(ctx, "after the restart"); err != nil {
		t.Fatal(err)
	}
	alice.WaitEvent(t, "bob after the restart", matrixtest.Message("", ghost("bob@example.com"), "after the restart"))
	if got := alice.Count(matrixtest.Message("", ghost("bob@example.com"), "last words")); got != n {
		t.Fatalf("%d messages of %d arrived (duplicates or losses)", got, n)
	}
}

// appservice is a Matrix client with the bridge's appservice token, to act
// as one of its ghosts.
func appservice(t *testing.T, e *env) *mautrix.Client {
	t.Helper()
	raw, err := os.ReadFile(e.bridge.reg)
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		ASToken string `yaml:"as_token"`
	}
	if err := yaml.Unmarshal(raw, &reg); err != nil {
		t.Fatal(err)
	}
	cli, err := mautrix.NewClient(e.hs.URL, "", reg.ASToken)
	if err != nil {
		t.Fatal(err)
	}
	cli.SetAppServiceUserID = true
	return cli
}

// rngHolder is a dialer for an MSN client that, while holding, keeps the
// invitations to conversations (RNG) the server sends from the client —
// someone online who does not answer yet — and passes them on when let go.
type rngHolder struct {
	mu      sync.Mutex
	holding bool
	held    []heldRNG
	caught  chan struct{} // closed when the first RNG is held
}

type heldRNG struct {
	to  net.Conn
	cmd []byte
}

func (h *rngHolder) hold(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holding = on
	if on {
		h.caught = make(chan struct{})
	}
	if !on {
		for _, r := range h.held {
			r.to.Write(r.cmd)
		}
		h.held = nil
	}
}

// dial connects to the server through a pipe that passes every command
// on, RNGs aside while holding.
func (h *rngHolder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	server, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	mine, theirs := net.Pipe()
	go func() { // client → server, as it is
		defer server.Close()
		buf := make([]byte, 4096)
		for {
			n, err := theirs.Read(buf)
			if n > 0 {
				if _, err := server.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // server → client, command by command
		defer theirs.Close()
		r := msnp.NewReader(bufio.NewReader(server), msnp.FromServer)
		for {
			cmd, err := r.ReadCommand()
			if err != nil {
				return
			}
			b := msnp.AppendCommand(nil, cmd)
			h.mu.Lock()
			if h.holding && cmd.Name == "RNG" {
				if len(h.held) == 0 {
					close(h.caught)
				}
				h.held = append(h.held, heldRNG{theirs, b})
				h.mu.Unlock()
				continue
			}
			h.mu.Unlock()
			if _, err := theirs.Write(b); err != nil {
				return
			}
		}
	}()
	return mine, nil
}

// dialMSNWith is dialMSN through a dialer of the test's.
func dialMSNWith(t *testing.T, srv *coretest.Server, email, password string, dial client.Dialer) *msnUser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), matrixtest.Timeout)
	defer cancel()
	cl, err := client.Dial(ctx, client.Config{
		Server: srv.NSAddr, Email: email, Password: password, Passport: client.PassportConfig{URL: srv.HTTPURL}, Dialer: dial,
	})
	if err != nil {
		t.Fatalf("signing in %s: %v", email, err)
	}
	return watchMSN(t, cl, email)
}
