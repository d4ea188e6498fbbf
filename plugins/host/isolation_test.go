package host_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/plugins/host"
	"github.com/nudge-im/nudge/plugins/host/internal/shim"
)

// What a bot can reach of the server, mode by mode: the admin token in
// the data directory, the configuration file, the server's environment in
// /proc, another bot's folder, the server's process (to signal it) and its
// abstract sockets, the system's files, its own working directory and
// /tmp: what the README's table of isolation modes promises.
func TestIsolationModes(t *testing.T) {
	abi := shim.LandlockABI()
	for _, tc := range []struct {
		iso    host.Isolation
		user   string
		sealed bool // the server's secrets are out of reach
		skip   string
	}{
		{iso: host.IsolationNone},
		{iso: host.IsolationSandbox, sealed: true},
		{iso: host.IsolationLandlock, sealed: true, skip: landlockMissing()},
		{iso: host.IsolationNone, user: "nobody", sealed: true, skip: notRoot()},
	} {
		name := string(tc.iso)
		if tc.user != "" {
			name += "-as-" + tc.user
		}
		t.Run(name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			secret := filepath.Join(t.TempDir(), "nudge.yaml")
			if err := os.WriteFile(secret, []byte("admin: {token: s3cret}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			tb := bot("tb", "testbot", func(b *host.BotConfig) { b.Isolation, b.User = tc.iso, tc.user })
			// The bots' folder where another account can reach it (a
			// test's temporary folders are the test's alone).
			botsDir, err := os.MkdirTemp("", "nudge-bots-test-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(botsDir) })
			other := filepath.Join(botsDir, "other")
			if err := os.Mkdir(other, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(other, "state"), []byte("its own"), 0o600); err != nil {
				t.Fatal(err)
			}
			// An abstract Unix socket of the server's: no file, no
			// permissions, only Landlock's scope (ABI 6) keeps it apart.
			abstract := fmt.Sprintf("@nudge-test-%d-%s", os.Getpid(), name)
			l, err := net.Listen("unix", abstract)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			e := start(t, []host.BotConfig{tb}, func(c *host.Config) { c.Hidden, c.BotsDir = []string{secret}, botsDir })
			alice := e.newPerson(t, "alice")
			alice.add("tb@bots.localhost")
			cv := alice.conv("tb@bots.localhost")
			ask := func(text string) string { return alice.ask(cv, "tb@bots.localhost", text) }

			st := e.status(t, "tb")
			t.Logf("isolation: %s", st.Isolation)
			work := filepath.Join(botsDir, "tb")
			if got := ask("write " + filepath.Join(work, "state")); got != "written" {
				t.Errorf("writing in its working directory: %q", got)
			}
			if got := ask("read /etc/passwd"); !strings.HasPrefix(got, "read: ") {
				t.Errorf("reading a system file: %q", got)
			}
			// A private /tmp in the sandbox; the real one otherwise (the
			// landlock mode may write only in its folder).
			probe := fmt.Sprintf("/tmp/nudge-isolation-probe-%d-%s", os.Getpid(), name)
			os.Remove(probe)
			defer os.Remove(probe)
			wrote := ask("write " + probe)
			_, err = os.Stat(probe)
			switch onRealTmp := err == nil; {
			case tc.iso == host.IsolationSandbox && (wrote != "written" || onRealTmp):
				t.Errorf("a sandboxed bot's /tmp is not its own: %q, on the real /tmp: %v", wrote, onRealTmp)
			case tc.iso == host.IsolationLandlock && abi > 0 && (!strings.HasPrefix(wrote, "error: ") || onRealTmp):
				t.Errorf("a bot under Landlock wrote in /tmp: %q", wrote)
			case tc.iso == host.IsolationNone && tc.user == "" && !onRealTmp:
				t.Errorf("without isolation the bot could not write in /tmp: %q", wrote)
			}

			// What separate accounts keep apart, PID namespaces and
			// Landlock's signal scope; abstract sockets only the latter.
			namespaces := strings.Contains(st.Isolation, "namespaces")
			sealed := map[string]bool{
				"the admin token":              tc.sealed,
				"the configuration file":       tc.sealed,
				"the server's environment":     tc.sealed,
				"a file outside":               tc.sealed,
				"another bot's folder":         tc.sealed,
				"the server's process":         tc.user != "" || (tc.sealed && (namespaces || abi >= 6)),
				"the server's abstract socket": tc.iso != host.IsolationNone && abi >= 6,
			}
			reach := map[string]string{
				"the admin token":              ask("read " + filepath.Join(e.srv.Data, "admin.token")),
				"the configuration file":       ask("read " + secret),
				"the server's environment":     ask(fmt.Sprintf("read /proc/%d/environ", os.Getpid())),
				"a file outside":               ask("write " + filepath.Join(e.srv.Data, "planted")),
				"another bot's folder":         ask("read " + filepath.Join(other, "state")),
				"the server's process":         ask(fmt.Sprintf("signal %d", os.Getpid())),
				"the server's abstract socket": ask("dial " + abstract),
			}
			for what, got := range reach {
				if sealed[what] && !strings.HasPrefix(got, "error: ") {
					t.Errorf("the bot reached %s: %q", what, got)
				}
				if !sealed[what] && strings.HasPrefix(got, "error: ") {
					t.Errorf("the bot could not reach %s, which this mode does not keep from it: %q", what, got)
				}
			}
			who := ask("whoami")
			m := regexp.MustCompile(`^uid (\d+), (\d+) processes$`).FindStringSubmatch(who)
			if m == nil {
				t.Fatalf("whoami: %q", who)
			}
			if tc.iso == host.IsolationSandbox && m[2] != "2" {
				t.Errorf("a sandboxed bot sees other processes than its init and itself: %q", who)
			}
			if tc.iso == host.IsolationLandlock && m[2] != "0" {
				t.Errorf("a bot under Landlock sees processes in /proc: %q", who)
			}
			if (tc.user != "" || tc.iso != host.IsolationNone) && os.Geteuid() == 0 && m[1] != "65534" {
				t.Errorf("the bot of a root server does not run as nobody: %q", who)
			}
			if !strings.HasPrefix(st.Isolation, string(tc.iso)) {
				t.Errorf("the status says the isolation is %q", st.Isolation)
			}
		})
	}
}

func landlockMissing() string {
	if shim.LandlockABI() == 0 {
		return "this kernel has no Landlock"
	}
	return ""
}

func notRoot() string {
	if os.Geteuid() != 0 {
		return "running a bot as another account needs root"
	}
	return ""
}

// The same, with the server running as an ordinary account: the sandbox
// takes a user namespace (or Landlock alone, where the kernel refuses
// those). As root, the test runs itself again as nobody.
func TestIsolationAsAnOrdinaryUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("TestIsolationModes runs as an ordinary user already")
	}
	dir, err := os.MkdirTemp("", "nudge-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o777)
	// A copy of this test program that nobody may run.
	self := filepath.Join(dir, "host.test")
	copyFile(t, os.Args[0], self)
	cmd := exec.Command(self, "-test.run=^TestIsolationModes$", "-test.v", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), helperBinEnv+"="+binDir, "TMPDIR="+dir, "HOME="+dir)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the isolation tests as nobody: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`isolation: sandbox \(([^)]*)\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no sandbox in the output:\n%s", out)
	}
	t.Logf("as nobody, the sandbox is %s", m[1])
}

// A bot works in a folder of its own beside the data directory, not in it:
// the "../../admin.token" finds nothing. A folder an older version
// kept in the data directory moves out with what it holds.
func TestWorkingDirectoryIsOutOfTheData(t *testing.T) {
	srv := coretest.Start(t)
	old := filepath.Join(srv.Data, "bots", "tb")
	if err := os.MkdirAll(old, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, "kept"), []byte("state"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startOn(t, srv, []host.BotConfig{bot("tb", "testbot")})
	alice := e.newPerson(t, "alice")
	alice.add("tb@bots.localhost")
	cv := alice.conv("tb@bots.localhost")
	if got := alice.ask(cv, "tb@bots.localhost", "read ../../admin.token"); !strings.HasPrefix(got, "error: ") {
		t.Errorf("the bot found the admin token next to its folder: %q", got)
	}
	if got := alice.ask(cv, "tb@bots.localhost", "read kept"); got != "read: 5 bytes" {
		t.Errorf("the old folder's file, from the bot: %q", got)
	}
	if got := alice.ask(cv, "tb@bots.localhost", "write new"); got != "written" {
		t.Fatalf("write: %q", got)
	}
	work := srv.Data + "-bots"
	for _, f := range []string{"kept", "new"} {
		if _, err := os.Stat(filepath.Join(work, "tb", f)); err != nil {
			t.Errorf("%s is not in the bot's folder beside the data: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(srv.Data, "bots")); !os.IsNotExist(err) {
		t.Errorf("the data directory still has a bots folder: %v", err)
	}
}
