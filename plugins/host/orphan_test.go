package host_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

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
	e := start(t, []host.BotConfig{bot("testbot", "testbot")})
	fmt.Printf("BOTPID %d\n", e.status(t, "testbot").PID)
	select {}
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

// A host killed with SIGKILL (no chance to clean up) leaves no bot behind.
func TestBotsDieWithTheHost(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHost$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperBinEnv+"="+binDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "BOTPID "); ok {
			pid, _ = strconv.Atoi(rest)
			break
		}
	}
	if pid <= 0 {
		t.Fatal("the helper host printed no bot pid")
	}
	if !alive(pid) {
		t.Fatalf("bot %d is not running", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitFor(t, fmt.Sprintf("bot %d to die with its host", pid), func() bool { return !alive(pid) })
}

// Close ends the bots' processes.
func TestCloseStopsBots(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot"), bot("echo", "echo")})
	pids := []int{e.status(t, "testbot").PID, e.status(t, "echo").PID}
	e.host.Close()
	for _, pid := range pids {
		if alive(pid) {
			// Close waits for the processes; they are gone by now.
			t.Errorf("bot %d still runs after Close", pid)
		}
	}
	for _, st := range e.host.Status() {
		if st.State != host.StateStopped || st.Online {
			t.Errorf("after Close: %+v", st)
		}
	}
}
