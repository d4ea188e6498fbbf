package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/server"
	"github.com/nudge-im/nudge/core/store"
)

// run executes the nudge command line in-process, as a user would type it,
// and returns what it printed and its error.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := rootCommand()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// mustRun runs a command that must succeed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, "", args...)
	if err != nil {
		t.Fatalf("nudge %s: %v (stderr %q)", strings.Join(args, " "), err, errOut)
	}
	return out
}

// oneLine checks that err is an error a person can act on: one line, no
// stack, mentioning each of want.
func oneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", want)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || strings.Contains(msg, "goroutine ") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
}

func openStore(t *testing.T, data string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(data, "nudge.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestUserLifecycle(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data") // not there yet: user add makes it
	ctx := context.Background()

	out := mustRun(t, "user", "add", "alice@example.com", "--password", "secret1", "--name", "Alice", "--data", data)
	if out != "added alice@example.com (Alice)\n" {
		t.Errorf("user add printed %q", out)
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, mode %v; want it made private (0700)", err, fi.Mode().Perm())
	}
	// A name defaults to the handle; the handle is lower-cased.
	out = mustRun(t, "user", "add", "Bob@Example.com", "--password", "secret2", "--data", data)
	if !strings.HasPrefix(out, "added bob@example.com (") {
		t.Errorf("user add without --name printed %q", out)
	}

	// The service (a separate store handle, as a running server has) sees
	// the account with the password given.
	st := openStore(t, data)
	if _, err := st.CheckPassword(ctx, "alice@example.com", "secret1"); err != nil {
		t.Errorf("alice cannot sign in with the password given to user add: %v", err)
	}

	out = mustRun(t, "user", "list", "--data", data)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("user list printed %d lines, want a header and two accounts:\n%s", len(lines), out)
	}
	if f := strings.Fields(lines[0]); len(f) != 3 || f[0] != "EMAIL" || f[1] != "NAME" || f[2] != "CREATED" {
		t.Errorf("user list header %q", lines[0])
	}
	if !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "Alice") || !strings.Contains(out, "bob@example.com") {
		t.Errorf("user list:\n%s", out)
	}
	// Columns line up.
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "alice@example.com ") {
			if i, j := strings.Index(lines[0], "NAME"), strings.Index(l, "Alice"); i != j {
				t.Errorf("NAME column at %d, Alice at %d:\n%s", i, j, out)
			}
		}
	}

	out = mustRun(t, "user", "passwd", "alice@example.com", "--password", "secret3", "--data", data)
	if out != "password of alice@example.com changed\n" {
		t.Errorf("user passwd printed %q", out)
	}
	if _, err := st.CheckPassword(ctx, "alice@example.com", "secret1"); !errors.Is(err, store.ErrBadPassword) {
		t.Errorf("old password after user passwd: %v, want refused", err)
	}
	if _, err := st.CheckPassword(ctx, "alice@example.com", "secret3"); err != nil {
		t.Errorf("new password after user passwd: %v", err)
	}

	out = mustRun(t, "user", "del", "bob@example.com", "--data", data)
	if out != "deleted bob@example.com\n" {
		t.Errorf("user del printed %q", out)
	}
	if _, err := st.Account(ctx, "bob@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob after user del: %v", err)
	}
	out = mustRun(t, "user", "list", "--data", data)
	if strings.Contains(out, "bob@example.com") || !strings.Contains(out, "alice@example.com") {
		t.Errorf("user list after del:\n%s", out)
	}
}

func TestUserErrors(t *testing.T) {
	data := t.TempDir()
	mustRun(t, "user", "add", "alice@example.com", "--password", "secret1", "--data", data)

	_, _, err := run(t, "", "user", "add", "alice@example.com", "--password", "other", "--data", data)
	oneLine(t, err, "alice@example.com", "already exists")
	// The existing account keeps its password.
	if _, err := openStore(t, data).CheckPassword(context.Background(), "alice@example.com", "secret1"); err != nil {
		t.Errorf("a refused user add changed the password: %v", err)
	}

	_, _, err = run(t, "", "user", "del", "nobody@example.com", "--data", data)
	oneLine(t, err, "nobody@example.com", "no such account", "nudge user list")

	_, _, err = run(t, "", "user", "passwd", "nobody@example.com", "--password", "x", "--data", data)
	oneLine(t, err, "nobody@example.com", "no such account", "nudge user list")

	_, _, err = run(t, "", "user", "add", "not-an-address", "--password", "x", "--data", data)
	oneLine(t, err, "not-an-address", "e-mail")

	_, _, err = run(t, "", "user", "add", "carol@example.com", "--password", strings.Repeat("p", store.MaxPassword+1), "--data", data)
	oneLine(t, err, "password")

	// No --password and nothing typed.
	_, _, err = run(t, "", "user", "add", "carol@example.com", "--data", data)
	oneLine(t, err, "password")
	// Only a newline typed.
	_, _, err = run(t, "\n", "user", "add", "carol@example.com", "--data", data)
	oneLine(t, err, "password")

	_, _, err = run(t, "", "user", "add", "--password", "x", "--data", data)
	oneLine(t, err, "arg")
}

// Without --password the password is read from the terminal (standard
// input), and the prompt goes to stderr so scripts can pipe it.
func TestUserPasswordFromStdin(t *testing.T) {
	data := t.TempDir()
	out, errOut, err := run(t, "typed-secret\r\n", "user", "add", "dave@example.com", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "added dave@example.com") || !strings.Contains(errOut, "Password:") {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
	st := openStore(t, data)
	if _, err := st.CheckPassword(context.Background(), "dave@example.com", "typed-secret"); err != nil {
		t.Errorf("typed password (CRLF trimmed) does not sign in: %v", err)
	}

	if _, _, err := run(t, "newer\n", "user", "passwd", "dave@example.com", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CheckPassword(context.Background(), "dave@example.com", "newer"); err != nil {
		t.Errorf("password typed to user passwd does not sign in: %v", err)
	}
}

// A mistake in the config file stops serve before it listens, with one
// line naming the file and the line.
func TestServeBadConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("data: ./data\nlisten:\n  nss: 127.0.0.1:1863\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, "", "serve", "--config", bad)
	oneLine(t, err, bad+":3:", "nss")

	level := filepath.Join(dir, "level.yaml")
	if err := os.WriteFile(level, []byte("log:\n  format: json\n  level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, "", "serve", "--config", level)
	oneLine(t, err, level+":3:", "log.level", "loud")

	_, _, err = run(t, "", "serve", "--config", filepath.Join(dir, "missing.yaml"))
	oneLine(t, err, "missing.yaml")

	// A bad flag is reported the same way, naming what to fix.
	_, _, err = run(t, "", "serve", "--data", dir, "--log-level", "loud")
	oneLine(t, err, "log.level", "loud")
	_, _, err = run(t, "", "serve", "--data", dir, "--sb", "1864")
	oneLine(t, err, "listen.sb", "1864")
}

// Flags override the file, which overrides the defaults.
func TestFlagsOverFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nudge.yaml")
	if err := os.WriteFile(path, []byte("data: /srv/nudge\nlisten:\n  ns: 0.0.0.0:1863\n  sb: 0.0.0.0:1864\nlog:\n  level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := serveCommand()
	var flags config.Config
	if err := cmd.ParseFlags([]string{"--config", path, "--ns", "127.0.0.1:2863", "--public-host", "192.168.1.10"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	flags.Listen.NS = cmd.Flags().Lookup("ns").Value.String()
	flags.PublicHost = cmd.Flags().Lookup("public-host").Value.String()
	applyFlags(cmd, &cfg, &flags)

	want := config.Default()
	want.Data = "/srv/nudge"          // file
	want.Listen.NS = "127.0.0.1:2863" // flag over file
	want.Listen.SB = "0.0.0.0:1864"   // file, no flag
	want.Log.Level = "warn"           // file
	want.PublicHost = "192.168.1.10"  // flag over default
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("flags over file:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestVersion(t *testing.T) {
	out := mustRun(t, "version")
	if !strings.HasPrefix(out, "nudge ") || strings.Count(out, "\n") != 1 || len(strings.TrimSpace(out)) <= len("nudge ") {
		t.Errorf("version printed %q", out)
	}
	_, _, err := run(t, "", "version", "extra")
	if err == nil {
		t.Error("version accepted an argument")
	}
}

func TestUnknownCommand(t *testing.T) {
	// Cobra's "Did you mean this?" is worth its extra lines.
	_, _, err := run(t, "", "srve")
	if err == nil || !strings.Contains(err.Error(), `"srve"`) || !strings.Contains(err.Error(), "serve") {
		t.Errorf("unknown command: %v; want it named, and serve suggested", err)
	}
}

// TestBenchRefusesOversizedMessages: a relay message over 1664 bytes would
// have the switchboard close every connection and the report show 0 msg/s;
// it is refused before anything runs.
func TestBenchRefusesOversizedMessages(t *testing.T) {
	_, _, err := run(t, "", "bench", "--size", "1665", "--token", "x", "--http", "http://127.0.0.1:1")
	oneLine(t, err, "--size 1665", "1664")
}

// TestWelcomeNamesTheToken: the start-up banner says where the admin token
// is — the data directory's file, or the config when it sets one (and no
// file is written then) — and which file clients trust.
func TestWelcomeNamesTheToken(t *testing.T) {
	for _, configured := range []string{"", "from-the-config"} {
		cfg := config.Default()
		cfg.Data = t.TempDir()
		cfg.Listen = config.Listen{NS: "127.0.0.1:0", SB: "127.0.0.1:0", HTTP: "127.0.0.1:0", HTTPS: "127.0.0.1:0"}
		cfg.Login.BcryptCost = 4
		cfg.Admin.Token = configured
		srv, err := server.Start(context.Background(), cfg, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		cmd := &cobra.Command{}
		var out bytes.Buffer
		cmd.SetErr(&out)
		printWelcome(cmd, cfg, srv)
		srv.Close()
		banner := out.String()
		file := filepath.Join(cfg.Data, "admin.token")
		if configured == "" && !strings.Contains(banner, "token in "+file) {
			t.Errorf("banner does not name %s:\n%s", file, banner)
		}
		if configured != "" && (strings.Contains(banner, file) || !strings.Contains(banner, "admin.token in the config")) {
			t.Errorf("banner with a configured token:\n%s", banner)
		}
		if !strings.Contains(banner, filepath.Join(cfg.Data, "passport-ca.crt")) {
			t.Errorf("banner does not say which file clients trust:\n%s", banner)
		}
	}
}
