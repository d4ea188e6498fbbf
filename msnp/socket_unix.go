//go:build unix

package msnp

import (
	"io"
	"os"
	"syscall"
)

// socket reads a connection through its file descriptor, so that a Reader
// can wait for input without holding a buffer: the buffer is taken only
// once the socket has something to read. Deadlines and Close work as they
// do for the connection's own Read.
type socket struct {
	ok   bool
	rc   syscall.RawConn
	in   *input
	fn   func(fd uintptr) bool // readFD, bound once
	size int                   // buffer size the read needs
	n    int
	err  error
}

func (s *socket) init(c syscall.Conn, in *input) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	s.ok, s.rc, s.in = true, rc, in
	s.fn = s.readFD
}

// read waits until the socket is readable and reads what is there into
// the input's buffer.
func (s *socket) read(size int) (int, error) {
	s.size, s.n, s.err = size, 0, nil
	if err := s.rc.Read(s.fn); err != nil {
		return 0, err
	}
	switch {
	case s.err != nil:
		return 0, os.NewSyscallError("read", s.err)
	case s.n == 0:
		return 0, io.EOF
	}
	return s.n, nil
}

// readFD is called by the runtime's poller, at once and then each time the
// socket becomes readable, until it returns true.
func (s *socket) readFD(fd uintptr) bool {
	in := s.in
	in.ensureRead(s.size)
	for {
		n, err := syscall.Read(int(fd), in.data[in.w:])
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if in.r == in.w {
				in.release() // nothing to keep while we wait
			} else {
				in.shrink()
			}
			return false
		case nil:
			in.w += n
			s.n = n
		default:
			s.err = err
		}
		return true
	}
}
