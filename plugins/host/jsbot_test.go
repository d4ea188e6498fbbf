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
			testJavaScriptBot(t, js)
		})
	}
}

func testJavaScriptBot(t *testing.T, js host.BotConfig) {
	e := start(t, []host.BotConfig{js})
	alice := e.newPerson(t, "alice")
	alice.add("js-hello@bots.localhost")
	cv := alice.conv("js-hello@bots.localhost")
	got := alice.ask(cv, "js-hello@bots.localhost", "hi")
	if !strings.HasPrefix(got, "Hello, alice! I am Hello from JavaScript, a bot written in JavaScript.") {
		t.Fatalf("js-hello answered %q", got)
	}
	for _, want := range []string{"1 time.", "2 times."} {
		if got := alice.ask(cv, "js-hello@bots.localhost", "count"); !strings.HasSuffix(got, want) {
			t.Fatalf("count: %q, want …%s", got, want)
		}
	}
	// Its JSON log line reached the host's log with its level.
	logs, _ := e.host.Logs("js-hello", 0, 0)
	found := false
	for _, l := range logs {
		if l.Message == "js-hello started" && l.Level == "info" && l.Source == "bot" && l.Fields["email"] == "js-hello@bots.localhost" {
			found = true
		}
	}
	if !found {
		t.Errorf("the bot's start line is not in its log: %+v", logs)
	}
	// It stops cleanly and quickly (its Shutdown answers).
	e.host.Close()
	if st := e.status(t, "js-hello"); st.State != host.StateStopped {
		t.Errorf("after Close: %+v", st)
	}
}
