package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/plugins/host"
)

func touch(t *testing.T, path string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func names(bots []host.BotConfig) string {
	var n []string
	for _, b := range bots {
		n = append(n, b.Name)
	}
	return strings.Join(n, ",")
}

func TestResolveBots(t *testing.T) {
	dir := t.TempDir()
	touch(t, filepath.Join(dir, "echo"))
	touch(t, filepath.Join(dir, "tictactoe"))
	c := config.Default().Bots
	c.Dir = dir
	bots, warnings, err := resolveBots(c)
	if err != nil {
		t.Fatal(err)
	}
	// helper's program is missing and the scripts of js-hello and
	// py-hello too: warned, not fatal.
	if names(bots) != "echo,tictactoe" || len(warnings) != 3 || !strings.Contains(warnings[0], "helper") {
		t.Fatalf("bots %s, warnings %q", names(bots), warnings)
	}
	// py-hello runs where Python has gRPC, with the protos readable.
	touch(t, filepath.Join(dir, "py-hello", "bot.py"))
	bots, warnings, _ = resolveBots(c)
	if python := host.Python(); python != "" {
		if py := bots[len(bots)-1]; py.Name != "py-hello" || py.Command != python || py.Args[0] != filepath.Join(dir, "py-hello", "bot.py") {
			t.Errorf("py-hello: %+v", py)
		}
	} else if !strings.Contains(strings.Join(warnings, " "), "python3-grpcio") {
		t.Errorf("without Python's gRPC: %q", warnings)
	}
	os.RemoveAll(filepath.Join(dir, "py-hello"))
	if e := bots[0]; e.Email != "echo@bots.localhost" || e.FriendlyName != "Echo" || e.Command != filepath.Join(dir, "echo") ||
		strings.Join(e.Permissions, ",") != "send,log" {
		t.Errorf("echo: %+v", e)
	}

	// Changes to a shipped bot, a bot of one's own, a shipped bot turned off.
	c.Domain = "example.org"
	c.Run = []config.Bot{
		{Name: "echo", Settings: map[string]string{"a": "b"}, Permissions: []string{"all"}, Accept: "none"},
		{Name: "dice", Command: "/opt/dice", Args: []string{"-v"}, Protocol: 8},
		{Name: "tictactoe", Disabled: true},
		{Name: "helper", FriendlyName: "Helpful"}, // not built: nothing to change
	}
	bots, _, err = resolveBots(c)
	if err != nil {
		t.Fatal(err)
	}
	if names(bots) != "echo,dice" {
		t.Fatalf("bots %s", names(bots))
	}
	if e := bots[0]; e.Settings["a"] != "b" || e.Permissions[0] != "all" || !e.AcceptNone || e.Email != "echo@example.org" || e.FriendlyName != "Echo" {
		t.Errorf("echo changed: %+v", e)
	}
	if d := bots[1]; d.Command != "/opt/dice" || d.Args[0] != "-v" || d.Email != "dice@example.org" || d.FriendlyName != "dice" || d.Protocol != 8 {
		t.Errorf("dice: %+v", d)
	}

	// The isolation of bots that name none, and what one names for itself.
	c.Isolation = "sandbox"
	c.Run = []config.Bot{{Name: "dice", Command: "/opt/dice", Isolation: "landlock", User: "dice", Read: []string{"/srv/dice"}},
		{Name: "echo", Read: []string{"/srv/echo"}}}
	bots, _, err = resolveBots(c)
	if err != nil {
		t.Fatal(err)
	}
	if names(bots) != "echo,tictactoe,dice" {
		t.Fatalf("bots %s", names(bots))
	}
	if e := bots[0]; e.Isolation != host.IsolationSandbox || e.User != "" || strings.Join(e.Read, ",") != "/srv/echo" {
		t.Errorf("echo: %+v", e)
	}
	if e := bots[1]; e.Isolation != host.IsolationSandbox {
		t.Errorf("tictactoe: %+v", e)
	}
	if d := bots[2]; d.Isolation != host.IsolationLandlock || d.User != "dice" || strings.Join(d.Read, ",") != "/srv/dice" {
		t.Errorf("dice: %+v", d)
	}
	c.Isolation = "none"

	// A bot of one's own without a program is an error; shipped ones off.
	c.Shipped = false
	c.Run = []config.Bot{{Name: "nothing"}}
	if _, _, err := resolveBots(c); err == nil || !strings.Contains(err.Error(), `bot "nothing" has no command`) {
		t.Fatalf("no command: %v", err)
	}
	c.Run = nil
	if bots, _, _ := resolveBots(c); len(bots) != 0 {
		t.Fatalf("shipped off: %s", names(bots))
	}
}

// The extra in `nudge serve`, and `nudge bot` against it.
func TestBotsExtraAndCommands(t *testing.T) {
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "echo"), "github.com/nudge-im/nudge/plugins/bots/echo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building echo: %v\n%s", err, out)
	}
	srv := coretest.Start(t)
	cfg := config.Default()
	cfg.Data = srv.Data
	cfg.Bots.Dir = dir
	cfg.Bots.Run = []config.Bot{{Name: "tictactoe", Disabled: true}, {Name: "helper", Disabled: true}, {Name: "js-hello", Disabled: true},
		{Name: "py-hello", Disabled: true}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop, err := startBots(ctx, extraEnv{Config: cfg, Server: srv.Server, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	conn := []string{"--server", srv.HTTPURL, "--data", srv.Data}
	var out string
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out, "running  yes") {
		if time.Now().After(deadline) {
			t.Fatalf("bot list never showed echo running:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
		out = mustRun(t, append([]string{"bot", "list"}, conn...)...)
	}
	if !strings.HasPrefix(out, "NAME  STATE    ONLINE  PID") || !strings.Contains(out, "echo@bots.localhost") {
		t.Fatalf("bot list:\n%s", out)
	}
	out = mustRun(t, append([]string{"bot", "reload", "echo"}, conn...)...)
	if !strings.HasPrefix(out, "echo: running (pid ") {
		t.Fatalf("bot reload: %q", out)
	}
	out = mustRun(t, append([]string{"bot", "logs", "echo", "-n", "3"}, conn...)...)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(out, "host started (pid") {
		t.Fatalf("bot logs:\n%s", out)
	}
	_, _, err = run(t, "", append([]string{"bot", "reload", "nobody"}, conn...)...)
	oneLine(t, err, "no such bot", "nobody")
	_, _, err = run(t, "", "bot", "list", "--server", srv.HTTPURL, "--data", t.TempDir())
	oneLine(t, err, "no admin token", "--token")
	_, _, err = run(t, "", "bot", "list", "--server", srv.HTTPURL, "--token", "wrong")
	oneLine(t, err, "wrong admin token")

	// With the bots off, the extra stays off.
	cfg.Bots.Shipped = false
	cfg.Bots.Run = nil
	if stop, err := startBots(ctx, extraEnv{Config: cfg, Server: srv.Server, Log: zerolog.Nop()}); stop != nil || err != nil {
		t.Fatalf("extra with no bots: %v", err)
	}
}

func TestPrintBots(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var b strings.Builder
	printBots(&b, []host.Status{
		{Name: "echo", Email: "echo@bots.localhost", State: host.StateRunning, Online: true, PID: 42, Since: now.Add(-90 * time.Second)},
		{Name: "crashy", Email: "crashy@bots.localhost", State: host.StateDisabled, Restarts: 5, Since: now.Add(-3 * time.Hour),
			LastError: "it crashed 5 times within 10m0s"},
		{Name: "py", Email: "py@bots.localhost", State: host.StateRestarting, Restarts: 1, Since: now.Add(-2 * time.Second),
			LastError: "its Start hook failed: Traceback (most recent call last):\n  File \"bot.py\", line 3\n\tValueError: " + strings.Repeat("x", 200)},
	}, now)
	want := "NAME    STATE       ONLINE  PID  RESTARTS  SINCE   HANDLE                 LAST ERROR\n" +
		"echo    running     yes     42   0         1m ago  echo@bots.localhost    \n" +
		"crashy  disabled    no      -    5         3h ago  crashy@bots.localhost  it crashed 5 times within 10m0s\n" +
		"py      restarting  no      -    1         2s ago  py@bots.localhost      its Start hook failed: Traceback (most recent call last): File \"bot.py\", line 3 ValueError: " +
		strings.Repeat("x", 67) + "…\n"
	if b.String() != want {
		t.Errorf("printBots:\n%s\nwant\n%s", b.String(), want)
	}
}

// Every file nudge.yaml names that holds a key or data is hidden from a
// sandboxed bot, wherever it is.
func TestSecretPaths(t *testing.T) {
	cfg := config.Default()
	cfg.Passport.Cert, cfg.Passport.Key = "/etc/nudge/passport.crt", "/etc/nudge/passport.key"
	cfg.Discord.Database = "/var/lib/discord.db"
	cfg.Cluster.NATS.Credentials, cfg.Cluster.NATS.Key = "/etc/nudge/node.creds", "/etc/nudge/nats.key"
	got := secretPaths(cfg, "/etc/nudge/nudge.yaml")
	for _, want := range []string{"/etc/nudge/nudge.yaml", "/etc/nudge/passport.crt", "/etc/nudge/passport.key",
		"/var/lib/discord.db", "/etc/nudge/node.creds", "/etc/nudge/nats.key"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s is not hidden: %q", want, got)
		}
	}
	// A database URL is no file.
	cfg.Discord.Database = "postgres://u:p@db/discord"
	if got := secretPaths(cfg, ""); slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "postgres") }) {
		t.Errorf("a URL among the hidden paths: %q", got)
	}
}
