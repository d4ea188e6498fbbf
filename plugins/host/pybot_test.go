package host_test

import (
	"os"
	"path/filepath"
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
			testHelloBot(t, py, "Python")
			// The protos it compiled when it started are not left behind.
			if after, _ := filepath.Glob(filepath.Join(os.TempDir(), "nudge-proto-*")); len(after) > len(before) {
				t.Errorf("the bot left its compiled protos behind: %q", after)
			}
		})
	}
}

// pythonWithGRPC finds a Python with the gRPC packages the template needs;
// make deps installs them (scripts/deps.d/41-python-bots.sh), so CI fails
// without one and a machine that never ran make deps skips.
func pythonWithGRPC(t *testing.T) string {
	if python := host.Python(); python != "" {
		return python
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Python with gRPC; make deps installs it (scripts/deps.d/41-python-bots.sh)")
	}
	t.Skip("no Python with gRPC: run make deps")
	return ""
}
