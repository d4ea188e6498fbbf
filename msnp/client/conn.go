package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/message"
	"github.com/rs/zerolog"
)

// conn is one MSNP connection: to the notification server or to one
// switchboard. One goroutine (readLoop) reads it; any goroutine may write.
// Requests are matched to their replies by TrID.
type conn struct {
	nc   net.Conn
	r    *msnp.Reader
	kind string // "NS" or "SB", for errors and logs
	log  zerolog.Logger

	// timeout bounds a request whose context has no deadline;
	// writeTimeout bounds one write, so that a server that stops reading
	// cannot block a writer (or the read loop answering a CHL) for ever.
	timeout      time.Duration
	writeTimeout time.Duration

	// handle runs on the read goroutine for every command, before the
	// command is handed to a waiting request. It reports whether it
	// consumed the command. unhandled gets the commands that neither
	// handle nor a request consumed. onClose runs once, on the read
	// goroutine, after every waiting request has been failed.
	handle    func(*msnp.Command) bool
	unhandled func(*msnp.Command)
	onClose   func(error)

	wmu sync.Mutex
	w   *msnp.Writer

	// chunks puts together messages split over several MSGs (read
	// goroutine only).
	chunks message.ChunkAssembler

	mu      sync.Mutex
	trid    uint32
	pending map[uint32]*call
	pings   []chan struct{}
	err     error // why the connection ended; the first reason wins
	done    chan struct{}
}

// call is a request waiting for its reply.
type call struct {
	accept func(*msnp.Command) bool // reports whether cmd completes the request
	ch     chan reply               // buffered: the read loop never blocks on it
}

type reply struct {
	cmd *msnp.Command
	err error
}

func newConn(nc net.Conn, kind string, log zerolog.Logger, timeout, writeTimeout time.Duration) *conn {
	return &conn{
		nc:           nc,
		r:            msnp.NewReader(nc, msnp.FromServer),
		w:            msnp.NewWriter(nc),
		kind:         kind,
		log:          log,
		timeout:      timeout,
		writeTimeout: writeTimeout,
		pending:      make(map[uint32]*call),
		done:         make(chan struct{}),
		handle:       func(*msnp.Command) bool { return false },
		unhandled:    func(*msnp.Command) {},
		onClose:      func(error) {},
	}
}

// start runs the read loop. The callbacks must be set before.
func (c *conn) start() { go c.readLoop() }

func (c *conn) readLoop() {
	var err error
	for {
		cmd, e := c.r.ReadCommand()
		if e != nil {
			var re *msnp.ReadError
			if errors.As(e, &re) && re.InSync {
				// A line the reader could not make sense of, but the
				// stream is still in step: say so and go on.
				c.log.Warn().Err(e).Str("conn", c.kind).Msg("skipped a malformed line from the server")
				continue
			}
			err = e
			break
		}
		if c.log.GetLevel() <= zerolog.TraceLevel {
			c.log.Trace().Str("conn", c.kind).Str("cmd", redact(cmd)).Msg("recv")
		}
		handled := c.handle(cmd)
		matched := c.deliver(cmd)
		if !handled && !matched {
			c.unhandled(cmd)
		}
	}
	if err == io.EOF {
		err = ErrConnectionLost
	}
	c.shutdown(err)
}

// deliver hands cmd to the request waiting for its TrID, if any. It reports
// whether a request was waiting.
func (c *conn) deliver(cmd *msnp.Command) bool {
	if !cmd.HasTrID || cmd.TrID == 0 {
		if cmd.Name == "QNG" {
			c.mu.Lock()
			if len(c.pings) > 0 {
				close(c.pings[0])
				c.pings = c.pings[1:]
			}
			c.mu.Unlock()
			return true
		}
		return false
	}
	c.mu.Lock()
	p := c.pending[cmd.TrID]
	if p == nil {
		c.mu.Unlock()
		return false
	}
	if !p.accept(cmd) {
		c.mu.Unlock()
		return true
	}
	delete(c.pending, cmd.TrID)
	c.mu.Unlock()
	r := reply{cmd: cmd}
	if cmd.IsError() {
		r.err = cmd.ErrorCode()
	}
	p.ch <- r
	return true
}

// shutdown ends the connection: it records why, closes the socket and fails
// every waiting request.
func (c *conn) shutdown(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	err = c.err
	pending := c.pending
	c.pending = map[uint32]*call{}
	pings := c.pings
	c.pings = nil
	c.mu.Unlock()
	c.nc.Close()
	for _, p := range pending {
		p.ch <- reply{err: err}
	}
	for _, p := range pings {
		close(p)
	}
	c.onClose(err)
	close(c.done)
}

// close ends the connection from outside the read loop with the given
// reason; the read loop then finishes the shutdown. It does not wait.
func (c *conn) close(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.nc.Close()
}

// closeWait is close followed by waiting for the read loop to finish.
func (c *conn) closeWait(err error) {
	c.close(err)
	<-c.done
}

// Err returns why the connection ended, or nil while it is up.
func (c *conn) Err() error {
	select {
	case <-c.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	default:
		return nil
	}
}

func (c *conn) closing() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// send writes commands and flushes them.
func (c *conn) send(cmds ...*msnp.Command) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.closing(); err != nil {
		return &notSentError{err}
	}
	for _, cmd := range cmds {
		if err := cmd.Validate(); err != nil {
			return fmt.Errorf("client: cannot send %s: %w", cmd.Name, err)
		}
	}
	if c.writeTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	}
	for _, cmd := range cmds {
		if c.log.GetLevel() <= zerolog.TraceLevel {
			c.log.Trace().Str("conn", c.kind).Str("cmd", redact(cmd)).Msg("send")
		}
		if err := c.w.WriteCommand(cmd); err != nil {
			c.close(err)
			return err
		}
	}
	if err := c.w.Flush(); err != nil {
		c.close(err)
		return err
	}
	return nil
}

// nextTrID returns the next transaction id; 0 is never used, since servers
// use it for notifications.
func (c *conn) nextTrID() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trid++
	if c.trid == 0 {
		c.trid = 1
	}
	return c.trid
}

// expect returns an accept function that completes a request on a reply
// named like one of names, or on an error reply.
func expect(names ...string) func(*msnp.Command) bool {
	return func(cmd *msnp.Command) bool {
		if cmd.IsError() {
			return true
		}
		for _, n := range names {
			if cmd.Name == n {
				return true
			}
		}
		return false
	}
}

// call sends cmd with a fresh TrID and waits for the reply that accept
// completes it with. An error reply comes back as an error wrapping its
// msnp.ErrorCode.
func (c *conn) call(ctx context.Context, cmd *msnp.Command, accept func(*msnp.Command) bool) (*msnp.Command, error) {
	if accept == nil {
		accept = expect(cmd.Name)
	}
	if _, ok := ctx.Deadline(); !ok && c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	trid, ch, err := c.request(cmd, accept)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			var code msnp.ErrorCode
			if errors.As(r.err, &code) && r.cmd != nil {
				return r.cmd, fmt.Errorf("client: %s refused: %w", cmd.Name, r.err)
			}
			return r.cmd, r.err
		}
		return r.cmd, nil
	case <-ctx.Done():
		c.forget(trid)
		return nil, fmt.Errorf("client: no reply to %s: %w", cmd.Name, ctx.Err())
	}
}

// request sends cmd with a fresh TrID and returns the channel its reply
// will come on, without waiting: a sender that keeps several requests in
// flight (P2P chunks) writes them in order and collects the replies later.
// accept completes the request as for call.
func (c *conn) request(cmd *msnp.Command, accept func(*msnp.Command) bool) (uint32, <-chan reply, error) {
	trid := c.nextTrID()
	cmd.TrID, cmd.HasTrID = trid, true
	p := &call{accept: accept, ch: make(chan reply, 1)}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, nil, &notSentError{err}
	}
	c.pending[trid] = p
	c.mu.Unlock()
	if err := c.send(cmd); err != nil {
		c.forget(trid)
		return 0, nil, err
	}
	return trid, p.ch, nil
}

// requestAll is request for several commands, written together in one
// flush: it returns their reply channels in order.
func (c *conn) requestAll(cmds []*msnp.Command, accept func(*msnp.Command) bool) ([]<-chan reply, error) {
	chans := make([]<-chan reply, len(cmds))
	trids := make([]uint32, len(cmds))
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, &notSentError{err}
	}
	for i, cmd := range cmds {
		c.trid++
		if c.trid == 0 {
			c.trid = 1
		}
		cmd.TrID, cmd.HasTrID = c.trid, true
		p := &call{accept: accept, ch: make(chan reply, 1)}
		c.pending[c.trid] = p
		chans[i], trids[i] = p.ch, c.trid
	}
	c.mu.Unlock()
	if err := c.send(cmds...); err != nil {
		for _, t := range trids {
			c.forget(t)
		}
		return nil, err
	}
	return chans, nil
}

func (c *conn) forget(trid uint32) {
	c.mu.Lock()
	delete(c.pending, trid)
	c.mu.Unlock()
}

// ping sends PNG and waits for QNG. QNG carries no TrID: pings are answered
// in order.
func (c *conn) ping(ctx context.Context) error {
	ch := make(chan struct{})
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.pings = append(c.pings, ch)
	c.mu.Unlock()
	if err := c.send(msnp.Notice("PNG")); err != nil {
		return err
	}
	select {
	case <-ch:
		return c.closing()
	case <-ctx.Done():
		// The QNG may still come; leave the slot so that later pings
		// stay paired with their answers.
		return ctx.Err()
	}
}

// notSentError is a failure that happened before the command left the
// client: the connection had already ended.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// redact hides secrets (password digests and tickets) in logged commands.
func redact(cmd *msnp.Command) string {
	if cmd.Name == "USR" && len(cmd.Params) >= 3 && cmd.Params[1] == "S" {
		c := *cmd
		c.Params = append([]string(nil), cmd.Params...)
		c.Params[2] = "…"
		return c.String()
	}
	if (cmd.Name == "USR" && len(cmd.Params) == 2 && cmd.Params[0] != "OK") || (cmd.Name == "ANS" && len(cmd.Params) == 3) {
		// switchboard "USR email cookie", "ANS email cookie session"
		c := *cmd
		c.Params = append([]string(nil), cmd.Params...)
		c.Params[1] = "…"
		return c.String()
	}
	return cmd.String()
}

// dial connects to addr with the configured dialer.
func dial(ctx context.Context, d Dialer, addr string) (net.Conn, error) {
	if d == nil {
		var nd net.Dialer
		return nd.DialContext(ctx, "tcp", addr)
	}
	return d(ctx, "tcp", addr)
}
