// Package outbox sends a connection's outgoing commands without ever making
// the sender wait for the network.
//
// Senders append commands to a buffer under a short lock. Whoever finds the
// connection idle writes the buffer at once, on its own goroutine, with a
// write that never waits: most of the time the socket takes it all and
// that is the end of it. Only when the socket is full does a flusher
// goroutine start, which writes the rest, and everything queued meanwhile
// in one batch per system call, and then ends. An idle connection thus
// costs no goroutine and no buffer: buffers come from a shared pool and go
// back to it once written.
//
// A connection's own goroutine can Queue its replies and Flush them before
// it waits for more input, so that the answers to a burst of commands, or
// a burst of relayed messages, leave in one system call.
//
// A reader too slow to keep up is cut off once its backlog passes a limit
// or a write stalls past a deadline, so one slow client never slows anyone
// else and never makes the server hold unbounded memory for it.
package outbox

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nudge-im/nudge/msnp"
)

// Defaults for New.
const (
	DefaultLimit        = 256 << 10
	DefaultWriteTimeout = 30 * time.Second
)

// QueueBurst is how many queued bytes Queue leaves for Flush: past it,
// Queue starts writing them as Send does. A switchboard queues everything
// it relays from one read before it flushes; a burst of small messages
// from someone with a long name grows many times over on the way, and
// must not pass Limit and cut off a reader that keeps up.
const QueueBurst = 32 << 10

// inlineRounds is how many writes a sender makes on a connection's behalf
// before it leaves the rest to a flusher: others may keep adding to the
// buffer, and no sender should write for them indefinitely.
const inlineRounds = 4

// Outbox is the outgoing side of one connection.
type Outbox struct {
	conn         net.Conn
	nb           nonblocking // nb.ok when conn can be written without waiting
	limit        int
	writeTimeout time.Duration
	onSlow       func()

	mu      sync.Mutex
	buf     []byte        // queued bytes, not yet taken by a writer
	spare   []byte        // a written batch's buffer, for the next one while busy
	writing bool          // a sender or the flusher is writing
	closing bool          // Close was called: write what is queued, then close
	dead    bool          // the connection failed, was killed or cut off
	closed  bool          // the connection is closed and no writer is left
	over    atomic.Bool   // dead or closing: what is sent now is dropped
	room    chan struct{} // made by a waiting QueueWait; closed when a write made room
	done    chan struct{} // made on demand; closed with closed
	waiters []waiter      // WhenBelow callbacks, in the order registered
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
	// flusher's when a write stalled past WriteTimeout. It must not block.
	OnSlow func()
}

// New returns the outbox of conn.
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
		onSlow:       opts.OnSlow,
	}
	o.nb.init(conn)
	return o
}

// Send queues c and writes it, with whatever else is queued, unless a
// write is already under way (which then takes it too). It never waits for
// the network. It reports false when the connection is closed or was just
// cut off for being too slow; the command is then dropped.
func (o *Outbox) Send(c *msnp.Command) bool {
	o.mu.Lock()
	if !o.queueLocked(c) {
		return false
	}
	o.flushLocked()
	return true
}

// SendEncoded is Send for commands already encoded (msnp.AppendCommand),
// so that one notice made once can go to many connections as it is. When
// the connection is idle, p is written straight from the caller's slice;
// the outbox keeps no reference to p once SendEncoded returns.
func (o *Outbox) SendEncoded(p []byte) bool {
	o.mu.Lock()
	if o.writing || len(o.buf) > 0 || !o.nb.ok || o.dead || o.closing {
		if !o.queueEncodedLocked(p) {
			return false
		}
		o.flushLocked()
		return true
	}
	o.writing = true
	o.mu.Unlock()
	n, err := o.nb.write(p)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		o.failed(nil, err)
		return false
	}
	o.mu.Lock()
	if n < len(p) {
		// The socket is full: what it did not take goes first, before
		// anything queued meanwhile, from a buffer of the outbox's own.
		rest := append(getBuffer(len(p)-n+len(o.buf)), p[n:]...)
		rest = append(rest, o.buf...)
		putBuffer(o.buf)
		o.buf = nil
		o.mu.Unlock()
		go o.flush(rest, 0)
		return true
	}
	wake := o.wroteLocked(nil)
	if o.dead || len(o.buf) == 0 {
		o.idleLocked()
		o.wake(wake)
		return true
	}
	next := o.take()
	o.mu.Unlock()
	o.wake(wake)
	o.writeInline(next)
	return true
}

// Queue queues c without writing it: the next Flush or Send does, or
// Queue itself once QueueBurst bytes wait. A connection's own goroutine
// queues its replies and flushes before it waits for input. It reports
// false as Send does.
func (o *Outbox) Queue(c *msnp.Command) bool {
	o.mu.Lock()
	if !o.queueLocked(c) {
		return false
	}
	if len(o.buf) >= QueueBurst {
		o.flushLocked()
		return true
	}
	o.mu.Unlock()
	return true
}

// Flush writes what is queued, unless a write is already under way. It
// never waits for the network.
func (o *Outbox) Flush() {
	o.mu.Lock()
	o.flushLocked()
}

// QueueWait is Queue for a connection's answers to its own requests, which
// may be large (a contact list of thousands): while the backlog is over
// half the limit it flushes and waits for the connection's reader instead
// of cutting the connection off. Only the goroutine serving that
// connection may call it: it waits on that connection's reader alone,
// never on anyone else.
func (o *Outbox) QueueWait(c *msnp.Command) bool {
	for {
		o.mu.Lock()
		if o.dead || o.closing {
			o.mu.Unlock()
			return false
		}
		if len(o.buf) < o.limit/2 {
			if !o.queueLocked(c) {
				return false
			}
			o.mu.Unlock()
			return true
		}
		if o.room == nil {
			o.room = make(chan struct{})
		}
		room := o.room
		o.flushLocked()
		<-room
	}
}

// WhenBelow calls f once no more than n bytes wait for the network: at
// once, on the caller's goroutine, if that is already so, otherwise on the
// goroutine of the write that brings the backlog down. f is also called
// when the connection ends, so that nobody waits on a dead reader. It must
// not block; it may call Send on any Outbox.
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
// under (every one once the connection is dead), outside the lock.
func (o *Outbox) wakeWaiters() {
	o.mu.Lock()
	if len(o.waiters) == 0 {
		o.mu.Unlock()
		return
	}
	var ready []func()
	keep := o.waiters[:0]
	for _, w := range o.waiters {
		if o.dead || len(o.buf) <= w.n {
			ready = append(ready, w.f)
		} else {
			keep = append(keep, w)
		}
	}
	clear(o.waiters[len(keep):])
	o.waiters = keep
	if len(keep) == 0 {
		o.waiters = nil
	}
	o.mu.Unlock()
	for _, f := range ready {
		f()
	}
}

// queueLocked appends c, or cuts the connection off when that passes the
// limit. It unlocks o.mu when it reports false.
func (o *Outbox) queueLocked(c *msnp.Command) bool {
	if o.dead || o.closing {
		o.mu.Unlock()
		return false
	}
	o.reserveLocked(c.WireSize())
	o.buf = msnp.AppendCommand(o.buf, c)
	return o.checkLimitLocked()
}

// queueEncodedLocked is queueLocked for encoded commands.
func (o *Outbox) queueEncodedLocked(p []byte) bool {
	if o.dead || o.closing {
		o.mu.Unlock()
		return false
	}
	o.reserveLocked(len(p))
	o.buf = append(o.buf, p...)
	return o.checkLimitLocked()
}

// reserveLocked makes room in o.buf for n more bytes.
func (o *Outbox) reserveLocked(n int) {
	if o.buf == nil {
		o.buf, o.spare = o.spare, nil
	}
	if need := len(o.buf) + n; need > cap(o.buf) {
		b := append(getBuffer(need), o.buf...)
		putBuffer(o.buf)
		o.buf = b
	}
}

// checkLimitLocked cuts the connection off when the backlog passed the
// limit. It unlocks o.mu when it reports false.
func (o *Outbox) checkLimitLocked() bool {
	if len(o.buf) > o.limit {
		o.dead = true
		o.over.Store(true)
		o.mu.Unlock()
		// Closing unblocks a flusher stuck on the network.
		o.conn.Close()
		o.cutOff()
		o.mu.Lock()
		o.dieLocked()
		return false
	}
	return true
}

func (o *Outbox) cutOff() {
	if o.onSlow != nil {
		o.onSlow()
	}
}

// flushLocked starts writing what is queued unless a write is under way.
// It unlocks o.mu.
func (o *Outbox) flushLocked() {
	if o.writing || o.dead || len(o.buf) == 0 {
		o.mu.Unlock()
		return
	}
	o.writing = true
	batch := o.take()
	o.mu.Unlock()
	o.writeInline(batch)
}

// take hands the queued bytes to the writer. Called with o.mu held.
func (o *Outbox) take() []byte {
	batch := o.buf
	o.buf = o.spare
	o.spare = nil
	return batch
}

// writeInline writes on the caller's goroutine with writes that never
// wait, and leaves what the socket does not take to a flusher.
func (o *Outbox) writeInline(batch []byte) {
	if !o.nb.ok {
		go o.flush(batch, 0)
		return
	}
	for round := 0; ; round++ {
		n, err := o.nb.write(batch)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			o.failed(batch, err)
			return
		}
		if n < len(batch) {
			go o.flush(batch, n)
			return
		}
		o.mu.Lock()
		wake := o.wroteLocked(batch)
		if o.dead || len(o.buf) == 0 {
			o.idleLocked()
			o.wake(wake)
			return
		}
		next := o.take()
		o.mu.Unlock()
		o.wake(wake)
		if round+1 == inlineRounds {
			go o.flush(next, 0)
			return
		}
		batch = next
	}
}

// flush is the flusher goroutine: it writes batch[off:], then everything
// queued meanwhile, waiting for the socket with the write timeout, and
// ends when nothing is left.
func (o *Outbox) flush(batch []byte, off int) {
	for {
		o.conn.SetWriteDeadline(time.Now().Add(o.writeTimeout))
		if _, err := o.conn.Write(batch[off:]); err != nil {
			o.failed(batch, err)
			return
		}
		off = 0
		o.mu.Lock()
		wake := o.wroteLocked(batch)
		if o.dead || len(o.buf) == 0 {
			// A deadline left behind would fail the next inline write.
			o.conn.SetWriteDeadline(time.Time{})
			o.idleLocked()
			o.wake(wake)
			return
		}
		batch = o.take()
		o.mu.Unlock()
		o.wake(wake)
	}
}

// wroteLocked recycles a written batch and wakes a waiting QueueWait. It
// reports whether WhenBelow callbacks wait.
func (o *Outbox) wroteLocked(batch []byte) bool {
	if o.spare == nil && cap(batch) <= 4*o.limit && !o.dead {
		o.spare = batch[:0]
	} else {
		putBuffer(batch)
	}
	if o.room != nil {
		close(o.room)
		o.room = nil
	}
	return len(o.waiters) > 0
}

// wake runs the WhenBelow callbacks that are due, when some wait.
func (o *Outbox) wake(waiting bool) {
	if waiting {
		o.wakeWaiters()
	}
}

// idleLocked ends a writer's turn: buffers go back to the pool, and a
// closing or dead connection is closed. It unlocks o.mu.
func (o *Outbox) idleLocked() {
	o.writing = false
	if len(o.buf) == 0 {
		putBuffer(o.buf)
		o.buf = nil
	}
	putBuffer(o.spare)
	o.spare = nil
	if o.dead || o.closing {
		o.dieLocked()
		return
	}
	o.mu.Unlock()
}

// failed ends the connection after a failed write.
func (o *Outbox) failed(batch []byte, err error) {
	o.mu.Lock()
	// A write that stalls past its deadline is a reader too slow to keep
	// up, as much as an overlong backlog is: tell OnSlow, so it is logged
	// and counted the same way (a closed or reset connection is not, nor
	// one already killed or cut off).
	slow := !o.dead && errors.Is(err, os.ErrDeadlineExceeded)
	o.dead = true
	o.over.Store(true)
	o.mu.Unlock()
	if slow {
		o.cutOff()
	}
	o.mu.Lock()
	o.writing = false
	putBuffer(batch)
	o.dieLocked()
}

// dieLocked marks the connection dead, drops what is queued and, when no
// writer is left, closes it. It unlocks o.mu.
func (o *Outbox) dieLocked() {
	o.dead = true
	o.over.Store(true)
	putBuffer(o.buf)
	o.buf = nil
	if o.room != nil {
		close(o.room)
		o.room = nil
	}
	finish := !o.writing && !o.closed
	if finish {
		o.closed = true
		if o.done != nil {
			close(o.done)
		}
	}
	waiting := len(o.waiters) > 0
	o.mu.Unlock()
	if finish {
		o.conn.Close()
	}
	o.wake(waiting) // nobody waits on a dead reader
}

// Close writes what is queued (bounded by the write timeout), then closes
// the connection. It returns when the connection is closed.
func (o *Outbox) Close() {
	done := o.Done()
	o.mu.Lock()
	o.closing = true
	o.over.Store(true)
	switch {
	case o.closed:
		o.mu.Unlock()
	case o.writing:
		o.mu.Unlock() // the writer closes when it is done
	case len(o.buf) > 0 && !o.dead:
		o.writing = true
		batch := o.take()
		o.mu.Unlock()
		go o.flush(batch, 0)
	default:
		o.dieLocked()
	}
	<-done
}

// Kill closes the connection at once, dropping what is queued.
func (o *Outbox) Kill() {
	o.mu.Lock()
	o.dieLocked()
	// A writer blocked on the network returns when the connection closes.
	o.conn.Close()
}

// Done is closed when the connection is closed and no write is left.
func (o *Outbox) Done() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done == nil {
		o.done = make(chan struct{})
		if o.closed {
			close(o.done)
		}
	}
	return o.done
}

// Open reports whether what is sent now may still be written: false once
// the connection was closed, killed or cut off. It takes no lock.
func (o *Outbox) Open() bool { return !o.over.Load() }

// Pending is the number of bytes waiting for the network.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.buf)
}

// Buffers come from pools of three sizes, so that neither an inline write
// of one notification nor a burst of relayed messages allocates; a larger
// backlog (a long contact list) grows its own and leaves it to the GC.
var (
	small  = sync.Pool{New: func() any { return new([4 << 10]byte) }}
	medium = sync.Pool{New: func() any { return new([16 << 10]byte) }}
	large  = sync.Pool{New: func() any { return new([64 << 10]byte) }}
)

// getBuffer returns an empty buffer with room for n bytes.
func getBuffer(n int) []byte {
	switch {
	case n <= 4<<10:
		return small.Get().(*[4 << 10]byte)[:0]
	case n <= 16<<10:
		return medium.Get().(*[16 << 10]byte)[:0]
	case n <= 64<<10:
		return large.Get().(*[64 << 10]byte)[:0]
	}
	return make([]byte, 0, 2*n)
}

// putBuffer returns b to its pool if it came from one.
func putBuffer(b []byte) {
	switch cap(b) {
	case 4 << 10:
		small.Put((*[4 << 10]byte)(b[:4<<10]))
	case 16 << 10:
		medium.Put((*[16 << 10]byte)(b[:16<<10]))
	case 64 << 10:
		large.Put((*[64 << 10]byte)(b[:64<<10]))
	}
}
