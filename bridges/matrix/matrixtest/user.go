//go:build goolm

package matrixtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// User is a Matrix user that syncs in the background, joins the rooms it
// is invited to and keeps every event it sees, so a test can wait for the
// one it expects.
type User struct {
	*mautrix.Client

	mu      sync.Mutex
	events  []*event.Event
	changed chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

// Timeout bounds every wait of a test for the homeserver or the bridge:
// long enough for a slow, shared machine, short enough to end a stuck test.
var Timeout = 90 * time.Second

// NewUser registers a user (password "password-<localpart>") and starts its
// sync loop, which ends with the test.
func (hs *Homeserver) NewUser(t testing.TB, localpart string) *User {
	t.Helper()
	cli, err := mautrix.NewClient(hs.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	resp, err := cli.RegisterDummy(ctx, &mautrix.ReqRegister[any]{
		Username: localpart,
		Password: "password-" + localpart,
	})
	if err != nil {
		t.Fatalf("registering @%s: %v", localpart, err)
	}
	cli.UserID, cli.AccessToken, cli.DeviceID = resp.UserID, resp.AccessToken, resp.DeviceID
	u := &User{Client: cli, changed: make(chan struct{}), done: make(chan struct{})}
	syncer := &quickSyncer{DefaultSyncer: mautrix.NewDefaultSyncer()}
	syncer.OnEvent(u.record)
	syncer.OnEventType(event.StateMember, u.autoJoin)
	firstSync := make(chan struct{})
	var once sync.Once
	syncer.OnSync(func(context.Context, *mautrix.RespSync, string) bool {
		once.Do(func() { close(firstSync) })
		return true
	})
	cli.Syncer = syncer
	// Presence is set by the tests themselves, not by syncing.
	cli.SyncPresence = event.PresenceOffline
	runCtx, stop := background()
	u.cancel = stop
	go u.syncLoop(runCtx)
	t.Cleanup(u.Stop)
	select {
	case <-firstSync:
	case <-time.After(Timeout):
		t.Fatalf("%s: the first sync did not finish within %s", u.UserID, Timeout)
	}
	return u
}

// quickSyncer retries a failed sync soon: a test restarts the homeserver
// on purpose and should not wait the default ten seconds.
type quickSyncer struct{ *mautrix.DefaultSyncer }

func (s *quickSyncer) OnFailedSync(_ *mautrix.RespSync, err error) (time.Duration, error) {
	if errors.Is(err, mautrix.MUnknownToken) {
		return 0, err
	}
	return 250 * time.Millisecond, nil
}

func (u *User) syncLoop(ctx context.Context) {
	defer close(u.done)
	for ctx.Err() == nil {
		if err := u.SyncWithContext(ctx); err != nil && ctx.Err() == nil {
			time.Sleep(250 * time.Millisecond)
		}
	}
}

// Stop ends the sync loop.
func (u *User) Stop() {
	u.cancel()
	<-u.done
}

func (u *User) record(_ context.Context, evt *event.Event) {
	u.mu.Lock()
	u.events = append(u.events, evt)
	close(u.changed)
	u.changed = make(chan struct{})
	u.mu.Unlock()
}

func (u *User) autoJoin(ctx context.Context, evt *event.Event) {
	if evt.GetStateKey() != u.UserID.String() || evt.Content.AsMember().Membership != event.MembershipInvite {
		return
	}
	go func() {
		for i := 0; i < 20; i++ {
			if _, err := u.JoinRoom(context.Background(), evt.RoomID.String(), nil); err == nil {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
}

// Events returns the events seen so far that match.
func (u *User) Events(match func(*event.Event) bool) []*event.Event {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*event.Event
	for _, e := range u.events {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// Mark returns a position in the user's events, for WaitSince.
func (u *User) Mark() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.events)
}

// After returns the position just after e in the user's events, for
// WaitSince: what came after an event already seen.
func (u *User) After(e *event.Event) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, x := range u.events {
		if x == e {
			return i + 1
		}
	}
	return len(u.events)
}

// WaitEvent waits for an event that matches, among those seen so far and
// those to come, and returns the first. It fails the test after Timeout.
func (u *User) WaitEvent(t testing.TB, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	return u.WaitSince(t, 0, what, match)
}

// WaitSince is WaitEvent for the events after mark (see Mark).
func (u *User) WaitSince(t testing.TB, mark int, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	return u.WaitCount(t, mark, what, 1, match)[0]
}

// WaitCount waits until at least n events after mark match, and returns
// them.
func (u *User) WaitCount(t testing.TB, mark int, what string, n int, match func(*event.Event) bool) []*event.Event {
	t.Helper()
	deadline := time.NewTimer(Timeout)
	defer deadline.Stop()
	for {
		u.mu.Lock()
		var got []*event.Event
		for _, e := range u.events[min(mark, len(u.events)):] {
			if match(e) {
				got = append(got, e)
			}
		}
		ch := u.changed
		u.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: %d events for %s within %s, want %d", u.UserID, len(got), what, Timeout, n)
			return nil
		}
	}
}

// Count returns how many of the events seen so far match.
func (u *User) Count(match func(*event.Event) bool) int {
	return len(u.Events(match))
}

// Message matches an m.room.message from sender (any sender when empty)
// whose body contains text, in room (any room when empty).
func Message(room id.RoomID, sender id.UserID, text string) func(*event.Event) bool {
	return func(e *event.Event) bool {
		if e.Type != event.EventMessage || (room != "" && e.RoomID != room) || (sender != "" && e.Sender != sender) {
			return false
		}
		_ = e.Content.ParseRaw(e.Type)
		c := e.Content.AsMessage()
		return c != nil && strings.Contains(c.Body, text)
	}
}

// Body returns the body of an m.room.message.
func Body(e *event.Event) string {
	_ = e.Content.ParseRaw(e.Type)
	if c := e.Content.AsMessage(); c != nil {
		return c.Body
	}
	return ""
}

// Send sends a text message and returns its event ID.
func (u *User) Send(t testing.TB, room id.RoomID, text string) id.EventID {
	t.Helper()
	return u.SendContent(t, room, &event.MessageEventContent{MsgType: event.MsgText, Body: text})
}

// SendContent sends a message event.
func (u *User) SendContent(t testing.TB, room id.RoomID, content any) id.EventID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	resp, err := u.SendMessageEvent(ctx, room, event.EventMessage, content)
	if err != nil {
		t.Fatalf("%s sending to %s: %v", u.UserID, room, err)
	}
	return resp.EventID
}

// DirectChat creates a room with other, as Matrix clients do for a DM.
func (u *User) DirectChat(t testing.TB, other id.UserID) id.RoomID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	resp, err := u.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Invite:   []id.UserID{other},
		IsDirect: true,
		Preset:   "trusted_private_chat",
	})
	if err != nil {
		t.Fatalf("%s creating a DM with %s: %v", u.UserID, other, err)
	}
	return resp.RoomID
}

// String names the user in test messages.
func (u *User) String() string { return fmt.Sprint(u.UserID) }
