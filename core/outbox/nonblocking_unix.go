//go:build unix

package outbox

import (
	"net"
	"os"
	"syscall"
)

// nonblocking writes to a socket through its file descriptor and returns
// instead of waiting when the socket is full.
type nonblocking struct {
	ok  bool
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // writeFD, bound once
	p   []byte
	n   int
	err error
}

func (w *nonblocking) init(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	w.ok, w.rc = true, rc
	w.fn = w.writeFD
}

// write writes what the socket takes now of p. Only the Outbox's current
// writer calls it.
func (w *nonblocking) write(p []byte) (int, error) {
	w.p, w.n, w.err = p, 0, nil
	err := w.rc.Write(w.fn)
	w.p = nil
	if err != nil {
		return w.n, err
	}
	if w.err != nil {
		return w.n, os.NewSyscallError("write", w.err)
	}
	return w.n, nil
}

// writeFD never asks the poller to wait: it reports done whatever the
// socket took.
func (w *nonblocking) writeFD(fd uintptr) bool {
	for w.n < len(w.p) {
		n, err := syscall.Write(int(fd), w.p[w.n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			w.err = err
			return true
		}
		w.n += n
	}
	return true
}
