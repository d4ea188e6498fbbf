// Package outbox sends a connection's outgoing commands without ever making
// the sender wait for the network.
//
// Senders append commands to a buffer under a short lock; one writer
// goroutine per connection takes the whole buffer and writes it in a single
// system call, so bursts coalesce into few writes. A reader too slow to keep
// up is cut off once its backlog passes a limit or a write stalls past a
// deadline, so one slow client never slows anyone else and never makes the
// server hold unbounded memory for it.
package outbox

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp"
)

// Defaults for New.
const (
	DefaultLimit        = 256 << 10
	DefaultWriteTimeout = 30 * time.Second
)

// Outbox is the outgoing side of one connection.
type Outbox struct {
	conn         net.Conn
	limit        int
	writeTimeout time.Duration

	mu      sync.Mutex
	buf     []byte // pending bytes
	spare   []byte // the buffer being written, reused for the next batch
	closing bool   // Close was called: write what is pending, then close
	dead    bool   // the connection failed or was cut off
	wake    chan struct{}
	drained chan struct{} // a batch went out (for SendWait)
	done    chan struct{}
	onSlow  func()
	waiters []waiter // WhenBelow callbacks, in the order registered
}

// waiter is a WhenBelow callback waiting for the backlog to fall to n.
type waiter struct {
	n int
	f func()
}

// Options tune an Outbox.
type Options struct {
	// Limit is the most bytes that may wait for the network before the
	// connection is cut off as a slow consumer.
	Limit int
	// WriteTimeout bounds one write to the network.
	WriteTimeout time.Duration
	// OnSlow, when set, is called once if the connection is cut off for
	// being too slow: on the goroutine whose Send passed Limit, or on the
	// writer's when a write stalled past WriteTimeout. It must not block.
	OnSlow func()
}

// New starts the writer goroutine for conn.
func New(conn net.Conn, opts Options) *Outbox {
	if opts.Limit <= 0 {
		opts.Limit = DefaultLimit
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	o := &Outbox{
		conn:         conn,
		limit:        opts.Limit,
		writeTimeout: opts.WriteTimeout,
		wake:         make(chan struct{}, 1),
		drained:      make(chan struct{}, 1),
		done:         make(chan struct{}),
		onSlow:       opts.OnSlow,
	}
	go o.run()
	return o
}

// Send queues c. It reports false when the connection is closed or was just
// cut off for being too slow; the command is then dropped.
func (o *Outbox) Send(c *msnp.Command) bool {
	o.mu.Lock()
	if o.dead || o.closing {
		o.mu.Unlock()
		return false
	}
	o.buf = msnp.AppendCommand(o.buf, c)
	if len(o.buf) > o.limit {
		o.dead = true
		o.buf = nil
		o.mu.Unlock()
		o.conn.Close()
		if o.onSlow != nil {
			o.onSlow()
		}
		select { // the writer ends, and wakes WhenBelow waiters
		case o.wake <- struct{}{}:
		default:
		}
		return false
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return true
}

// SendWait is Send for a connection's answers to its own requests, which
// may be large (a contact list of thousands): while the backlog is over
// half the limit it waits for the writer instead of cutting the
// connection off. Only the goroutine serving that connection may call it:
// it waits on that connection's reader alone, never on anyone else.
func (o *Outbox) SendWait(c *msnp.Command) bool {
	for {
		o.mu.Lock()
		if o.dead || o.closing {
			o.mu.Unlock()
			return false
		}
		room := len(o.buf) < o.limit/2
		o.mu.Unlock()
		if room {
			return o.Send(c)
		}
		select {
		case <-o.drained:
		case <-o.done:
			return false
		}
	}
}

// WhenBelow calls f once no more than n bytes wait for the network: at
// once, on the caller's goroutine, if that is already so, otherwise on the
// writer's goroutine after the batch that brings the backlog down. f is
// also called when the connection ends, so that nobody waits on a dead
// reader. It must not block; it may call Send on any Outbox.
//
// A switchboard uses it to hold back the acknowledgement of a message
// while a recipient is far behind: senders that wait for acknowledgements
// (every P2P sender does) then go at the reader's pace instead of filling
// its backlog until it is cut off.
func (o *Outbox) WhenBelow(n int, f func()) {
	o.mu.Lock()
	if o.dead || len(o.buf) <= n {
		o.mu.Unlock()
		f()
		return
	}
	o.waiters = append(o.waiters, waiter{n, f})
	o.mu.Unlock()
}

// wakeWaiters calls the WhenBelow callbacks whose bound the backlog is
// under (every one when all is true), outside the lock.
func (o *Outbox) wakeWaiters(all bool) {
	o.mu.Lock()
	if len(o.waiters) == 0 {
		o.mu.Unlock()
		return
	}
	var ready []func()
	keep := o.waiters[:0]
	for _, w := range o.waiters {
		if all || o.dead || len(o.buf) <= w.n {
			ready = append(ready, w.f)
		} else {
			keep = append(keep, w)
		}
	}
	clear(o.waiters[len(keep):])
	o.waiters = keep
	o.mu.Unlock()
	for _, f := range ready {
		f()
	}
}

// Close writes what is pending (bounded by the write timeout), then closes
// the connection. It returns when the connection is closed.
func (o *Outbox) Close() {
	o.mu.Lock()
	o.closing = true
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	<-o.done
}

// Kill closes the connection at once, dropping what is pending.
func (o *Outbox) Kill() {
	o.mu.Lock()
	o.dead = true
	o.buf = nil
	o.mu.Unlock()
	o.conn.Close()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Done is closed when the writer has stopped and the connection is closed.
func (o *Outbox) Done() <-chan struct{} { return o.done }

// Pending is the number of bytes waiting for the network.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.buf)
}

func (o *Outbox) run() {
	defer close(o.done)
	defer o.wakeWaiters(true)
	defer o.conn.Close()
	for range o.wake {
		for {
			o.mu.Lock()
			if o.dead {
				o.mu.Unlock()
				return
			}
			batch := o.buf
			o.buf, o.spare = o.spare[:0], nil
			closing := o.closing
			o.mu.Unlock()

			if len(batch) > 0 {
				o.conn.SetWriteDeadline(time.Now().Add(o.writeTimeout))
				if _, err := o.conn.Write(batch); err != nil {
					o.mu.Lock()
					cutOff := !o.dead // not already Killed or cut off by Send
					o.dead = true
					o.buf = nil
					o.mu.Unlock()
					// A write that stalls past its deadline is a reader
					// too slow to keep up, as much as an overlong backlog
					// is: tell OnSlow, so it is logged and counted the
					// same way (a closed or reset connection is not).
					if cutOff && errors.Is(err, os.ErrDeadlineExceeded) && o.onSlow != nil {
						o.onSlow()
					}
					return
				}
			}
			select {
			case o.drained <- struct{}{}:
			default:
			}
			o.wakeWaiters(false)
			o.mu.Lock()
			if o.spare == nil && cap(batch) <= 4*o.limit {
				o.spare = batch[:0]
			}
			more := len(o.buf) > 0
			o.mu.Unlock()
			if !more {
				if closing {
					return
				}
				break
			}
		}
	}
}
