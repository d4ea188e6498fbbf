package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/nudge-im/nudge/plugins/host/internal/shim"
	botpb "github.com/nudge-im/nudge/plugins/proto"
	"github.com/nudge-im/nudge/plugins/sdk"
)

// State is where a bot is in its life.
type State string

// The states.
const (
	StateStarting   State = "starting"   // its process is starting
	StateRunning    State = "running"    // it answers
	StateRestarting State = "restarting" // it stopped, and starts again after a backoff
	StateDisabled   State = "disabled"   // it crashed too often, or its program changed: see LastError
	StateStopped    State = "stopped"    // the host closed
)

// Status is what the host knows of a bot, as `nudge bot list` shows it.
type Status struct {
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	State         State     `json:"state"`
	Since         time.Time `json:"since"` // when it entered State
	PID           int       `json:"pid,omitempty"`
	Online        bool      `json:"online"`               // its MSN session is signed in
	Restarts      int       `json:"restarts"`             // since the host started
	RecentCrashes int       `json:"recent_crashes"`       // within the crash window
	LastError     string    `json:"last_error,omitempty"` // why it last stopped or failed, until a reload
	Command       string    `json:"command"`
	Permissions   []string  `json:"permissions"`
	LastHealth    time.Time `json:"last_health,omitzero"` // last health check that passed
	Isolation     string    `json:"isolation,omitempty"`  // what keeps its running process apart
}

// hungAfter consecutive hook timeouts restart a bot: its process is alive
// (it answers health checks) but its hooks no longer return.
const hungAfter = 3

// healthFailures consecutive failed health checks restart a bot.
const healthFailures = 3

// A bot that ran this long without trouble starts its next backoff from
// the minimum again.
const healthyAfter = time.Minute

type bot struct {
	h     *Host
	cfg   BotConfig
	perms permSet
	cred  *shim.Credential // the account it runs as; nil: the host's
	log   *botLog

	reloadCh chan struct{} // wakes the supervisor for a reload

	// ctx ends the bot's supervisor (the host closes, or the bot left the
	// configuration); ended is closed once it has stopped everything.
	ctx    context.Context
	cancel context.CancelFunc
	ended  chan struct{}

	mu         sync.Mutex
	state      State
	since      time.Time
	lastErr    string
	restarts   int
	crashes    []time.Time
	path       string // the program, resolved
	checksum   []byte // pinned at load
	proc       *proc
	changed    chan struct{} // closed and replaced whenever state or proc changes
	sess       *session
	denied     map[string]bool
	reloadReq  int // reloads asked
	reloadDone int // reloads the supervisor took
	lastHealth time.Time
}

func newBot(h *Host, cfg BotConfig, perms permSet) *bot {
	zl := h.log.With().Str("bot", cfg.Name).Logger()
	return &bot{
		h: h, cfg: cfg, perms: perms, log: newBotLog(zl),
		reloadCh: make(chan struct{}, 1), ended: make(chan struct{}),
		state: StateStarting, since: time.Now(),
		changed: make(chan struct{}),
		denied:  map[string]bool{},
	}
}

// noteDenied reports whether a refused call is the first of its kind.
func (b *bot) noteDenied(call string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.denied[call] {
		return false
	}
	b.denied[call] = true
	return true
}

func (b *bot) status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := Status{
		Name: b.cfg.Name, Email: b.cfg.Email, State: b.state, Since: b.since.UTC(), Restarts: b.restarts,
		RecentCrashes: len(b.recentCrashes(time.Now())), LastError: b.lastErr,
		Command:     strings.Join(append([]string{b.cfg.Command}, b.cfg.Args...), " "),
		Permissions: b.perms.list(), LastHealth: b.lastHealth,
	}
	if b.proc != nil {
		st.PID, st.Isolation = b.proc.pid, b.proc.isolation
	}
	if b.sess != nil {
		st.Online = b.sess.online()
	}
	return st
}

// setState changes the state; err (may be nil) becomes LastError when set.
func (b *bot) setState(s State, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setStateLocked(s, err)
}

func (b *bot) setStateLocked(s State, err error) {
	if b.state != s {
		b.state, b.since = s, time.Now()
	}
	if err != nil {
		b.lastErr = err.Error()
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *bot) recentCrashes(now time.Time) []time.Time {
	cut := now.Add(-b.h.cfg.CrashWindow)
	i := 0
	for i < len(b.crashes) && b.crashes[i].Before(cut) {
		i++
	}
	return b.crashes[i:]
}

// pin resolves the program and records its checksum, which every start
// checks: a program replaced while the host runs does not start until a
// reload says it is wanted.
func (b *bot) pin() error {
	path, sum, err := b.program()
	if err != nil {
		return err
	}
	if b.cfg.SHA256 != "" {
		want, _ := hex.DecodeString(b.cfg.SHA256)
		if !slices.Equal(sum, want) {
			return fmt.Errorf("%w: %s has SHA-256 %s, the configuration says %s", errChecksum, path, hex.EncodeToString(sum), b.cfg.SHA256)
		}
	}
	b.mu.Lock()
	b.path, b.checksum = path, sum
	b.mu.Unlock()
	return nil
}

// program resolves the bot's program and takes its checksum.
func (b *bot) program() (path string, sum []byte, err error) {
	path, err = exec.LookPath(b.cfg.Command)
	if err != nil {
		return "", nil, fmt.Errorf("cannot find the program %s: %w", b.cfg.Command, err)
	}
	// The bot runs in its own working directory: a relative path would
	// no longer name the program there.
	if path, err = filepath.Abs(path); err != nil {
		return "", nil, err
	}
	sum, err = fileSHA256(path)
	if err != nil {
		return "", nil, fmt.Errorf("cannot read the program %s: %w", path, err)
	}
	return path, sum, nil
}

// programChanged reports whether the program on disk is not the one
// pinned (rebuilt, replaced, or gone).
func (b *bot) programChanged() bool {
	path, sum, err := b.program()
	b.mu.Lock()
	defer b.mu.Unlock()
	return err != nil || path != b.path || !slices.Equal(sum, b.checksum)
}

// run supervises the bot until ctx ends.
func (b *bot) run(ctx context.Context) {
	defer b.shutdown()
	backoff := b.h.cfg.RestartMin
	if err := b.pin(); err != nil {
		b.fail(err)
	}
	for ctx.Err() == nil {
		if b.takeReload() {
			backoff = b.h.cfg.RestartMin
			if err := b.pin(); err != nil {
				b.fail(err)
			}
		}
		if b.currentState() == StateDisabled {
			if !b.waitReload(ctx) {
				return
			}
			continue
		}
		if err := b.ensureSession(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			b.setState(StateRestarting, err)
			b.log.warn("cannot sign in to MSN: %v; trying again in %s", err, backoff.Round(time.Millisecond))
			b.sleep(ctx, backoff)
			backoff = b.next(backoff)
			continue
		}
		b.setState(StateStarting, nil)
		started := time.Now()
		p, err := b.start(ctx)
		var why error
		if err == nil {
			b.setProc(p)
			why = b.watch(ctx, p)
			b.setProc(nil)
		} else {
			why = err
		}
		if p != nil {
			p.retire()
		}
		switch {
		case ctx.Err() != nil:
			if p != nil {
				b.stop(p)
			}
			return
		case errors.Is(why, errReload):
			if p != nil {
				b.stop(p)
			}
			continue
		}
		if p != nil {
			// It crashed, hung or stopped answering: no goodbye.
			killClient(p.client, p.runner, 0)
		}
		if errors.Is(why, errChecksum) {
			b.fail(why)
			continue
		}
		if time.Since(started) > healthyAfter {
			backoff = b.h.cfg.RestartMin
		}
		if b.crashed(why) {
			continue
		}
		b.setState(StateRestarting, why)
		b.log.info("restarting in %s", backoff.Round(time.Millisecond))
		b.sleep(ctx, backoff)
		backoff = b.next(backoff)
	}
}

// next doubles a backoff up to the maximum, with up to 20% jitter so that
// bots that crashed together do not restart together.
func (b *bot) next(d time.Duration) time.Duration {
	d *= 2
	if d > b.h.cfg.RestartMax {
		d = b.h.cfg.RestartMax
	}
	jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
	return min(d+jitter, b.h.cfg.RestartMax)
}

func (b *bot) currentState() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// sleep waits for d, ctx or a reload.
func (b *bot) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-b.reloadCh:
		b.repostReload()
	}
}

// waitReload waits, disabled, until a reload or the end of ctx.
func (b *bot) waitReload(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-b.reloadCh:
		b.repostReload()
		return true
	}
}

// repostReload puts back a reload request that woke a wait, for
// takeReload at the top of the supervisor's loop to see. It never blocks:
// a request posted meanwhile is the same request.
func (b *bot) repostReload() {
	select {
	case b.reloadCh <- struct{}{}:
	default:
	}
}

// takeReload consumes a pending reload, forgetting past crashes.
func (b *bot) takeReload() bool {
	select {
	case <-b.reloadCh:
	default:
		return false
	}
	b.mu.Lock()
	b.reloadDone = b.reloadReq
	b.crashes = nil
	b.lastErr = ""
	b.setStateLocked(StateStarting, nil)
	b.mu.Unlock()
	b.log.info("reloading")
	return true
}

var errReload = errors.New("reload")

// reload asks the supervisor to restart the bot and waits until it runs
// or fails again.
func (b *bot) reload(ctx context.Context) (Status, error) {
	return b.await(ctx, b.requestReload()), nil
}

// requestReload asks the supervisor to restart the bot and returns the
// number of the request, for await.
func (b *bot) requestReload() int {
	b.mu.Lock()
	b.reloadReq++
	want := b.reloadReq
	b.mu.Unlock()
	select {
	case b.reloadCh <- struct{}{}:
	default: // one is pending already
	}
	return want
}

// await waits until the supervisor took reload request want (0: none) and
// the bot runs or failed, within ctx, and returns its status.
func (b *bot) await(ctx context.Context, want int) Status {
	for {
		b.mu.Lock()
		done := b.reloadDone >= want && (b.state == StateRunning || b.state == StateDisabled ||
			b.state == StateRestarting || b.state == StateStopped)
		ch := b.changed
		b.mu.Unlock()
		if done {
			return b.status()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return b.status() // still starting: the status says so
		}
	}
}

// crashed counts a crash and disables the bot when it is one too many.
func (b *bot) crashed(why error) (disabled bool) {
	now := time.Now()
	b.mu.Lock()
	b.restarts++
	b.crashes = append(b.recentCrashes(now), now)
	n := len(b.crashes)
	b.lastErr = why.Error()
	b.mu.Unlock()
	b.log.error("the bot stopped: %v", why)
	if n >= b.h.cfg.CrashLimit {
		b.fail(fmt.Errorf("it crashed %d times within %s (last: %v)", n, b.h.cfg.CrashWindow, why))
		return true
	}
	return false
}

// fail disables the bot and signs its MSN session out.
func (b *bot) fail(why error) {
	b.setState(StateDisabled, why)
	b.log.error("bot disabled: %v; fix it, then run: nudge bot reload %s", why, b.cfg.Name)
	b.closeSession()
}

func (b *bot) setProc(p *proc) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.proc = p
	if p != nil {
		// LastError stays: a bot that runs again after a crash still
		// shows what the crash was, until a reload.
		b.setStateLocked(StateRunning, nil)
	} else {
		close(b.changed)
		b.changed = make(chan struct{})
	}
}

// waitProc returns the running process, waiting while the bot (re)starts
// (or while a process known to be gone awaits its replacement); nil when
// the bot is disabled or ctx ends.
func (b *bot) waitProc(ctx context.Context) *proc {
	for {
		b.mu.Lock()
		p, st, ch := b.proc, b.state, b.changed
		b.mu.Unlock()
		if p != nil && !p.isBroken() {
			return p
		}
		if st == StateDisabled || st == StateStopped {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil
		}
	}
}

func (b *bot) shutdown() {
	b.closeSession()
	b.setState(StateStopped, nil)
}

// proc is one running process of the bot.
type proc struct {
	client    *plugin.Client
	runner    *procRunner
	conn      *grpc.ClientConn
	rpc       botpb.BotClient
	done      <-chan struct{} // closed when the process has exited
	pid       int
	isolation string // what keeps it apart, as Status says

	allHooks bool // the bot named no hooks: try them all
	mu       sync.Mutex
	hooks    map[botpb.Hook]bool

	broken   atomic.Bool   // a call found the process gone: wait for the next one
	timeouts atomic.Int32  // consecutive hook timeouts
	hung     chan struct{} // closed when timeouts reach hungAfter
	hungOnce sync.Once
	// retired is set before the host ends a process that did not end by
	// itself (it hung, failed its health checks, is reloaded or the host
	// closes): a call that fails because of that is not the event's
	// fault, and the event goes to the next process.
	retired atomic.Bool
}

// retire marks a process the host is about to end, unless it has ended by
// itself already.
func (p *proc) retire() {
	select {
	case <-p.done:
	default:
		p.retired.Store(true)
	}
}

func (p *proc) implements(h botpb.Hook) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.hooks[h]; ok {
		return v
	}
	return p.allHooks
}

// isBroken reports whether the process is known to be gone, before the
// supervisor has replaced it.
func (p *proc) isBroken() bool {
	if p.broken.Load() || p.retired.Load() {
		return true
	}
	select {
	case <-p.done:
		return true
	case <-p.hung:
		return true
	default:
		return false
	}
}

func (p *proc) dropHook(h botpb.Hook) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hooks[h] = false
}

// exitReason says how the process ended, once it has.
func (p *proc) exitReason() error {
	if p.runner == nil {
		return errors.New("its process ended")
	}
	return p.runner.exitReason()
}

// botPlugin is the host's side of go-plugin's plugin set: it hands out the
// gRPC connection and the broker for the bot.
type botPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

type dispensed struct {
	ctx    context.Context // cancelled when the process exits
	broker *plugin.GRPCBroker
	conn   *grpc.ClientConn
}

func (botPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the host does not serve the Bot service")
}

func (botPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &dispensed{ctx: ctx, broker: broker, conn: conn}, nil
}

// start starts the process, serves it the Host service through the broker
// and calls its Start hook.
func (b *bot) start(ctx context.Context) (*proc, error) {
	dir, err := b.h.workDir(b)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	path, sum := b.path, b.checksum
	b.mu.Unlock()
	if path == "" {
		return nil, errors.New("the program was not found")
	}
	var r *procRunner
	mk := b.newRunner(b.shimSpec(path, dir), sum)
	var sockets *plugin.UnixSocketConfig
	if b.cred != nil {
		// The bot's account makes its socket in go-plugin's folder and
		// connects to the host's: both are its group's.
		sockets = &plugin.UnixSocketConfig{Group: strconv.FormatUint(uint64(b.cred.GID), 10)}
	}
	pc := plugin.NewClient(&plugin.ClientConfig{
		UnixSocketConfig: sockets,
		HandshakeConfig:  sdk.Handshake,
		Plugins:          plugin.PluginSet{botpb.PluginName: botPlugin{}},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		RunnerFunc: func(l hclog.Logger, c *exec.Cmd, d string) (runner.Runner, error) {
			rr, err := mk(l, c, d)
			if err == nil {
				r = rr.(*procRunner)
			}
			return rr, err
		},
		StartTimeout:        b.h.cfg.StartTimeout,
		Logger:              &hclogAdapter{l: b.log, source: "host"},
		SyncStdout:          &lineWriter{l: b.log, level: zerolog.InfoLevel, source: "bot"},
		SyncStderr:          &lineWriter{l: b.log, level: zerolog.WarnLevel, source: "bot"},
		PluginLogBufferSize: maxLogLine,
	})
	fail := func(err error) (*proc, error) {
		killClient(pc, r, 0)
		return nil, err
	}
	rpcClient, err := pc.Client()
	if err != nil {
		if errors.Is(err, errChecksum) {
			return fail(err)
		}
		return fail(fmt.Errorf("cannot start %s: %w", path, err))
	}
	raw, err := rpcClient.Dispense(botpb.PluginName)
	if err != nil {
		return fail(fmt.Errorf("cannot reach the bot: %w", err))
	}
	d := raw.(*dispensed)
	p := &proc{
		client: pc, runner: r, conn: d.conn, rpc: botpb.NewBotClient(d.conn), done: d.ctx.Done(),
		hooks: map[botpb.Hook]bool{}, hung: make(chan struct{}),
	}
	if r != nil {
		p.pid = r.pid
	}
	api := &hostAPI{b: b}
	id := d.broker.NextId()
	go d.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(append(opts, grpc.UnaryInterceptor(b.interceptor), grpc.MaxRecvMsgSize(1<<20))...)
		botpb.RegisterHostServer(s, api)
		return s
	})
	sctx, cancel := context.WithTimeout(ctx, b.h.cfg.StartTimeout)
	defer cancel()
	self := b.selfContact()
	resp, err := p.rpc.Start(sctx, &botpb.StartRequest{
		HostBrokerId: id, Name: b.cfg.Name, Self: self, Settings: b.cfg.Settings, Permissions: b.perms.list(),
	})
	if err != nil {
		if sctx.Err() == context.DeadlineExceeded {
			return fail(fmt.Errorf("its Start hook did not return within %s: a bot does slow work in a goroutine", b.h.cfg.StartTimeout))
		}
		return fail(fmt.Errorf("its Start hook failed: %v", rpcMessage(err)))
	}
	if len(resp.GetHooks()) == 0 {
		p.allHooks = true
	}
	for _, hk := range resp.GetHooks() {
		p.hooks[hk] = true
	}
	p.isolation = b.isolationOf(r)
	b.log.info("started (pid %d, isolation: %s)", p.pid, p.isolation)
	return p, nil
}

// watch waits until the process must be replaced, and says why.
func (b *bot) watch(ctx context.Context, p *proc) error {
	t := time.NewTicker(b.h.cfg.HealthInterval)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.reloadCh:
			b.repostReload()
			return errReload
		case <-p.done:
			return p.exitReason()
		case <-p.hung:
			return fmt.Errorf("%d hooks in a row did not answer within %s", hungAfter, b.h.cfg.HookTimeout)
		case <-t.C:
			if err := b.checkHealth(ctx, p); err != nil {
				failures++
				b.log.warn("health check failed (%d of %d): %v", failures, healthFailures, err)
				if failures >= healthFailures {
					return fmt.Errorf("health check failed %d times: %v", failures, err)
				}
				continue
			}
			failures = 0
		}
	}
}

// checkHealth asks go-plugin's health service, which every bot serves.
func (b *bot) checkHealth(ctx context.Context, p *proc) error {
	ctx, cancel := context.WithTimeout(ctx, min(5*time.Second, b.h.cfg.HealthInterval))
	defer cancel()
	resp, err := grpc_health_v1.NewHealthClient(p.conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil {
		return errors.New(rpcMessage(err))
	}
	if resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("status %s", resp.GetStatus())
	}
	b.mu.Lock()
	b.lastHealth = time.Now().UTC()
	b.mu.Unlock()
	return nil
}

// stop asks the bot to stop, then ends the process.
func (b *bot) stop(p *proc) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.rpc.Stop(ctx, &botpb.StopRequest{}); err != nil && !isUnimplemented(err) {
		b.log.warn("its Stop hook failed: %v", rpcMessage(err))
	}
	killClient(p.client, p.runner, 3*time.Second)
	b.log.info("stopped")
}

// killClient ends a bot's process. With a grace period, go-plugin first
// asks the bot to exit (its Shutdown call); that call waits for an answer,
// which a stopped or wedged process never gives, so after the grace period
// the process group is killed, which ends the call. Without one, the
// process is killed at once.
func killClient(pc *plugin.Client, r *procRunner, grace time.Duration) {
	if r != nil && grace <= 0 {
		r.Kill(context.Background())
	}
	done := make(chan struct{})
	go func() {
		pc.Kill()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(grace + 3*time.Second):
	}
	if r != nil {
		r.Kill(context.Background())
	}
	<-done
}
