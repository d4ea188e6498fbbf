// Package config is the service's configuration: defaults that work, a YAML
// file that overrides them, and flags that override the file.
//
// A mistake in the file is reported as one line naming the file, the line
// and what is wrong, so an operator can fix it without reading code.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is everything `nudge serve` can be told.
type Config struct {
	// Data is the directory for the database, the Passport certificate and
	// the admin token.
	Data string `yaml:"data"`

	Database Database `yaml:"database"`

	Listen Listen `yaml:"listen"`

	// PublicHost is the host or IP put in XFR and RNG referrals, when
	// clients must reach the service at another address than it listens
	// on (behind NAT or a port forward). Clients need an IP literal. When
	// empty, a listener on 0.0.0.0 refers each client to the address its
	// own connection came in on.
	PublicHost string `yaml:"public_host"`

	Login    Login    `yaml:"login"`
	Passport Passport `yaml:"passport"`
	Admin    Admin    `yaml:"admin"`
	Timeouts Timeouts `yaml:"timeouts"`
	Limits   Limits   `yaml:"limits"`
	Gateway  Gateway  `yaml:"gateway"`
	Log      Log      `yaml:"log"`
	Bots     Bots     `yaml:"bots"`    // bots.go
	Discord  Discord  `yaml:"discord"` // discord.go
	Web      Web      `yaml:"web"`     // web.go
	Offline  Offline  `yaml:"offline"` // offline.go
	Cluster  Cluster  `yaml:"cluster"` // cluster.go
}

// Database says where accounts, lists and the bots' key-value data are
// kept.
type Database struct {
	// URL is empty for SQLite (nudge.db in Data), or a PostgreSQL URL,
	// postgres://USER:PASSWORD@HOST:PORT/DATABASE, for nodes that share
	// one database.
	URL string `yaml:"url"`
}

// validate checks the URL's form only (no password in the message); the
// store reports what the server says when it connects.
func (d Database) validate() error {
	if d.URL == "" {
		return nil
	}
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || strings.Trim(u.Path, "/") == "" {
		return &keyError{"database.url", "must be postgres://USER:PASSWORD@HOST:PORT/DATABASE, or empty for SQLite in the data directory"}
	}
	return nil
}

// Listen holds the listen addresses ("" turns a listener off, except ns).
type Listen struct {
	// NS serves Notification connections; with DS unset it also takes the
	// clients' first connection (single-node mode).
	NS string `yaml:"ns"`
	// DS, when set, is a separate Dispatch listener that refers every
	// client to NS with XFR NS.
	DS    string `yaml:"ds"`
	SB    string `yaml:"sb"`
	HTTP  string `yaml:"http"`
	HTTPS string `yaml:"https"`
	// Operator serves the admin API, /metrics and /debug/pprof/ (and
	// /healthz) for operators only; "" turns it off. On the HTTP and HTTPS
	// listeners the same endpoints need the admin token.
	Operator string `yaml:"operator"`
}

// Login holds the sign-in policy.
type Login struct {
	// MD5 allows the MD5 logins of MSNP2–7. Turning it off limits the
	// service to MSNP8+ (Passport) clients.
	MD5 bool `yaml:"md5"`
	// Challenges makes MSNP6+ clients answer CHL; a wrong answer ends the
	// session.
	Challenges bool `yaml:"challenges"`
	// TicketLifetime is how long a Passport ticket may wait to be used.
	TicketLifetime Duration `yaml:"ticket_lifetime"`
	// BcryptCost is the work factor of stored password hashes.
	BcryptCost int `yaml:"bcrypt_cost"`
}

// Passport holds the Passport (HTTPS) endpoint settings.
type Passport struct {
	// Cert and Key are PEM files of the operator's own certificate. When
	// empty, a local CA (Data/passport-ca.crt, the file clients trust) is
	// made on first start and issues the HTTPS certificate for the Passport
	// host names, renewed by the service as it needs.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// SHA1 signs the Passport CA and server certificate that are made with
	// SHA-1 instead of SHA-256, for Windows XP before Service Pack 3,
	// which cannot check SHA-256 signatures. Modern TLS stacks refuse
	// SHA-1; set it only for such clients, before the CA is made.
	SHA1 bool `yaml:"sha1"`
	// LoginHost is what the nexus sends clients as the login server
	// (host[:port], no scheme). Empty means the host the client asked for,
	// with the HTTPS listener's port unless it is 443.
	LoginHost string `yaml:"login_host"`
	// ServiceTicketLifetime is how long the tickets an RST answer gives
	// for the web services (address book, offline messages, profile)
	// stay good: a client uses them for its whole session.
	ServiceTicketLifetime Duration `yaml:"service_ticket_lifetime"`
}

// Admin holds the admin API settings.
type Admin struct {
	// Token is the bearer token of the admin API. When empty, one is
	// generated on first start and kept in Data/admin.token.
	Token string `yaml:"token"`
	// PublicMetrics serves /metrics without the token on the HTTP and HTTPS
	// listeners too (it is always open on listen.operator).
	PublicMetrics bool `yaml:"public_metrics"`
}

// Gateway holds the HTTP gateway's settings.
type Gateway struct {
	// AllowOrigins are the web origins ("https://chat.example.org") whose
	// pages may call the gateway from another origin. The service's own
	// pages are the same origin and need no entry.
	AllowOrigins []string `yaml:"allow_origins"`
}

// Timeouts bound idle and half-open connections.
type Timeouts struct {
	Login Duration `yaml:"login"`
	Idle  Duration `yaml:"idle"`
	// SwitchboardIdle drops a conversation participant silent this long.
	SwitchboardIdle Duration `yaml:"switchboard_idle"`
	// FirstCommand closes a connection that has not sent its first
	// command (VER on NS, USR or ANS on SB) this long after connecting.
	FirstCommand Duration `yaml:"first_command"`
	// HTTPHeader, HTTPRead, HTTPWrite and HTTPIdle bound every HTTP
	// listener: the request headers, the whole request, the response, and
	// a kept-alive connection between requests.
	HTTPHeader Duration `yaml:"http_header"`
	HTTPRead   Duration `yaml:"http_read"`
	HTTPWrite  Duration `yaml:"http_write"`
	HTTPIdle   Duration `yaml:"http_idle"`
}

// Limits bound what one client may cost the server.
type Limits struct {
	// OutboxBytes is how much may wait for a client that reads too slowly
	// before it is cut off. A client's own large answers (a contact list
	// of thousands) wait for it instead.
	OutboxBytes int `yaml:"outbox_bytes"`
	// Unauthenticated caps the connections that have not signed in yet
	// (NS, DS and SB each), in total and per source address; past either,
	// a new connection is closed at once.
	Unauthenticated           int `yaml:"unauthenticated"`
	UnauthenticatedPerAddress int `yaml:"unauthenticated_per_address"`
	// SwitchboardCookies caps the unused XFR SB cookies one user may hold,
	// Switchboards the conversations one user may have open, and
	// SwitchboardRequests the XFR SB one user may send per minute.
	SwitchboardCookies  int `yaml:"switchboard_cookies"`
	Switchboards        int `yaml:"switchboards"`
	SwitchboardRequests int `yaml:"switchboard_requests_per_minute"`
	// GatewaySessions caps HTTP gateway sessions, in total and per source
	// address.
	GatewaySessions           int `yaml:"gateway_sessions"`
	GatewaySessionsPerAddress int `yaml:"gateway_sessions_per_address"`
	// HTTPConnections caps the open connections of each HTTP listener.
	HTTPConnections int `yaml:"http_connections"`
	// SignIn throttles failed sign-ins.
	SignIn SignIn `yaml:"signin"`
}

// SignIn throttles password guessing (MD5, login2.srf, RST.srf, through
// the gateway too), per source address and per account.
type SignIn struct {
	// Free failures cost nothing; then each attempt waits Delay, doubling
	// with every further failure up to MaxDelay.
	Free     int      `yaml:"free"`
	Delay    Duration `yaml:"delay"`
	MaxDelay Duration `yaml:"max_delay"`
	// AddressFailures from one address refuse its sign-ins for
	// AddressRefuse; AccountFailures on one account refuse it for
	// AccountRefuse, except from addresses it signed in from before.
	AddressFailures int      `yaml:"address_failures"`
	AddressRefuse   Duration `yaml:"address_refuse"`
	AccountFailures int      `yaml:"account_failures"`
	AccountRefuse   Duration `yaml:"account_refuse"`
	// Forget is how long failures are remembered.
	Forget Duration `yaml:"forget"`
}

// Log sets the log output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // console or json
}

// Duration is a time.Duration written as "90s" or "5m" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (write it like 90s or 5m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Default is the configuration `make run` uses.
func Default() Config {
	return Config{
		Data: "./data",
		Listen: Listen{
			NS:    "127.0.0.1:1863",
			SB:    "127.0.0.1:1864",
			HTTP:  "127.0.0.1:8080",
			HTTPS: "127.0.0.1:8443",

			Operator: "127.0.0.1:8081",
		},
		Login: Login{
			MD5:            true,
			Challenges:     true,
			TicketLifetime: Duration(5 * time.Minute),
			BcryptCost:     10,
		},
		Passport: Passport{ServiceTicketLifetime: Duration(24 * time.Hour)},
		Timeouts: Timeouts{Login: Duration(2 * time.Minute), Idle: Duration(10 * time.Minute), SwitchboardIdle: Duration(30 * time.Minute),
			FirstCommand: Duration(10 * time.Second),
			HTTPHeader:   Duration(10 * time.Second), HTTPRead: Duration(30 * time.Second),
			HTTPWrite: Duration(90 * time.Second), HTTPIdle: Duration(2 * time.Minute)},
		Limits: Limits{
			OutboxBytes:     256 << 10,
			Unauthenticated: 2000, UnauthenticatedPerAddress: 100,
			SwitchboardCookies: 16, Switchboards: 100, SwitchboardRequests: 60,
			GatewaySessions: 2000, GatewaySessionsPerAddress: 32,
			HTTPConnections: 2000,
			SignIn: SignIn{
				Free: 5, Delay: Duration(time.Second), MaxDelay: Duration(30 * time.Second),
				AddressFailures: 30, AddressRefuse: Duration(15 * time.Minute),
				AccountFailures: 10, AccountRefuse: Duration(5 * time.Minute),
				Forget: Duration(15 * time.Minute),
			},
		},
		Gateway: Gateway{AllowOrigins: []string{}},
		Log:     Log{Level: "info", Format: "console"},
		Bots:    defaultBots(),
		Discord: defaultDiscord(),
		Web:     defaultWeb(),
		Offline: defaultOffline(),
		Cluster: defaultCluster(),
	}
}

// Load reads a YAML file over the defaults.
func Load(path string) (Config, error) {
	c := Default()
	f, err := os.Open(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	if err := Decode(f, path, &c); err != nil {
		return c, err
	}
	c.Bots.resolvePaths(filepath.Dir(path))
	return c, nil
}

var (
	lineRE         = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// Decode reads YAML from r into c, rejecting unknown keys. Errors read
// "name:line: what is wrong".
func Decode(r io.Reader, name string, c *Config) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			err = errors.New(te.Errors[0])
		}
		msg := err.Error()
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			what := strings.TrimSpace(msg[len(m[0]):])
			// yaml names the Go type ("field colour not found in type
			// config.Log"); the operator knows only the file.
			if f := unknownFieldRE.FindStringSubmatch(what); f != nil {
				what = fmt.Sprintf("unknown key %q", f[1])
			}
			return fmt.Errorf("%s:%s: %s", name, m[1], what)
		}
		return fmt.Errorf("%s: %s", name, msg)
	}
	if err := c.Validate(); err != nil {
		// A bad value that YAML's types accept (an address, a log level)
		// is as much a mistake in the file as a syntax error: name the
		// line it is on, as the README promises, not only the key.
		var ke *keyError
		if !errors.As(err, &ke) {
			return fmt.Errorf("%s: %w", name, err)
		}
		if line := keyLine(data, ke.key); line > 0 {
			return fmt.Errorf("%s:%d: %s: %s", name, line, ke.key, ke.msg)
		}
		return fmt.Errorf("%s: %s: %s", name, ke.key, ke.msg)
	}
	return nil
}

// keyError is a Validate error about one key ("listen.sb").
type keyError struct{ key, msg string }

func (e *keyError) Error() string { return "config: " + e.key + ": " + e.msg }

// keyLine returns the line of the dotted key in the YAML text, or 0 when
// the text does not set it.
func keyLine(data []byte, key string) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	n := doc.Content[0]
	line := 0
	for _, part := range strings.Split(key, ".") {
		if n.Kind != yaml.MappingNode {
			return 0
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				line, next = n.Content[i].Line, n.Content[i+1]
			}
		}
		if next == nil {
			return 0
		}
		n = next
	}
	return line
}

// Validate checks the values that YAML types cannot. An error names the
// key at fault.
func (c *Config) Validate() error {
	if c.Data == "" {
		return &keyError{"data", "must name a directory"}
	}
	// A node of a cluster may leave out the servers other nodes run.
	if c.Listen.NS == "" && !c.Cluster.On() {
		return &keyError{"listen.ns", "must be set (host:port)"}
	}
	// In a fixed order, so that of two mistakes the same one is reported
	// every time.
	for _, l := range []struct{ key, addr string }{{"listen.ns", c.Listen.NS}, {"listen.ds", c.Listen.DS},
		{"listen.sb", c.Listen.SB}, {"listen.http", c.Listen.HTTP}, {"listen.https", c.Listen.HTTPS},
		{"listen.operator", c.Listen.Operator}} {
		if l.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			return &keyError{l.key, fmt.Sprintf("%q is not host:port", l.addr)}
		}
	}
	if c.Listen.SB == "" && !c.Cluster.On() {
		return &keyError{"listen.sb", "must be set (host:port): clients cannot chat without a switchboard"}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return &keyError{"log.level", fmt.Sprintf("%q is not one of debug, info, warn, error", c.Log.Level)}
	}
	switch c.Log.Format {
	case "console", "json":
	default:
		return &keyError{"log.format", fmt.Sprintf("%q is not console or json", c.Log.Format)}
	}
	if c.Login.BcryptCost != 0 && (c.Login.BcryptCost < 4 || c.Login.BcryptCost > 31) {
		return &keyError{"login.bcrypt_cost", fmt.Sprintf("%d is outside 4..31", c.Login.BcryptCost)}
	}
	if c.Limits.OutboxBytes != 0 && c.Limits.OutboxBytes < 16<<10 {
		return &keyError{"limits.outbox_bytes", fmt.Sprintf("%d is too small: at least 16384, so a client can be sent its profile and presence", c.Limits.OutboxBytes)}
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	for _, o := range c.Gateway.AllowOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return &keyError{"gateway.allow_origins", fmt.Sprintf("%q is not an origin like https://chat.example.org", o)}
		}
	}
	if c.Passport.Cert != "" && c.Passport.Key == "" {
		return &keyError{"passport.cert", "passport.key is not set: the two go together, set both or neither"}
	}
	if c.Passport.Key != "" && c.Passport.Cert == "" {
		return &keyError{"passport.key", "passport.cert is not set: the two go together, set both or neither"}
	}
	if err := c.Database.validate(); err != nil {
		return err
	}
	if err := c.Bots.validate(); err != nil {
		return err
	}
	if err := c.Discord.validate(); err != nil {
		return err
	}
	if l := c.Passport.ServiceTicketLifetime; l != 0 && (l < Duration(time.Minute) || l > Duration(30*24*time.Hour)) {
		return &keyError{"passport.service_ticket_lifetime", fmt.Sprintf("%s is outside 1m..720h", time.Duration(l))}
	}
	if err := c.Offline.validate(); err != nil {
		return err
	}
	if err := c.Web.validate(); err != nil {
		return err
	}
	return c.Cluster.validate(c.Database, c.Listen)
}

// validate refuses limits that would stop the service working: every cap
// must let at least one client in.
func (l Limits) validate() error {
	for _, v := range []struct {
		key string
		n   int
	}{
		{"limits.unauthenticated", l.Unauthenticated}, {"limits.unauthenticated_per_address", l.UnauthenticatedPerAddress},
		{"limits.switchboard_cookies", l.SwitchboardCookies}, {"limits.switchboards", l.Switchboards},
		{"limits.switchboard_requests_per_minute", l.SwitchboardRequests},
		{"limits.gateway_sessions", l.GatewaySessions}, {"limits.gateway_sessions_per_address", l.GatewaySessionsPerAddress},
		{"limits.http_connections", l.HTTPConnections},
		{"limits.signin.address_failures", l.SignIn.AddressFailures}, {"limits.signin.account_failures", l.SignIn.AccountFailures},
	} {
		if v.n < 1 {
			return &keyError{v.key, fmt.Sprintf("%d is too small: at least 1", v.n)}
		}
	}
	if l.SignIn.Free < 0 {
		return &keyError{"limits.signin.free", fmt.Sprintf("%d is negative", l.SignIn.Free)}
	}
	return nil
}
