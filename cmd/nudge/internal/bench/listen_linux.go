package bench

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// listener hears the fan-out's contacts. Thousands of goroutines, each
// with a Reader and a wake-up of its own per notification, cost the load
// generator several times what the server spends telling them, on the
// same two cores; so a few loops, one per processor, each wait on an
// epoll set of contacts' sockets and read whatever is ready into one
// buffer, taking the time once per batch. Connections without a file
// descriptor fall back to a goroutine each.
type listener struct {
	t        *tally
	loops    []*epollLoop
	next     atomic.Uint32
	stopping atomic.Bool
	wg       sync.WaitGroup
	fallback readers
}

// epollLoop is one loop and the contacts it watches.
type epollLoop struct {
	ep       int
	mu       sync.Mutex // held by the loop while it reads a batch
	contacts []*contact // by the index epoll reports
}

// contact is one socket the loop reads.
type contact struct {
	fd    int
	lines lines
	gone  bool // closed by the server, or failed
}

func newListener(t *tally) (*listener, error) {
	l := &listener{t: t, fallback: readers{t: t}}
	for range runtime.GOMAXPROCS(0) {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			l.stop()
			return nil, err
		}
		lp := &epollLoop{ep: ep}
		l.loops = append(l.loops, lp)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			lp.run(t, &l.stopping)
		}()
	}
	return l, nil
}

// listen takes over reading x: what its Reader holds already is counted
// now, the rest by a loop. The loop reads a copy of the socket's
// descriptor, and x's own is closed, so that the runtime's poller is not
// woken for what the loop reads.
func (l *listener) listen(x *raw) error {
	for x.r.Buffered() > 0 {
		c, err := x.r.ReadCommand()
		if err != nil {
			return err
		}
		if c.Name == "NLN" && l.t.nln([]byte(c.Param(0)), []byte(c.Param(1)), time.Now()) {
			return nil
		}
	}
	sc, ok := x.conn.(syscall.Conn)
	if !ok {
		l.fallback.listen(x)
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	if cerr := rc.Control(func(s uintptr) { fd, err = unix.Dup(int(s)) }); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	x.conn.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return err
	}
	lp := l.loops[int(l.next.Add(1))%len(l.loops)]
	lp.mu.Lock()
	i := len(lp.contacts)
	lp.contacts = append(lp.contacts, &contact{fd: fd})
	lp.mu.Unlock()
	// Edge-triggered: a read that leaves the socket empty is the last
	// until more arrives.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(i)}
	return unix.EpollCtl(lp.ep, unix.EPOLL_CTL_ADD, fd, &ev)
}

// stop ends the loops and closes every contact's socket.
func (l *listener) stop() {
	l.stopping.Store(true)
	l.wg.Wait()
	for _, lp := range l.loops {
		for _, c := range lp.contacts {
			unix.Close(c.fd)
		}
		unix.Close(lp.ep)
	}
	l.fallback.stop()
}

// pollWait bounds one wait, so that a loop sees stop soon.
const pollWait = 50 // milliseconds

func (lp *epollLoop) run(t *tally, stopping *atomic.Bool) {
	events := make([]unix.EpollEvent, 512)
	buf := make([]byte, 64<<10)
	for !stopping.Load() {
		k, err := unix.EpollWait(lp.ep, events, pollWait)
		if err != nil && err != unix.EINTR {
			return
		}
		if k <= 0 {
			continue
		}
		now := time.Now()
		heard := func(line []byte) { t.line(line, now) }
		lp.mu.Lock()
		for _, e := range events[:k] {
			c := lp.contacts[e.Fd]
			for !c.gone {
				n, err := unix.Read(c.fd, buf)
				if err == unix.EINTR {
					continue
				}
				if err == unix.EAGAIN {
					break
				}
				if n <= 0 || err != nil {
					c.gone = true
					break
				}
				if c.lines.feed(buf[:n], heard) != nil {
					c.gone = true
				}
				if n < len(buf) {
					break // emptied: the next arrival is a new edge
				}
			}
		}
		lp.mu.Unlock()
	}
}
