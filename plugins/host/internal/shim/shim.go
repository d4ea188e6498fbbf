// Package shim is the small process that stands between the bot host and a
// bot: the host runs its own executable again as the shim, and the shim
// runs the bot. It exists so that nothing a bot starts can outlive the bot
// or the host, on a stock Linux system with no service manager to ask:
//
//   - the shim is a child subreaper (PR_SET_CHILD_SUBREAPER): whatever the
//     bot starts, even a daemon that forks twice and calls setsid, stays
//     below the shim instead of moving to init;
//   - the kernel sends the shim SIGTERM when the host dies, even by SIGKILL
//     (the parent-death signal), and the bot SIGKILL when the shim dies;
//   - when the bot ends, or the host asks (SIGTERM), the shim kills every
//     process below it, waits for them, removes go-plugin's socket folder
//     (which a host killed with SIGKILL could not) and exits as the bot did.
//
// In a sandbox (see Sandbox) the bot runs in namespaces of its own, below an
// init process the shim starts; the kernel ends everything in a PID
// namespace when its init ends.
//
// A binary that imports this package (through plugins/host) becomes the
// shim when it is started with Arg0 as its argv[0]; Command builds that
// command line.
package shim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Arg0 is the argv[0] that makes the executable the shim.
const Arg0 = "nudge-bot-shim"

// Spec is what the shim is to run.
type Spec struct {
	Program string   // absolute path
	Args    []string // without the program
	Dir     string   // working directory
	// SocketDir is go-plugin's folder for the bot's sockets: removed when
	// the bot ends.
	SocketDir string `json:",omitempty"`
	// User, when set, is the account the bot runs as (the host is root).
	User *Credential `json:",omitempty"`
	// Sandbox, when set, runs the bot in a sandbox.
	Sandbox *Sandbox `json:",omitempty"`
}

// Credential is an account to run the bot as.
type Credential struct {
	UID    uint32
	GID    uint32
	Groups []uint32 `json:",omitempty"`
}

// HostPIDEnv names the variable that tells a bot which process's end means
// that it must end too (the SDK and the bot templates watch it): the shim,
// its parent.
const HostPIDEnv = "NUDGE_HOST_PID"

// statusFD is the shim's end of the pipe on which it reports to the host:
// "mode TEXT" (what confines a sandboxed bot), "pid N" once the bot runs
// (N in the host's PID namespace), "error TEXT" when it could not start
// it, and "exit TEXT" (how the bot ended) last.
const statusFD = 3

// Command returns the command that runs spec through the shim, with the
// status pipe's write end as its file 3. The caller sets its environment
// (passed on to the bot), its output and SysProcAttr.
func Command(spec Spec, status *os.File) (*exec.Cmd, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	// /proc/self/exe is the program running now, even if its file was
	// replaced on disk since (an upgrade): host and shim always agree.
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{Arg0, string(raw)}
	cmd.ExtraFiles = []*os.File{status}
	return cmd, nil
}

// Report is what the shim said on its status pipe.
type Report struct {
	Mode string // what confines a sandboxed bot ("namespaces and Landlock ABI 6")
	PID  int    // the bot's process id, 0 until it runs
	Err  string // why the bot could not start
	Exit string // how the bot ended ("exit status 3", "signal: killed")
}

// ReadReports reads the status pipe until it closes, sending the report
// so far after each line; the channel is closed at the end.
func ReadReports(r io.Reader) <-chan Report {
	ch := make(chan Report, 4)
	go func() {
		defer close(ch)
		var rep Report
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			kind, text, _ := strings.Cut(sc.Text(), " ")
			switch kind {
			case "mode":
				rep.Mode = text
			case "pid":
				rep.PID, _ = strconv.Atoi(text)
			case "error":
				rep.Err = text
			case "exit":
				rep.Exit = text
			default:
				continue
			}
			select {
			case ch <- rep:
			default: // nobody reads: keep the latest for the end
				select {
				case <-ch:
				default:
				}
				ch <- rep
			}
		}
	}()
	return ch
}

func init() {
	if len(os.Args) == 2 && os.Args[0] == Arg0 {
		os.Exit(main(os.Args[1]))
	}
	if len(os.Args) == 2 && os.Args[0] == initArg0 {
		os.Exit(sandboxInit(os.Args[1]))
	}
}

// reporter writes the status lines.
type reporter struct{ f *os.File }

func (r reporter) say(kind, text string) {
	if r.f != nil {
		fmt.Fprintf(r.f, "%s %s\n", kind, strings.ReplaceAll(text, "\n", " "))
	}
}

// fail reports an error on the status pipe and on standard error (which
// the host logs), and returns the exit code for it.
func (r reporter) fail(err error) int {
	r.say("error", err.Error())
	fmt.Fprintf(os.Stderr, "[ERROR] %v\n", err)
	return 125
}

func main(rawSpec string) int {
	rep := reporter{}
	if f := os.NewFile(statusFD, "status"); f != nil {
		syscall.CloseOnExec(statusFD) // the bot must not inherit it
		rep.f = f
	}
	var spec Spec
	if err := json.Unmarshal([]byte(rawSpec), &spec); err != nil {
		return rep.fail(fmt.Errorf("bot shim: bad spec: %w", err))
	}
	// The parent-death signal of the bot comes when this thread ends.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return rep.fail(fmt.Errorf("bot shim: cannot become a subreaper: %w", err))
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGCHLD)
	if os.Getppid() == 1 {
		return rep.fail(errors.New("bot shim: the host is gone"))
	}
	defer removeSocketDir(spec.SocketDir)

	cmd, mode, err := startBot(spec, rep.f)
	if err != nil {
		return rep.fail(err)
	}
	bot := cmd.Process.Pid
	pid := bot
	if spec.Sandbox != nil {
		// The bot is the sandbox init's child; the host wants the bot.
		if pid = awaitChild(bot, 10*time.Second); pid == 0 {
			// The init ended without starting it, and said why.
			ws, _ := superviseUntilEnd(bot, sigs)
			return exitCode(ws)
		}
	}
	if mode != "" {
		rep.say("mode", mode)
	}
	rep.say("pid", strconv.Itoa(pid))

	ws, ended := superviseUntilEnd(bot, sigs)
	killDescendants()
	if ended {
		rep.say("exit", describe(ws))
		return exitCode(ws)
	}
	rep.say("exit", "ended by the host")
	return 0
}

// superviseUntilEnd reaps children until the bot (pid) ends, or a signal
// asks the shim to end. Orphans of the bot that end meanwhile are reaped
// here too, so they do not stay zombies.
func superviseUntilEnd(pid int, sigs <-chan os.Signal) (unix.WaitStatus, bool) {
	for {
		for {
			var ws unix.WaitStatus
			got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil || got <= 0 {
				break
			}
			if got == pid {
				return ws, true
			}
		}
		if sig := <-sigs; sig != syscall.SIGCHLD {
			return 0, false
		}
	}
}

// killDescendants kills every process below the shim and reaps them. A
// process that forks meanwhile is found on the next pass; each pass kills
// the parents of the next one's processes.
func killDescendants() {
	self := os.Getpid()
	for range 1000 {
		procs := descendants(self)
		if len(procs) == 0 {
			break
		}
		for _, p := range procs {
			unix.Kill(p, unix.SIGKILL)
		}
		reap(false)
		time.Sleep(time.Millisecond)
	}
	reap(true)
}

// reap waits for children that ended; with all, until none is left.
func reap(all bool) {
	flags := unix.WNOHANG
	if all {
		flags = 0
	}
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, flags, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || got <= 0 {
			return
		}
	}
}

// descendants returns the processes below pid, from /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := parentOf(p); pp > 0 {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parentOf returns the parent of pid from /proc/PID/stat, 0 if it is gone.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}

// awaitChild returns the first child of pid, waiting for it a while: 0
// when pid ends first, pid itself when no child appears.
func awaitChild(pid int, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	for {
		for _, d := range descendants(pid) {
			return d
		}
		if !running(pid) {
			return 0
		}
		if time.Now().After(deadline) {
			return pid
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// running reports whether pid has not ended (a zombie has).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

func removeSocketDir(dir string) {
	// Only a folder go-plugin made: never anything the spec could name by
	// mistake.
	if dir == "" || !strings.HasPrefix(filepathBase(dir), "plugin-dir") {
		return
	}
	os.RemoveAll(dir)
}

func filepathBase(p string) string {
	if i := strings.LastIndexByte(strings.TrimRight(p, "/"), '/'); i >= 0 {
		return strings.TrimRight(p, "/")[i+1:]
	}
	return p
}

// describe says how a process ended, as os.ProcessState does.
func describe(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return "exit status " + strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		return "signal: " + ws.Signal().String()
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}

// exitCode is the shim's exit code for how the bot ended.
func exitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 1
}

// startBot starts the bot, or the sandbox's init that runs it, and says
// what confines it.
func startBot(spec Spec, status *os.File) (*exec.Cmd, string, error) {
	if spec.Sandbox != nil {
		return startSandbox(spec, status)
	}
	cmd := exec.Command(spec.Program, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = botEnv(os.Getpid())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if u := spec.User; u != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
		if err := giveTo(u, spec.SocketDir); err != nil {
			return nil, "", err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, "", startError(spec, err)
	}
	return cmd, "", nil
}

// startError says why the bot could not start, and what to look at when
// it runs as another account.
func startError(spec Spec, err error) error {
	if spec.User != nil && errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("cannot start %s as uid %d: %w (can that account reach the program, and its working directory %s?)",
			spec.Program, spec.User.UID, err, spec.Dir)
	}
	return fmt.Errorf("cannot start %s: %w", spec.Program, err)
}

// botEnv is the shim's environment for the bot, with HostPIDEnv naming
// the process whose end the bot must follow.
func botEnv(watch int) []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, HostPIDEnv+"=") {
			env = append(env, kv)
		}
	}
	return append(env, HostPIDEnv+"="+strconv.Itoa(watch))
}

// giveTo lets the bot's account use go-plugin's socket folder: the bot
// makes its socket there.
func giveTo(u *Credential, dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.Chown(dir, int(u.UID), int(u.GID)); err != nil {
		return fmt.Errorf("bot shim: cannot give the socket folder to uid %d: %w", u.UID, err)
	}
	return nil
}
