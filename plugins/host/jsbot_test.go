package host_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/plugins/host"
)

// A bot written in JavaScript from bot.proto alone runs like a Go one:
// handshake, AutoMTLS, broker, hooks, Host calls.
func TestJavaScriptBot(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir, _ := filepath.Abs("../bots/js-hello")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@grpc", "grpc-js")); err != nil {
		t.Fatal("the JavaScript bot's packages are not installed: run make deps (scripts/deps.d/40-bots.sh)")
	}
	for _, iso := range []host.Isolation{host.IsolationNone, host.IsolationSandbox} {
		t.Run(string(iso), func(t *testing.T) {
			js := host.BotConfig{Name: "js-hello", Command: node, Args: []string{filepath.Join(dir, "bot.js")},
				Email: "js-hello@bots.localhost", FriendlyName: "Hello from JavaScript", Permissions: []string{"send", "kv", "log"},
				Isolation: iso, Read: []string{filepath.Join(dir, "..", "..", "proto")}}
			testHelloBot(t, js, "JavaScript")
		})
	}
}

// testHelloBot talks to a template bot (js-hello, py-hello) written in
// language: it greets, counts in its key-value store, logs a JSON line the
// host keeps with its level, and stops cleanly and quickly (its Shutdown
// answers).
func testHelloBot(t *testing.T, bc host.BotConfig, language string) {
	e := start(t, []host.BotConfig{bc})
	alice := e.newPerson(t, "alice")
	alice.add(bc.Email)
	cv := alice.conv(bc.Email)
	got := alice.ask(cv, bc.Email, "hi")
	if want := "Hello, alice! I am " + bc.FriendlyName + ", a bot written in " + language + "."; !strings.HasPrefix(got, want) {
		t.Fatalf("%s answered %q, want %q…", bc.Name, got, want)
	}
	for _, want := range []string{"1 time.", "2 times."} {
		if got := alice.ask(cv, bc.Email, "count"); !strings.HasSuffix(got, want) {
			t.Fatalf("count: %q, want …%s", got, want)
		}
	}
	logs, _ := e.host.Logs(bc.Name, 0, 0)
	found := false
	for _, l := range logs {
		if l.Message == bc.Name+" started" && l.Level == "info" && l.Source == "bot" && l.Fields["email"] == bc.Email {
			found = true
		}
	}
	if !found {
		t.Errorf("the bot's start line is not in its log: %+v", logs)
	}
	e.host.Close()
	if st := e.status(t, bc.Name); st.State != host.StateStopped {
		t.Errorf("after Close: %+v", st)
	}
}
