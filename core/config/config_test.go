package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nudge-im/nudge/core/config"
)

func TestDefaultValidates(t *testing.T) {
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v; `nudge serve` with no config must start", err)
	}
	// The defaults the README and `make run` promise.
	if c.Listen.NS != "127.0.0.1:1863" || c.Listen.SB != "127.0.0.1:1864" ||
		c.Listen.HTTP != "127.0.0.1:8080" || c.Listen.HTTPS != "127.0.0.1:8443" || c.Listen.DS != "" {
		t.Errorf("default listen addresses = %+v", c.Listen)
	}
	if c.Data != "./data" || !c.Login.MD5 || !c.Login.Challenges ||
		time.Duration(c.Login.TicketLifetime) != 5*time.Minute || c.Login.BcryptCost != 10 ||
		time.Duration(c.Timeouts.Login) != 2*time.Minute || time.Duration(c.Timeouts.Idle) != 10*time.Minute ||
		c.Log != (config.Log{Level: "info", Format: "console"}) {
		t.Errorf("Default() = %+v", c)
	}
}

// writeFile writes a config file into a temp dir and returns its path.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFullFile(t *testing.T) {
	path := writeFile(t, "nudge.yaml", `data: /var/lib/nudge
listen:
  ns: 0.0.0.0:1863
  ds: 0.0.0.0:1865
  sb: 0.0.0.0:1864
  http: ""
  https: 0.0.0.0:443
public_host: 192.168.1.10
login:
  md5: false
  challenges: false
  ticket_lifetime: 90s
  bcrypt_cost: 12
passport:
  cert: /etc/nudge/cert.pem
  key: /etc/nudge/key.pem
  login_host: login.passport.com
  service_ticket_lifetime: 12h
admin:
  token: s3cret
timeouts:
  login: 30s
  idle: 1h
  switchboard_idle: 5m
limits:
  outbox_bytes: 1048576
log:
  level: debug
  format: json
web:
  enabled: false
  grace: 2m
offline:
  max_per_user: 20
  lifetime: 168h
`)
	got, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := config.Config{
		Data: "/var/lib/nudge",
		Listen: config.Listen{NS: "0.0.0.0:1863", DS: "0.0.0.0:1865", SB: "0.0.0.0:1864",
			HTTP: "", HTTPS: "0.0.0.0:443"},
		PublicHost: "192.168.1.10",
		Login: config.Login{MD5: false, Challenges: false,
			TicketLifetime: config.Duration(90 * time.Second), BcryptCost: 12},
		Passport: config.Passport{Cert: "/etc/nudge/cert.pem", Key: "/etc/nudge/key.pem", LoginHost: "login.passport.com",
			ServiceTicketLifetime: config.Duration(12 * time.Hour)},
		Admin: config.Admin{Token: "s3cret"},
		Timeouts: config.Timeouts{Login: config.Duration(30 * time.Second), Idle: config.Duration(time.Hour),
			SwitchboardIdle: config.Duration(5 * time.Minute)},
		Limits:  config.Limits{OutboxBytes: 1 << 20},
		Log:     config.Log{Level: "debug", Format: "json"},
		Bots:    config.Default().Bots, // the file leaves them at their defaults
		Discord: config.Default().Discord,
		Web:     config.Web{Enabled: false, Grace: config.Duration(2 * time.Minute)},
		Offline: config.Offline{MaxPerUser: 20, Lifetime: config.Duration(7 * 24 * time.Hour)},
		Cluster: config.Default().Cluster,
	}
	// What the file leaves out keeps its default.
	def := config.Default()
	want.Listen.Operator = def.Listen.Operator
	want.Timeouts.FirstCommand, want.Timeouts.HTTPHeader, want.Timeouts.HTTPRead = def.Timeouts.FirstCommand, def.Timeouts.HTTPHeader, def.Timeouts.HTTPRead
	want.Timeouts.HTTPWrite, want.Timeouts.HTTPIdle = def.Timeouts.HTTPWrite, def.Timeouts.HTTPIdle
	outbox := want.Limits.OutboxBytes
	want.Limits = def.Limits
	want.Limits.OutboxBytes = outbox
	want.Gateway = def.Gateway
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
	}
}

// A file that sets a few keys keeps the defaults for the others, and an
// empty file is the defaults.
func TestLoadPartialAndEmpty(t *testing.T) {
	got, err := config.Load(writeFile(t, "nudge.yaml", "listen:\n  ns: 0.0.0.0:1863\nlog:\n  level: warn\n"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := config.Default()
	want.Listen.NS = "0.0.0.0:1863"
	want.Log.Level = "warn"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("partial file: got %+v, want %+v", got, want)
	}

	got, err = config.Load(writeFile(t, "empty.yaml", "# nothing set\n"))
	if err != nil {
		t.Fatalf("Load of an empty file: %v", err)
	}
	if !reflect.DeepEqual(got, config.Default()) {
		t.Errorf("empty file: got %+v, want the defaults", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := config.Load(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load of a missing file = %v; want an error naming %s", err, path)
	}
}

// Every mistake in the file is one line that names the file and the line,
// and says what is wrong.
func TestLoadErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // the error starts with want[0] and contains the rest
	}{
		{"unknown top-level key", "data: ./data\nlisten:\n  ns: 127.0.0.1:1863\ncolour: blue\n",
			[]string{"x.yaml:4: ", "colour"}},
		{"unknown nested key", "data: ./data\nlog:\n  level: info\n  colour: blue\n",
			[]string{"x.yaml:4: ", "colour"}},
		{"misspelt key", "data: ./data\n\nlisten:\n  sb: 127.0.0.1:1864\n  htps: 127.0.0.1:8443\n",
			[]string{"x.yaml:5: ", "htps"}},
		{"bad duration", "timeouts:\n  login: 2m\n  idle: ten minutes\n",
			[]string{"x.yaml:3: ", `"ten minutes"`, "duration", "5m"}},
		{"duration without unit", "login:\n  ticket_lifetime: 300\n",
			[]string{"x.yaml:2: ", `"300"`, "duration"}},
		{"negative duration", "timeouts:\n  idle: -5m\n",
			[]string{"x.yaml:2: ", `"-5m"`}},
		{"bad address", "data: ./data\nlisten:\n  ns: 127.0.0.1:1863\n  sb: localhost\n",
			[]string{"x.yaml:4: ", "listen.sb", `"localhost"`, "host:port"}},
		{"bad https address", "listen:\n  https: 8443\n",
			[]string{"x.yaml:2: ", "listen.https", `"8443"`, "host:port"}},
		{"bad log level", "log:\n  format: json\n  level: verbose\n",
			[]string{"x.yaml:3: ", "log.level", `"verbose"`, "debug, info, warn, error"}},
		{"bad log format", "log:\n  format: xml\n",
			[]string{"x.yaml:2: ", "log.format", `"xml"`}},
		{"bad bcrypt cost", "login:\n  md5: true\n  bcrypt_cost: 99\n",
			[]string{"x.yaml:3: ", "login.bcrypt_cost", "99", "4..31"}},
		{"tiny outbox", "limits:\n  outbox_bytes: 100\n",
			[]string{"x.yaml:2: ", "limits.outbox_bytes", "100", "16384"}},
		{"bcrypt cost not a number", "login:\n  bcrypt_cost: high\n",
			[]string{"x.yaml:2: ", "high"}},
		{"empty ns", "listen:\n  ns: \"\"\n",
			[]string{"x.yaml:2: ", "listen.ns"}},
		{"empty sb", "listen:\n  sb: \"\"\n",
			[]string{"x.yaml:2: ", "listen.sb"}},
		{"cert without key", "passport:\n  login_host: login.passport.com\n  cert: /etc/cert.pem\n",
			[]string{"x.yaml:3: ", "passport.cert", "passport.key"}},
		{"key without cert", "passport:\n  key: /etc/key.pem\n",
			[]string{"x.yaml:2: ", "passport.key", "passport.cert"}},
		{"no file size", "discord:\n  max_file_size: 0\n",
			[]string{"x.yaml:2: ", "discord.max_file_size", "0"}},
		{"picture address", "discord:\n  picture_url: example.com/pictures/\n",
			[]string{"x.yaml:2: ", "discord.picture_url", "http://"}},
		{"yaml syntax", "data: ./data\nlisten:\n  ns: [127.0.0.1:1863\n",
			[]string{"x.yaml:"}},
		{"tab indentation", "listen:\n\tns: 127.0.0.1:1863\n",
			[]string{"x.yaml:2: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "x.yaml", tc.text)
			_, err := config.Load(path)
			if err == nil {
				t.Fatalf("Load accepted\n%s", tc.text)
			}
			msg := err.Error()
			// The error names the file as the user wrote it; strip the
			// temp directory for the comparison.
			msg = strings.TrimPrefix(msg, filepath.Dir(path)+string(filepath.Separator))
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error is more than one line: %q", msg)
			}
			if !strings.HasPrefix(msg, tc.want[0]) {
				t.Errorf("error %q does not start with %q", msg, tc.want[0])
			}
			for _, w := range tc.want[1:] {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %s", msg, w)
				}
			}
			if strings.Contains(msg, "config.") {
				t.Errorf("error %q speaks of Go types, not of the file", msg)
			}
		})
	}
}

// Validate on its own (as cmd calls it after applying flags) gives one line
// that names the key.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"no data", func(c *config.Config) { c.Data = "" }, "data"},
		{"no ns", func(c *config.Config) { c.Listen.NS = "" }, "listen.ns"},
		{"bad ds", func(c *config.Config) { c.Listen.DS = "nowhere" }, "listen.ds"},
		{"bad http", func(c *config.Config) { c.Listen.HTTP = "127.0.0.1" }, "listen.http"},
		{"bad level", func(c *config.Config) { c.Log.Level = "loud" }, "log.level"},
		{"cert only", func(c *config.Config) { c.Passport.Cert = "c.pem" }, "passport"},
		{"low cost", func(c *config.Config) { c.Login.BcryptCost = 3 }, "login.bcrypt_cost"},
	} {
		c := config.Default()
		tc.change(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: Validate accepted %+v", tc.name, c)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: Validate = %q; want one line naming %s", tc.name, err, tc.want)
		}
	}

	// Turning optional listeners off is allowed.
	c := config.Default()
	c.Listen.HTTP, c.Listen.HTTPS = "", ""
	c.Passport.Cert, c.Passport.Key = "c.pem", "k.pem"
	c.Login.BcryptCost = 0 // the store's default
	if err := c.Validate(); err != nil {
		t.Errorf("Validate(http and https off, cert and key set) = %v", err)
	}
}

func TestDurationRoundTrip(t *testing.T) {
	c := config.Default()
	c.Timeouts.Idle = config.Duration(90 * time.Second)
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "idle: 1m30s") {
		t.Errorf("marshalled durations should read like the file does:\n%s", out)
	}
	var back config.Config
	if err := config.Decode(strings.NewReader(string(out)), "round.yaml", &back); err != nil {
		t.Fatalf("Decode of Marshal output: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip: got %+v, want %+v", back, c)
	}
}

// The example file in the repository holds every key with its default: it
// loads, equals Default(), and names exactly the keys Config has. Adding a
// key without documenting it, or changing a default without updating the
// example, fails here.
func TestExampleFile(t *testing.T) {
	const path = "../../nudge.example.yaml"
	got, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	if !reflect.DeepEqual(got, config.Default()) {
		t.Errorf("%s differs from config.Default():\n got %+v\nwant %+v", path, got, config.Default())
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	compareKeys(t, path, text)
}

// The README's configuration block says the same as the example file.
func TestReadmeConfigBlock(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "Every key, with its default:")
	if !ok {
		t.Fatal("README.md has no \"Every key, with its default:\" block")
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	if !ok {
		t.Fatal("README.md: no ```yaml block after \"Every key, with its default:\"")
	}
	block, _, _ = strings.Cut(block, "```")
	var got config.Config
	if err := config.Decode(strings.NewReader(block), "README.md", &got); err != nil {
		t.Fatalf("the README's config block does not load: %v", err)
	}
	if !reflect.DeepEqual(got, config.Default()) {
		t.Errorf("the README's config block differs from config.Default():\n got %+v\nwant %+v", got, config.Default())
	}
	compareKeys(t, "README.md", []byte(block))
}

// compareKeys checks that text names exactly the keys of Config.
func compareKeys(t *testing.T, name string, text []byte) {
	t.Helper()
	all, err := yaml.Marshal(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	want, have := keyPaths(t, all), keyPaths(t, text)
	for _, k := range want {
		if !slices.Contains(have, k) {
			t.Errorf("%s does not show the key %s", name, k)
		}
	}
	for _, k := range have {
		if !slices.Contains(want, k) {
			t.Errorf("%s shows %s, which Config does not have", name, k)
		}
	}
}

// keyPaths lists the dotted paths of the leaf keys of a YAML document.
func keyPaths(t *testing.T, text []byte) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		if n.Kind == yaml.DocumentNode {
			for _, c := range n.Content {
				walk(prefix, c)
			}
			return
		}
		if n.Kind != yaml.MappingNode {
			out = append(out, prefix)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			walk(key, n.Content[i+1])
		}
	}
	walk("", &doc)
	slices.Sort(out)
	return out
}

func TestWebGraceOutOfRange(t *testing.T) {
	path := writeFile(t, "nudge.yaml", "web:\n  grace: 0s\n")
	_, err := config.Load(path)
	if err == nil || !strings.Contains(err.Error(), "nudge.yaml:2: web.grace: 0s is outside 1s..1h") {
		t.Fatalf("Load = %v", err)
	}
}
