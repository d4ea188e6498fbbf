package sdk_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	botpb "github.com/nudge-im/nudge/plugins/proto"
	"github.com/nudge-im/nudge/plugins/sdk"
	"github.com/nudge-im/nudge/plugins/sdk/sdktest"
)

func TestRouter(t *testing.T) {
	r := sdk.NewRouter("!", "")
	var got []string
	r.Handle("roll", "NdM", "roll dice", func(_ context.Context, c *sdk.Command) error {
		got = append(got, c.Name+"|"+strings.Join(c.Args, ",")+"|"+c.Rest)
		return nil
	})
	r.Handle("help", "", "this list", func(context.Context, *sdk.Command) error { got = append(got, "help"); return nil })
	for _, tc := range []struct {
		text    string
		handled bool
		want    string
	}{
		{"!roll 2d6", true, "roll|2d6|2d6"},
		{"roll  2d6   +1 ", true, "roll|2d6,+1|2d6   +1"},
		{"ROLL d20", true, "roll|d20|d20"},
		{"help!", true, "help"},
		{"help?", true, "help"},
		{"  !help", true, "help"},
		{"rolling stones", false, ""},
		{"!", false, ""},
		{"", false, ""},
		{"please roll", false, ""},
	} {
		got = nil
		m := sdk.NewMessage(sdktest.NewHost(), "c1", sdk.Contact{Email: "a@example.com"}, tc.text, nil, nil)
		handled, err := r.Dispatch(context.Background(), m)
		if err != nil || handled != tc.handled || handled && (len(got) != 1 || got[0] != tc.want) {
			t.Errorf("Dispatch(%q) = %v, %v; ran %q, want %q", tc.text, handled, err, got, tc.want)
		}
	}
	if h := r.Help(); h != "roll NdM — roll dice\nhelp — this list" {
		t.Errorf("Help() = %q", h)
	}
	// Replacing a command keeps its place.
	r.Handle("roll", "", "again", func(context.Context, *sdk.Command) error { return nil })
	if h := r.Help(); !strings.HasPrefix(h, "roll — again\n") {
		t.Errorf("after replacing: %q", h)
	}
}

func TestRouterPrefixOnly(t *testing.T) {
	r := sdk.NewRouter() // "!" only
	r.Handle("ping", "", "", func(context.Context, *sdk.Command) error { return nil })
	if _, _, _, ok := r.Parse("ping"); ok {
		t.Error("a bare word is a command without the prefix")
	}
	if name, _, _, ok := r.Parse("!ping"); !ok || name != "ping" {
		t.Errorf("!ping: %q, %v", name, ok)
	}
	if h := r.Help(); h != "!ping — " {
		t.Errorf("Help() = %q", h)
	}
}

func TestHostErrorsMatchSentinels(t *testing.T) {
	for _, tc := range []struct {
		code codes.Code
		want error
	}{
		{codes.PermissionDenied, sdk.ErrPermissionDenied},
		{codes.NotFound, sdk.ErrNotFound},
		{codes.Unavailable, sdk.ErrUnavailable},
		{codes.FailedPrecondition, sdk.ErrUnavailable},
		{codes.InvalidArgument, sdk.ErrInvalid},
		{codes.ResourceExhausted, sdk.ErrInvalid},
	} {
		err := error(&sdk.HostError{Call: "X", Code: tc.code, Message: "m"})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s does not match %v", tc.code, tc.want)
		}
		if tc.want != sdk.ErrPermissionDenied && errors.Is(err, sdk.ErrPermissionDenied) {
			t.Errorf("%s matches ErrPermissionDenied", tc.code)
		}
	}
}

type onlyMessages struct{}

func (onlyMessages) OnMessage(context.Context, *sdk.Message) error { return nil }

type everything struct{ onlyMessages }

func (everything) OnTyping(context.Context, *sdk.Typing) error             { return nil }
func (everything) OnNudge(context.Context, *sdk.Nudge) error               { return nil }
func (everything) OnContactAdded(context.Context, *sdk.ContactAdded) error { return nil }
func (everything) OnJoin(context.Context, *sdk.Join) error                 { return nil }
func (everything) OnLeave(context.Context, *sdk.Leave) error               { return nil }
func (everything) OnPresence(context.Context, *sdk.Presence) error         { return nil }

// The host learns which hooks a bot has, so it calls no others.
func TestHooks(t *testing.T) {
	if got := sdk.Hooks(onlyMessages{}); !slices.Equal(got, []botpb.Hook{botpb.Hook_HOOK_MESSAGE}) {
		t.Errorf("Hooks(onlyMessages) = %v", got)
	}
	if got := sdk.Hooks(everything{}); len(got) != 7 {
		t.Errorf("Hooks(everything) = %v", got)
	}
	if got := sdk.Hooks(struct{}{}); len(got) != 0 {
		t.Errorf("Hooks(struct{}{}) = %v", got)
	}
}

// The fake host refuses what the permissions do not allow, as the real one.
func TestFakeHostPermissions(t *testing.T) {
	h := sdktest.NewHost()
	h.Permissions = []string{"send"}
	ctx := context.Background()
	if err := h.Send(ctx, "c1", "hi", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Contacts(ctx); !errors.Is(err, sdk.ErrPermissionDenied) {
		t.Fatalf("Contacts without the permission: %v", err)
	}
	if err := h.KVSet(ctx, "k", []byte("v")); !errors.Is(err, sdk.ErrPermissionDenied) {
		t.Fatalf("KVSet without the permission: %v", err)
	}
	h.Permissions = []string{"all"}
	if err := h.KVSet(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := h.KVGet(ctx, "k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("KVGet = %q, %v, %v", v, ok, err)
	}
	if err := h.SetStatus(ctx, sdk.Offline); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("SetStatus(Offline) = %v", err)
	}
}

// FuzzRouterParse: a router reads every message people send; nothing they
// type may make it panic, and what it parses is a command it knows.
func FuzzRouterParse(f *testing.F) {
	r := sdk.NewRouter("!", "")
	for _, n := range []string{"roll", "help", "time"} {
		r.Handle(n, "", "", func(context.Context, *sdk.Command) error { return nil })
	}
	for _, s := range []string{"!roll 2d6", "help", "time in Tokyo", "", "!", "  !roll\t3", "ROLL!", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		name, args, rest, ok := r.Parse(text)
		if !ok {
			return
		}
		if name != "roll" && name != "help" && name != "time" {
			t.Fatalf("Parse(%q) = unknown command %q", text, name)
		}
		if len(args) != len(strings.Fields(rest)) {
			t.Fatalf("Parse(%q): args %q do not match rest %q", text, args, rest)
		}
	})
}
