package outbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/outbox"
	"github.com/nudge-im/nudge/msnp"
)

// pair returns the two ends of a real loopback TCP connection: server is
// what an Outbox writes to, client is the peer that reads.
func pair(t testing.TB) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		s.Close()
		c.Close()
	})
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

// smallBuffers shrinks the kernel's send buffer, so that a peer that does
// not read fills the connection after a few hundred kilobytes rather than
// megabytes. (The peer's receive buffer stays as it is: a tiny receive
// window on loopback makes TCP wait for its persist timer, seconds at a
// time, once the peer reads again.)
func smallBuffers(t testing.TB, server, _ *net.TCPConn) {
	t.Helper()
	if err := server.SetWriteBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
}

// within fails the test if fn does not return within d: the outbox
// promises that senders never wait for the network.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

func waitDone(t *testing.T, o *outbox.Outbox, d time.Duration, what string) {
	t.Helper()
	select {
	case <-o.Done():
	case <-time.After(d):
		t.Fatalf("%s: the writer did not stop within %v", what, d)
	}
}

// readAll reads from c until EOF or an error, in the background.
func readAll(c net.Conn) <-chan []byte {
	out := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		out <- b
	}()
	return out
}

func TestInOrderByteExact(t *testing.T) {
	server, client := pair(t)
	o := outbox.New(server, outbox.Options{})
	got := readAll(client)

	cmds := []*msnp.Command{
		msnp.New("VER", 1, "MSNP8", "CVR0"),
		msnp.New("CVR", 2, "1.0.0000", "1.0.0000", "1.0.0000", "http://download.example/", "http://example/"),
		msnp.Notice("NLN", "NLN", "bob@example.com", "Bob%20Smith", "268435456"),
		msnp.Notice("MSG", "Hotmail", "Hotmail").WithPayload([]byte("MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile\r\n\r\n")),
		msnp.New("ACK", 7),
		msnp.Notice("MSG", "bob@example.com", "Bob").WithPayload([]byte{0, 1, 2, '\r', '\n', 0xff, ' '}), // binary, CRLF inside
		msnp.Notice("NOT").WithPayload([]byte{}),                                                         // empty payload: "NOT 0"
		msnp.Error(msnp.ErrorCode(217), 9),
		msnp.Notice("QNG", "50"),
		msnp.Notice("OUT", "OTH"),
	}
	var want []byte
	for _, c := range cmds {
		if !o.Send(c) {
			t.Fatalf("Send(%v) = false on a healthy connection", c)
		}
		want = msnp.AppendCommand(want, c)
	}
	within(t, 5*time.Second, "Close", o.Close)
	b := <-got
	if !bytes.Equal(b, want) {
		t.Fatalf("peer read\n%q\nwant\n%q", b, want)
	}
	// Spot-check the framing against the wire format, independent of
	// AppendCommand.
	for _, line := range []string{"VER 1 MSNP8 CVR0\r\n", "NOT 0\r\n", "217 9\r\n", "OUT OTH\r\n",
		"MSG bob@example.com Bob 7\r\n\x00\x01\x02\r\n\xff ", "ACK 7\r\n"} {
		if !bytes.Contains(b, []byte(line)) {
			t.Errorf("stream lacks %q", line)
		}
	}
	if o.Send(msnp.Notice("QNG", "1")) {
		t.Error("Send after Close = true")
	}
}

// Many goroutines send at once: every command arrives whole, none is cut
// into by another, and each sender's commands keep their order.
func TestConcurrentSenders(t *testing.T) {
	server, client := pair(t)
	// Not a test of the limit: let the backlog grow while the race
	// detector slows the reader.
	var slow atomic.Int32
	o := outbox.New(server, outbox.Options{Limit: 256 << 20, OnSlow: func() { slow.Add(1) }})

	const senders, each = 16, 500
	type result struct {
		n   int
		err error
	}
	res := make(chan result, 1)
	go func() {
		r := msnp.NewReader(client, msnp.FromServer)
		next := make([]int, senders)
		n := 0
		for {
			c, err := r.ReadCommand()
			if errors.Is(err, io.EOF) {
				res <- result{n, nil}
				return
			}
			if err != nil {
				res <- result{n, fmt.Errorf("after %d commands: %w", n, err)}
				return
			}
			// MSG <sender> <seq> <len>\r\n<payload naming both>
			g, err1 := strconv.Atoi(c.Param(0))
			i, err2 := strconv.Atoi(c.Param(1))
			if c.Name != "MSG" || err1 != nil || err2 != nil || g < 0 || g >= senders {
				res <- result{n, fmt.Errorf("command %d is mangled: %v", n, c)}
				return
			}
			if want := payloadFor(g, i); !bytes.Equal(c.Payload, want) {
				res <- result{n, fmt.Errorf("command %d (sender %d #%d): payload %q, want %q", n, g, i, c.Payload, want)}
				return
			}
			if i != next[g] {
				res <- result{n, fmt.Errorf("sender %d: got #%d, want #%d (out of order)", g, i, next[g])}
				return
			}
			next[g]++
			n++
		}
	}()

	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var encoded []byte // reused: SendEncoded keeps no reference to it
			for i := range each {
				c := msnp.Notice("MSG", strconv.Itoa(g), strconv.Itoa(i)).WithPayload(payloadFor(g, i))
				// Half the senders send each command (encoded or
				// not), the others queue bursts and flush them, as a
				// relaying goroutine does.
				ok := true
				switch {
				case g%4 == 0:
					ok = o.Send(c)
				case g%4 == 2:
					encoded = msnp.AppendCommand(encoded[:0], c)
					ok = o.SendEncoded(encoded)
					clear(encoded)
				default:
					if ok = o.Queue(c); i%7 == 6 || i == each-1 {
						o.Flush()
					}
				}
				if !ok {
					t.Errorf("sender %d: Send #%d = false", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	o.Close()
	select {
	case r := <-res:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.n != senders*each {
			t.Errorf("peer got %d commands, want %d", r.n, senders*each)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the peer did not see the end of the stream")
	}
	if slow.Load() != 0 {
		t.Error("OnSlow called for a peer that reads")
	}
}

// payloadFor makes a payload of varied length that names its sender and
// sequence number, so a torn or swapped payload is caught.
func payloadFor(g, i int) []byte {
	p := fmt.Appendf(nil, "from %d #%d:", g, i)
	return append(p, bytes.Repeat([]byte{byte('a' + g)}, (g*7+i*13)%300)...)
}

// A peer that never reads is cut off once its backlog passes Limit:
// OnSlow runs exactly once, Send reports false from then on, the
// connection is closed, and no sender ever waits for the network.
func TestSlowPeerCutOff(t *testing.T) {
	server, client := pair(t)
	smallBuffers(t, server, client)
	var slow atomic.Int32
	const limit = 64 << 10
	o := outbox.New(server, outbox.Options{Limit: limit, WriteTimeout: time.Minute, OnSlow: func() { slow.Add(1) }})

	payload := bytes.Repeat([]byte("x"), 1000)
	var accepted, refused atomic.Int64
	within(t, 10*time.Second, "sending to a peer that never reads", func() {
		var wg sync.WaitGroup
		encoded := msnp.AppendCommand(nil, msnp.Notice("MSG", "a@example.com", "A").WithPayload(payload))
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Far more than the limit plus every kernel buffer.
				for range 20000 {
					var ok bool
					if g%2 == 0 {
						ok = o.Send(msnp.Notice("MSG", "a@example.com", "A").WithPayload(payload))
					} else {
						ok = o.SendEncoded(encoded)
					}
					if ok {
						accepted.Add(1)
					} else {
						refused.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	})
	if n := slow.Load(); n != 1 {
		t.Fatalf("OnSlow called %d times, want once", n)
	}
	if refused.Load() == 0 {
		t.Fatal("Send never reported false")
	}
	// Everything accepted fits in the limit plus what the kernel took:
	// the outbox did not hold more than its limit.
	if got := accepted.Load() * int64(len(payload)+30); got > 8<<20 {
		t.Errorf("accepted %d bytes for a peer that never reads", got)
	}
	if o.Send(msnp.Notice("QNG", "1")) {
		t.Error("Send after the cut-off = true")
	}
	if n := o.Pending(); n != 0 {
		t.Errorf("Pending after the cut-off = %d; the backlog should be dropped", n)
	}
	waitDone(t, o, 5*time.Second, "after the cut-off")
	// The peer sees the connection end.
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, client); err != nil && !isReset(err) {
		t.Errorf("peer reading after the cut-off: %v; want EOF or reset", err)
	}
	within(t, 5*time.Second, "Close after the cut-off", o.Close)
	if n := slow.Load(); n != 1 {
		t.Errorf("OnSlow called %d times in all, want once", n)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// A write that stalls past WriteTimeout, with the backlog under the limit,
// is also a slow consumer: the connection is cut off and OnSlow runs once.
func TestWriteStallCutOff(t *testing.T) {
	server, client := pair(t)
	smallBuffers(t, server, client)
	var slow atomic.Int32
	o := outbox.New(server, outbox.Options{Limit: 64 << 20, WriteTimeout: 200 * time.Millisecond,
		OnSlow: func() { slow.Add(1) }})
	payload := bytes.Repeat([]byte("y"), 64<<10)
	within(t, 5*time.Second, "Send", func() {
		for range 32 { // 2 MiB: more than the kernel holds, less than the limit
			o.Send(msnp.Notice("MSG", "a@example.com", "A").WithPayload(payload))
		}
	})
	waitDone(t, o, 10*time.Second, "a stalled write")
	if n := slow.Load(); n != 1 {
		t.Errorf("OnSlow called %d times after a stalled write, want once", n)
	}
	if o.Send(msnp.Notice("QNG", "1")) {
		t.Error("Send after a stalled write = true")
	}
}

// Close writes everything still pending before it closes the connection.
func TestCloseFlushes(t *testing.T) {
	server, client := pair(t)
	smallBuffers(t, server, client)
	o := outbox.New(server, outbox.Options{Limit: 64 << 20, WriteTimeout: time.Minute})

	var want []byte
	payload := bytes.Repeat([]byte("z"), 1000)
	for i := 0; i < 2000; i++ { // ~2 MB: most of it waits in the outbox
		c := msnp.Notice("MSG", "a@example.com", strconv.Itoa(i)).WithPayload(payload)
		if !o.Send(c) {
			t.Fatalf("Send #%d = false", i)
		}
		want = msnp.AppendCommand(want, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for o.Pending() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if o.Pending() == 0 {
		t.Fatal("nothing pending while the peer does not read; the test proves nothing")
	}

	closed := make(chan struct{})
	go func() {
		o.Close()
		close(closed)
	}()
	// Close waits for the network; Send is refused meanwhile.
	time.Sleep(50 * time.Millisecond)
	select {
	case <-closed:
		t.Fatal("Close returned with bytes pending and a peer that has not read them")
	default:
	}
	if o.Send(msnp.Notice("QNG", "1")) {
		t.Error("Send during Close = true")
	}
	got := readAll(client)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return once the peer read")
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("peer read %d bytes, want %d (equal: %v)", len(b), len(want), bytes.Equal(b, want))
	}
	select {
	case <-o.Done():
	default:
		t.Error("Done not closed after Close returned")
	}
}

// Kill drops what is pending and closes at once, even while a write is
// stuck on a peer that does not read.
func TestKillDrops(t *testing.T) {
	server, client := pair(t)
	smallBuffers(t, server, client)
	var slow atomic.Int32
	o := outbox.New(server, outbox.Options{Limit: 64 << 20, WriteTimeout: time.Minute, OnSlow: func() { slow.Add(1) }})
	payload := bytes.Repeat([]byte("k"), 1000)
	sent := 0
	for i := 0; i < 2000; i++ {
		c := msnp.Notice("MSG", "a@example.com", "A").WithPayload(payload)
		if !o.Send(c) {
			t.Fatalf("Send #%d = false", i)
		}
		sent += len(msnp.AppendCommand(nil, c))
	}
	deadline := time.Now().Add(5 * time.Second)
	for o.Pending() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if o.Pending() == 0 {
		t.Fatal("nothing pending while the peer does not read; the test proves nothing")
	}

	within(t, time.Second, "Kill", o.Kill)
	// The writer was blocked in a write with a minute's deadline: Kill
	// must not wait for it.
	waitDone(t, o, 5*time.Second, "Kill")
	if n := o.Pending(); n != 0 {
		t.Errorf("Pending after Kill = %d", n)
	}
	if o.Send(msnp.Notice("QNG", "1")) {
		t.Error("Send after Kill = true")
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(client)
	if len(b) >= sent {
		t.Errorf("peer read %d of %d bytes after Kill; the pending ones should be dropped", len(b), sent)
	}
	within(t, time.Second, "Close after Kill", o.Close)
	if slow.Load() != 0 {
		t.Error("Kill counted as a slow consumer")
	}
}

// A peer that goes away makes Send report false soon, without OnSlow.
func TestPeerGone(t *testing.T) {
	server, client := pair(t)
	var slow atomic.Int32
	o := outbox.New(server, outbox.Options{OnSlow: func() { slow.Add(1) }})
	client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for o.Send(msnp.Notice("QNG", "50")) {
		if time.Now().After(deadline) {
			t.Fatal("Send still succeeds 10s after the peer closed")
		}
		time.Sleep(time.Millisecond)
	}
	waitDone(t, o, 5*time.Second, "after the peer closed")
	if slow.Load() != 0 {
		t.Error("a closed peer was counted as a slow consumer")
	}
}

func BenchmarkSend(b *testing.B) {
	server, client := pair(b)
	go io.Copy(io.Discard, client)
	o := outbox.New(server, outbox.Options{Limit: 64 << 20})
	c := msnp.Notice("NLN", "NLN", "bob@example.com", "Bob", "268435456")
	b.ReportAllocs()
	b.SetBytes(int64(len(msnp.AppendCommand(nil, c))))
	b.ResetTimer()
	for b.Loop() {
		if !o.Send(c) {
			b.Fatal("Send = false")
		}
	}
	b.StopTimer()
	o.Close()
}

// TestQueueWaitFollowsTheReader: a connection's own large answer waits for
// its reader instead of being cut off, and arrives whole.
func TestQueueWaitFollowsTheReader(t *testing.T) {
	server, client := pair(t)
	slow := make(chan struct{}, 1)
	o := outbox.New(server, outbox.Options{Limit: 4096, OnSlow: func() { slow <- struct{}{} }})
	defer o.Kill()
	const n = 2000 // about 100 KiB: far over the limit
	done := make(chan bool)
	go func() {
		for i := 0; i < n; i++ {
			if !o.QueueWait(msnp.New("LST", uint32(i), "FL", "contact@example.com", "Some%20Contact%20Name", "1")) {
				done <- false
				return
			}
		}
		o.Flush()
		done <- true
	}()
	r := msnp.NewReader(client, msnp.FromServer)
	for i := 0; i < n; i++ {
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		c, err := r.ReadCommand()
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
		if c.TrID != uint32(i) {
			t.Fatalf("command %d has TrID %d", i, c.TrID)
		}
	}
	if !<-done {
		t.Fatal("QueueWait gave up")
	}
	select {
	case <-slow:
		t.Fatal("the connection was cut off as slow")
	default:
	}
}

// gatedConn holds every write until the gate opens: a reader that has
// stopped reading, without depending on how much the kernel buffers.
type gatedConn struct {
	net.Conn
	gate chan struct{}
}

func (g *gatedConn) Write(b []byte) (int, error) {
	<-g.gate
	return g.Conn.Write(b)
}

// TestWhenBelow: a callback waits while the reader is behind, runs once it
// caught up, and runs too when the connection ends.
func TestWhenBelow(t *testing.T) {
	server, client := pair(t)
	go io.Copy(io.Discard, client)
	g := &gatedConn{Conn: server, gate: make(chan struct{})}
	o := outbox.New(g, outbox.Options{Limit: 1 << 20})
	defer o.Kill()

	now := make(chan struct{}, 1)
	o.WhenBelow(0, func() { now <- struct{}{} })
	select {
	case <-now:
	default:
		t.Fatal("an empty outbox did not call at once")
	}

	c := msnp.New("MSG", 1, "U").WithPayload(bytes.Repeat([]byte("x"), 1400))
	for o.Pending() < 64<<10 {
		o.Send(c)
	}
	later := make(chan struct{})
	o.WhenBelow(8<<10, func() { close(later) })
	select {
	case <-later:
		t.Fatal("called while 64 KiB wait")
	case <-time.After(20 * time.Millisecond):
	}
	close(g.gate)
	select {
	case <-later:
	case <-time.After(10 * time.Second):
		t.Fatal("not called once the reader caught up")
	}

	// A dead connection calls every waiter.
	g2 := &gatedConn{Conn: server, gate: make(chan struct{})}
	o2 := outbox.New(g2, outbox.Options{Limit: 1 << 20})
	for o2.Pending() < 64<<10 {
		o2.Send(c)
	}
	gone := make(chan struct{})
	o2.WhenBelow(0, func() { close(gone) })
	o2.Kill()
	close(g2.gate)
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("not called when the connection ended")
	}
}

// Queue leaves the command for Flush (or the next Send) to write.
func TestQueueWaitsForFlush(t *testing.T) {
	server, client := pair(t)
	o := outbox.New(server, outbox.Options{})
	defer o.Kill()
	r := msnp.NewReader(client, msnp.FromServer)
	if !o.Queue(msnp.New("ACK", 1)) || !o.Queue(msnp.New("ACK", 2)) {
		t.Fatal("Queue = false on a healthy connection")
	}
	client.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if c, err := r.ReadCommand(); err == nil {
		t.Fatalf("read %v before Flush", c)
	}
	if o.Pending() == 0 {
		t.Fatal("nothing pending after Queue")
	}
	o.Flush()
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	for want := uint32(1); want <= 2; want++ {
		c, err := r.ReadCommand()
		if err != nil || c.TrID != want {
			t.Fatalf("after Flush: %v %v, want ACK %d", c, err, want)
		}
	}
}

// A burst queued without a Flush, larger than the limit, reaches a peer
// that reads: Queue writes once QueueBurst bytes wait, so a relay that
// queues all it read before flushing never cuts off a reader keeping up.
func TestQueueBurstOverLimit(t *testing.T) {
	server, client := pair(t)
	const limit = 64 << 10
	o := outbox.New(server, outbox.Options{Limit: limit})
	defer o.Kill()
	payload := bytes.Repeat([]byte("x"), 1000)
	n := 4 * limit / len(payload)
	got := make(chan error, 1)
	go func() {
		r := msnp.NewReader(client, msnp.FromServer)
		client.SetReadDeadline(time.Now().Add(30 * time.Second))
		for i := 1; i <= n; i++ {
			c, err := r.ReadCommand()
			if err != nil || c.Name != "MSG" || len(c.Payload) != len(payload) {
				got <- fmt.Errorf("message %d: %v %v", i, c, err)
				return
			}
		}
		got <- nil
	}()
	for i := range n {
		if !o.Queue(msnp.New("MSG", 0, "a@example.com", "A").WithPayload(payload)) {
			t.Fatalf("Queue = false at message %d of a burst of %d bytes", i+1, n*len(payload))
		}
	}
	o.Flush()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
