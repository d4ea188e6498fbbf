// Package connlimit keeps floods of connections from exhausting a server:
// a Gate caps what is admitted in total and per source address, Listener
// caps the open connections of a listener, and Accept survives running out
// of file descriptors instead of giving up.
package connlimit

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// The keep-alive of accepted connections (Listen): Go's defaults.
const (
	keepAliveIdle     = 15 // seconds of silence before the first probe
	keepAliveInterval = 15 // seconds between probes
	keepAliveProbes   = 9  // unanswered probes before the connection is dropped
)

// Gate admits at most Max holders in total and PerAddress per source
// address. It is safe for concurrent use; a nil Gate admits everyone.
type Gate struct {
	max, perAddress int

	mu     sync.Mutex
	total  int
	byAddr map[string]int
}

// NewGate returns a Gate; a limit of 0 or less is no limit.
func NewGate(max, perAddress int) *Gate {
	return &Gate{max: max, perAddress: perAddress, byAddr: make(map[string]int)}
}

// Enter admits one more holder from addr (host or host:port), or reports
// false when a limit is reached. Each true must be matched by one Leave.
func (g *Gate) Enter(addr string) bool {
	if g == nil {
		return true
	}
	host := Host(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.max > 0 && g.total >= g.max {
		return false
	}
	if g.perAddress > 0 && g.byAddr[host] >= g.perAddress {
		return false
	}
	g.total++
	g.byAddr[host]++
	return true
}

// Leave releases a holder admitted from addr.
func (g *Gate) Leave(addr string) {
	if g == nil {
		return
	}
	host := Host(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if n := g.byAddr[host] - 1; n > 0 {
		g.byAddr[host] = n
	} else {
		// At most max addresses are ever held, so the map stays small.
		delete(g.byAddr, host)
	}
}

// Len is the number of holders admitted now.
func (g *Gate) Len() int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// Host is the host part of a host:port address (the whole of anything
// else): one count per source address, whatever its port.
func Host(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// Accept accepts the next connection from l. An error that will pass (too
// many open files, a connection aborted before it was accepted) is logged
// and retried with a growing pause, so that a flood that exhausts the file
// descriptors does not end the listener; any other error is returned, and
// so is every error once closed reports true.
func Accept(l net.Listener, log zerolog.Logger, closed func() bool) (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err == nil {
			return c, nil
		}
		if closed() || !temporary(err) {
			return nil, err
		}
		delay = min(max(2*delay, 5*time.Millisecond), time.Second)
		log.Warn().Err(err).Dur("retry_in", delay).Msg("accept failed; retrying")
		time.Sleep(delay)
	}
}

func temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var te interface{ Temporary() bool }
	var to interface{ Timeout() bool }
	return errors.As(err, &te) && te.Temporary() || errors.As(err, &to) && to.Timeout()
}

// Listener wraps l so that at most n of its connections are open at once:
// past that, Accept waits for one to close. The kernel's backlog holds the
// newcomers meanwhile.
func Listener(l net.Listener, n int) net.Listener {
	if n <= 0 {
		return l
	}
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
