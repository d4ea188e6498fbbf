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
// Every bot is kept apart: its environment has only what go-plugin needs
// (the host's variables, tokens and passwords are not passed), every
// connection between them is mutually authenticated TLS (AutoMTLS), the
// program's SHA-256 is pinned when the bot is loaded and checked before
// every start (go-plugin's SecureConfig), and the bot runs below a shim
// (internal/shim: the host's own executable, started again) that ends
// everything the bot started when the bot ends, and ends the bot and all
// of it when the host dies, even by SIGKILL. It works in a folder of its
// own outside the data directory. Nothing a bot writes can crash the host:
// its standard error is sanitised before go-plugin parses it, and every
// call into it has a deadline. What else it can reach of the server and
// the system is its Isolation (a sandbox, or Landlock) and its account
// (BotConfig.User).
package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
	Dir     string   // working directory; "" is Config.BotsDir/NAME

	// Isolation is how the bot is kept apart (see Isolation); "" is none.
	Isolation Isolation
	// User, when set, is the account the bot runs as (a name or a uid);
	// the host must run as root.
	User string
	// Read are more paths a sandboxed bot may read (besides the system
	// folders, its program and the folders of the files in Args).
	Read []string

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
	// http://HOST:8080). Protocol is the highest version to offer
	// (default DefaultProtocol).
	Server      string
	Password    string
	PassportURL string
	Protocol    msnp.Version
}

// DefaultProtocol is the MSNP version bots sign in with unless configured
// otherwise: 15, so that they read the offline messages left for them and
// leave them for offline contacts (MSNP13+), with the P2P (version 1) that
// every Nudge client and older peer shares.
const DefaultProtocol msnp.Version = 15

// Config configures a Host. Server, PassportURL and Admin are required.
type Config struct {
	Bots []BotConfig
	// Source, when set, returns the bots as the configuration says now:
	// Reload and ReloadAll read it again, so that changed settings, new
	// bots and removed ones take effect without a restart.
	Source func() ([]BotConfig, error)

	// Server is the notification server ("127.0.0.1:1863") bots sign in to,
	// PassportURL its Passport base URL ("http://127.0.0.1:8080"), and
	// Admin the admin API that makes their accounts and keeps their
	// key-value stores.
	Server      string
	PassportURL string
	Admin       *adminapi.Client

	// DataDir is the service's data directory (database, admin token,
	// keys): bots work outside it and a sandboxed bot never sees it. A
	// bot's working directory that older versions kept in DataDir/bots is
	// moved to BotsDir.
	DataDir string
	// BotsDir holds a working directory per bot, BotsDir/NAME; "" is
	// DataDir-bots beside the data directory, or a temporary folder
	// without a DataDir.
	BotsDir string
	// Hidden are more paths a sandboxed bot must never see, even below a
	// folder it may read: the configuration file, TLS keys.
	Hidden []string

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

	reloading sync.Mutex // one reload at a time

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
		if h.bots[bc.Name] != nil {
			return nil, fmt.Errorf("bot %q is configured twice", bc.Name)
		}
		b, err := h.newBot(bc)
		if err != nil {
			return nil, err
		}
		h.bots[bc.Name] = b
		h.order = append(h.order, bc.Name)
	}
	return h, nil
}

// newBot checks a bot's configuration.
func (h *Host) newBot(bc BotConfig) (*bot, error) {
	if !nameRE.MatchString(bc.Name) {
		return nil, fmt.Errorf("bot %q: a name is 1 to 32 lower-case letters, digits or hyphens", bc.Name)
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
	cred, err := runAs(bc)
	if err != nil {
		return nil, fmt.Errorf("bot %q: %w", bc.Name, err)
	}
	b := newBot(h, bc, perms)
	b.cred = cred
	return b, nil
}

// Start starts every bot in the background and returns at once; a bot that
// cannot start is retried and reported in Status, never failing the host.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx != nil {
		return errors.New("bot host: already started")
	}
	var err error
	switch {
	case h.cfg.BotsDir != "":
	case h.cfg.DataDir != "":
		h.cfg.BotsDir = filepath.Clean(h.cfg.DataDir) + "-bots"
	default:
		dir, err := os.MkdirTemp("", "nudge-bots-")
		if err != nil {
			return fmt.Errorf("bot host: %w", err)
		}
		h.tmpDir = dir
		h.cfg.BotsDir = dir
	}
	if h.cfg.BotsDir, err = filepath.Abs(h.cfg.BotsDir); err != nil {
		return fmt.Errorf("bot host: %w", err)
	}
	h.spawner = newSpawner()
	h.ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, name := range h.order {
		h.launch(h.bots[name])
	}
	return nil
}

// launch starts a bot's supervisor. Call with h.mu held, once h.ctx is set.
func (h *Host) launch(b *bot) {
	b.ctx, b.cancel = context.WithCancel(h.ctx)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer close(b.ended)
		b.run(b.ctx)
	}()
}

// retire stops a bot for good (its Stop hook, its process, its session)
// and waits until it has stopped.
func (h *Host) retire(b *bot) {
	b.cancel()
	<-b.ended
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

// StateRemoved is the state Reload reports for a bot it stopped because
// the configuration no longer has it.
const StateRemoved State = "removed"

// Reload restarts one bot as the configuration says now (Source): with its
// new settings, started if it is new, stopped if it is gone. It pins its
// program's checksum anew (after you rebuilt it), forgets its crashes and
// enables it if it was disabled. It waits until the bot runs or fails,
// within ctx.
func (h *Host) Reload(ctx context.Context, name string) (Status, error) {
	if err := h.running(); err != nil {
		return Status{}, err
	}
	h.reloading.Lock()
	defer h.reloading.Unlock()
	want, inConfig, err := h.wanted(name)
	if err != nil {
		return Status{}, err
	}
	b, ok := h.bot(name)
	switch {
	case !ok && !inConfig:
		return Status{}, fmt.Errorf("%w %q", ErrNoBot, name)
	case !inConfig:
		st := h.remove(b)
		return st, nil
	}
	if _, err := h.newBot(want); err != nil {
		return Status{}, &ConfigError{err}
	}
	switch {
	case !ok:
		nb, err := h.add(want)
		if err != nil {
			return Status{}, err
		}
		return nb.await(ctx, 0), nil
	case !reflect.DeepEqual(b.cfg, want):
		nb, err := h.replace(b, want)
		if err != nil {
			return Status{}, err
		}
		return nb.await(ctx, 0), nil
	}
	return b.reload(ctx)
}

// wanted returns the bot's configuration as Source says now (as the host
// was given it, without a Source).
func (h *Host) wanted(name string) (BotConfig, bool, error) {
	all, err := h.source()
	if err != nil {
		return BotConfig{}, false, err
	}
	for _, bc := range all {
		if bc.Name == name {
			return bc, true, nil
		}
	}
	return BotConfig{}, false, nil
}

// source returns the bots the configuration has now.
func (h *Host) source() ([]BotConfig, error) {
	if h.cfg.Source == nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		out := make([]BotConfig, 0, len(h.order))
		for _, n := range h.order {
			out = append(out, h.bots[n].cfg)
		}
		return out, nil
	}
	all, err := h.cfg.Source()
	if err != nil {
		return nil, &ConfigError{err}
	}
	seen := map[string]bool{}
	for _, bc := range all {
		if seen[bc.Name] {
			return nil, &ConfigError{fmt.Errorf("bot %q is configured twice", bc.Name)}
		}
		seen[bc.Name] = true
	}
	return all, nil
}

// ConfigError is a reload refused because the configuration has a
// mistake; nothing was changed.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Change is what a reload did to one bot.
type Change struct {
	Name   string `json:"name"`
	Action string `json:"action"` // started, stopped, restarted or unchanged
	Status Status `json:"status"`
}

// The actions of a Change.
const (
	Started   = "started"   // new in the configuration
	Stopped   = "stopped"   // gone from the configuration
	Restarted = "restarted" // its settings or its program changed, or it was disabled
	Unchanged = "unchanged"
)

// ReloadAll makes the running bots what the configuration says now
// (Source): it starts the new ones, stops the ones it no longer has, and
// restarts those whose settings or program changed and those that were
// disabled; the others go on undisturbed. It waits until the bots it
// started run or fail, within ctx, and returns a Change per bot, in
// configuration order with the stopped ones last.
func (h *Host) ReloadAll(ctx context.Context) ([]Change, error) {
	if err := h.running(); err != nil {
		return nil, err
	}
	h.reloading.Lock()
	defer h.reloading.Unlock()
	all, err := h.source()
	if err != nil {
		return nil, err
	}
	// Check every entry before changing anything: a mistake leaves the
	// bots as they are.
	for _, bc := range all {
		if _, err := h.newBot(bc); err != nil {
			return nil, &ConfigError{err}
		}
	}
	type pending struct {
		b      *bot
		action string
		want   int // the reload to wait for
	}
	var todo []pending
	keep := map[string]bool{}
	for _, bc := range all {
		keep[bc.Name] = true
		b, ok := h.bot(bc.Name)
		switch {
		case !ok:
			nb, err := h.add(bc)
			if err != nil {
				return nil, err
			}
			todo = append(todo, pending{nb, Started, 0})
		case !reflect.DeepEqual(b.cfg, bc):
			nb, err := h.replace(b, bc)
			if err != nil {
				return nil, err
			}
			todo = append(todo, pending{nb, Restarted, 0})
		case b.currentState() == StateDisabled || b.programChanged():
			todo = append(todo, pending{b, Restarted, b.requestReload()})
		default:
			todo = append(todo, pending{b, Unchanged, 0})
		}
	}
	var stopped []Change
	h.mu.Lock()
	var gone []*bot
	for _, n := range h.order {
		if !keep[n] {
			gone = append(gone, h.bots[n])
		}
	}
	h.mu.Unlock()
	for _, b := range gone {
		stopped = append(stopped, Change{Name: b.cfg.Name, Action: Stopped, Status: h.remove(b)})
	}
	out := make([]Change, 0, len(todo)+len(stopped))
	for _, p := range todo {
		st := p.b.status()
		if p.action != Unchanged {
			st = p.b.await(ctx, p.want)
		}
		out = append(out, Change{Name: p.b.cfg.Name, Action: p.action, Status: st})
	}
	return append(out, stopped...), nil
}

// running says whether the host can take a reload.
func (h *Host) running() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil || h.closed {
		return errors.New("bot host is not running")
	}
	return nil
}

// add starts a bot new to the configuration.
func (h *Host) add(bc BotConfig) (*bot, error) {
	b, err := h.newBot(bc)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("bot host is not running")
	}
	h.bots[bc.Name] = b
	h.order = append(h.order, bc.Name)
	h.launch(b)
	b.log.info("added to the configuration")
	return b, nil
}

// remove stops a bot the configuration no longer has and forgets it.
func (h *Host) remove(b *bot) Status {
	b.log.info("removed from the configuration; stopping")
	h.retire(b)
	h.mu.Lock()
	delete(h.bots, b.cfg.Name)
	h.order = slices.DeleteFunc(h.order, func(n string) bool { return n == b.cfg.Name })
	h.mu.Unlock()
	st := b.status()
	st.State = StateRemoved
	return st
}

// replace stops a bot and starts it again with a new configuration,
// keeping its log.
func (h *Host) replace(old *bot, bc BotConfig) (*bot, error) {
	nb, err := h.newBot(bc)
	if err != nil {
		return nil, err
	}
	old.log.info("its configuration changed; restarting")
	h.retire(old)
	nb.log = old.log
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bots[bc.Name] = nb
	if !h.closed {
		h.launch(nb)
	}
	return nb, nil
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

// workDir returns (and makes) the bot's working directory, owned by the
// account the bot runs as.
func (h *Host) workDir(b *bot) (string, error) {
	dir := b.cfg.Dir
	if dir == "" {
		dir = filepath.Join(h.cfg.BotsDir, b.cfg.Name)
		h.moveOldWorkDir(b, dir)
	}
	// The bots' folder can be passed through, not listed: a bot that runs
	// as another account reaches its own folder in it, and no other.
	if err := os.MkdirAll(h.cfg.BotsDir, 0o711); err != nil {
		return "", fmt.Errorf("cannot make the bots' folder: %w", err)
	}
	if fi, err := os.Stat(h.cfg.BotsDir); err == nil && b.cred != nil && fi.Mode().Perm()&0o001 == 0 {
		os.Chmod(h.cfg.BotsDir, fi.Mode().Perm()|0o001)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot make the bot's working directory: %w", err)
	}
	if c := b.cred; c != nil {
		if err := os.Chown(dir, int(c.UID), int(c.GID)); err != nil {
			return "", fmt.Errorf("cannot give the working directory %s to uid %d: %w", dir, c.UID, err)
		}
	}
	return filepath.Abs(dir)
}

// moveOldWorkDir moves a working directory from where older versions kept
// it, in the data directory, to dir.
func (h *Host) moveOldWorkDir(b *bot, dir string) {
	if h.cfg.DataDir == "" {
		return
	}
	old := filepath.Join(h.cfg.DataDir, "bots", b.cfg.Name)
	if _, err := os.Stat(old); err != nil {
		return
	}
	if _, err := os.Stat(dir); err == nil {
		return
	}
	os.MkdirAll(filepath.Dir(dir), 0o700)
	if err := os.Rename(old, dir); err != nil {
		b.log.warn("cannot move the working directory out of the data directory (%v); move %s to %s by hand", err, old, dir)
		return
	}
	os.Remove(filepath.Dir(old)) // DATA/bots, once empty
	b.log.info("moved its working directory out of the data directory, to %s", dir)
}
