package host_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/plugins/host"
)

// The helper process: a host with one bot, which prints the bot's pid and
// waits to be killed.
const (
	helperEnv    = "NUDGE_HOST_TEST_HELPER"
	helperBinEnv = "NUDGE_HOST_TEST_BIN"
)

func TestHelperHost(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("the helper of TestBotsDieWithTheHost")
	}
	spawner := bot("testbot", "testbot", func(b *host.BotConfig) { b.Settings = map[string]string{"spawn": "start"} })
	e := start(t, []host.BotConfig{spawner})
	fmt.Printf("BOTPID %d\n", e.status(t, "testbot").PID)
	fmt.Printf("SPAWNED %d\n", spawnedAtStart(t, e.host, "testbot"))
	select {}
}

// spawnedAtStart is the process a testbot with spawn=start started.
func spawnedAtStart(t *testing.T, h *host.Host, name string) int {
	t.Helper()
	pid := 0
	waitFor(t, "the bot to say what it spawned", func() bool {
		logs, _ := h.Logs(name, 0, 0)
		for _, l := range logs {
			if rest, ok := strings.CutPrefix(l.Message, "spawned "); ok {
				pid, _ = strconv.Atoi(rest)
			}
		}
		return pid > 0
	})
	return pid
}

// alive reports whether pid runs (a zombie waiting to be reaped by init
// does not count).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	rest := s[strings.LastIndexByte(s, ')')+2:]
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// A host killed with SIGKILL (no chance to clean up) leaves nothing behind:
// not the bot, not what the bot started, not go-plugin's socket folder.
func TestBotsDieWithTheHost(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHost$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperBinEnv+"="+binDir, "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pids := map[string]int{}
	sc := bufio.NewScanner(out)
	for len(pids) < 2 && sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && (k == "BOTPID" || k == "SPAWNED") {
			pids[k], _ = strconv.Atoi(v)
		}
	}
	if pids["BOTPID"] <= 0 || pids["SPAWNED"] <= 0 {
		t.Fatalf("the helper host printed %v", pids)
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("process %d is not running", pid)
		}
	}
	if sockets, _ := filepath.Glob(filepath.Join(tmp, "plugin-dir*")); len(sockets) != 1 {
		t.Fatalf("go-plugin's socket folders while the bot runs: %q", sockets)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	for what, pid := range pids {
		waitFor(t, fmt.Sprintf("%s %d to die with its host", what, pid), func() bool { return !alive(pid) })
	}
	waitFor(t, "go-plugin's socket folder to be removed", func() bool {
		sockets, _ := filepath.Glob(filepath.Join(tmp, "plugin-dir*"))
		return len(sockets) == 0
	})
}

// Close ends the bots' processes, and whatever they started.
func TestCloseStopsBots(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot"), bot("echo", "echo")})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	spawned := spawn(t, alice, alice.conv("testbot@bots.localhost"))
	pids := []int{e.status(t, "testbot").PID, e.status(t, "echo").PID, spawned}
	e.host.Close()
	for _, pid := range pids {
		if alive(pid) {
			// Close waits for the processes; they are gone by now.
			t.Errorf("process %d still runs after Close", pid)
		}
	}
	for _, st := range e.host.Status() {
		if st.State != host.StateStopped || st.Online {
			t.Errorf("after Close: %+v", st)
		}
	}
}

// spawn has a testbot start a daemon and returns its pid.
func spawn(t *testing.T, p *person, cv *client.Conversation) int {
	t.Helper()
	got := p.ask(cv, "testbot@bots.localhost", "spawn")
	pid, err := strconv.Atoi(strings.TrimPrefix(got, "spawned "))
	if err != nil || !alive(pid) {
		t.Fatalf("spawn: %q", got)
	}
	return pid
}

// What a bot started ends when the bot crashes, before it is restarted.
func TestBotChildrenEndWithTheBot(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")})
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	cv := alice.conv("testbot@bots.localhost")
	spawned := spawn(t, alice, cv)
	alice.send(cv, "exit")
	waitFor(t, "the daemon to end with the bot", func() bool { return !alive(spawned) })
	e.waitState(t, "testbot", host.StateRunning)
	if got := alice.ask(cv, "testbot@bots.localhost", "ping"); got != "pong" {
		t.Fatalf("after the restart: %q", got)
	}
	if st := e.status(t, "testbot"); !strings.Contains(st.LastError, "exit status 3") {
		t.Errorf("the exit is not reported as the bot's: %+v", st)
	}
}
