package host

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/nudge-im/nudge/plugins/host/internal/shim"
)

// Isolation is how a bot is kept apart from the server and the rest of
// the system. Every bot has a clean environment, a working directory of
// its own outside the data directory, and ends with all it started; these
// modes add to that:
//
//   - IsolationNone: nothing more. The bot can read and write all the
//     server's account can, its data directory included.
//   - IsolationSandbox: the bot sees the system folders, its program, the
//     BotConfig.Read paths and its working directory (the one place it may
//     write, with a private /tmp); the data directory, the Hidden paths and
//     the other bots' folders are out of its sight. It runs in PID, mount,
//     IPC and UTS namespaces of its own (and a user namespace when the host
//     is not root), so it sees and signals only its own processes, and
//     under Landlock where the kernel has it. Where the kernel refuses
//     unprivileged user namespaces, it falls back to IsolationLandlock.
//   - IsolationLandlock: the same file rules, enforced by Landlock on the
//     real file system, with no /proc at all; from Landlock ABI 6 on the bot
//     cannot signal or reach the abstract sockets of processes outside.
//
// Independently, BotConfig.User runs a bot as another account when the
// host runs as root; a sandboxed bot of a root host runs as nobody unless
// User says otherwise.
type Isolation string

// The isolations.
const (
	IsolationNone     Isolation = "none"
	IsolationSandbox  Isolation = "sandbox"
	IsolationLandlock Isolation = "landlock"
)

// Isolations are the names nudge.yaml may give.
var Isolations = []Isolation{IsolationNone, IsolationSandbox, IsolationLandlock}

// systemDirs are what a sandboxed bot sees of the system, read-only: the
// programs, libraries and settings that an interpreter or a dynamically
// linked program needs.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}

// sandboxed reports whether the bot runs in a sandbox.
func (b *bot) sandboxed() bool {
	return b.cfg.Isolation == IsolationSandbox || b.cfg.Isolation == IsolationLandlock
}

// runAs returns the account a bot runs as: its User, or nobody for a
// sandboxed bot of a host that runs as root; nil for the host's own.
func runAs(bc BotConfig) (*shim.Credential, error) {
	if !slices.Contains(append(Isolations, ""), bc.Isolation) {
		return nil, fmt.Errorf("isolation %q is not one of none, sandbox, landlock", bc.Isolation)
	}
	name := bc.User
	if name == "" {
		if os.Geteuid() != 0 || (bc.Isolation != IsolationSandbox && bc.Isolation != IsolationLandlock) {
			return nil, nil
		}
		name = "nobody"
	} else if os.Geteuid() != 0 {
		return nil, fmt.Errorf("user %s: only a server that runs as root can run a bot as another account (this one runs as uid %d)", name, os.Geteuid())
	}
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			if name == "nobody" {
				return &shim.Credential{UID: 65534, GID: 65534}, nil
			}
			return nil, fmt.Errorf("user %s: no such account", name)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %s: %w", name, err)
	}
	if uid == 0 {
		return nil, fmt.Errorf("user %s is root: name an account without privileges", name)
	}
	c := &shim.Credential{UID: uint32(uid), GID: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				c.Groups = append(c.Groups, uint32(n))
			}
		}
	}
	return c, nil
}

// shimSpec is what the shim is to run for the bot.
func (b *bot) shimSpec(program, dir string) shim.Spec {
	spec := shim.Spec{Program: program, Args: b.cfg.Args, Dir: dir, User: b.cred}
	if !b.sandboxed() {
		return spec
	}
	// In the sandbox a path is seen where it really is: a symbolic link
	// on the way could lead out of what the bot may see.
	spec.Program, spec.Dir = realPath(program), realPath(dir)
	read := append(slices.Clone(systemDirs), spec.Program)
	spec.Args = slices.Clone(b.cfg.Args)
	for i, a := range spec.Args {
		if !filepath.IsAbs(a) {
			continue
		}
		// A script's folder: what it loads sits beside it.
		if fi, err := os.Stat(a); err == nil {
			spec.Args[i] = realPath(a)
			if fi.IsDir() {
				read = append(read, spec.Args[i])
			} else {
				read = append(read, filepath.Dir(spec.Args[i]))
			}
		}
	}
	for _, p := range b.cfg.Read {
		read = append(read, realPath(p))
	}
	var hidden []string
	for _, p := range b.h.cfg.Hidden {
		hidden = append(hidden, realPath(p))
	}
	if b.h.cfg.DataDir != "" {
		hidden = append(hidden, realPath(b.h.cfg.DataDir))
	}
	// The other bots' working directories: this one's is bound over it.
	hidden = append(hidden, realPath(b.h.cfg.BotsDir))
	spec.Sandbox = &shim.Sandbox{
		LandlockOnly: b.cfg.Isolation == IsolationLandlock,
		ReadOnly:     read,
		Writable:     []string{spec.Dir},
		Hidden:       hidden,
		Hostname:     b.cfg.Name,
	}
	return spec
}

// realPath is the absolute path with no symbolic link in it (as given, when
// it does not exist).
func realPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}

// isolationOf says what keeps the bot's process apart.
func (b *bot) isolationOf(r *procRunner) string {
	desc := "none"
	if b.sandboxed() {
		desc = string(b.cfg.Isolation)
		if r != nil {
			if m := r.mode(); m != "" {
				desc += " (" + m + ")"
			}
		}
	}
	switch {
	case b.cred != nil:
		who := fmt.Sprintf("uid %d", b.cred.UID)
		if u, err := user.LookupId(strconv.FormatUint(uint64(b.cred.UID), 10)); err == nil {
			who = u.Username
		}
		desc += ", as " + who
	case os.Geteuid() == 0:
		desc += ", as root"
	}
	return desc
}
