package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Bots configures the bot host: bots are programs that `nudge serve` runs,
// each signed in to MSN as a contact anyone can add.
type Bots struct {
	// Shipped runs the bots that come with Nudge (echo, tictactoe, helper,
	// js-hello when Node.js is installed, py-hello when Python has gRPC).
	Shipped bool `yaml:"shipped"`
	// Dir is where the shipped bots' programs are; "" means the folder
	// bots/ beside the nudge binary (make build puts them in bin/bots). A
	// relative path is relative to the configuration file's folder.
	Dir string `yaml:"dir"`
	// Domain makes the handles of bots that name none: NAME@Domain.
	Domain string `yaml:"domain"`
	// Home holds a working directory per bot, HOME/NAME; "" is the folder
	// DATA-bots beside the data directory (never inside it: a bot must not
	// find the server's files next to its own). Relative to the
	// configuration file's folder.
	Home string `yaml:"home"`
	// Isolation is the isolation of the bots that name none: none,
	// sandbox or landlock (see the README, "How bots are kept in line").
	Isolation string `yaml:"isolation"`
	// HookTimeout bounds each call into a bot; a call that takes longer is
	// abandoned (the bot's other conversations go on meanwhile).
	HookTimeout Duration `yaml:"hook_timeout"`
	// RestartMin and RestartMax bound the exponential backoff between
	// restarts of a bot that stopped.
	RestartMin Duration `yaml:"restart_min"`
	RestartMax Duration `yaml:"restart_max"`
	// CrashLimit crashes within CrashWindow disable a bot until
	// `nudge bot reload NAME`.
	CrashLimit  int      `yaml:"crash_limit"`
	CrashWindow Duration `yaml:"crash_window"`
	// HealthInterval is how often each bot is asked whether it is healthy.
	HealthInterval Duration `yaml:"health_interval"`
	// QueueLimit bounds the messages waiting for a bot per conversation;
	// the sender of one that finds the queue full is told it was not read.
	QueueLimit int `yaml:"queue_limit"`
	// Run lists your own bots, and changes to the shipped ones (an entry
	// with a shipped bot's name and no command changes only what it sets).
	Run []Bot `yaml:"run"`
}

// Bot is one bot to run.
type Bot struct {
	// Name names the bot in logs, in `nudge bot` and in its key-value
	// store: lower-case letters, digits and hyphens.
	Name string `yaml:"name"`
	// Command is the program (a path, or a name looked up in PATH) and
	// Args its arguments, e.g. command: node, args: [bot.js]. A relative
	// path is relative to the folder of the configuration file, and so is
	// an argument that names a file or folder there.
	Command string   `yaml:"command"`
	Args    []string `yaml:"args"`
	// Email is the bot's MSN handle (default NAME@bots.domain) and
	// FriendlyName the name people see.
	Email        string `yaml:"email"`
	FriendlyName string `yaml:"friendly_name"`
	// Settings are handed to the bot when it starts.
	Settings map[string]string `yaml:"settings"`
	// Permissions are the Host calls the bot may make: send, invite,
	// presence, contacts, kv, log, or all. Empty means send, kv and log.
	Permissions []string `yaml:"permissions"`
	// Accept says what happens when someone adds the bot: "everyone"
	// (default) adds them back and allows them; "none" leaves it to the bot.
	Accept string `yaml:"accept"`
	// SHA256 is the hex SHA-256 of the program; when set, the bot does not
	// start if the file differs.
	SHA256 string `yaml:"sha256"`
	// Disabled keeps the entry without running it (use it to turn off one
	// shipped bot).
	Disabled bool `yaml:"disabled"`
	// Isolation is none, sandbox or landlock; "" is bots.isolation.
	Isolation string `yaml:"isolation"`
	// User runs the bot as this account (a name or a uid) when the server
	// runs as root.
	User string `yaml:"user"`
	// Read are more paths a sandboxed bot may read, besides the system
	// folders, its program and the folders of its script arguments.
	Read []string `yaml:"read"`
	// Server, when set, signs the bot in to another MSN server
	// (host:port) with Password, instead of an account made on this one.
	// Passport is that server's Passport base URL for MSNP8+ (default
	// http://HOST:8080). Protocol is the highest MSNP version the bot
	// offers, on any server (default 15).
	Server   string `yaml:"server"`
	Password string `yaml:"password"`
	Passport string `yaml:"passport"`
	Protocol int    `yaml:"protocol"`
}

// BotPermissions are the permission names a bot may be given; "all" grants
// every one. The bot host enforces them (plugins/host).
var BotPermissions = []string{"send", "invite", "presence", "contacts", "kv", "log"}

// BotIsolations are the isolations a bot may be given (plugins/host
// implements them).
var BotIsolations = []string{"none", "sandbox", "landlock"}

func defaultBots() Bots {
	return Bots{
		Shipped:        true,
		Domain:         "bots.localhost",
		HookTimeout:    Duration(10 * time.Second),
		RestartMin:     Duration(time.Second),
		RestartMax:     Duration(5 * time.Minute),
		CrashLimit:     5,
		CrashWindow:    Duration(10 * time.Minute),
		HealthInterval: Duration(30 * time.Second),
		QueueLimit:     256,
		Isolation:      "none",
		Run:            []Bot{},
	}
}

var botNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

func (b *Bots) validate() error {
	if b.Domain == "" || strings.ContainsAny(b.Domain, "@ ") || !strings.Contains(b.Domain, ".") {
		return &keyError{"bots.domain", fmt.Sprintf("%q is not a domain such as bots.localhost", b.Domain)}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"bots.hook_timeout", b.HookTimeout}, {"bots.restart_min", b.RestartMin}, {"bots.restart_max", b.RestartMax},
		{"bots.crash_window", b.CrashWindow}, {"bots.health_interval", b.HealthInterval}} {
		if d.v <= 0 {
			return &keyError{d.key, "must be more than 0 (write it like 10s)"}
		}
	}
	if b.RestartMax < b.RestartMin {
		return &keyError{"bots.restart_max", "must not be less than bots.restart_min"}
	}
	if b.CrashLimit < 1 {
		return &keyError{"bots.crash_limit", "must be 1 or more"}
	}
	if b.QueueLimit < 1 {
		return &keyError{"bots.queue_limit", "must be 1 or more"}
	}
	if !slices.Contains(BotIsolations, b.Isolation) {
		return &keyError{"bots.isolation", fmt.Sprintf("%q is not one of %s", b.Isolation, strings.Join(BotIsolations, ", "))}
	}
	seen := map[string]bool{}
	for _, bot := range b.Run {
		bad := func(format string, args ...any) error {
			return &keyError{"bots.run", fmt.Sprintf("bot %q: ", bot.Name) + fmt.Sprintf(format, args...)}
		}
		if !botNameRE.MatchString(bot.Name) {
			return bad("name must be 1 to 32 lower-case letters, digits or hyphens")
		}
		if seen[bot.Name] {
			return bad("named twice")
		}
		seen[bot.Name] = true
		if bot.Email != "" && (strings.Count(bot.Email, "@") != 1 || strings.ContainsAny(bot.Email, " \t")) {
			return bad("email %q is not an e-mail address", bot.Email)
		}
		for _, p := range bot.Permissions {
			if p != "all" && !slices.Contains(BotPermissions, p) {
				return bad("unknown permission %q (known: %s, all)", p, strings.Join(BotPermissions, ", "))
			}
		}
		switch bot.Accept {
		case "", "everyone", "none":
		default:
			return bad("accept is %q; write everyone or none", bot.Accept)
		}
		if bot.SHA256 != "" {
			if h, err := hex.DecodeString(bot.SHA256); err != nil || len(h) != 32 {
				return bad("sha256 must be 64 hexadecimal digits (sha256sum prints them)")
			}
		}
		if bot.Server != "" {
			if _, _, err := net.SplitHostPort(bot.Server); err != nil {
				return bad("server %q is not host:port", bot.Server)
			}
			if bot.Password == "" {
				return bad("server is set, so password must be too: the bot signs in there with it")
			}
		}
		if bot.Protocol != 0 && (bot.Protocol < 2 || bot.Protocol > 18) {
			return bad("protocol %d is outside 2..18", bot.Protocol)
		}
		if bot.Isolation != "" && !slices.Contains(BotIsolations, bot.Isolation) {
			return bad("isolation %q is not one of %s", bot.Isolation, strings.Join(BotIsolations, ", "))
		}
		if strings.ContainsAny(bot.User, " \t:/") {
			return bad("user %q is not an account name or a uid", bot.User)
		}
	}
	return nil
}

// resolvePaths makes the relative paths of the bots' programs absolute
// against base, the folder of the configuration file: the file says where
// things are from where it is, wherever the server is started, and a bot
// runs in a working directory of its own. A command without a slash is a
// program looked up in PATH; an argument is a path only if it names a file
// or folder in base (node's bot.js), so "-v" or "20" stay as they are.
func (b *Bots) resolvePaths(base string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	b.Dir = abs(b.Dir)
	b.Home = abs(b.Home)
	for i := range b.Run {
		r := &b.Run[i]
		for j, p := range r.Read {
			r.Read[j] = abs(p)
		}
		if strings.ContainsRune(r.Command, '/') {
			r.Command = abs(r.Command)
		}
		for j, a := range r.Args {
			if a == "" || strings.HasPrefix(a, "-") || filepath.IsAbs(a) {
				continue
			}
			if _, err := os.Stat(filepath.Join(base, a)); err == nil {
				r.Args[j] = abs(a)
			}
		}
	}
}
