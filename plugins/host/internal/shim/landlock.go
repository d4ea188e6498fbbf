package shim

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock (Linux 5.13+) lets an unprivileged process give up access to
// the file system for itself and all it starts, path by path, and from ABI
// 6 on to signal or reach the abstract sockets of processes outside.

// LandlockABI returns the Landlock ABI version the kernel offers, 0 when
// it has none (too old, or not enabled at boot).
func LandlockABI() int {
	abi, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(abi)
}

// rulesetAttr is struct landlock_ruleset_attr up to its "scoped" field
// (ABI 6); the kernel takes a shorter one from older ABIs as long as the
// fields it does not know are zero.
type rulesetAttr struct {
	handledFS  uint64
	handledNet uint64
	scoped     uint64
}

// The file-system rights, by the ABI that brought them.
const (
	fsReadOnly = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	fsABI1     = 1<<13 - 1 // EXECUTE through MAKE_SYM
)

// handledFS returns the rights the ABI can restrict.
func handledFS(abi int) uint64 {
	h := uint64(fsABI1)
	if abi >= 2 {
		h |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		h |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		h |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return h
}

// fileRights are the rights that apply to a file (not a folder).
const fileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
	unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV

// landlockRule gives access below a path.
type landlockRule struct {
	path   string
	access uint64 // fsReadOnly, or all (handled) rights
}

// restrictSelf confines the calling thread — and all it starts — to the
// rules. Call it with no_new_privs set, from the thread that starts the
// bot.
func restrictSelf(abi int, rules []landlockRule) error {
	handled := handledFS(abi)
	attr := rulesetAttr{handledFS: handled}
	size := unsafe.Sizeof(uint64(0)) // ABI 1 to 5: handled_access_fs only
	if abi >= 4 {
		size = 2 * unsafe.Sizeof(uint64(0))
	}
	if abi >= 6 {
		attr.scoped = unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
		size = unsafe.Sizeof(attr)
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return fmt.Errorf("landlock: cannot make a ruleset: %w", errno)
	}
	defer unix.Close(int(fd))
	for _, r := range rules {
		pfd, err := unix.Open(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // not on this system
		}
		access := r.access & handled
		var st unix.Stat_t
		if unix.Fstat(pfd, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			access &= fileRights
		}
		pb := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(pfd)}
		_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, fd, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&pb)), 0, 0, 0)
		unix.Close(pfd)
		if errno != 0 {
			return fmt.Errorf("landlock: cannot allow %s: %w", r.path, errno)
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); errno != 0 {
		return fmt.Errorf("landlock: cannot restrict the bot: %w", errno)
	}
	return nil
}

// readRules allows reading (and running) below each path but the hidden
// ones: a folder that holds a hidden path is allowed entry by entry, so
// that everything beside the hidden path stays readable.
func readRules(paths, hidden []string) []landlockRule {
	var out []landlockRule
	var walk func(p string, depth int)
	walk = func(p string, depth int) {
		for _, h := range hidden {
			if h == p {
				return
			}
		}
		holds := slices.ContainsFunc(hidden, func(h string) bool { return within(h, p) })
		if !holds {
			out = append(out, landlockRule{p, fsReadOnly})
			return
		}
		if depth > 64 {
			return
		}
		// Its entries one by one; the folder itself cannot be listed,
		// which would name what is hidden in it.
		entries, err := os.ReadDir(p)
		if err != nil {
			return
		}
		for _, e := range entries {
			walk(filepath.Join(p, e.Name()), depth+1)
		}
	}
	for _, p := range paths {
		walk(filepath.Clean(p), 0)
	}
	return out
}

// within reports whether path is below dir (and not dir itself).
func within(path, dir string) bool {
	if dir == "/" {
		return path != "/"
	}
	return strings.HasPrefix(path, dir+"/")
}
