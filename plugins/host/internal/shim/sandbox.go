package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A sandboxed bot runs below an init process (the executable once more,
// with initArg0) that the shim starts in namespaces of its own where the
// kernel allows — a user namespace when the host is not root, and PID,
// mount, IPC and UTS namespaces — and that, before it starts the bot,
//
//   - builds a root of its own: a tmpfs with the system folders, the
//     program and the Read paths bound in read-only, the working directory
//     and go-plugin's socket folder read-write, a private /tmp, a /dev with
//     the harmless devices, and a /proc that shows only the sandbox's
//     processes; the Hidden paths are covered even where they lie below a
//     visible folder;
//   - confines itself and the bot with Landlock where the kernel has it:
//     writes only where the bot may write, and from ABI 6 on no signals to
//     and no abstract sockets of processes outside;
//   - gives up every capability and sets no_new_privs (as root, it runs the
//     bot as Spec.User).
//
// Where user namespaces are not allowed (and the host is not root), the
// init makes do with Landlock on the real file system: read access below
// the visible paths only (Hidden ones excepted), writes only to the working
// directory, and no /proc at all. With neither, the bot does not start.

// initArg0 is the argv[0] of the sandbox's init.
const initArg0 = "nudge-bot-init"

// Sandbox says how to confine a bot.
type Sandbox struct {
	// LandlockOnly skips the namespaces, for a sandbox of Landlock alone.
	LandlockOnly bool `json:",omitempty"`
	ReadOnly     []string
	Writable     []string
	Hidden       []string `json:",omitempty"`
	Hostname     string   `json:",omitempty"`

	// Set by the shim for the init.
	Namespaces bool `json:",omitempty"`
	Landlock   int  `json:",omitempty"` // the ABI to use; 0: none
}

// startSandbox starts the sandbox's init, in namespaces if the kernel
// allows, and returns it with a description of the sandbox it got.
func startSandbox(spec Spec, status *os.File) (*exec.Cmd, string, error) {
	sb := *spec.Sandbox
	sb.Landlock = LandlockABI()
	if spec.SocketDir != "" {
		sb.Writable = append(slices.Clone(sb.Writable), spec.SocketDir)
	}
	if spec.User != nil {
		if err := giveTo(spec.User, spec.SocketDir); err != nil {
			return nil, "", err
		}
	}
	var nsErr error
	if !sb.LandlockOnly {
		sb.Namespaces = true
		spec.Sandbox = &sb
		cmd, err := initCommand(spec, status)
		if err != nil {
			return nil, "", err
		}
		if nsErr = cmd.Start(); nsErr == nil {
			desc := "namespaces"
			if sb.Landlock > 0 {
				desc += fmt.Sprintf(" and Landlock ABI %d", sb.Landlock)
			}
			return cmd, desc, nil
		}
		fmt.Fprintf(os.Stderr, "[WARN] sandbox: the kernel refused namespaces (%v); confining the bot with Landlock alone\n", nsErr)
	}
	if sb.Landlock == 0 {
		if nsErr == nil {
			return nil, "", errors.New("sandbox: this kernel has no Landlock (Linux 5.13 or later, with landlock among its LSMs)")
		}
		return nil, "", fmt.Errorf("sandbox: this kernel allows neither user namespaces (%v) nor Landlock; "+
			"run the server as root, allow unprivileged user namespaces, or run the bot with isolation: none", nsErr)
	}
	sb.Namespaces = false
	spec.Sandbox = &sb
	cmd, err := initCommand(spec, status)
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("cannot start the sandbox: %w", err)
	}
	return cmd, fmt.Sprintf("Landlock ABI %d", sb.Landlock), nil
}

// initCommand is the command of the sandbox's init. The status pipe
// becomes its file 3, on which it reports why it could not start the bot.
func initCommand(spec Spec, status *os.File) (*exec.Cmd, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{initArg0, string(raw)}
	cmd.Env = os.Environ()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	if status != nil {
		cmd.ExtraFiles = []*os.File{status}
	}
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if spec.Sandbox.Namespaces {
		attr.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
		if os.Geteuid() != 0 {
			// The same ids inside as outside; the init keeps what it
			// needs to build the root across its exec, and drops it
			// before it starts the bot.
			uid, gid := os.Getuid(), os.Getgid()
			attr.Cloneflags |= syscall.CLONE_NEWUSER
			attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
			attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
			attr.GidMappingsEnableSetgroups = false
			attr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
		}
	}
	cmd.SysProcAttr = attr
	return cmd, nil
}

// sandboxInit is the init's main: it confines itself, starts the bot, and
// ends as the bot does.
func sandboxInit(rawSpec string) int {
	rep := reporter{}
	if f := os.NewFile(statusFD, "status"); f != nil {
		syscall.CloseOnExec(statusFD)
		rep.f = f
	}
	var spec Spec
	if err := json.Unmarshal([]byte(rawSpec), &spec); err != nil || spec.Sandbox == nil {
		return rep.fail(fmt.Errorf("sandbox: bad spec: %v", err))
	}
	sb := spec.Sandbox
	// Capabilities, no_new_privs and Landlock belong to a thread: the bot
	// is started from this one.
	runtime.LockOSThread()
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGCHLD)

	env := botEnv(os.Getpid())
	if sb.Namespaces {
		if err := buildRoot(spec); err != nil {
			return rep.fail(fmt.Errorf("sandbox: %w", err))
		}
		if sb.Hostname != "" {
			unix.Sethostname([]byte(sb.Hostname))
		}
	} else {
		// No private /tmp: temporary files go to the working directory.
		tmp := filepath.Join(spec.Dir, ".tmp")
		os.MkdirAll(tmp, 0o700)
		env = append(env, "TMPDIR="+tmp)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return rep.fail(fmt.Errorf("sandbox: no_new_privs: %w", err))
	}
	if sb.Landlock > 0 {
		if err := restrictSelf(sb.Landlock, landlockRules(spec)); err != nil {
			return rep.fail(fmt.Errorf("sandbox: %w", err))
		}
	}
	// What was kept to build the root goes before the bot starts.
	unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if os.Geteuid() != 0 || spec.User == nil {
		if err := dropCapabilities(); err != nil {
			return rep.fail(fmt.Errorf("sandbox: cannot drop capabilities: %w", err))
		}
	}

	cmd := exec.Command(spec.Program, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if u := spec.User; u != nil && os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.Groups}
	}
	if err := cmd.Start(); err != nil {
		return rep.fail(fmt.Errorf("in the sandbox: %w", startError(spec, err)))
	}
	ws, ended := superviseUntilEnd(cmd.Process.Pid, sigs)
	if !sb.Namespaces {
		// Without a PID namespace nothing ends the bot's children with
		// the init; the shim above would, but not before the init ends.
		killDescendants()
	}
	if ended {
		return exitCode(ws)
	}
	return 0
}

// dropCapabilities empties the calling thread's capability sets.
func dropCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	return unix.Capset(&hdr, &data[0])
}

// landlockRules are the init's Landlock rules for the bot.
func landlockRules(spec Spec) []landlockRule {
	sb := spec.Sandbox
	const all = ^uint64(0)
	var rules []landlockRule
	devices := []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
	if sb.Namespaces {
		// The root holds only what may be seen: all of it may be read;
		// the few places the bot may write are its working directory,
		// the socket folder, /tmp and /dev/shm.
		rules = append(rules, landlockRule{"/", fsReadOnly})
		for _, p := range append(slices.Clone(sb.Writable), "/tmp", "/dev/shm") {
			rules = append(rules, landlockRule{p, all})
		}
	} else {
		rules = readRules(sb.ReadOnly, sb.Hidden)
		for _, p := range sb.Writable {
			rules = append(rules, landlockRule{p, all})
		}
	}
	for _, d := range devices {
		rules = append(rules, landlockRule{d, unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
			unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV})
	}
	return rules
}

// mount is one step in building the sandbox's root.
type mount struct {
	target string // in the new root
	kind   mountKind
	src    int // an O_PATH descriptor of the source, for binds
	dir    bool
}

type mountKind int

const (
	bindRO mountKind = iota
	bindRW
	bindDevice
	tmpfs    // a private, writable tmpfs (/tmp, /dev/shm)
	tmpfsDev // /dev
	cover    // a Hidden folder: an empty tmpfs over it
	coverFile
	procfs
)

// buildRoot makes the sandbox's root and moves into it.
func buildRoot(spec Spec) error {
	sb := spec.Sandbox
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("cannot make the mounts private: %w", err)
	}
	var mounts []mount
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	// Open every source first: the new root is built on /tmp, which
	// covers what was there.
	open := func(p string, kind mountKind, must bool) error {
		fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			if must {
				return fmt.Errorf("cannot open %s: %w", p, err)
			}
			return nil
		}
		fds = append(fds, fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		mounts = append(mounts, mount{target: p, kind: kind, src: fd, dir: st.Mode&unix.S_IFMT == unix.S_IFDIR})
		return nil
	}
	for _, p := range sb.ReadOnly {
		if err := open(p, bindRO, false); err != nil {
			return err
		}
	}
	for _, p := range sb.Writable {
		if err := open(p, bindRW, true); err != nil {
			return err
		}
	}
	for _, d := range []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"} {
		if err := open(d, bindDevice, false); err != nil {
			return err
		}
	}
	devNull := -1
	for _, m := range mounts {
		if m.target == "/dev/null" {
			devNull = m.src
		}
	}
	mounts = append(mounts, mount{target: "/proc", kind: procfs, dir: true}, mount{target: "/dev", kind: tmpfsDev, dir: true},
		mount{target: "/dev/shm", kind: tmpfs, dir: true}, mount{target: "/tmp", kind: tmpfs, dir: true})
	// Hidden paths below a visible folder are covered.
	exposed := func(p string) bool {
		return slices.ContainsFunc(mounts, func(m mount) bool {
			return (m.kind == bindRO || m.kind == bindRW) && m.dir && (within(p, m.target) || p == m.target)
		})
	}
	for _, h := range sb.Hidden {
		if !exposed(h) {
			continue
		}
		fi, err := os.Stat(h)
		switch {
		case err != nil:
			continue
		case fi.IsDir():
			mounts = append(mounts, mount{target: h, kind: cover, dir: true})
		case devNull >= 0:
			mounts = append(mounts, mount{target: h, kind: coverFile, src: devNull})
		}
	}
	// Parents before what they hold.
	slices.SortStableFunc(mounts, func(a, b mount) int { return strings.Count(a.target, "/") - strings.Count(b.target, "/") })

	const root = "/tmp"
	if err := unix.Mount("nudge-bot", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("cannot make the root: %w", err)
	}
	for _, m := range mounts {
		if err := m.apply(root); err != nil {
			return err
		}
	}
	for name, to := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		os.Symlink(to, filepath.Join(root, "dev", name))
	}
	old := filepath.Join(root, ".oldroot")
	if err := os.Mkdir(old, 0o700); err != nil {
		return err
	}
	if err := unix.PivotRoot(root, old); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Unmount("/.oldroot", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("cannot let go of the old root: %w", err)
	}
	os.Remove("/.oldroot")
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("cannot make the root read-only: %w", err)
	}
	return nil
}

// apply makes one mount below root.
func (m mount) apply(root string) error {
	target := filepath.Join(root, m.target)
	if m.dir {
		if err := os.MkdirAll(target, 0o755); err != nil && !errors.Is(err, unix.EROFS) {
			return fmt.Errorf("cannot make %s: %w", m.target, err)
		}
	} else {
		os.MkdirAll(filepath.Dir(target), 0o755)
		if f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
			f.Close()
		}
	}
	src := fmt.Sprintf("/proc/self/fd/%d", m.src)
	var err error
	switch m.kind {
	case procfs:
		err = unix.Mount("proc", target, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	case tmpfs:
		err = unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777")
	case tmpfsDev:
		err = unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755")
	case cover:
		err = unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=16k")
	case bindDevice, coverFile:
		// A device node (a hidden file is covered by /dev/null): nodev
		// would make it unusable.
		err = unix.Mount(src, target, "", unix.MS_BIND, "")
	case bindRO, bindRW:
		err = unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, "")
		if err == nil {
			var ro uintptr
			if m.kind == bindRO {
				ro = unix.MS_RDONLY
			}
			err = remount(target, m.src, ro)
		}
	}
	if err != nil {
		return fmt.Errorf("cannot mount %s: %w", m.target, err)
	}
	return nil
}

// remount makes a bind mount nosuid and nodev (and read-only with
// MS_RDONLY), keeping the flags of the source's mount that a user
// namespace may not drop.
func remount(target string, srcFD int, flags uintptr) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(srcFD, &st); err != nil {
		return err
	}
	keep := uintptr(st.Flags) & (unix.ST_RDONLY | unix.ST_NOEXEC | unix.ST_NOATIME | unix.ST_NODIRATIME | unix.ST_RELATIME)
	return unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_NOSUID|unix.MS_NODEV|flags|keep, "")
}
