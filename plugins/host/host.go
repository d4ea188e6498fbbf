// Package host runs bots: programs that speak plugins/proto/bot.proto over
// go-plugin's gRPC transport, each signed in to MSN as a contact of its
// own.
//
// For every bot the host keeps an MSN session (msnp/client) — on this
// service, with an account it makes through the admin API, or on any MSN
// server with credentials from the configuration — and a process. Events of
// the session become calls of the bot's hooks (OnMessage, OnJoin, …); the
// bot answers through the Host service, which the host serves on a
// connection offered through go-plugin's broker and which checks the bot's
// permissions on every call.
//
// # Supervision
//
// A bot that exits, panics or stops answering health checks is restarted
// with exponential backoff (bots.restart_min up to bots.restart_max, with
// jitter). One that crashes bots.crash_limit times within bots.crash_window
// is disabled: its MSN session signs out, the log and `nudge bot list` say
// why, and `nudge bot reload NAME` starts it again. The MSN session outlives
// a crash, so people see no flicker; events that arrive while the process
// restarts wait in a bounded queue, except the one being handled when it
// crashed, which is not handed to the bot again so that one bad message
// cannot crash it forever (its sender is told). Events that were in flight
// in a process the host itself ends (it hung, or is reloaded) go to the
// next one.
//
// No message is dropped without a word: one that finds its conversation's
// queue full (bots.queue_limit) is not queued, and the host tells its
// sender, as the bot, which message was not read.
//
// Events are delivered per conversation: each conversation has its own
// ordered queue, so a hook that hangs delays only its own conversation and
// is abandoned after bots.hook_timeout. A bot whose hooks time out three
// times in a row is restarted.
//
// # Isolation
//
// A bot is not a sandbox — it runs as the host's user — but it is kept
// apart: its environment has only what go-plugin needs (the host's
// variables, tokens and passwords are not passed), every connection
// between them is mutually authenticated TLS (go-plugin's AutoMTLS), the
// program's SHA-256 is pinned when the bot is loaded and checked before
// every start (go-plugin's SecureConfig), and the bot runs below a shim
// (internal/shim: the host's own executable, started again) that ends
// everything the bot started when the bot ends, and ends the bot and all
// of it when the host dies, even by SIGKILL. Nothing a bot writes can crash
// the host: its standard error is sanitised before go-plugin parses it,
// and every call into it has a deadline.
package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/msnp"
)

// BotConfig is one bot to run.
type BotConfig struct {
	Name    string   // lower-case letters, digits, hyphens
	Command string   // a path, or a program name looked up in PATH
	Args    []string // its arguments
	Dir     string   // working directory; "" is DataDir/NAME

	Email        string // its MSN handle
	FriendlyName string
	Settings     map[string]string
	Permissions  []string // see Permissions; empty means DefaultPermissions
	// AcceptNone leaves people who add the bot to the bot; otherwise the
	// host adds them back and allows them.
	AcceptNone bool
	// SHA256, when set, is the hex SHA-256 the program must have.
	SHA256 string

	// Server, when set, signs the bot in to another MSN server with
	// Password; PassportURL is its Passport base URL (default
	// http://HOST:8080) and Protocol the highest version to offer.
	Server      string
	Password    string
	PassportURL string
	Protocol    msnp.Version
}

// Config configures a Host. Server, PassportURL and Admin are required.
type Config struct {
	Bots []BotConfig

	// Server is the notification server ("127.0.0.1:1863") bots sign in to,
	// PassportURL its Passport base URL ("http://127.0.0.1:8080"), and
	// Admin the admin API that makes their accounts and keeps their
	// key-value stores.
	Server      string
	PassportURL string
	Admin       *adminapi.Client

	// DataDir holds a working directory per bot; "" means a temporary one.
	DataDir string

	HookTimeout    time.Duration // default 10s
	StartTimeout   time.Duration // for the process to start and Start to return; default 20s
	RestartMin     time.Duration // default 1s
	RestartMax     time.Duration // default 5m
	CrashLimit     int           // default 5
	CrashWindow    time.Duration // default 10m
	HealthInterval time.Duration // default 30s
	// QueueLimit bounds the messages waiting per conversation (default
	// 256); the sender of one that finds the queue full is told the bot
	// did not read it.
	QueueLimit int

	Log zerolog.Logger
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HookTimeout, 10*time.Second)
	def(&c.StartTimeout, 20*time.Second)
	def(&c.RestartMin, time.Second)
	def(&c.RestartMax, 5*time.Minute)
	def(&c.CrashWindow, 10*time.Minute)
	def(&c.HealthInterval, 30*time.Second)
	if c.CrashLimit <= 0 {
		c.CrashLimit = 5
	}
	if c.QueueLimit <= 0 {
		c.QueueLimit = 256
	}
	if c.RestartMax < c.RestartMin {
		c.RestartMax = c.RestartMin
	}
}

// Host runs bots. Its methods are safe for concurrent use.
type Host struct {
	cfg     Config
	log     zerolog.Logger
	spawner *spawner
	tmpDir  string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	bots   map[string]*bot
	order  []string
	closed bool
}

// New checks the configuration and returns a Host that has not started any
// bot yet.
func New(cfg Config) (*Host, error) {
	cfg.setDefaults()
	if cfg.Admin == nil || cfg.Server == "" || cfg.PassportURL == "" {
		return nil, errors.New("bot host: the server address, its Passport URL and the admin API are required")
	}
	h := &Host{cfg: cfg, log: cfg.Log, bots: map[string]*bot{}}
	for _, bc := range cfg.Bots {
		if !nameRE.MatchString(bc.Name) {
			return nil, fmt.Errorf("bot %q: a name is 1 to 32 lower-case letters, digits or hyphens", bc.Name)
		}
		if h.bots[bc.Name] != nil {
			return nil, fmt.Errorf("bot %q is configured twice", bc.Name)
		}
		if bc.Command == "" {
			return nil, fmt.Errorf("bot %q: no command: say which program runs it", bc.Name)
		}
		if bc.Email == "" {
			return nil, fmt.Errorf("bot %q: no e-mail address", bc.Name)
		}
		perms, err := parsePermissions(bc.Permissions)
		if err != nil {
			return nil, fmt.Errorf("bot %q: %w", bc.Name, err)
		}
		if bc.Server != "" && bc.Password == "" {
			return nil, fmt.Errorf("bot %q: server %s needs a password", bc.Name, bc.Server)
		}
		h.bots[bc.Name] = newBot(h, bc, perms)
		h.order = append(h.order, bc.Name)
	}
	return h, nil
}

// Start starts every bot in the background and returns at once; a bot that
// cannot start is retried and reported in Status, never failing the host.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx != nil {
		return errors.New("bot host: already started")
	}
	if h.cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "nudge-bots-")
		if err != nil {
			return fmt.Errorf("bot host: %w", err)
		}
		h.tmpDir = dir
		h.cfg.DataDir = dir
	}
	h.spawner = newSpawner()
	h.ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, name := range h.order {
		b := h.bots[name]
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			b.run(h.ctx)
		}()
	}
	return nil
}

// Close stops every bot (their Stop hook, then their process) and signs
// their sessions out.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	cancel := h.cancel
	h.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	h.wg.Wait()
	if h.spawner != nil {
		h.spawner.close()
	}
	if h.tmpDir != "" {
		os.RemoveAll(h.tmpDir)
	}
	return nil
}

func (h *Host) bot(name string) (*bot, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.bots[name]
	return b, ok
}

// ErrNoBot is returned for a name no bot has.
var ErrNoBot = errors.New("no such bot")

// Status returns the state of every bot, in configuration order.
func (h *Host) Status() []Status {
	h.mu.Lock()
	names := slices.Clone(h.order)
	h.mu.Unlock()
	out := make([]Status, 0, len(names))
	for _, n := range names {
		b, _ := h.bot(n)
		out = append(out, b.status())
	}
	return out
}

// BotStatus returns the state of one bot.
func (h *Host) BotStatus(name string) (Status, error) {
	b, ok := h.bot(name)
	if !ok {
		return Status{}, fmt.Errorf("%w %q", ErrNoBot, name)
	}
	return b.status(), nil
}

// Reload stops the bot's process, pins its program's checksum anew (after
// you rebuilt it), forgets its crashes, enables it if it was disabled and
// starts it again. It waits until the bot runs or fails, within ctx.
func (h *Host) Reload(ctx context.Context, name string) (Status, error) {
	b, ok := h.bot(name)
	if !ok {
		return Status{}, fmt.Errorf("%w %q", ErrNoBot, name)
	}
	h.mu.Lock()
	started := h.ctx != nil && !h.closed
	h.mu.Unlock()
	if !started {
		return Status{}, errors.New("bot host is not running")
	}
	return b.reload(ctx)
}

// Logs returns the bot's recent log lines with a sequence number above
// after, oldest first, at most limit of them (0: all kept).
func (h *Host) Logs(name string, after uint64, limit int) ([]LogEntry, error) {
	b, ok := h.bot(name)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrNoBot, name)
	}
	return b.log.since(after, limit), nil
}

// workDir returns (and makes) the bot's working directory.
func (h *Host) workDir(bc BotConfig) (string, error) {
	dir := bc.Dir
	if dir == "" {
		dir = filepath.Join(h.cfg.DataDir, "bots", bc.Name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot make the bot's working directory: %w", err)
	}
	return dir, nil
}
