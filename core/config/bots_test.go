package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/config"
)

func TestBotsSection(t *testing.T) {
	path := writeFile(t, "nudge.yaml", `bots:
  shipped: false
  hook_timeout: 3s
  run:
    - name: weather
      command: /opt/bots/weather
      args: [--units, metric]
      email: weather@example.com
      friendly_name: Weather
      settings: {city: Paris}
      permissions: [send, presence]
      accept: none
      sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    - name: helper
      settings: {greeting: hi}
    - name: remote
      command: ./remote
      server: messenger.example.net:1863
      password: pw
      protocol: 8
`)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Default().Bots
	want.Shipped = false
	want.HookTimeout = config.Duration(3 * time.Second)
	want.Run = []config.Bot{
		{Name: "weather", Command: "/opt/bots/weather", Args: []string{"--units", "metric"}, Email: "weather@example.com",
			FriendlyName: "Weather", Settings: map[string]string{"city": "Paris"}, Permissions: []string{"send", "presence"},
			Accept: "none", SHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{Name: "helper", Settings: map[string]string{"greeting": "hi"}},
		{Name: "remote", Command: filepath.Join(filepath.Dir(path), "remote"), Server: "messenger.example.net:1863", Password: "pw", Protocol: 8},
	}
	if !reflect.DeepEqual(c.Bots, want) {
		t.Errorf("Bots =\n%+v\nwant\n%+v", c.Bots, want)
	}
}

func TestBotsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"bad name", "bots:\n  run:\n    - name: Weather Bot\n", []string{"x.yaml:2: ", "bots.run", "Weather Bot", "lower-case"}},
		{"twice", "bots:\n  run:\n    - name: a\n    - name: a\n", []string{"x.yaml:2: ", `"a"`, "twice"}},
		{"permission", "bots:\n  run:\n    - name: a\n      permissions: [send, root]\n", []string{`"root"`, "known: send"}},
		{"accept", "bots:\n  run:\n    - name: a\n      accept: maybe\n", []string{`"maybe"`, "everyone or none"}},
		{"sha256", "bots:\n  run:\n    - name: a\n      sha256: xyz\n", []string{"sha256", "64 hexadecimal"}},
		{"server", "bots:\n  run:\n    - name: a\n      server: example.net\n", []string{`"example.net"`, "host:port"}},
		{"server without password", "bots:\n  run:\n    - name: a\n      server: example.net:1863\n", []string{"password"}},
		{"protocol", "bots:\n  run:\n    - name: a\n      protocol: 19\n", []string{"19", "2..18"}},
		{"unknown key", "bots:\n  run:\n    - name: a\n      colour: red\n", []string{"x.yaml:4: ", "colour"}},
		{"zero timeout", "bots:\n  hook_timeout: 0s\n", []string{"x.yaml:2: ", "bots.hook_timeout"}},
		{"backoff", "bots:\n  restart_min: 1m\n  restart_max: 1s\n", []string{"x.yaml:3: ", "bots.restart_max"}},
		{"crash limit", "bots:\n  crash_limit: 0\n", []string{"x.yaml:2: ", "bots.crash_limit"}},
		{"queue limit", "bots:\n  queue_limit: 0\n", []string{"x.yaml:2: ", "bots.queue_limit"}},
		{"isolation", "bots:\n  isolation: jail\n", []string{"x.yaml:2: ", "bots.isolation", "jail", "sandbox"}},
		{"bot isolation", "bots:\n  run:\n    - name: a\n      isolation: chroot\n", []string{"x.yaml:2: ", "chroot", "landlock"}},
		{"user", "bots:\n  run:\n    - name: a\n      user: a b\n", []string{`"a b"`, "account"}},
		{"domain", "bots:\n  domain: localhost\n", []string{"x.yaml:2: ", "bots.domain"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "x.yaml", tc.text)
			_, err := config.Load(path)
			if err == nil {
				t.Fatalf("Load accepted\n%s", tc.text)
			}
			msg := strings.TrimPrefix(err.Error(), filepath.Dir(path)+string(filepath.Separator))
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error is more than one line: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %s", msg, w)
				}
			}
		})
	}
}

// Paths in the file are relative to the file's folder, not to wherever the
// server was started.
func TestBotPathsAreRelativeToTheFile(t *testing.T) {
	path := writeFile(t, "nudge.yaml", `bots:
  dir: shipped
  run:
    - name: dice
      command: bin/dice
      args: [-v, "20", bot.js, missing.js]
    - name: js
      command: node
      args: [scripts/bot.js]
    - name: abs
      command: /opt/bots/abs
      read: [assets, /srv/shared]
`)
	dir := filepath.Dir(path)
	for _, f := range []string{"bot.js", "scripts/bot.js"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(t.TempDir()) // the server runs somewhere else
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Bots.Dir != filepath.Join(dir, "shipped") {
		t.Errorf("bots.dir = %q", c.Bots.Dir)
	}
	want := []config.Bot{
		{Name: "dice", Command: filepath.Join(dir, "bin/dice"), Args: []string{"-v", "20", filepath.Join(dir, "bot.js"), "missing.js"}},
		{Name: "js", Command: "node", Args: []string{filepath.Join(dir, "scripts/bot.js")}},
		{Name: "abs", Command: "/opt/bots/abs", Read: []string{filepath.Join(dir, "assets"), "/srv/shared"}},
	}
	if !reflect.DeepEqual(c.Bots.Run, want) {
		t.Errorf("bots.run =\n%+v\nwant\n%+v", c.Bots.Run, want)
	}
}
