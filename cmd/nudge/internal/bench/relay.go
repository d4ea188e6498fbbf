package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// window is how many messages a sender may have on their way before it
// waits for its receiver: enough to keep the relay busy, never enough to
// fill a switchboard's queue for a reader.
const window = 64

// pipe is one direction of one conversation: a sender's connection and the
// receiver's.
type pipe struct {
	send, recv net.Conn
	sent       atomic.Int64
	received   atomic.Int64
}

// endOfPhase is the body of the message a sender sends last in a phase.
var endOfPhase = []byte("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nEND\r\n")

// relay measures the switchboard at saturation and at half of it, and the
// baseline relay with the same traffic. Spread over nodes, the two people
// of each conversation sign in at different nodes.
func (b *runner) relay(ctx context.Context, at placement) (*RelayResult, error) {
	k := b.opts.Conversations
	emails, err := b.accounts(ctx, "relay", 2*k)
	if err != nil {
		return nil, err
	}
	b.progress("relay: opening %d conversations%s", k, b.where(at))
	pipes := make([]*pipe, k)
	var openErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, min(b.opts.Workers, 32))
	for i := range k {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, err := b.openConversation(ctx, emails[2*i], emails[2*i+1], b.at(at, 2*i), b.at(at, 2*i+1))
			mu.Lock()
			defer mu.Unlock()
			if err != nil && openErr == nil {
				openErr = err
			}
			pipes[i] = p
		}()
	}
	wg.Wait()
	defer closePipes(pipes)
	if openErr != nil {
		return nil, fmt.Errorf("opening a conversation: %w", openErr)
	}

	base, baseline, err := b.baselinePipes(k)
	if err != nil {
		return nil, err
	}
	defer baseline.Stop()
	defer closePipes(base)

	payload := relayPayload(b.opts.MessageSize)
	d := b.opts.RelayTime
	b.progress("relay: saturating the switchboard for %s", d)
	sat, srvCPU, genCPU := saturate(ctx, pipes, payload, d, b.serverClock(ctx))
	b.progress("  %.0f messages per second", sat)
	b.progress("relay: saturating the baseline relay for %s", d)
	baseRate, baseCPU, genBaseCPU := saturate(ctx, base, payload, d, baseline.CPU)
	b.progress("  %.0f messages per second", baseRate)

	half := sat / 2
	b.progress("relay: %.0f messages per second offered to the switchboard for %s", half, d)
	achieved, lat := pump(ctx, pipes, payload, half, d)
	b.progress("  p99 %s", lat.percentile(0.99))
	_, baseLat := pump(ctx, base, payload, half, d)

	r := &RelayResult{
		Conversations: k,
		MessageSize:   len(payload),
		Saturation:    sat,
		Baseline:      baseRate,
		OfferedRate:   half,
		AchievedRate:  achieved,
		P50:           lat.percentile(0.50),
		P99:           lat.percentile(0.99),
		BaselineP99:   baseLat.percentile(0.99),
		BaselineApart: b.opts.BaselineRelay != nil,

		ServerCPU:            srvCPU,
		BaselineCPU:          baseCPU,
		GeneratorCPU:         genCPU,
		GeneratorBaselineCPU: genBaseCPU,
	}
	if baseRate > 0 {
		r.Ratio = sat / baseRate
	}
	return r, ctx.Err()
}

func closePipes(ps []*pipe) {
	for _, p := range ps {
		if p != nil {
			p.send.Close()
			p.recv.Close()
		}
	}
}

// relayPayload is a text message of about size bytes whose body starts
// with a 19-digit send time the receiver fills in. It ends with CRLF so
// that a line relay (the baseline) forwards each message whole.
func relayPayload(size int) []byte {
	head := "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
	p := []byte(head + "0000000000000000000 ")
	for len(p) < size-2 {
		p = append(p, 'x')
	}
	return append(p, '\r', '\n')
}

var bodyStart = []byte("\r\n\r\n")

// saturate pumps pipes at full speed for d. Besides the delivered rate it
// returns the CPU per message, in microseconds, of the relay (relay reads its
// process's clock; nil when it has none of its own) and of this process, the
// load generator. Every message relayed in the phase counts, those still
// on their way when d ends too, as their CPU does.
func saturate(ctx context.Context, pipes []*pipe, payload []byte, d time.Duration, relay clock) (rate, relayCPU, genCPU float64) {
	cpu := markCPU(relay)
	rate, _ = pump(ctx, pipes, payload, 0, d)
	var n int64
	for _, p := range pipes {
		n += p.received.Load()
	}
	genCPU, relayCPU = cpu.cost(n)
	return rate, relayCPU, genCPU
}

// pump drives every pipe for d: at full speed (rate 0, each sender keeps
// window messages in flight) or at rate messages per second in all. It
// returns the delivered rate and, when paced, the delivery latencies.
func pump(ctx context.Context, pipes []*pipe, payload []byte, rate float64, d time.Duration) (float64, latencies) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		delivered atomic.Int64
		mu        sync.Mutex
		all       latencies
		wg        sync.WaitGroup
	)
	for _, p := range pipes {
		p.sent.Store(0)
		p.received.Store(0)
	}
	start := time.Now()
	for _, p := range pipes {
		wg.Add(2)
		go func() {
			defer wg.Done()
			lat := receive(ctx, p, rate > 0, &delivered)
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
		go func() {
			defer wg.Done()
			send(ctx, p, payload, rate/float64(len(pipes)))
		}()
	}
	wg.Wait()
	return float64(delivered.Load()) / time.Since(start).Seconds(), all
}

// send writes MSG commands until ctx ends.
func send(ctx context.Context, p *pipe, payload []byte, rate float64) {
	w := bufio.NewWriterSize(p.send, 64<<10)
	defer func() {
		w.Write(msnp.AppendCommand(nil, msnp.New("MSG", 0, "U").WithPayload(endOfPhase)))
		w.Flush()
	}()
	msg := msnp.New("MSG", 0, "U").WithPayload(append([]byte(nil), payload...))
	stamp := bytes.Index(msg.Payload, bodyStart) + len(bodyStart)
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	next := time.Now()
	var buf []byte
	for trid := uint32(1); ctx.Err() == nil; trid++ {
		if interval > 0 {
			// Ahead of schedule: flush what is due and sleep. Short
			// sleeps are rounded up so the pacing costs few wake-ups;
			// the messages due meanwhile go out together, as a busy
			// client's would.
			if wait := time.Until(next); wait > 0 {
				if err := w.Flush(); err != nil {
					return
				}
				t := time.NewTimer(max(wait, 500*time.Microsecond))
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return
				}
			}
			next = next.Add(interval)
		} else {
			for p.sent.Load()-p.received.Load() >= window {
				w.Flush()
				if ctx.Err() != nil {
					return
				}
				time.Sleep(20 * time.Microsecond)
			}
		}
		copy(msg.Payload[stamp:], strconv.AppendInt(make([]byte, 0, 19), time.Now().UnixNano(), 10))
		msg.TrID = trid
		buf = msnp.AppendCommand(buf[:0], msg)
		if _, err := w.Write(buf); err != nil {
			return
		}
		p.sent.Add(1)
		if interval == 0 && p.sent.Load()-p.received.Load() >= window/2 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

// receive reads relayed MSG commands until the sender's end-of-phase
// message, so the next phase starts at a message boundary. (A read
// deadline that cut a message in half would lose the stream.)
func receive(ctx context.Context, p *pipe, measure bool, delivered *atomic.Int64) latencies {
	r := msnp.NewReader(p.recv, msnp.FromServer)
	var c msnp.Command
	var lat latencies
	stop := context.AfterFunc(ctx, func() { p.recv.SetReadDeadline(time.Now().Add(10 * time.Second)) })
	defer stop()
	defer p.recv.SetReadDeadline(time.Time{})
	for {
		if err := r.ReadInto(&c); err != nil {
			return lat
		}
		if c.Name != "MSG" {
			continue
		}
		if bytes.Equal(c.Payload, endOfPhase) {
			return lat
		}
		now := time.Now().UnixNano()
		p.received.Add(1)
		if ctx.Err() == nil {
			delivered.Add(1)
		}
		if measure {
			if i := bytes.Index(c.Payload, bodyStart); i >= 0 && len(c.Payload) >= i+4+19 {
				if sent, err := strconv.ParseInt(string(c.Payload[i+4:i+4+19]), 10, 64); err == nil {
					lat = append(lat, time.Duration(now-sent))
				}
			}
		}
	}
}

// openConversation signs in two users, at nodes ai and ci, and puts them in
// one switchboard session; it returns the first one's switchboard
// connection as the sender and the second one's as the receiver.
func (b *runner) openConversation(ctx context.Context, a, c string, ai, ci int) (*pipe, error) {
	na, err := b.rawLogin(ctx, a, ai)
	if err != nil {
		return nil, err
	}
	defer na.conn.Close()
	nc, err := b.rawLogin(ctx, c, ci)
	if err != nil {
		return nil, err
	}
	defer nc.conn.Close()

	xfr, err := na.call(msnp.New("XFR", 10, "SB"))
	if err != nil {
		return nil, err
	}
	sbAddr, cookie := xfr.Param(1), xfr.Param(3)
	sa, err := dialRaw(ctx, b, sbAddr)
	if err != nil {
		return nil, err
	}
	if _, err := sa.call(msnp.New("USR", 1, a, cookie)); err != nil {
		sa.conn.Close()
		return nil, err
	}
	// A sign-in reaches the other nodes of a cluster a moment after it
	// is answered: the switchboard's node may not know yet that the
	// callee, just signed in elsewhere, is online.
	for trid := uint32(2); ; trid++ {
		_, err := sa.call(msnp.New("CAL", trid, c))
		if err == nil {
			break
		}
		if !errors.Is(err, msnp.ErrNotOnline) || trid > 100 {
			sa.conn.Close()
			return nil, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	rng, err := nc.await("RNG")
	if err != nil {
		sa.conn.Close()
		return nil, err
	}
	sc, err := dialRaw(ctx, b, sbAddr)
	if err != nil {
		sa.conn.Close()
		return nil, err
	}
	if _, err := sc.call(msnp.New("ANS", 1, c, rng.Param(3), rng.Param(0))); err != nil {
		sa.conn.Close()
		sc.conn.Close()
		return nil, err
	}
	if _, err := sa.await("JOI"); err != nil {
		sa.conn.Close()
		sc.conn.Close()
		return nil, err
	}
	sa.conn.SetDeadline(time.Time{})
	sc.conn.SetDeadline(time.Time{})
	return &pipe{send: sa.conn, recv: sc.conn}, nil
}

// raw is a bare protocol connection for the relay set-up.
type raw struct {
	conn net.Conn
	r    *msnp.Reader
	w    *msnp.Writer
}

func dialRaw(ctx context.Context, b *runner, addr string) (*raw, error) {
	conn, err := b.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return &raw{conn: conn, r: msnp.NewReader(conn, msnp.FromServer), w: msnp.NewWriter(conn)}, nil
}

// call sends c and returns the reply with its TrID (or the error code).
func (x *raw) call(c *msnp.Command) (*msnp.Command, error) {
	if err := x.w.WriteCommand(c); err != nil {
		return nil, err
	}
	if err := x.w.Flush(); err != nil {
		return nil, err
	}
	for {
		r, err := x.r.ReadCommand()
		if err != nil {
			return nil, err
		}
		if r.HasTrID && r.TrID == c.TrID {
			if r.IsError() {
				return nil, fmt.Errorf("%s: %w", c.Name, r.ErrorCode())
			}
			return r, nil
		}
		if r.Name == "CHL" {
			if err := x.answer(r); err != nil {
				return nil, err
			}
		}
	}
}

// await reads until a command named name arrives.
func (x *raw) await(name string) (*msnp.Command, error) {
	for {
		r, err := x.r.ReadCommand()
		if err != nil {
			return nil, err
		}
		if r.Name == name {
			return r, nil
		}
		if r.Name == "CHL" {
			if err := x.answer(r); err != nil {
				return nil, err
			}
		}
	}
}

func (x *raw) answer(chl *msnp.Command) error {
	product, answer, ok := auth.AnswerChallenge(7, chl.Param(0))
	if !ok {
		return fmt.Errorf("no product key for MSNP7")
	}
	x.w.WriteCommand(msnp.New("QRY", 99, product).WithPayload([]byte(answer)))
	return x.w.Flush()
}

// rawLogin signs email in at the i-th node with MSNP7 and sets it online.
func (b *runner) rawLogin(ctx context.Context, email string, i int) (*raw, error) {
	x, err := dialRaw(ctx, b, b.node(i).ns)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*raw, error) {
		x.conn.Close()
		return nil, fmt.Errorf("signing in %s: %w", email, err)
	}
	if _, err := x.call(msnp.New("VER", 1, "MSNP7", "CVR0")); err != nil {
		return fail(err)
	}
	salt, err := x.call(msnp.New("USR", 2, "MD5", "I", email))
	if err != nil {
		return fail(err)
	}
	if salt.Param(0) == "OK" || salt.Param(0) == "NS" {
		return fail(fmt.Errorf("unexpected %s", salt))
	}
	if _, err := x.call(msnp.New("USR", 3, "MD5", "S", auth.MD5Digest(salt.Param(2), b.password))); err != nil {
		return fail(err)
	}
	if _, err := x.call(msnp.New("CHG", 4, "NLN")); err != nil {
		return fail(err)
	}
	return x, nil
}

// baselinePipes connects k sender/receiver pairs through the minimal
// relay — read a line, write it to the peer. It runs in a process of its
// own when Options.BaselineRelay starts one, as the switchboard does,
// so that neither relay shares a scheduler with the load generator;
// otherwise in this one (and its CPU is not told apart).
func (b *runner) baselinePipes(k int) ([]*pipe, *Baseline, error) {
	var base *Baseline
	if start := b.opts.BaselineRelay; start != nil {
		var err error
		if base, err = start(); err != nil {
			return nil, nil, fmt.Errorf("starting the baseline relay: %w", err)
		}
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		go ServeBaseline(l)
		base = &Baseline{Addr: l.Addr().String(), Stop: func() { l.Close() }}
	}
	pipes := make([]*pipe, 0, k)
	for range k {
		// One after the other: the relay pairs connections in the order
		// it accepts them, sender first.
		s, err := net.Dial("tcp", base.Addr)
		if err != nil {
			base.Stop()
			return nil, nil, err
		}
		r, err := net.Dial("tcp", base.Addr)
		if err != nil {
			s.Close()
			base.Stop()
			return nil, nil, err
		}
		pipes = append(pipes, &pipe{send: s, recv: r})
	}
	return pipes, base, nil
}

// ServeBaseline is the baseline relay: it takes the connections l accepts
// in pairs and copies lines from the first of each pair to the second,
// until l is closed.
func ServeBaseline(l net.Listener) {
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		out, err := l.Accept()
		if err != nil {
			in.Close()
			return
		}
		go lineRelay(in, out)
	}
}

// lineRelay copies lines from in to out, flushing whenever the next read
// would wait: the simplest relay a Go programmer writes.
func lineRelay(in, out net.Conn) {
	defer in.Close()
	defer out.Close()
	r := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriterSize(out, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				return
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			if err != io.EOF {
				w.Flush()
			}
			return
		}
		// Flush before a read that would wait: nothing buffered, or only
		// the start of a line.
		if pending, _ := r.Peek(r.Buffered()); bytes.IndexByte(pending, '\n') < 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}
