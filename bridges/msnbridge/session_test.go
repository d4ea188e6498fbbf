package msnbridge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// recorder keeps what a session tells its bridge.
type recorder struct {
	mu     sync.Mutex
	states []string
	texts  []string
	extras []*msnbridge.Extra
	wake   chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *recorder) hooks() msnbridge.Hooks {
	return msnbridge.Hooks{
		Event: func(_ *client.Client, ev client.Event) {
			if m, ok := ev.(*client.Message); ok {
				r.mu.Lock()
				r.texts = append(r.texts, m.Text)
				r.mu.Unlock()
				r.poke()
			}
		},
		Extra: func(_ *client.Client, x *msnbridge.Extra) {
			r.mu.Lock()
			r.extras = append(r.extras, x)
			r.mu.Unlock()
			r.poke()
		},
		State: func(_ *client.Client, st msnbridge.State, err error) {
			r.mu.Lock()
			r.states = append(r.states, st.String())
			r.mu.Unlock()
			r.poke()
		},
	}
}

func (r *recorder) wait(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		r.mu.Lock()
		done := ok()
		r.mu.Unlock()
		if done {
			return
		}
		select {
		case <-r.wake:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no %s; states %v, texts %q", what, r.states, r.texts)
		}
	}
}

func (r *recorder) lastState() string {
	if len(r.states) == 0 {
		return ""
	}
	return r.states[len(r.states)-1]
}

func config(srv *coretest.Server, email, password string) client.Config {
	return client.Config{
		Server: srv.NSAddr, Email: email, Password: password, Passport: client.PassportConfig{URL: srv.HTTPURL},
		Reconnect: true, ReconnectMinDelay: 100 * time.Millisecond, ReconnectMaxDelay: time.Second,
	}
}

func dial(t *testing.T, srv *coretest.Server, email, password string) *client.Client {
	t.Helper()
	cl, err := client.Dial(ctxT(t), config(srv, email, password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// A session signs in, hands on messages and what is not text, signs in
// again after a server restart, and says when it needs its user.
func TestSession(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "nelly@example.com", "pw-nelly", "Nelly")
	srv.AddUser(t, "bob@example.com", "pw-bob", "Bob")
	rec := newRecorder()
	s := msnbridge.NewSession(config(srv, "nelly@example.com", "pw-nelly"), zerolog.Nop(), rec.hooks())
	s.Start(context.Background(), nil)
	defer s.Stop()
	rec.wait(t, "connected", func() bool { return rec.lastState() == "connected" })
	if !s.Running() || s.Current() == nil {
		t.Fatal("not running after signing in")
	}

	bob := dial(t, srv, "bob@example.com", "pw-bob")
	ctx := ctxT(t)
	cv, err := bob.Conversation(ctx, "nelly@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := cv.Send(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := cv.SendRaw(ctx, message.NewDatacast(message.DatacastWink).Bytes()); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "the message and the wink", func() bool { return len(rec.texts) == 1 && len(rec.extras) == 1 })
	if rec.extras[0].Kind != msnbridge.Wink || rec.extras[0].From != "bob@example.com" {
		t.Fatalf("extra %+v", rec.extras[0])
	}
	// A file offered: the bridge hears of it, and it is declined at once
	// (not carried).
	tr, err := bob.SendFile(ctx, "nelly@example.com", client.File{Name: "cat.png", Size: 3, Reader: strings.NewReader("cat")})
	if err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "the file offer", func() bool { return len(rec.extras) == 2 })
	if x := rec.extras[1]; x.Kind != msnbridge.File || x.Name != "cat.png" || x.Size != 3 {
		t.Fatalf("file offer %+v", x)
	}
	if err := tr.Wait(ctx); !errors.Is(err, client.ErrDeclined) {
		t.Fatalf("the offer ended with %v, want declined", err)
	}

	srv.Restart(t)
	rec.wait(t, "reconnecting then connected", func() bool {
		n := len(rec.states)
		return n >= 2 && rec.states[n-1] == "connected" && fmt.Sprint(rec.states[:n-1]) != "[connecting]"
	})
	if cl, err := s.Client(ctx); err != nil || cl == nil {
		t.Fatalf("client after the restart: %v", err)
	}

	// Signing in elsewhere ends the session for good: it needs its user.
	dial(t, srv, "nelly@example.com", "pw-nelly")
	rec.wait(t, "gone", func() bool { return rec.lastState() == "gone" })
	if s.Running() || !s.Gone() {
		t.Fatal("still running after signing in elsewhere")
	}
	if _, err := s.Client(ctx); err != msnbridge.ErrSignedOut {
		t.Fatalf("client of a gone session: %v", err)
	}
}

// A refused password ends the session, unless the Refused hook made the
// account again (its admin had deleted it).
func TestSessionRefused(t *testing.T) {
	srv := coretest.Start(t)
	admin := adminapi.New(srv.HTTPURL, srv.Server.AdminToken)
	srv.AddUser(t, "nelly@example.com", "pw-nelly", "Nelly")
	ctx := ctxT(t)
	if err := admin.DeleteAccount(ctx, "nelly@example.com"); err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	hooks := rec.hooks()
	hooks.Refused = func(ctx context.Context) bool {
		_, err := admin.CreateAccount(ctx, adminapi.NewAccount{Email: "nelly@example.com", Password: "pw-nelly"})
		return err == nil
	}
	s := msnbridge.NewSession(config(srv, "nelly@example.com", "pw-nelly"), zerolog.Nop(), hooks)
	s.Start(context.Background(), nil)
	rec.wait(t, "connected", func() bool { return rec.lastState() == "connected" })
	s.Stop()

	wrong := msnbridge.NewSession(config(srv, "nelly@example.com", "wrong"), zerolog.Nop(), rec.hooks())
	wrong.Start(context.Background(), nil)
	defer wrong.Stop()
	rec.wait(t, "gone", func() bool { return rec.lastState() == "gone" })
}

// Stop returns while the client is signing in again after the server went
// away, and SignOut hands on every message that arrived first.
func TestSessionStop(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "nelly@example.com", "pw-nelly", "Nelly")
	srv.AddUser(t, "bob@example.com", "pw-bob", "Bob")
	rec := newRecorder()
	s := msnbridge.NewSession(config(srv, "nelly@example.com", "pw-nelly"), zerolog.Nop(), rec.hooks())
	s.Start(context.Background(), nil)
	rec.wait(t, "connected", func() bool { return rec.lastState() == "connected" })
	srv.Close()
	rec.wait(t, "reconnecting", func() bool { return rec.lastState() == "reconnecting" })
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("Stop hangs while the client reconnects")
	}

	srv2 := coretest.Start(t)
	srv2.AddUser(t, "nelly@example.com", "pw-nelly", "Nelly")
	srv2.AddUser(t, "bob@example.com", "pw-bob", "Bob")
	rec = newRecorder()
	hooks := rec.hooks()
	event := hooks.Event
	hooks.Event = func(cl *client.Client, ev client.Event) {
		time.Sleep(20 * time.Millisecond) // a bridge that takes its time
		event(cl, ev)
	}
	s = msnbridge.NewSession(config(srv2, "nelly@example.com", "pw-nelly"), zerolog.Nop(), hooks)
	s.Start(context.Background(), nil)
	rec.wait(t, "connected", func() bool { return rec.lastState() == "connected" })
	bob := dial(t, srv2, "bob@example.com", "pw-bob")
	ctx := ctxT(t)
	cv, err := bob.Conversation(ctx, "nelly@example.com")
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		if err := cv.Send(ctx, fmt.Sprint("message ", i)); err != nil {
			t.Fatal(err)
		}
	}
	s.SignOut()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.texts) != n {
		t.Fatalf("%d of %d acknowledged messages handed on before SignOut returned", len(rec.texts), n)
	}
}
