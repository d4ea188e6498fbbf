package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/plugins/host"
)

// Programs built once for the tests that run `nudge serve` as a user does.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// built returns the folder with the nudge binary and the test bots,
// building them the first time.
func built(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "nudge-serve-test-")
		if buildErr != nil {
			return
		}
		for _, b := range []struct{ out, pkg string }{
			{"nudge", "github.com/nudge-im/nudge/cmd/nudge"},
			{"bots/testbot", "github.com/nudge-im/nudge/plugins/host/internal/testbot"},
			{"bots/echo", "github.com/nudge-im/nudge/plugins/bots/echo"},
		} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(buildDir, b.out), b.pkg).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("building %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// served is a `nudge serve` process.
type served struct {
	cmd    *exec.Cmd
	dir    string // its folder: nudge.yaml, data, tmp
	tmp    string // its TMPDIR
	url    string // its admin API
	bots   host.Client
	stderr *lockedBuffer
	exited chan struct{}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var adminRE = regexp.MustCompile(`Admin API, /metrics +http://(\S+)`)

// serve starts `nudge serve --config DIR/nudge.yaml` on ephemeral ports,
// with botsYAML as the bots section, and waits until it is up.
func serve(t *testing.T, botsYAML string) *served {
	t.Helper()
	return serveWith(t, func(string) string { return botsYAML })
}

// serveWith is serve with a bots section that depends on the server's
// folder.
func serveWith(t *testing.T, bots func(dir string) string) *served {
	t.Helper()
	bin := built(t)
	dir := t.TempDir()
	botsYAML := bots(dir)
	s := &served{dir: dir, tmp: filepath.Join(dir, "tmp"), stderr: &lockedBuffer{}, exited: make(chan struct{})}
	os.MkdirAll(s.tmp, 0o755)
	// The bots are in DIR/bots, so that nudge.yaml can name them relative
	// to its folder (command: bots/testbot).
	if err := os.Symlink(filepath.Join(bin, "bots"), filepath.Join(dir, "bots")); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`data: %s
listen:
  ns: 127.0.0.1:0
  sb: 127.0.0.1:0
  http: 127.0.0.1:0
  https: ""
log:
  format: json
bots:
  dir: %s
%s`, filepath.Join(dir, "data"), filepath.Join(bin, "bots"), botsYAML)
	// Readable by all, as a file in /etc is: the sandbox must hide it.
	if err := os.WriteFile(filepath.Join(dir, "nudge.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(filepath.Join(bin, "nudge"), "serve", "--config", filepath.Join(dir, "nudge.yaml"))
	s.cmd.Env = append(os.Environ(), "TMPDIR="+s.tmp)
	s.cmd.Dir = dir
	pr, pw, _ := os.Pipe()
	s.cmd.Stderr = pw
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("nudge serve's log:\n%s", s.stderr.String())
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.stderr.Write(append(sc.Bytes(), '\n'))
			if m := adminRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		token, err := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
		if err != nil {
			t.Fatal(err)
		}
		s.url = "http://" + a
		s.bots = host.Client{API: adminapi.New(s.url, strings.TrimSpace(string(token)))}
	case <-s.exited:
		t.Fatalf("nudge serve ended: %s", s.stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("nudge serve did not start: %s", s.stderr.String())
	}
	return s
}

// waitUntil polls cond until it holds, failing the test after a deadline
// only a broken test reaches.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// running waits until the bot runs and returns its status.
func (s *served) running(t *testing.T, name string) host.Status {
	t.Helper()
	var st host.Status
	waitUntil(t, name+" to run", func() bool {
		var err error
		st, err = s.bots.Status(context.Background(), name)
		return err == nil && st.State == host.StateRunning && st.Online
	})
	return st
}

// logged waits for a line of the bot's log that starts with prefix and
// returns the rest of the last such line.
func (s *served) logged(t *testing.T, name, prefix string) string {
	t.Helper()
	var rest string
	waitUntil(t, fmt.Sprintf("%q in %s's log", prefix, name), func() bool {
		logs, _ := s.bots.Logs(context.Background(), name, 0, 0)
		found := false
		for _, l := range logs {
			if r, ok := strings.CutPrefix(l.Message, prefix); ok {
				rest, found = r, true
			}
		}
		return found
	})
	return rest
}

// writeConfig replaces the bots section of the server's nudge.yaml.
func (s *served) writeConfig(t *testing.T, botsYAML string) {
	t.Helper()
	path := filepath.Join(s.dir, "nudge.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(b), "bots:\n")
	if err := os.WriteFile(path, []byte(head+"bots:\n  dir: "+filepath.Join(built(t), "bots")+"\n"+botsYAML), 0o600); err != nil {
		t.Fatal(err)
	}
}

// cli runs `nudge bot ARGS` against the server.
func (s *served) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := run(t, "", append(append([]string{"bot"}, args...), "--server", s.url, "--data", filepath.Join(s.dir, "data"))...)
	return out, err
}

// processAlive reports whether pid runs (a zombie does not count).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	rest := s[strings.LastIndexByte(s, ')')+2:]
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// Whatever a bot starts ends with `nudge serve`, however it ends, and no
// socket folder of go-plugin's is left in TMPDIR.
func TestServeLeavesNothingBehind(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			s := serve(t, `  shipped: false
  run:
    - name: spawner
      command: bots/testbot
      settings: {spawn: start}
`)
			bot := s.running(t, "spawner")
			spawned, err := strconv.Atoi(s.logged(t, "spawner", "spawned "))
			if err != nil || !processAlive(spawned) || !processAlive(bot.PID) {
				t.Fatalf("the bot (%d) and what it spawned (%d) do not run", bot.PID, spawned)
			}
			s.cmd.Process.Signal(sig)
			select {
			case <-s.exited:
			case <-time.After(time.Minute):
				t.Fatal("nudge serve did not end")
			}
			if sig == syscall.SIGTERM {
				// A clean stop waits for the bots: all is gone already.
				if code := s.cmd.ProcessState.ExitCode(); code != 0 {
					t.Errorf("nudge serve exited with %d", code)
				}
				for _, pid := range []int{bot.PID, spawned} {
					if processAlive(pid) {
						t.Errorf("process %d outlived nudge serve", pid)
					}
				}
			}
			for _, pid := range []int{bot.PID, spawned} {
				waitUntil(t, fmt.Sprintf("process %d to end with nudge serve", pid), func() bool { return !processAlive(pid) })
			}
			waitUntil(t, "go-plugin's socket folder to go", func() bool {
				left, _ := filepath.Glob(filepath.Join(s.tmp, "plugin-dir*"))
				return len(left) == 0
			})
		})
	}
}

// nudge bot reload NAME reads nudge.yaml again; SIGHUP and reload --all
// start new bots and stop removed ones.
func TestServeReloadsBots(t *testing.T) {
	s := serve(t, `  shipped: false
  run:
    - name: alpha
      command: bots/testbot
      settings: {colour: red}
`)
	s.running(t, "alpha")
	if got := s.logged(t, "alpha", "settings: "); got != "colour=red" {
		t.Fatalf("alpha started with %q", got)
	}
	s.writeConfig(t, `  shipped: false
  run:
    - name: alpha
      command: bots/testbot
      settings: {colour: blue}
    - name: beta
      command: bots/echo
`)
	// A changed entry, and one new to the file, each by name.
	out, err := s.cli(t, "reload", "alpha")
	if err != nil || !strings.HasPrefix(out, "alpha: running (pid ") {
		t.Fatalf("reload alpha: %q, %v", out, err)
	}
	if got := s.logged(t, "alpha", "settings: "); got != "colour=blue" {
		t.Fatalf("after the reload alpha has %q", got)
	}
	out, err = s.cli(t, "reload", "beta")
	if err != nil || !strings.HasPrefix(out, "beta: running (pid ") {
		t.Fatalf("reload of a bot new to the file: %q, %v", out, err)
	}
	// SIGHUP: gamma is new, beta is gone, alpha is left alone.
	alpha := s.running(t, "alpha")
	beta := s.running(t, "beta")
	s.writeConfig(t, `  shipped: false
  run:
    - name: alpha
      command: bots/testbot
      settings: {colour: blue}
    - name: gamma
      command: bots/echo
`)
	s.cmd.Process.Signal(syscall.SIGHUP)
	s.running(t, "gamma")
	waitUntil(t, "beta to be stopped", func() bool {
		_, err := s.bots.Status(context.Background(), "beta")
		return err != nil && strings.Contains(err.Error(), "no such bot")
	})
	waitUntil(t, "beta's process to end", func() bool { return !processAlive(beta.PID) })
	if st := s.running(t, "alpha"); st.PID != alpha.PID {
		t.Errorf("SIGHUP restarted alpha, whose entry did not change: pid %d, was %d", st.PID, alpha.PID)
	}
	// reload --all: nothing left to do; then gamma leaves the file.
	if out, err := s.cli(t, "reload", "--all"); err != nil || out != "nothing to do: the bots are as the configuration says\n" {
		t.Fatalf("reload --all with nothing to do: %q, %v", out, err)
	}
	s.writeConfig(t, `  shipped: false
  run:
    - name: alpha
      command: bots/testbot
      settings: {colour: blue}
`)
	if out, err := s.cli(t, "reload", "--all"); err != nil || out != "gamma: stopped (it is no longer in the configuration)\n" {
		t.Fatalf("reload --all: %q, %v", out, err)
	}
	// A mistake in the file is reported and changes nothing.
	s.writeConfig(t, "  shipped: false\n  run:\n    - name: alpha\n      colour: red\n")
	_, err = s.cli(t, "reload", "--all")
	oneLine(t, err, "nudge.yaml:", "colour")
	if st := s.running(t, "alpha"); st.PID != alpha.PID {
		t.Errorf("a refused reload restarted alpha")
	}
}

// A sandboxed bot of `nudge serve` does not see the server's secrets even
// in a folder it may read: here the configuration's own folder, which holds
// nudge.yaml and the data directory.
func TestServeSandboxHidesSecrets(t *testing.T) {
	s := serveWith(t, func(dir string) string {
		// The bot runs as nobody (the tests run as root, or as an
		// ordinary account that the bot shares): ordinary permissions
		// still apply to what it may see, so let it pass through.
		os.Chmod(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)
		probe := strings.Join([]string{filepath.Join(dir, "nudge.yaml"), filepath.Join(dir, "data", "admin.token"),
			filepath.Join(dir, "notes.txt")}, ",")
		return `  shipped: false
  run:
    - name: boxed
      command: bots/testbot
      isolation: sandbox
      read: [.]
      settings: {probe: "` + probe + `"}
`
	})
	st := s.running(t, "boxed")
	if !strings.HasPrefix(st.Isolation, "sandbox (namespaces") {
		t.Errorf("isolation: %q", st.Isolation)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(s.dir, "nudge.yaml"), "read 0 bytes"}, // covered by an empty file
		{filepath.Join(s.dir, "data", "admin.token"), "error: "},
		{filepath.Join(s.dir, "notes.txt"), "read 5 bytes"},
	} {
		got := s.logged(t, "boxed", "probe "+tc.path+": ")
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("the bot reading %s: %q, want %q", tc.path, got, tc.want)
		}
	}
}
