package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/plugins/host"
)

// binDir holds the bots the tests run, built once by TestMain.
var binDir string

// The bots the tests build, by name: the shipped ones and a bot that
// misbehaves on request.
var botPackages = map[string]string{
	"echo":      "github.com/nudge-im/nudge/plugins/bots/echo",
	"tictactoe": "github.com/nudge-im/nudge/plugins/bots/tictactoe",
	"helper":    "github.com/nudge-im/nudge/plugins/bots/helper",
	"testbot":   "github.com/nudge-im/nudge/plugins/host/internal/testbot",
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperBinEnv); dir != "" {
		// A helper process of TestBotsDieWithTheHost: the parent built
		// the bots.
		binDir = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nudge-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	os.Chmod(dir, 0o755) // bots that run as another account run these too
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, pkg := range botPackages {
		args = append(args, pkg)
	}
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the bots:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func botPath(name string) string { return filepath.Join(binDir, name) }

// syncBuffer is a log sink the test reads while the host writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a service and a bot host on it.
type env struct {
	srv  *coretest.Server
	host *host.Host
	logs *syncBuffer
	cfg  host.Config
}

// fast is a configuration that makes supervision quick enough for tests.
func fast(cfg *host.Config) {
	cfg.HookTimeout = 2 * time.Second
	cfg.RestartMin = 20 * time.Millisecond
	cfg.RestartMax = 200 * time.Millisecond
	cfg.CrashLimit = 3
	cfg.CrashWindow = time.Minute
	cfg.HealthInterval = 300 * time.Millisecond
}

// bot configures one of the test binaries as a bot.
func bot(name, binary string, mods ...func(*host.BotConfig)) host.BotConfig {
	bc := host.BotConfig{
		Name: name, Command: botPath(binary), Email: name + "@bots.localhost",
		FriendlyName: strings.ToUpper(name[:1]) + name[1:], Permissions: []string{"all"},
	}
	for _, m := range mods {
		m(&bc)
	}
	return bc
}

// start runs a service and a host with the bots.
func start(t *testing.T, bots []host.BotConfig, mods ...func(*host.Config)) *env {
	t.Helper()
	srv := coretest.Start(t)
	return startOn(t, srv, bots, mods...)
}

func startOn(t *testing.T, srv *coretest.Server, bots []host.BotConfig, mods ...func(*host.Config)) *env {
	t.Helper()
	logs := &syncBuffer{}
	cfg := host.Config{
		Bots:        bots,
		Server:      srv.NSAddr,
		PassportURL: srv.HTTPURL,
		Admin:       adminapi.New(srv.HTTPURL, srv.AdminToken),
		DataDir:     srv.Data,
		Log:         zerolog.New(zerolog.MultiLevelWriter(logs, testLogWriter(t))).With().Timestamp().Logger(),
	}
	fast(&cfg)
	for _, m := range mods {
		m(&cfg)
	}
	h, err := host.New(cfg)
	if err != nil {
		t.Fatalf("host.New: %v", err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("host.Start: %v", err)
	}
	t.Cleanup(func() {
		h.Close()
		if t.Failed() && os.Getenv("NUDGE_TEST_LOG") == "" {
			t.Logf("the host's log:\n%s", logs.String())
		}
	})
	e := &env{srv: srv, host: h, logs: logs, cfg: cfg}
	for _, b := range bots {
		e.waitState(t, b.Name, host.StateRunning)
	}
	return e
}

// testLogWriter shows the host's log in the test output when
// NUDGE_TEST_LOG is set.
func testLogWriter(t *testing.T) zerolog.LevelWriter {
	if os.Getenv("NUDGE_TEST_LOG") == "" {
		return zerolog.MultiLevelWriter(io.Discard)
	}
	return zerolog.MultiLevelWriter(zerolog.NewTestWriter(t))
}

// waitFor polls cond until it holds; conditions here are reached in
// milliseconds, and the deadline is only there to end a broken test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) status(t *testing.T, name string) host.Status {
	t.Helper()
	st, err := e.host.BotStatus(name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (e *env) waitState(t *testing.T, name string, want host.State) host.Status {
	t.Helper()
	var st host.Status
	waitFor(t, fmt.Sprintf("bot %s to be %s", name, want), func() bool {
		st = e.status(t, name)
		return st.State == want && (want != host.StateRunning || st.Online)
	})
	return st
}

var personSeq atomic.Int64

// person is someone using MSN: a real client session on the service.
type person struct {
	t     *testing.T
	email string
	c     *client.Client

	mu      sync.Mutex
	msgs    []*client.Message
	nudges  []*client.Nudge
	invited []*client.Invited
	changed chan struct{}
}

// newPerson makes an account and signs in.
func (e *env) newPerson(t *testing.T, name string) *person {
	t.Helper()
	email := fmt.Sprintf("%s%d@example.com", name, personSeq.Add(1))
	e.srv.AddUser(t, email, "secret", name)
	return signIn(t, e.srv, email)
}

func signIn(t *testing.T, srv *coretest.Server, email string) *person {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{
		Server: srv.NSAddr, Email: email, Password: "secret",
		Passport: client.PassportConfig{URL: srv.HTTPURL}, Reconnect: true, RequestTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatalf("%s signs in: %v", email, err)
	}
	p := &person{t: t, email: email, c: c, changed: make(chan struct{})}
	go p.pump()
	t.Cleanup(func() { c.Close() })
	return p
}

func (p *person) pump() {
	for ev := range p.c.Events() {
		p.mu.Lock()
		switch e := ev.(type) {
		case *client.Message:
			p.msgs = append(p.msgs, e)
		case *client.Nudge:
			p.nudges = append(p.nudges, e)
		case *client.Invited:
			p.invited = append(p.invited, e)
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
}

// add puts a bot on the person's contact list, as a person would first.
func (p *person) add(email string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.c.AddContact(ctx, email); err != nil {
		p.t.Fatalf("%s adds %s: %v", p.email, email, err)
	}
}

// conv opens (or finds) the person's conversation with email.
func (p *person) conv(email string) *client.Conversation {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cv, err := p.c.Conversation(ctx, email)
	if err != nil {
		p.t.Fatalf("%s opens a conversation with %s: %v", p.email, email, err)
	}
	return cv
}

// send writes in a conversation.
func (p *person) send(cv *client.Conversation, text string) {
	p.t.Helper()
	p.sendFormatted(cv, text, nil)
}

func (p *person) sendFormatted(cv *client.Conversation, text string, f *message.Format) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cv.SendText(ctx, text, f); err != nil {
		p.t.Fatalf("%s sends %q: %v", p.email, text, err)
	}
}

// count is how many messages the person has received so far; pass it to
// next to wait for the one after.
func (p *person) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}

// next waits for the first message after the first `after` received that
// comes from `from`.
func (p *person) next(after int, from string) *client.Message {
	p.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		p.mu.Lock()
		for _, m := range p.msgs[after:] {
			if m.From == from {
				p.mu.Unlock()
				return m
			}
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			p.t.Fatalf("%s got no message from %s", p.email, from)
		}
	}
}

// nextN waits for n messages from `from` after the first `after`.
func (p *person) nextN(after int, from string, n int) []string {
	p.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		p.mu.Lock()
		var got []string
		for _, m := range p.msgs[after:] {
			if m.From == from {
				got = append(got, m.Text)
			}
		}
		ch := p.changed
		p.mu.Unlock()
		if len(got) >= n {
			return got[:n]
		}
		select {
		case <-ch:
		case <-deadline:
			p.t.Fatalf("%s got %d of %d messages from %s: %q", p.email, len(got), n, from, got)
		}
	}
}

// ask sends text to the bot in cv and returns its answer.
func (p *person) ask(cv *client.Conversation, bot, text string) string {
	p.t.Helper()
	n := p.count()
	p.send(cv, text)
	return p.next(n, bot).Text
}

// messagesFrom returns the texts received from someone so far.
func (p *person) messagesFrom(from string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.msgs {
		if m.From == from {
			out = append(out, m.Text)
		}
	}
	return out
}

// logLines are the host's log as JSON objects.
func (e *env) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}
