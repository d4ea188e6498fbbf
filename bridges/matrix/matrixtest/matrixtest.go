//go:build goolm

// Package matrixtest runs a real Matrix homeserver for tests: Dendrite
// v0.13.8 on an ephemeral loopback port, with SQLite in a temporary
// directory, federation off and open registration, started and stopped by
// the test. It also gives tests Matrix users that sync in the background
// and can wait for events.
//
//	hs := matrixtest.Start(t, matrixtest.Options{AppServices: []string{regPath}})
//	alice := hs.NewUser(t, "alice")
//	alice.WaitEvent(t, func(e *event.Event) bool { … })
//
// The Dendrite binaries are built by scripts/deps.d/50-dendrite.sh (make
// test runs it) into .cache/dendrite-bin, or found through
// NUDGE_DENDRITE_BIN. When they are missing the test is skipped — except
// under CI (the CI variable set), where that is a failure.
package matrixtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the Dendrite release the tests run against.
const Version = "v0.13.8"

// Options configures a homeserver.
type Options struct {
	// ServerName is the homeserver's domain (default "nudge.test").
	ServerName string
	// AppServices are registration files to load.
	AppServices []string
	// Addr is the loopback address to listen on (default: a free port).
	// Set it when the URL must be known before the start, to write it
	// into a bridge's config.
	Addr string
}

// Homeserver is a running Dendrite.
type Homeserver struct {
	// URL is the client-server API base URL, http://127.0.0.1:port.
	URL string
	// ServerName is the domain of its users: @alice:<ServerName>.
	ServerName string
	// Dir holds its config, keys, databases and log.
	Dir string

	bin    string
	addr   string
	config string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// BinDir returns the folder of the Dendrite binaries, and whether they are
// all there.
func BinDir() (string, bool) {
	dir := os.Getenv("NUDGE_DENDRITE_BIN")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", false
		}
		dir = filepath.Join(root, ".cache", "dendrite-bin")
	}
	for _, b := range []string{"dendrite", "generate-config", "generate-keys"} {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.Mode()&0o111 == 0 {
			return dir, false
		}
	}
	return dir, true
}

// repoRoot finds the module root above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Require skips the test when Dendrite is not built, or fails it under CI.
func Require(t testing.TB) string {
	t.Helper()
	dir, ok := BinDir()
	if ok {
		return dir
	}
	msg := fmt.Sprintf("Dendrite %s is not built in %s: run scripts/deps.d/50-dendrite.sh (make test does)", Version, dir)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FreePort returns a loopback address with a port that was free a moment
// ago.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Start starts a homeserver and stops it when the test ends.
func Start(t testing.TB, opts Options) *Homeserver {
	t.Helper()
	bin := Require(t)
	if opts.ServerName == "" {
		opts.ServerName = "nudge.test"
	}
	dir := t.TempDir()
	hs := &Homeserver{ServerName: opts.ServerName, Dir: dir, bin: bin, config: filepath.Join(dir, "dendrite.yaml")}
	if err := hs.writeConfig(opts); err != nil {
		t.Fatal(err)
	}
	hs.addr = opts.Addr
	if hs.addr == "" {
		hs.addr = FreePort(t)
	}
	hs.URL = "http://" + hs.addr
	t.Cleanup(hs.Stop)
	if err := hs.start(); err != nil {
		t.Fatal(err)
	}
	return hs
}

func (hs *Homeserver) writeConfig(opts Options) error {
	key := filepath.Join(hs.Dir, "matrix_key.pem")
	if out, err := exec.Command(filepath.Join(hs.bin, "generate-keys"), "--private-key", key).CombinedOutput(); err != nil {
		return fmt.Errorf("generate-keys: %v: %s", err, out)
	}
	out, err := exec.Command(filepath.Join(hs.bin, "generate-config"), "-ci", "-server", opts.ServerName, "-dir", hs.Dir).Output()
	if err != nil {
		return fmt.Errorf("generate-config: %w", err)
	}
	cfg := string(out)
	regs := "[]"
	if len(opts.AppServices) > 0 {
		regs = "[" + strings.Join(opts.AppServices, ", ") + "]"
	}
	level := "warn"
	if v := os.Getenv("NUDGE_TEST_LOG"); v == "debug" || v == "info" || v == "trace" {
		level = v
	}
	for _, r := range []struct{ old, new string }{
		{"private_key: matrix_key.pem", "private_key: " + key},
		{"disable_federation: false", "disable_federation: true"},
		{"config_files: []", "config_files: " + regs},
		{"level: trace", "level: " + level},
	} {
		if !strings.Contains(cfg, r.old) {
			return fmt.Errorf("dendrite config from generate-config has no %q", r.old)
		}
		cfg = strings.Replace(cfg, r.old, r.new, 1)
	}
	return os.WriteFile(hs.config, []byte(cfg), 0o600)
}

func (hs *Homeserver) start() error {
	logf, err := os.OpenFile(filepath.Join(hs.Dir, "dendrite.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(hs.bin, "dendrite"), "-config", hs.config,
		"-http-bind-address", hs.addr, "-really-enable-open-registration")
	cmd.Dir = hs.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting dendrite: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	hs.mu.Lock()
	hs.cmd, hs.exited = cmd, exited
	hs.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("dendrite exited at start-up:\n%s", hs.LogTail(40))
		default:
		}
		resp, err := http.Get(hs.URL + "/_matrix/client/versions")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	hs.Stop()
	return fmt.Errorf("dendrite did not answer on %s within a minute:\n%s", hs.URL, hs.LogTail(40))
}

// Stop stops the homeserver (SIGTERM, then SIGKILL after 20 seconds). It
// is safe to call more than once.
func (hs *Homeserver) Stop() {
	hs.mu.Lock()
	cmd, exited := hs.cmd, hs.exited
	hs.cmd = nil
	hs.mu.Unlock()
	if cmd == nil {
		return
	}
	Terminate(cmd, exited, 20*time.Second)
}

// Terminate stops a process as an operator would: SIGTERM, and SIGKILL if
// it has not exited (exited is closed) within grace.
func Terminate(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Restart stops the homeserver and starts it again with the same data and
// address.
func (hs *Homeserver) Restart(t testing.TB) {
	t.Helper()
	hs.Stop()
	if err := hs.start(); err != nil {
		t.Fatal(err)
	}
}

// LogTail returns the last n lines of the homeserver's log.
func (hs *Homeserver) LogTail(n int) string {
	return tail(filepath.Join(hs.Dir, "dendrite.log"), n)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// UserID returns the full ID of a local user.
func (hs *Homeserver) UserID(localpart string) string {
	return "@" + localpart + ":" + hs.ServerName
}

func background() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
