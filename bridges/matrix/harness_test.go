//go:build goolm

package matrix_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/nudge-im/nudge/bridges/matrix"
	"github.com/nudge-im/nudge/bridges/matrix/matrixtest"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/client"
)

// The end-to-end tests run the bridge as a real process: the test binary
// itself, started again with childEnv set, runs the bridge's main with the
// arguments in it. So restarting the bridge is a real process restart, and
// its flags, config upgrade and registration generation are the ones
// "nudge bridge matrix" uses.
const childEnv = "NUDGE_TEST_MATRIX_BRIDGE_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(childEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, "bad", childEnv, err)
			os.Exit(2)
		}
		matrix.Main("nudge bridge matrix", args, "test")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	serverName = "nudge.test"
	provSecret = "provisioning-secret-for-tests-0123456789"
)

var bot = id.UserID("@msnbot:" + serverName)

// ghost is the Matrix ID of an MSN contact's ghost.
func ghost(email string) id.UserID {
	return id.UserID("@msn_" + id.EncodeUserLocalpart(email) + ":" + serverName)
}

// env is a whole installation: an MSN service, a homeserver and the bridge.
type env struct {
	srv    *coretest.Server
	hs     *matrixtest.Homeserver
	bridge *bridgeProc
	dir    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	matrixtest.Require(t)
	srv := coretest.Start(t)
	dir := t.TempDir()
	// The bridge runs in a folder of its own: paths in its config are
	// relative to the config file's folder, not to where it was started.
	cwd := t.TempDir()
	cfg, reg := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "registration.yaml")
	runCLI(t, cwd, "-e", "-c", cfg)
	writeFile(t, filepath.Join(dir, "admin.token"), srv.Server.AdminToken+"\n")
	hsAddr, asAddr := matrixtest.FreePort(t), matrixtest.FreePort(t)
	dpToken := "double_puppet_token_0123456789"
	editYAML(t, cfg, map[string]any{
		"homeserver.address":                "http://" + hsAddr,
		"homeserver.domain":                 serverName,
		"appservice.address":                "http://" + asAddr,
		"appservice.hostname":               "127.0.0.1",
		"appservice.port":                   portOf(asAddr),
		"database.type":                     "sqlite3-fk-wal",
		"database.uri":                      "file:" + filepath.Join(dir, "bridge.db") + "?_txlock=immediate",
		"bridge.permissions":                map[string]string{"*": "relay", serverName: "user", "@alice:" + serverName: "admin"},
		"bridge.relay.enabled":              true,
		"bridge.relay.admin_only":           false,
		"bridge.bridge_matrix_leave":        true,
		"bridge.bridge_status_notices":      "all",
		"provisioning.shared_secret":        provSecret,
		"double_puppet.secrets":             map[string]string{serverName: "as_token:" + dpToken},
		"logging":                           map[string]any{"min_level": "debug", "writers": []map[string]string{{"type": "stdout", "format": "json"}}},
		"network.server":                    srv.NSAddr,
		"network.passport_url":              srv.HTTPURL,
		"network.hosted.admin_url":          srv.HTTPURL,
		"network.hosted.admin_token":        "",
		"network.hosted.admin_token_file":   "admin.token",
		"network.presence.poll_interval":    "500ms",
		"network.presence.refresh_interval": "1s",
	})
	runCLI(t, cwd, "-g", "-c", cfg, "-r", reg)
	dpReg := filepath.Join(dir, "doublepuppet.yaml")
	writeFile(t, dpReg, `id: doublepuppet
url: ""
as_token: `+dpToken+`
hs_token: double_puppet_hs_token_unused_0123
sender_localpart: doublepuppet_sender_0123
rate_limited: false
namespaces:
  users:
  - regex: '@.*:`+strings.ReplaceAll(serverName, ".", "\\.")+`'
    exclusive: false
`)
	hs := matrixtest.Start(t, matrixtest.Options{ServerName: serverName, Addr: hsAddr, AppServices: []string{reg, dpReg}})
	b := &bridgeProc{dir: cwd, cfg: cfg, reg: reg, url: "http://" + asAddr, log: filepath.Join(dir, "bridge.log")}
	t.Cleanup(func() {
		if t.Failed() {
			b.dumpGoroutines()
		}
		b.stop()
		// The bridge runs in a process of its own: a race it finds under
		// -race would not fail this test by itself.
		if raw, err := os.ReadFile(b.log); err == nil {
			for _, race := range raceReports(raw) {
				if racyFrameIsOurs(race) {
					t.Errorf("the bridge process reported a data race:\n%s", race)
				} else {
					// mautrix's own: bridgev2 reads and writes User.ManagementRoom
					// and Portal.MXID without a lock while it makes rooms.
					t.Logf("a data race inside mautrix, not in this bridge:\n%s", race)
				}
			}
		}
		if dir := os.Getenv("NUDGE_TEST_LOG_DIR"); dir != "" {
			// Keep the whole logs for a closer look.
			for src, name := range map[string]string{b.log: "bridge.log", filepath.Join(hs.Dir, "dendrite.log"): "dendrite.log"} {
				if raw, err := os.ReadFile(src); err == nil {
					_ = os.WriteFile(filepath.Join(dir, t.Name()+"-"+name), raw, 0o600)
				}
			}
		}
		if t.Failed() {
			t.Logf("bridge log (last lines):\n%s", lastLines(b.log, 60))
			t.Logf("homeserver log (last lines):\n%s", hs.LogTail(30))
		}
	})
	b.start(t)
	return &env{srv: srv, hs: hs, bridge: b, dir: dir}
}

func portOf(addr string) int {
	var p int
	fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &p)
	return p
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runCLI runs the bridge's command line once (-e, -g) and waits for it.
// A warning about the config file is a failure: the example config must
// be one that loads cleanly.
func runCLI(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := bridgeCommand(args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bridge %v: %v\n%s", args, err, out)
	}
	if strings.Contains(string(out), "Ignoring incorrect config field") {
		t.Errorf("bridge %v warned about its config:\n%s", args, out)
	}
}

func bridgeCommand(args ...string) *exec.Cmd {
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	return cmd
}

// editYAML sets values in a YAML file, keeping everything else (comments
// included). Keys are dotted paths.
func editYAML(t *testing.T, path string, values map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for key, v := range values {
		var val yaml.Node
		if err := val.Encode(v); err != nil {
			t.Fatal(err)
		}
		node := doc.Content[0]
		parts := strings.Split(key, ".")
		for i, p := range parts {
			var next *yaml.Node
			for j := 0; j+1 < len(node.Content); j += 2 {
				if node.Content[j].Value == p {
					next = node.Content[j+1]
					if i == len(parts)-1 {
						node.Content[j+1] = &val
					}
					break
				}
			}
			if next == nil {
				if i == len(parts)-1 {
					node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p}, &val)
					break
				}
				next = &yaml.Node{Kind: yaml.MappingNode}
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p}, next)
			}
			node = next
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(out))
}

// bridgeProc is the bridge running as a process.
type bridgeProc struct {
	dir, cfg, reg, url, log string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func (b *bridgeProc) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(b.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := bridgeCommand("-c", b.cfg, "-r", b.reg, "--ignore-unsupported-server")
	cmd.Dir = b.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	b.mu.Lock()
	b.cmd, b.exited = cmd, exited
	b.mu.Unlock()
	deadline := time.Now().Add(matrixtest.Timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("the bridge exited at start-up:\n%s", lastLines(b.log, 40))
		default:
		}
		if resp, err := http.Get(b.url + "/_matrix/mau/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the bridge was not ready within %s:\n%s", matrixtest.Timeout, lastLines(b.log, 40))
}

// dumpGoroutines makes a running bridge write its goroutines to its log
// and exit (SIGQUIT), to see where a failed test left it.
func (b *bridgeProc) dumpGoroutines() {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}

// stop stops the bridge as an operator would (SIGTERM).
func (b *bridgeProc) stop() {
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.cmd = nil
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	matrixtest.Terminate(cmd, exited, time.Minute)
}

// raceReports returns the race detector's reports in a log.
func raceReports(log []byte) []string {
	var out []string
	for _, part := range bytes.Split(log, []byte("WARNING: DATA RACE"))[1:] {
		report, _, _ := bytes.Cut(part, []byte("=================="))
		out = append(out, "WARNING: DATA RACE"+string(report))
	}
	return out
}

// racyFrameIsOurs reports whether either memory access of a race report
// happens in this module's code: the function right under a "Read at" or
// "Write at" line. Calls into a library that then races inside itself are
// the library's races.
func racyFrameIsOurs(report string) bool {
	lines := strings.Split(report, "\n")
	for i, l := range lines {
		if strings.Contains(l, " at 0x") && strings.Contains(l, " by goroutine ") && i+1 < len(lines) {
			if strings.Contains(lines[i+1], "github.com/nudge-im/nudge/") {
				return true
			}
		}
	}
	return false
}

func lastLines(path string, n int) string {
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

// provision calls the bridge's provisioning API for a user.
func (b *bridgeProc) provision(t *testing.T, method, path string, user id.UserID, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		raw, _ := json.Marshal(in)
		body = bytes.NewReader(raw)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(method, b.url+"/_matrix/provision/v3/"+path+sep+"user_id="+string(user), body)
	req.Header.Set("Authorization", "Bearer "+provSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("provisioning %s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// msnUser is a real MSN client session that keeps its events for the
// test to wait on.
type msnUser struct {
	*client.Client
	email string

	mu      sync.Mutex
	events  []client.Event
	changed chan struct{}
}

func dialMSN(t *testing.T, srv *coretest.Server, email, password string) *msnUser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), matrixtest.Timeout)
	defer cancel()
	cl, err := client.Dial(ctx, client.Config{
		Server:    srv.NSAddr,
		Email:     email,
		Password:  password,
		Passport:  client.PassportConfig{URL: srv.HTTPURL},
		Reconnect: true,
		// A server restart in the test should not leave us waiting long.
		ReconnectMinDelay: 200 * time.Millisecond,
		ReconnectMaxDelay: time.Second,
	})
	if err != nil {
		t.Fatalf("signing in %s: %v", email, err)
	}
	return watchMSN(t, cl, email)
}

// watchMSN keeps the events of a signed-in client for the test.
func watchMSN(t *testing.T, cl *client.Client, email string) *msnUser {
	u := &msnUser{Client: cl, email: email, changed: make(chan struct{})}
	go func() {
		for ev := range cl.Events() {
			u.mu.Lock()
			u.events = append(u.events, ev)
			close(u.changed)
			u.changed = make(chan struct{})
			u.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cl.Close() })
	return u
}

// got reports whether any event so far matches.
func (u *msnUser) got(match func(client.Event) bool) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, e := range u.events {
		if match(e) {
			return true
		}
	}
	return false
}

// mark returns a position in the events, for waitSince.
func (u *msnUser) mark() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.events)
}

// wait waits for an event that matches and returns it.
func (u *msnUser) wait(t *testing.T, what string, match func(client.Event) bool) client.Event {
	t.Helper()
	return u.waitSince(t, 0, what, match)
}

// waitSince waits for an event after mark that matches.
func (u *msnUser) waitSince(t *testing.T, mark int, what string, match func(client.Event) bool) client.Event {
	t.Helper()
	deadline := time.NewTimer(matrixtest.Timeout)
	defer deadline.Stop()
	for {
		u.mu.Lock()
		for _, e := range u.events[min(mark, len(u.events)):] {
			if match(e) {
				u.mu.Unlock()
				return e
			}
		}
		ch := u.changed
		u.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: no event for %s within %s; the last ones:\n%s", u.email, what, matrixtest.Timeout, u.describeLast(10))
		}
	}
}

// describeLast describes the last n events, for a failure message.
func (u *msnUser) describeLast(n int) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var b strings.Builder
	for _, e := range u.events[max(0, len(u.events)-n):] {
		switch e := e.(type) {
		case *client.Message:
			fmt.Fprintf(&b, "  message from %s: %q\n", e.From, e.Text)
		default:
			fmt.Fprintf(&b, "  %T %+v\n", e, e)
		}
	}
	return b.String()
}

// text matches a text message from someone that contains s.
func text(from, s string) func(client.Event) bool {
	return func(e client.Event) bool {
		m, ok := e.(*client.Message)
		return ok && strings.EqualFold(m.From, from) && strings.Contains(m.Text, s)
	}
}

// presence matches a presence change of email to st.
func presence(email string, st client.Status) func(client.Event) bool {
	return func(e client.Event) bool {
		p, ok := e.(*client.Presence)
		return ok && strings.EqualFold(p.Email, email) && p.Status == st
	}
}

// notice matches a notice (or any message) from the bridge bot containing s.
func botSays(room id.RoomID, s string) func(*event.Event) bool {
	return matrixtest.Message(room, bot, s)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), matrixtest.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func TestRacyFrameIsOurs(t *testing.T) {
	theirs := `WARNING: DATA RACE
Write at 0x00c00035dbb0 by goroutine 270:
  maunium.net/go/mautrix/bridgev2.(*Portal).createMatrixRoomInLoop()
      /x/portal.go:5591 +0x3fe4

Previous read at 0x00c00035dbb0 by goroutine 67:
  maunium.net/go/mautrix/bridgev2.(*UserLogin).MarkInPortal()
      /x/space.go:33 +0x2ef
  github.com/nudge-im/nudge/bridges/matrix.(*MSNClient).queueMembers()
      /x/handlemsn.go:178 +0x352
`
	ours := strings.Replace(theirs, "maunium.net/go/mautrix/bridgev2.(*UserLogin).MarkInPortal()", "github.com/nudge-im/nudge/bridges/matrix.(*MSNClient).groupOf()", 1)
	if racyFrameIsOurs(theirs) || !racyFrameIsOurs(ours) {
		t.Errorf("racyFrameIsOurs: theirs %v, ours %v; want false, true", racyFrameIsOurs(theirs), racyFrameIsOurs(ours))
	}
	if n := len(raceReports([]byte("a\nWARNING: DATA RACE\nx\n==================\nb\nWARNING: DATA RACE\ny\n"))); n != 2 {
		t.Errorf("raceReports found %d reports, want 2", n)
	}
}
