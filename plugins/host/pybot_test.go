package host_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/plugins/host"
)

// A bot written in Python from bot.proto alone runs like a Go one, also in
// a sandbox.
func TestPythonBot(t *testing.T) {
	python := pythonWithGRPC(t)
	dir, _ := filepath.Abs("../bots/py-hello")
	for _, iso := range []host.Isolation{host.IsolationNone, host.IsolationSandbox} {
		t.Run(string(iso), func(t *testing.T) {
			py := host.BotConfig{Name: "py-hello", Command: python, Args: []string{filepath.Join(dir, "bot.py")},
				Email: "py-hello@bots.localhost", FriendlyName: "Hello from Python", Permissions: []string{"send", "kv", "log"},
				Isolation: iso, Read: []string{filepath.Join(dir, "..", "..", "proto")}}
			before, _ := filepath.Glob(filepath.Join(os.TempDir(), "nudge-proto-*"))
			e := start(t, []host.BotConfig{py})
			alice := e.newPerson(t, "alice")
			alice.add("py-hello@bots.localhost")
			cv := alice.conv("py-hello@bots.localhost")
			if got := alice.ask(cv, "py-hello@bots.localhost", "hi"); !strings.HasPrefix(got, "Hello, alice! I am Hello from Python, a bot written in Python.") {
				t.Fatalf("py-hello answered %q", got)
			}
			// The protos it compiled at start are not left in /tmp.
			if after, _ := filepath.Glob(filepath.Join(os.TempDir(), "nudge-proto-*")); len(after) > len(before) {
				t.Errorf("the bot left its compiled protos behind: %q", after)
			}
			for _, want := range []string{"1 time.", "2 times."} {
				if got := alice.ask(cv, "py-hello@bots.localhost", "count"); !strings.HasSuffix(got, want) {
					t.Fatalf("count: %q, want …%s", got, want)
				}
			}
			logs, _ := e.host.Logs("py-hello", 0, 0)
			found := false
			for _, l := range logs {
				if l.Message == "py-hello started" && l.Level == "info" && l.Source == "bot" && l.Fields["email"] == "py-hello@bots.localhost" {
					found = true
				}
			}
			if !found {
				t.Errorf("the bot's start line is not in its log: %+v", logs)
			}
			e.host.Close()
			if st := e.status(t, "py-hello"); st.State != host.StateStopped {
				t.Errorf("after Close: %+v", st)
			}
		})
	}
}

// pythonWithGRPC finds a Python with the gRPC packages the template needs;
// make deps installs them (scripts/deps.d/41-python-bots.sh), so CI fails
// without one and a machine that never ran make deps skips.
func pythonWithGRPC(t *testing.T) string {
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import grpc, grpc_tools, cryptography, sys; print(sys.executable)").Output()
		if err == nil {
			return strings.TrimSpace(string(out))
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Python with gRPC; make deps installs it (scripts/deps.d/41-python-bots.sh)")
	}
	t.Skip("no Python with gRPC: run make deps")
	return ""
}
