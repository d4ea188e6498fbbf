package host

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/nudge-im/nudge/plugins/host/internal/shim"
)

// spawner starts processes from one OS thread that lives as long as the
// host. Linux sends the parent-death signal when the thread that started a
// child exits, not the process; Go may retire the thread a goroutine ran
// on, so every bot is started from this locked one.
type spawner struct {
	reqs chan func()
	done chan struct{}
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan func()), done: make(chan struct{})}
	go func() {
		runtime.LockOSThread()
		// Never unlocked: when this goroutine ends (the host closed), the
		// thread exits with it, and any bot still alive gets SIGKILL.
		for {
			select {
			case f := <-s.reqs:
				f()
			case <-s.done:
				return
			}
		}
	}()
	return s
}

// do runs f on the spawner's thread.
func (s *spawner) do(f func() error) error {
	errc := make(chan error, 1)
	select {
	case s.reqs <- func() { errc <- f() }:
		return <-errc
	case <-s.done:
		return errors.New("bot host closed")
	}
}

func (s *spawner) close() { close(s.done) }

// fileSHA256 returns the SHA-256 of the file at path.
func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// errChecksum is a program that is not the one pinned: it is not started
// again until a reload.
var errChecksum = errors.New("checksum mismatch")

// procRunner is the runner.Runner go-plugin drives (ClientConfig.RunnerFunc).
// go-plugin's own command runner does what is needed for trusted plugins;
// this one adds what a host of untrusted bots needs:
//
//   - the checksum (go-plugin's SecureConfig) is checked right before the
//     start, since go-plugin checks it only for ClientConfig.Cmd;
//   - the bot runs below the shim (internal/shim), which the host starts
//     from the spawner's thread with a parent-death signal, in a process
//     group of its own (a Ctrl-C in the host's terminal is the host's to
//     handle), with no standard input and an environment of only what
//     go-plugin sets: nothing the bot starts outlives it or the host;
//   - its standard error is sanitised before go-plugin parses it: go-plugin
//     (v1.8.0, log_entry.go) asserts that "@message", "@level" and
//     "@timestamp" of a JSON line are strings and would panic — and take the
//     host down — on a bot that writes {"@message": 1}.
type procRunner struct {
	cmd     *exec.Cmd // the shim
	program string
	secure  *plugin.SecureConfig
	spawn   *spawner
	stdout  io.ReadCloser
	stderr  io.ReadCloser
	status  *os.File // the read end of the shim's status pipe
	exited  chan struct{}
	// lastWords are the last lines the bot wrote on its standard error:
	// a program that dies before its handshake (a Python traceback) says
	// why there.
	lastWords *lastLines
	pid       int // the bot's

	mu     sync.Mutex
	report shim.Report
}

var _ runner.Runner = (*procRunner)(nil)

// newRunner returns go-plugin's RunnerFunc for a bot. base is the command
// go-plugin prepared: only its environment (the handshake and AutoMTLS
// variables) is used.
func (b *bot) newRunner(spec shim.Spec, checksum []byte) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(_ hclog.Logger, base *exec.Cmd, socketDir string) (runner.Runner, error) {
		spec.SocketDir = socketDir
		sr, sw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd, err := shim.Command(spec, sw)
		if err != nil {
			sr.Close()
			sw.Close()
			return nil, err
		}
		cmd.Env = base.Env
		cmd.Stdin = nil
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return nil, err
		}
		last := &lastLines{}
		r := &procRunner{
			cmd:       cmd,
			program:   spec.Program,
			secure:    &plugin.SecureConfig{Checksum: checksum, Hash: sha256.New()},
			spawn:     b.h.spawner,
			stdout:    stdout,
			stderr:    sanitize(stderr, last),
			status:    sr,
			exited:    make(chan struct{}),
			lastWords: last,
		}
		return r, nil
	}
}

func (r *procRunner) Start(ctx context.Context) error {
	ok, err := r.secure.Check(r.program)
	if err != nil {
		r.status.Close()
		return fmt.Errorf("cannot check the program's checksum: %w", err)
	}
	if !ok {
		r.status.Close()
		return fmt.Errorf("%w: %s changed since the bot was loaded (expected SHA-256 %s); run `nudge bot reload` after you replace it",
			errChecksum, r.program, hex.EncodeToString(r.secure.Checksum))
	}
	err = r.spawn.do(r.cmd.Start)
	r.cmd.ExtraFiles[0].Close() // the shim has the write end
	if err != nil {
		r.status.Close()
		close(r.exited)
		return err
	}
	reports := shim.ReadReports(r.status)
	changed := make(chan struct{}, 1)
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for rep := range reports {
			r.mu.Lock()
			r.report = rep
			r.mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
		}
		r.status.Close()
	}()
	// The shim reports the bot's pid once it runs, or why it could not
	// start it; it is quick either way.
	for {
		r.mu.Lock()
		rep := r.report
		r.mu.Unlock()
		switch {
		case rep.Err != "":
			return errors.New(rep.Err)
		case rep.PID > 0:
			r.pid = rep.PID
			return nil
		}
		select {
		case <-changed:
		case <-ended:
			r.mu.Lock()
			rep := r.report
			r.mu.Unlock()
			if rep.Err != "" {
				return errors.New(rep.Err)
			}
			return errors.New("the bot's shim ended before it started the bot (its log may say why)")
		case <-ctx.Done():
			return fmt.Errorf("the bot did not start: %w", ctx.Err())
		}
	}
}

// mode is what confines the bot, as the shim reported it.
func (r *procRunner) mode() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.report.Mode
}

func (r *procRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	close(r.exited)
	return err
}

// shimKillGrace is how long the shim has to end the bot and everything it
// started before its whole process group is killed.
const shimKillGrace = 5 * time.Second

// Kill asks the shim to end the bot and all it started (and, if the shim
// does not answer, kills the process group).
func (r *procRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	select {
	case <-r.exited:
		return nil
	default:
	}
	shimPID := r.cmd.Process.Pid
	r.cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		select {
		case <-r.exited:
		case <-time.After(shimKillGrace):
			syscall.Kill(-shimPID, syscall.SIGKILL)
		}
	}()
	return nil
}

// exitReason says how the bot ended, once it has.
func (r *procRunner) exitReason() error {
	r.mu.Lock()
	rep := r.report
	r.mu.Unlock()
	if rep.Exit != "" {
		return fmt.Errorf("its process ended: %s", rep.Exit)
	}
	if ps := r.cmd.ProcessState; ps != nil {
		return fmt.Errorf("its process ended: %s", ps)
	}
	return errors.New("its process ended")
}

func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *procRunner) Stderr() io.ReadCloser { return r.stderr }

// Name is what go-plugin names the logger of the bot's standard error.
func (r *procRunner) Name() string { return "bot" }
func (r *procRunner) ID() string   { return strconv.Itoa(r.pid) }

func (r *procRunner) Diagnose(context.Context) string {
	msg := fmt.Sprintf("%s did not answer with the go-plugin handshake line: is it a Nudge bot (built with plugins/sdk, or speaking bot.proto)?", r.program)
	if last := r.lastWords.String(); last != "" {
		msg += " Its last words: " + last
	}
	return msg
}

func (r *procRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *procRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// maxLogLine is the longest standard error line that is parsed as JSON;
// go-plugin reads lines in a buffer of this size (PluginLogBufferSize).
const maxLogLine = 64 << 10

// lastLines keeps the last few lines of a stream.
type lastLines struct {
	mu    sync.Mutex
	lines []string
}

// keepLines is how many lines lastLines keeps.
const keepLines = 3

func (l *lastLines) add(line []byte) {
	if l == nil || len(bytes.TrimSpace(line)) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(line) > 512 {
		line = append(line[:512:512], "…"...)
	}
	l.lines = append(l.lines, string(bytes.TrimSpace(line)))
	if len(l.lines) > keepLines {
		l.lines = l.lines[len(l.lines)-keepLines:]
	}
}

// String is the lines kept, on one line.
func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, " | ")
}

// sanitize copies r to the returned reader line by line, replacing every
// line that go-plugin would parse as a JSON log entry and mishandle (see
// procRunner) by a plain-text line that keeps its content. It keeps the
// last lines in last (which may be nil).
func sanitize(r io.ReadCloser, last *lastLines) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReaderSize(r, maxLogLine)
		var err error
		for {
			var line []byte
			var prefix bool
			line, prefix, err = br.ReadLine()
			if err != nil {
				break
			}
			out := line
			if prefix {
				// Too long to check: make sure no part of it is parsed.
				out = append([]byte("[WARN] "), line...)
				for prefix && err == nil {
					var more []byte
					more, prefix, err = br.ReadLine()
					out = append(out, more...)
				}
				out = clip(out)
			} else if !safeJSONLine(line) {
				out = append([]byte("[WARN] malformed log line: "), line...)
			}
			last.add(out)
			if _, werr := pw.Write(append(out, '\n')); werr != nil {
				err = werr
				break
			}
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
		pw.CloseWithError(err)
		// Keep reading so that the bot never blocks on a full pipe.
		io.Copy(io.Discard, r)
	}()
	return pr
}

// clip shortens a line to fit go-plugin's buffer.
func clip(b []byte) []byte {
	if len(b) > maxLogLine-64 {
		b = append(b[:maxLogLine-64:maxLogLine-64], " …(cut)"...)
	}
	return b
}

// safeJSONLine reports whether go-plugin can handle line: it is not a JSON
// object, or its "@message", "@level" and "@timestamp" are strings.
func safeJSONLine(line []byte) bool {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return true
	}
	var raw map[string]any
	if json.Unmarshal(line, &raw) != nil {
		return true // go-plugin treats it as text too
	}
	for _, k := range []string{"@message", "@level", "@timestamp"} {
		if v, ok := raw[k]; ok {
			if _, isString := v.(string); !isString {
				return false
			}
		}
	}
	return true
}
