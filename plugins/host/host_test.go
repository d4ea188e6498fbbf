package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/p2p"
	"github.com/nudge-im/nudge/plugins/host"
)

func TestEchoAnswers(t *testing.T) {
	e := start(t, []host.BotConfig{bot("echo", "echo")})
	alice := e.newPerson(t, "alice")
	alice.add("echo@bots.localhost")
	cv := alice.conv("echo@bots.localhost")

	if got := alice.ask(cv, "echo@bots.localhost", "hello there"); got != "hello there" {
		t.Fatalf("echo answered %q", got)
	}
	// Formatting comes back as it went.
	f := &message.Format{Font: "Comic Sans MS", Bold: true, Color: message.Color{R: 0xFF}, PitchFamily: 0x22}
	n := alice.count()
	alice.sendFormatted(cv, "in red", f)
	m := alice.next(n, "echo@bots.localhost")
	if m.Text != "in red" || m.Format.Font != "Comic Sans MS" || !m.Format.Bold || m.Format.Color != f.Color {
		t.Fatalf("echo answered %q with %+v", m.Text, m.Format)
	}
}

func TestPanickingBotIsRestarted(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	cv := alice.conv("testbot@bots.localhost")
	if got := alice.ask(cv, "testbot@bots.localhost", "ping"); got != "pong" {
		t.Fatalf("testbot answered %q", got)
	}
	pid := e.status(t, "testbot").PID

	n := alice.count()
	alice.send(cv, "panic")
	// The next message, sent at once, waits for the new process.
	alice.send(cv, "ping")
	got := alice.nextN(n, "testbot@bots.localhost", 2)
	// The message that crashed it is not handed to it again, and its
	// sender is told.
	if got[0] != `⚠ Testbot stopped while reading your message "panic", and did not answer it; it is starting again.` || got[1] != "pong" {
		t.Fatalf("after the panic testbot answered %q", got)
	}
	st := e.status(t, "testbot")
	if st.Restarts != 1 || st.PID == pid || st.State != host.StateRunning {
		t.Fatalf("after a panic: %+v (pid before %d)", st, pid)
	}
	if !strings.Contains(e.logs.String(), "asked to panic") {
		t.Errorf("the panic is not in the host's log:\n%s", e.logs.String())
	}
}

func TestCrashLoopDisablesTheBot(t *testing.T) {
	e := start(t, []host.BotConfig{bot("echo", "echo")})
	crashy := bot("crashy", "testbot", func(b *host.BotConfig) { b.Settings = map[string]string{"crash": "start"} })
	// A second host on the same service runs the crashing bot alone.
	e2, err := host.New(withBots(e.cfg, crashy))
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	var st host.Status
	waitFor(t, "crashy to be disabled", func() bool {
		st, _ = e2.BotStatus("crashy")
		return st.State == host.StateDisabled
	})
	if st.Restarts != 3 || !strings.Contains(st.LastError, "crashed 3 times") || st.Online {
		t.Fatalf("disabled bot: %+v", st)
	}
	logs, _ := e2.Logs("crashy", 0, 0)
	found := false
	for _, l := range logs {
		if l.Level == "error" && strings.Contains(l.Message, "bot disabled") && strings.Contains(l.Message, "nudge bot reload crashy") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no log line says the bot is disabled and how to bring it back: %+v", logs)
	}
	// The other host's bot is unaffected.
	if st := e.status(t, "echo"); st.State != host.StateRunning {
		t.Fatalf("echo: %+v", st)
	}
	// A reload tries again (and it crashes again).
	st, err = e2.Reload(context.Background(), "crashy")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "crashy to be disabled again", func() bool {
		st, _ = e2.BotStatus("crashy")
		return st.State == host.StateDisabled && st.Restarts == 6
	})
}

func withBots(cfg host.Config, bots ...host.BotConfig) host.Config {
	cfg.Bots = bots
	return cfg
}

func TestHungHookBlocksNothingElse(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot"), bot("echo", "echo")})
	alice, bob := e.newPerson(t, "alice"), e.newPerson(t, "bob")
	alice.add("testbot@bots.localhost")
	alice.add("echo@bots.localhost")
	bob.add("testbot@bots.localhost")
	acv := alice.conv("testbot@bots.localhost")
	alice.send(acv, "hang")
	// Bob's conversation with the same bot goes on.
	bcv := bob.conv("testbot@bots.localhost")
	if got := bob.ask(bcv, "testbot@bots.localhost", "ping"); got != "pong" {
		t.Fatalf("bob got %q", got)
	}
	// So do other bots.
	if got := alice.ask(alice.conv("echo@bots.localhost"), "echo@bots.localhost", "still there?"); got != "still there?" {
		t.Fatalf("echo answered %q", got)
	}
	// Alice's conversation continues once the hung hook is abandoned.
	if got := alice.ask(acv, "testbot@bots.localhost", "ping"); got != "pong" {
		t.Fatalf("alice got %q", got)
	}
	if !strings.Contains(e.logs.String(), "OnMessage did not return within 2s") {
		t.Errorf("the log does not say a hook was abandoned")
	}
}

func TestPermissionsAreEnforced(t *testing.T) {
	limited := bot("limited", "testbot", func(b *host.BotConfig) { b.Permissions = []string{"send"} })
	e := start(t, []host.BotConfig{bot("testbot", "testbot"), limited})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	alice.add("limited@bots.localhost")

	got := alice.ask(alice.conv("limited@bots.localhost"), "limited@bots.localhost", "contacts")
	if !strings.Contains(got, "permission") || !strings.Contains(got, `"contacts"`) {
		t.Fatalf("a forbidden ListContacts answered %q", got)
	}
	got = alice.ask(alice.conv("limited@bots.localhost"), "limited@bots.localhost", "kv set k v")
	if !strings.Contains(got, "permission") {
		t.Fatalf("a forbidden KVSet answered %q", got)
	}
	got = alice.ask(alice.conv("testbot@bots.localhost"), "testbot@bots.localhost", "contacts")
	if !strings.HasPrefix(got, "contacts: ") {
		t.Fatalf("an allowed ListContacts answered %q", got)
	}
}

func TestBotEnvironmentIsItsOwn(t *testing.T) {
	t.Setenv("NUDGE_TEST_SECRET", "hunter2")
	e := start(t, []host.BotConfig{bot("testbot", "testbot")})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	got := alice.ask(alice.conv("testbot@bots.localhost"), "testbot@bots.localhost", "env")
	names := strings.Split(strings.TrimPrefix(got, "env: "), ",")
	for _, leak := range []string{"NUDGE_TEST_SECRET", "PATH", "HOME"} {
		for _, n := range names {
			if n == leak {
				t.Errorf("the bot inherited %s from the host: %s", leak, got)
			}
		}
	}
	// AutoMTLS: the host handed the bot its certificate.
	if !strings.Contains(got, "PLUGIN_CLIENT_CERT") {
		t.Errorf("no AutoMTLS certificate in the bot's environment: %s", got)
	}
}

func TestBadLogLinesCannotCrashTheHost(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	cv := alice.conv("testbot@bots.localhost")
	if got := alice.ask(cv, "testbot@bots.localhost", "badlog"); got != "done" {
		t.Fatalf("badlog: %q", got)
	}
	if got := alice.ask(cv, "testbot@bots.localhost", "ping"); got != "pong" {
		t.Fatalf("after badlog: %q", got)
	}
	waitFor(t, "the malformed lines in the log", func() bool {
		return strings.Contains(e.logs.String(), "malformed log line")
	})
}

func TestBotLogsReachTheHostLog(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	if got := alice.ask(alice.conv("testbot@bots.localhost"), "testbot@bots.localhost", "log"); got != "logged" {
		t.Fatalf("log: %q", got)
	}
	var viaHclog, viaHost map[string]any
	waitFor(t, "both lines in the log", func() bool {
		for _, l := range e.logLines(t) {
			if l["bot"] != "testbot" {
				continue
			}
			switch l["message"] {
			case "hello from the bot":
				viaHclog = l
			case "through the host":
				viaHost = l
			}
		}
		return viaHclog != nil && viaHost != nil
	})
	if viaHclog["level"] != "warn" || viaHclog["answer"] != float64(42) || viaHclog["from"] != "bot" {
		t.Errorf("the hclog line: %v", viaHclog)
	}
	if viaHost["level"] != "error" || viaHost["k"] != "v" {
		t.Errorf("the Host.Log line: %v", viaHost)
	}
	// And `nudge bot logs` has them.
	logs, err := e.host.Logs("testbot", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range logs {
		got[l.Message] = l.Level
	}
	if got["hello from the bot"] != "warn" || got["through the host"] != "error" {
		t.Errorf("kept logs: %+v", logs)
	}
}

func TestKeyValueStoreIsTheServices(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	cv := alice.conv("testbot@bots.localhost")
	if got := alice.ask(cv, "testbot@bots.localhost", "kv set colour deep blue"); got != "stored" {
		t.Fatalf("kv set: %q", got)
	}
	if got := alice.ask(cv, "testbot@bots.localhost", "kv get colour"); got != "value: deep blue" {
		t.Fatalf("kv get: %q", got)
	}
	if got := alice.ask(cv, "testbot@bots.localhost", "kv get nothing"); got != "missing" {
		t.Fatalf("kv get of a missing key: %q", got)
	}
	v, err := e.cfg.Admin.KVGet(context.Background(), "bot:testbot", "colour")
	if err != nil || string(v) != "deep blue" {
		t.Fatalf("in the service's store: %q, %v", v, err)
	}
}

func TestChecksumIsPinned(t *testing.T) {
	// A configured checksum that does not match: never started.
	wrong := bot("wrong", "echo", func(b *host.BotConfig) { b.SHA256 = strings.Repeat("ab", 32) })
	e := start(t, []host.BotConfig{bot("echo", "echo")})
	h2, err := host.New(withBots(e.cfg, wrong))
	if err != nil {
		t.Fatal(err)
	}
	h2.Start(context.Background())
	defer h2.Close()
	var st host.Status
	waitFor(t, "the bot with a wrong checksum to be disabled", func() bool {
		st, _ = h2.BotStatus("wrong")
		return st.State == host.StateDisabled
	})
	if !strings.Contains(st.LastError, "checksum mismatch") || st.Restarts != 0 {
		t.Fatalf("%+v", st)
	}

	// A program replaced while the bot runs does not start again until a
	// reload says it is wanted.
	prog := t.TempDir() + "/swapped"
	copyFile(t, botPath("testbot"), prog)
	h3, err := host.New(withBots(e.cfg, bot("swapped", "testbot", func(b *host.BotConfig) { b.Command = prog })))
	if err != nil {
		t.Fatal(err)
	}
	h3.Start(context.Background())
	defer h3.Close()
	waitFor(t, "swapped to run", func() bool { st, _ = h3.BotStatus("swapped"); return st.State == host.StateRunning && st.Online })
	alice := e.newPerson(t, "alice")
	alice.add("swapped@bots.localhost")
	cv := alice.conv("swapped@bots.localhost")
	copyFile(t, botPath("echo"), prog)
	alice.send(cv, "exit")
	waitFor(t, "swapped to be disabled", func() bool {
		st, _ = h3.BotStatus("swapped")
		return st.State == host.StateDisabled
	})
	if !strings.Contains(st.LastError, "checksum mismatch") || !strings.Contains(st.LastError, "reload") {
		t.Fatalf("%+v", st)
	}
	// Reload pins the new program: the bot is echo now.
	if st, err = h3.Reload(context.Background(), "swapped"); err != nil || st.State != host.StateRunning {
		t.Fatalf("reload: %+v, %v", st, err)
	}
	waitFor(t, "swapped back online", func() bool { st, _ = h3.BotStatus("swapped"); return st.Online })
	if got := alice.ask(alice.conv("swapped@bots.localhost"), "swapped@bots.localhost", "ping"); got != "ping" {
		t.Fatalf("after the reload the bot answered %q, want echo's %q", got, "ping")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(to) // a running program's file cannot be written; a new one can take its name
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownBot(t *testing.T) {
	e := start(t, nil)
	if _, err := e.host.BotStatus("nobody"); !errors.Is(err, host.ErrNoBot) {
		t.Fatalf("BotStatus(nobody) = %v", err)
	}
	if _, err := e.host.Reload(context.Background(), "nobody"); !errors.Is(err, host.ErrNoBot) {
		t.Fatalf("Reload(nobody) = %v", err)
	}
}

// A bot whose hooks time out three times in a row is restarted, and the
// messages that were waiting behind the hung hooks reach the new process:
// none is handed to the process being replaced.
func TestMessagesAfterAHangReachTheNewProcess(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")}, func(c *host.Config) { c.HookTimeout = time.Second })
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	cv := alice.conv("testbot@bots.localhost")
	pid := e.status(t, "testbot").PID
	n := alice.count()
	for _, text := range []string{"hang", "hang", "hang", "say after 3 hangs", "say #2"} {
		alice.send(cv, text)
	}
	got := alice.nextN(n, "testbot@bots.localhost", 2)
	if got[0] != "after 3 hangs" || got[1] != "#2" {
		t.Fatalf("after the hangs the bot answered %q", got)
	}
	st := e.status(t, "testbot")
	if st.PID == pid || st.Restarts != 1 {
		t.Fatalf("the hung process was not replaced: %+v (pid before %d)", st, pid)
	}
}

// A bot that cannot keep up never loses a message silently: each one it
// did not read is named to its sender.
func TestMessagesNotReadAreNamed(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")}, func(c *host.Config) {
		c.QueueLimit = 3
		c.HookTimeout = 20 * time.Second
	})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	cv := alice.conv("testbot@bots.localhost")
	const n = 12
	alice.send(cv, "sleep 3000") // the bot is busy while the rest arrive
	for i := 1; i <= n; i++ {
		alice.send(cv, fmt.Sprintf("say %d", i))
	}
	// Every message is answered or named in a notice.
	quoted := regexp.MustCompile(`"(say \d+)"`)
	waitFor(t, "every message to be answered or named", func() bool {
		seen := map[string]bool{}
		for _, m := range alice.messagesFrom("testbot@bots.localhost") {
			if strings.HasPrefix(m, "⚠ Testbot could not keep up and did not read ") {
				for _, q := range quoted.FindAllStringSubmatch(m, -1) {
					seen[q[1]] = true
				}
				if strings.Contains(m, " more") {
					t.Fatalf("a notice left messages unnamed: %q", m)
				}
				continue
			}
			seen["say "+m] = true
		}
		for i := 1; i <= n; i++ {
			if !seen[fmt.Sprintf("say %d", i)] {
				return false
			}
		}
		return true
	})
	notices := 0
	for _, m := range alice.messagesFrom("testbot@bots.localhost") {
		if strings.HasPrefix(m, "⚠") {
			notices++
		}
	}
	if notices == 0 {
		t.Fatalf("no message was refused: %q", alice.messagesFrom("testbot@bots.localhost"))
	}
}

// A bot's display picture is served by the host through the bot's MSN
// session: contacts see it in presence and fetch it over P2P.
func TestBotDisplayPicture(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	cv := alice.conv("testbot@bots.localhost")
	if got := alice.ask(cv, "testbot@bots.localhost", "picture 5000"); got != "picture set" {
		t.Fatalf("testbot answered %q", got)
	}
	var obj *p2p.Object
	waitFor(t, "the bot's display picture in its presence", func() bool {
		ct, _ := alice.c.Contact("testbot@bots.localhost")
		obj = ct.DisplayPicture
		return obj != nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data, err := alice.c.FetchObject(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 5000 || data[300] != byte(300%251) {
		t.Fatalf("picture of %d bytes", len(data))
	}
	if got := alice.ask(cv, "testbot@bots.localhost", "picture 0"); got != "picture set" {
		t.Fatalf("removing: %q", got)
	}
	waitFor(t, "the picture gone from the bot's presence", func() bool {
		ct, _ := alice.c.Contact("testbot@bots.localhost")
		return ct.DisplayPicture == nil
	})
}

// A program that dies before its handshake (a Python traceback, a missing
// library) is reported with what it last wrote, on one line.
func TestStartFailureSaysWhy(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "broken")
	script := "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\necho 'ModuleNotFoundError: No module named grpc' >&2\nexit 1\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e := start(t, nil)
	h, err := host.New(withBots(e.cfg, bot("broken", "testbot", func(b *host.BotConfig) { b.Command = prog })))
	if err != nil {
		t.Fatal(err)
	}
	h.Start(context.Background())
	defer h.Close()
	var st host.Status
	waitFor(t, "the broken bot to be disabled", func() bool {
		st, _ = h.BotStatus("broken")
		return st.State == host.StateDisabled
	})
	if !strings.Contains(st.LastError, "Its last words: Traceback (most recent call last): | ModuleNotFoundError: No module named grpc") {
		t.Fatalf("last error: %q", st.LastError)
	}
}

// Start has StartTimeout of its own, counted once the program answered its
// handshake; a Start that takes longer is a failed start that says so.
func TestStartTimeLimit(t *testing.T) {
	sleepy := func(name, ms string) host.BotConfig {
		return bot(name, "testbot", func(b *host.BotConfig) { b.Settings = map[string]string{"start_sleep": ms} })
	}
	e := start(t, nil, func(c *host.Config) { c.StartTimeout = 8 * time.Second })
	h, err := host.New(withBots(e.cfg, sleepy("slow", "4000"), sleepy("slower", "60000")))
	if err != nil {
		t.Fatal(err)
	}
	h.Start(context.Background())
	defer h.Close()
	waitFor(t, "the slower bot's start to fail", func() bool {
		st, _ := h.BotStatus("slower")
		return strings.Contains(st.LastError, "its Start hook did not return within 8s")
	})
	st, _ := h.BotStatus("slow")
	if st.State != host.StateRunning || st.Restarts != 0 {
		t.Errorf("a bot whose Start took half the time allowed: %+v", st)
	}
}

// A call that a reload cuts short is not the message's fault: it goes to
// the new process, and its sender gets the answer, not a notice.
func TestACallCutShortByAReloadReachesTheNewProcess(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")}, func(c *host.Config) { c.HookTimeout = 30 * time.Second })
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	cv := alice.conv("testbot@bots.localhost")
	pid := e.status(t, "testbot").PID
	n := alice.count()
	alice.send(cv, "sleep 4000")
	waitFor(t, "the bot to be in its hook", func() bool { return strings.Contains(e.logs.String(), "sleeping 4000") })
	st, err := e.host.Reload(context.Background(), "testbot")
	if err != nil || st.PID == pid {
		t.Fatalf("reload: %+v, %v (pid before %d)", st, err, pid)
	}
	if got := alice.nextN(n, "testbot@bots.localhost", 1); got[0] != "slept" {
		t.Fatalf("after the reload the bot said %q", got)
	}
	if !strings.Contains(e.logs.String(), "went to a process that was being replaced; delivering it again") {
		t.Errorf("the message was not delivered again")
	}
	time.Sleep(time.Second) // nothing more comes: no notice, no second answer
	if got := alice.messagesFrom("testbot@bots.localhost"); len(got) != 1 {
		t.Errorf("alice got %q", got)
	}
}
