// Package sdktest runs a bot against a fake Host, so a bot's author can test
// it without a server:
//
//	func TestEcho(t *testing.T) {
//		k := sdktest.New(t, echo{}, nil)
//		if got := k.Say("alice@example.com", "hi"); !slices.Equal(got, []string{"hi"}) {
//			t.Fatalf("echo answered %q", got)
//		}
//	}
//
// The fake Host keeps what the bot sends, its presence, its contacts, its
// key-value store and its log in memory, and refuses the calls the bot's
// permissions do not allow, as the real host does.
package sdktest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"

	"github.com/nudge-im/nudge/plugins/sdk"
)

// Sent is one message the bot sent.
type Sent struct {
	Conversation string
	Text         string
	Format       *sdk.Format
}

// LogLine is one line the bot wrote with Host.Log.
type LogLine struct {
	Level   sdk.LogLevel
	Message string
	Fields  map[string]string
}

// Host is a fake sdk.Host. Its fields may be read after the bot's calls
// returned (use the methods while a bot's goroutines may still call it).
type Host struct {
	// Permissions are the calls allowed, as in nudge.yaml; nil allows all.
	Permissions []string

	mu              sync.Mutex
	sent            []Sent
	typing, nudges  []string
	invites         []string // "conversation email"
	status          sdk.Status
	friendlyName    string
	personalMessage string
	picture         []byte
	contacts        map[string]sdk.Contact
	kv              map[string][]byte
	logs            []LogLine
	changed         chan struct{} // closed and replaced on every send
}

// NewHost returns an empty fake Host that allows every call.
func NewHost() *Host {
	return &Host{contacts: map[string]sdk.Contact{}, kv: map[string][]byte{}, changed: make(chan struct{})}
}

var _ sdk.Host = (*Host)(nil)

func (h *Host) check(call, perm string) error {
	if h.Permissions == nil || slices.Contains(h.Permissions, perm) || slices.Contains(h.Permissions, "all") {
		return nil
	}
	return &sdk.HostError{Call: call, Code: codes.PermissionDenied,
		Message: fmt.Sprintf("the bot has no %q permission", perm)}
}

// OneToOne is the conversation name the fake host gives a one-to-one
// conversation with email.
func OneToOne(email string) string { return "1:1:" + strings.ToLower(email) }

func (h *Host) record(s Sent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent = append(h.sent, s)
	close(h.changed)
	h.changed = make(chan struct{})
}

// Send records a message.
func (h *Host) Send(_ context.Context, conversation, text string, f *sdk.Format) error {
	if err := h.check("SendMessage", "send"); err != nil {
		return err
	}
	if conversation == "" {
		return &sdk.HostError{Call: "SendMessage", Code: codes.NotFound, Message: "no conversation named"}
	}
	h.record(Sent{Conversation: conversation, Text: text, Format: f})
	return nil
}

// SendTo records a message to the one-to-one conversation with email.
func (h *Host) SendTo(ctx context.Context, email, text string, f *sdk.Format) (string, error) {
	conv := OneToOne(email)
	return conv, h.Send(ctx, conv, text, f)
}

// SendTyping records a typing notification.
func (h *Host) SendTyping(_ context.Context, conversation string) error {
	if err := h.check("SendTyping", "send"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.typing = append(h.typing, conversation)
	return nil
}

// SendNudge records a nudge.
func (h *Host) SendNudge(_ context.Context, conversation string) error {
	if err := h.check("SendNudge", "send"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nudges = append(h.nudges, conversation)
	return nil
}

// Invite records an invitation.
func (h *Host) Invite(_ context.Context, conversation, email string) error {
	if err := h.check("Invite", "invite"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.invites = append(h.invites, conversation+" "+email)
	return nil
}

// SetStatus records the status.
func (h *Host) SetStatus(_ context.Context, s sdk.Status) error {
	if err := h.check("SetStatus", "presence"); err != nil {
		return err
	}
	if s == sdk.Offline || s == "" {
		return &sdk.HostError{Call: "SetStatus", Code: codes.InvalidArgument, Message: "offline is not a status one can set"}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = s
	return nil
}

// SetFriendlyName records the name.
func (h *Host) SetFriendlyName(_ context.Context, name string) error {
	if err := h.check("SetFriendlyName", "presence"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.friendlyName = name
	return nil
}

// SetPersonalMessage records the personal message.
func (h *Host) SetPersonalMessage(_ context.Context, text string) error {
	if err := h.check("SetPersonalMessage", "presence"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.personalMessage = text
	return nil
}

// SetDisplayPicture records the picture.
func (h *Host) SetDisplayPicture(_ context.Context, picture []byte) error {
	if err := h.check("SetDisplayPicture", "presence"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.picture = append([]byte(nil), picture...)
	return nil
}

// DisplayPicture returns the display picture the bot set, or nil.
func (h *Host) DisplayPicture() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.picture
}

// Contacts returns the fake contact list, sorted by e-mail address.
func (h *Host) Contacts(context.Context) ([]sdk.Contact, error) {
	if err := h.check("ListContacts", "contacts"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Collect(maps.Values(h.contacts))
	slices.SortFunc(out, func(a, b sdk.Contact) int { return strings.Compare(a.Email, b.Email) })
	return out, nil
}

// AcceptContact puts email on the forward and allow lists.
func (h *Host) AcceptContact(_ context.Context, email string) error {
	if err := h.check("AcceptContact", "contacts"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.contacts[email]
	c.Email, c.Forward, c.Allowed, c.Blocked, c.Pending = email, true, true, false, false
	h.contacts[email] = c
	return nil
}

// BlockContact puts email on the block list.
func (h *Host) BlockContact(_ context.Context, email string) error {
	if err := h.check("BlockContact", "contacts"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.contacts[email]
	c.Email, c.Allowed, c.Blocked, c.Pending = email, false, true, false
	h.contacts[email] = c
	return nil
}

// AddContact puts a contact on the fake list, as if it were there already.
func (h *Host) AddContact(c sdk.Contact) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.contacts[c.Email] = c
}

func validKey(call, key string) error {
	if key == "" || len(key) > 256 {
		return &sdk.HostError{Call: call, Code: codes.InvalidArgument, Message: "keys are 1 to 256 bytes"}
	}
	return nil
}

// KVGet reads the fake store.
func (h *Host) KVGet(_ context.Context, key string) ([]byte, bool, error) {
	if err := h.check("KVGet", "kv"); err != nil {
		return nil, false, err
	}
	if err := validKey("KVGet", key); err != nil {
		return nil, false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.kv[key]
	return slices.Clone(v), ok, nil
}

// KVSet writes the fake store.
func (h *Host) KVSet(_ context.Context, key string, value []byte) error {
	if err := h.check("KVSet", "kv"); err != nil {
		return err
	}
	if err := validKey("KVSet", key); err != nil {
		return err
	}
	if len(value) > 64<<10 {
		return &sdk.HostError{Call: "KVSet", Code: codes.InvalidArgument, Message: "values are at most 64 KiB"}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if value == nil {
		value = []byte{}
	}
	h.kv[key] = slices.Clone(value)
	return nil
}

// KVDelete removes a key from the fake store.
func (h *Host) KVDelete(_ context.Context, key string) error {
	if err := h.check("KVDelete", "kv"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.kv, key)
	return nil
}

// KVList lists the fake store's keys with a prefix, sorted.
func (h *Host) KVList(_ context.Context, prefix string) ([]string, error) {
	if err := h.check("KVList", "kv"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := []string{}
	for k := range h.kv {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// Log records a log line.
func (h *Host) Log(_ context.Context, level sdk.LogLevel, msg string, fields map[string]string) error {
	if err := h.check("Log", "log"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, LogLine{Level: level, Message: msg, Fields: maps.Clone(fields)})
	return nil
}

// Sent returns every message the bot sent so far.
func (h *Host) Sent() []Sent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sent)
}

// WaitSent waits until the bot has sent at least n messages in all, or the
// timeout passes, and returns what it sent. It is for bots that send from
// their own goroutines (timers, reminders).
func (h *Host) WaitSent(n int, timeout time.Duration) []Sent {
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		if len(h.sent) >= n {
			defer h.mu.Unlock()
			return slices.Clone(h.sent)
		}
		ch := h.changed
		h.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			return h.Sent()
		}
	}
}

// Presence returns the status, friendly name and personal message the bot
// set.
func (h *Host) Presence() (sdk.Status, string, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status, h.friendlyName, h.personalMessage
}

// Invites returns the invitations, as "conversation email".
func (h *Host) Invites() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.invites)
}

// Nudges returns the conversations the bot nudged.
func (h *Host) Nudges() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.nudges)
}

// Logs returns the lines the bot logged with Host.Log.
func (h *Host) Logs() []LogLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.logs)
}

// KV returns a copy of the fake store.
func (h *Host) KV() map[string][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.kv)
}

// Kit drives one bot against a fake Host, calling its hooks as the real
// host would.
type Kit struct {
	T    testing.TB
	Bot  any
	Host *Host
	Env  *sdk.Env
	Self sdk.Contact
}

// New starts bot with settings (nil for none): it calls the bot's Start
// hook, if it has one, and fails the test if it returns an error.
func New(t testing.TB, bot any, settings map[string]string) *Kit {
	t.Helper()
	return NewWithHost(t, bot, settings, NewHost())
}

// NewWithHost is New with a Host prepared by the test (its store filled,
// its permissions narrowed), as after a restart.
func NewWithHost(t testing.TB, bot any, settings map[string]string, h *Host) *Kit {
	t.Helper()
	if settings == nil {
		settings = map[string]string{}
	}
	self := sdk.Contact{Email: "bot@bots.localhost", FriendlyName: "Bot", Status: sdk.Online}
	k := &Kit{T: t, Bot: bot, Host: h, Self: self}
	k.Env = &sdk.Env{Name: "bot", Self: self, Settings: settings, Permissions: h.Permissions, Host: h,
		Log: hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug})}
	if st, ok := bot.(sdk.Starter); ok {
		if err := st.Start(context.Background(), k.Env); err != nil {
			t.Fatalf("sdktest: the bot's Start failed: %v", err)
		}
	}
	t.Cleanup(func() {
		if st, ok := bot.(sdk.Stopper); ok {
			st.Stop(context.Background())
		}
	})
	return k
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// contact makes a Contact from an e-mail address, with the local part as
// the friendly name.
func contact(email string) sdk.Contact {
	name, _, _ := strings.Cut(email, "@")
	return sdk.Contact{Email: email, FriendlyName: name, Status: sdk.Online}
}

// since runs fn and returns the texts sent meanwhile.
func (k *Kit) since(fn func()) []string {
	before := len(k.Host.Sent())
	fn()
	var out []string
	for _, s := range k.Host.Sent()[before:] {
		out = append(out, s.Text)
	}
	return out
}

// Say delivers a message from email in their one-to-one conversation with
// the bot and returns what the bot sent while handling it.
func (k *Kit) Say(email, text string) []string {
	k.T.Helper()
	return k.SayIn(OneToOne(email), email, text)
}

// SayIn delivers a message in a conversation; others are the other people
// in it besides the sender.
func (k *Kit) SayIn(conversation, email, text string, others ...string) []string {
	k.T.Helper()
	h, ok := k.Bot.(sdk.MessageHandler)
	if !ok {
		k.T.Fatal("sdktest: the bot has no OnMessage hook")
	}
	participants := []sdk.Contact{contact(email)}
	for _, o := range others {
		participants = append(participants, contact(o))
	}
	return k.since(func() {
		m := sdk.NewMessage(k.Host, conversation, contact(email), text, nil, participants)
		if err := h.OnMessage(context.Background(), m); err != nil {
			k.T.Errorf("sdktest: OnMessage(%q from %s): %v", text, email, err)
		}
	})
}

// Nudge delivers a nudge from email and returns what the bot sent.
func (k *Kit) Nudge(email string) []string {
	k.T.Helper()
	h, ok := k.Bot.(sdk.NudgeHandler)
	if !ok {
		k.T.Fatal("sdktest: the bot has no OnNudge hook")
	}
	return k.since(func() {
		if err := h.OnNudge(context.Background(), sdk.NewNudge(k.Host, OneToOne(email), contact(email))); err != nil {
			k.T.Errorf("sdktest: OnNudge from %s: %v", email, err)
		}
	})
}

// AddedBy tells the bot that email added it (accepted as with accept:
// everyone) and returns what it sent.
func (k *Kit) AddedBy(email string, accepted bool) []string {
	k.T.Helper()
	h, ok := k.Bot.(sdk.ContactAddedHandler)
	if !ok {
		return nil
	}
	if accepted {
		k.Host.AcceptContact(context.Background(), email)
	}
	return k.since(func() {
		if err := h.OnContactAdded(context.Background(), &sdk.ContactAdded{Contact: contact(email), Accepted: accepted}); err != nil {
			k.T.Errorf("sdktest: OnContactAdded(%s): %v", email, err)
		}
	})
}

// Join tells the bot that email joined a conversation and returns what it
// sent.
func (k *Kit) Join(conversation, email string, invited bool, others ...string) []string {
	k.T.Helper()
	h, ok := k.Bot.(sdk.JoinHandler)
	if !ok {
		return nil
	}
	participants := []sdk.Contact{contact(email)}
	for _, o := range others {
		participants = append(participants, contact(o))
	}
	return k.since(func() {
		if err := h.OnJoin(context.Background(), &sdk.Join{Conversation: conversation, Contact: contact(email),
			Participants: participants, Invited: invited}); err != nil {
			k.T.Errorf("sdktest: OnJoin(%s): %v", email, err)
		}
	})
}

// Presence tells the bot that a contact changed presence and returns what
// it sent.
func (k *Kit) Presence(c sdk.Contact) []string {
	k.T.Helper()
	h, ok := k.Bot.(sdk.PresenceHandler)
	if !ok {
		return nil
	}
	return k.since(func() {
		if err := h.OnPresence(context.Background(), &sdk.Presence{Contact: c}); err != nil {
			k.T.Errorf("sdktest: OnPresence(%s): %v", c.Email, err)
		}
	})
}
