package discord_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/bridges/discord"
	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// wait is how long a test waits for something that should happen; it
// fails the test when it does not, it is not a measure of speed.
const wait = 45 * time.Second

const domain = "discord.test"

// harness is a real MSN service, the Discord emulator with a guild, two
// Discord users, and the bridge between them.
type harness struct {
	t   testing.TB
	srv *coretest.Server
	dc  *discordtest.Server
	cfg discord.Config
	b   *discord.Bridge

	guild, general string
	nelly, admin   discordtest.User
}

func testLogger(t testing.TB) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(os.Getenv("NUDGE_TEST_LOG"))
	if err != nil || os.Getenv("NUDGE_TEST_LOG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}).Level(lvl).With().Timestamp().Str("test", t.Name()).Logger()
}

func newHarness(t testing.TB, opts ...func(*discord.Config)) *harness {
	t.Helper()
	// Discord's rules as they are, the 3-second deadline for interactions
	// included: the bridge acknowledges at once.
	h := &harness{t: t, srv: coretest.Start(t), dc: discordtest.New()}
	t.Cleanup(h.dc.Close)
	h.guild = h.dc.AddGuild("Nudge Test")
	var err error
	if h.general, err = h.dc.AddChannel(h.guild, "general", discordtest.ChannelText, ""); err != nil {
		t.Fatal(err)
	}
	h.nelly = h.dc.AddUser("nelly", "Nelly")
	h.admin = h.dc.AddUser("root", "Admin Ann")
	h.dc.AddMember(h.guild, h.nelly.ID, 0)
	h.dc.AddMember(h.guild, h.admin.ID, discordtest.PermManageChannels)
	h.cfg = discord.Config{
		Token: h.dc.Token, HTTPClient: h.dc.Client(),
		Database:    filepath.Join(t.TempDir(), "discord.db"),
		MSN:         discord.MSNConfig{Server: h.srv.NSAddr, PassportURL: h.srv.HTTPURL},
		Hosted:      discord.HostedConfig{AdminURL: h.srv.HTTPURL, AdminToken: h.srv.Server.AdminToken, Domain: domain},
		OwnAccounts: true, RequestTimeout: 20 * time.Second,
		Logger: testLogger(t),
	}
	for _, o := range opts {
		o(&h.cfg)
	}
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b, err := discord.New(ctx, h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		h.t.Fatal(err)
	}
	h.b = b
	h.t.Cleanup(func() { b.Close() })
}

// restart stops the bridge and starts it again on the same database.
func (h *harness) restart() {
	h.t.Helper()
	h.b.Close()
	h.start()
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// run has a Discord user run a command and returns the bot's answer.
func (h *harness) run(u discordtest.User, channel, command string, opts map[string]any) discordtest.Reply {
	h.t.Helper()
	ix, err := h.dc.Run(h.guild, channel, u.ID, command, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	r, err := h.dc.Reply(ctxT(h.t), ix)
	if err != nil {
		h.t.Fatalf("/%s: %v", command, err)
	}
	return r
}

// login signs a Discord user in with a hosted account and returns their
// private channel.
func (h *harness) login(u discordtest.User) string {
	h.t.Helper()
	r := h.run(u, h.general, "msn login", nil)
	if !strings.Contains(r.Content, "Signed in to MSN as") || !r.Ephemeral {
		h.t.Fatalf("login reply %+v", r)
	}
	return h.channelNamed("msn-" + u.Username)
}

func (h *harness) channelNamed(name string) string {
	h.t.Helper()
	for _, c := range h.dc.Channels(h.guild) {
		if c.Name == name {
			return c.ID
		}
	}
	h.t.Fatalf("no channel %s", name)
	return ""
}

// newChannel waits for a channel named name other than old (one made
// again after old was deleted).
func (h *harness) newChannel(name, old string) string {
	h.t.Helper()
	var id string
	err := h.dc.WaitFor(ctxT(h.t), func() bool {
		for _, c := range h.dc.Channels(h.guild) {
			if c.Name == name && c.ID != old {
				id = c.ID
				return true
			}
		}
		return false
	})
	if err != nil {
		h.t.Fatalf("no new channel %s", name)
	}
	return id
}

// thread waits for the thread named name in a channel.
func (h *harness) thread(channel, name string) string {
	h.t.Helper()
	var id string
	err := h.dc.WaitFor(ctxT(h.t), func() bool {
		for _, th := range h.dc.Threads(channel) {
			if th.Name == name {
				id = th.ID
				return true
			}
		}
		return false
	})
	if err != nil {
		var names []string
		for _, th := range h.dc.Threads(channel) {
			names = append(names, th.Name)
		}
		h.t.Fatalf("no thread %q in %v", name, names)
	}
	return id
}

// waitMessage waits for a message in a channel that ok accepts.
func (h *harness) waitMessage(channel string, ok func(discordtest.Message) bool) discordtest.Message {
	h.t.Helper()
	var found discordtest.Message
	err := h.dc.WaitFor(ctxT(h.t), func() bool {
		for _, m := range h.dc.Messages(channel) {
			if ok(m) {
				found = m
				return true
			}
		}
		return false
	})
	if err != nil {
		var got []string
		for _, m := range h.dc.Messages(channel) {
			got = append(got, m.Author.Username+": "+m.Content)
		}
		h.t.Fatalf("no such message in %s; it has %q", channel, got)
	}
	return found
}

func (h *harness) waitContent(channel, content string) discordtest.Message {
	h.t.Helper()
	return h.waitMessage(channel, func(m discordtest.Message) bool { return m.Content == content })
}

func (h *harness) post(channel string, u discordtest.User, text string, files ...discordtest.File) discordtest.Message {
	h.t.Helper()
	m, err := h.dc.Post(channel, u.ID, text, files...)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// peer is a real MSN client: someone on MSN.
type peer struct {
	t     testing.TB
	email string
	cl    *client.Client

	mu   sync.Mutex
	evs  []client.Event
	wake chan struct{}
}

func (h *harness) peer(email, name string) *peer {
	h.t.Helper()
	h.srv.AddUser(h.t, email, "pw-"+name, name)
	return h.dialPeer(email, "pw-"+name)
}

func (h *harness) dialPeer(email, password string) *peer {
	h.t.Helper()
	cl, err := client.Dial(ctxT(h.t), client.Config{
		Server: h.srv.NSAddr, Email: email, Password: password,
		Passport: client.PassportConfig{URL: h.srv.HTTPURL}, Reconnect: true,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.watch(email, cl)
}

// watch makes a peer of a signed-in client, keeping its events.
func (h *harness) watch(email string, cl *client.Client) *peer {
	p := &peer{t: h.t, email: email, cl: cl, wake: make(chan struct{}, 1)}
	go func() {
		for ev := range cl.Events() {
			p.mu.Lock()
			p.evs = append(p.evs, ev)
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}()
	h.t.Cleanup(func() { cl.Close() })
	return p
}

// wait waits for an event that ok accepts.
func (p *peer) wait(what string, ok func(client.Event) bool) client.Event {
	p.t.Helper()
	ctx := ctxT(p.t)
	for {
		p.mu.Lock()
		evs := p.evs
		p.mu.Unlock()
		for _, ev := range evs {
			if ok(ev) {
				return ev
			}
		}
		select {
		case <-p.wake:
		case <-ctx.Done():
			p.t.Fatalf("%s never got %s; texts: %q", p.email, what, p.texts())
		}
	}
}

// waitText waits for a text message and returns it.
func (p *peer) waitText(text string) *client.Message {
	p.t.Helper()
	return p.wait(fmt.Sprintf("the text %q", text), func(ev client.Event) bool {
		m, ok := ev.(*client.Message)
		return ok && m.Text == text
	}).(*client.Message)
}

// texts returns the texts received, in order.
func (p *peer) texts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, ev := range p.evs {
		if m, ok := ev.(*client.Message); ok {
			out = append(out, m.Text)
		}
	}
	return out
}

func (p *peer) count(text string) int {
	n := 0
	for _, t := range p.texts() {
		if t == text {
			n++
		}
	}
	return n
}

// say sends a text to someone, opening the conversation.
func (p *peer) say(to, text string, f *message.Format) {
	p.t.Helper()
	ctx := ctxT(p.t)
	cv, err := p.cl.Conversation(ctx, to)
	if err != nil {
		p.t.Fatalf("%s cannot open a conversation with %s: %v", p.email, to, err)
	}
	if err := cv.SendText(ctx, text, f); err != nil {
		p.t.Fatalf("%s → %s: %v", p.email, to, err)
	}
}

// waitPresence waits until p sees email with the status.
func (p *peer) waitPresence(email string, st client.Status) {
	p.t.Helper()
	ctx := ctxT(p.t)
	for {
		if c, ok := p.cl.Contact(email); ok && c.Status == st {
			return
		}
		select {
		case <-p.wake:
		case <-time.After(50 * time.Millisecond): // the contact list changes without an event we can wait on
		case <-ctx.Done():
			c, _ := p.cl.Contact(email)
			p.t.Fatalf("%s never saw %s %s (sees %+v)", p.email, email, st, c)
		}
	}
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
