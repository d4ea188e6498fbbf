package switchboard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/metrics"
	"github.com/nudge-im/nudge/msnp"
)

const waitFor = 5 * time.Second

// testPeer stands in for a Notification Server connection: a presence, a
// privacy verdict and the rings it was sent.
type testPeer struct {
	mu      sync.Mutex
	pres    directory.Presence
	version msnp.Version
	hidden  bool            // appears offline to everyone
	blocks  map[string]bool // viewers it refuses (blocked, or not on the AL in AL mode)
	rings   chan directory.Ring
}

func (p *testPeer) PresenceFor(viewer string) (directory.Presence, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hidden || p.blocks[viewer] {
		return directory.Presence{}, false
	}
	return p.pres, true
}

func (p *testPeer) Self() (directory.Presence, msnp.Version) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pres, p.version
}

func (p *testPeer) Ring(r directory.Ring) {
	select {
	case p.rings <- r:
	default:
	}
}

func (p *testPeer) ShowPresence(directory.Presence)    {}
func (p *testPeer) HidePresence(string)                {}
func (p *testPeer) ReverseAdded(string, string, int64) {}
func (p *testPeer) ReverseRemoved(string, int64)       {}
func (p *testPeer) Replace()                           {}
func (p *testPeer) Revoke(int64)                       {}
func (p *testPeer) Note(directory.Note)                {}
func (p *testPeer) Endpoint() msnp.Endpoint            { return msnp.Endpoint{} }
func (p *testPeer) BookChanged(string)                 {}
func (p *testPeer) Mailed(directory.Mail)              {}
func (p *testPeer) Share(directory.Presence)           {}
func (p *testPeer) ShareList(directory.Listing)        {}
func (p *testPeer) ShowSelf(directory.Presence)        {}
func (p *testPeer) block(viewer string)                { p.mu.Lock(); p.blocks[viewer] = true; p.mu.Unlock() }
func (p *testPeer) setHidden(h bool)                   { p.mu.Lock(); p.hidden = h; p.mu.Unlock() }
func (p *testPeer) user() User {
	return User{Email: p.pres.Email, FriendlyName: p.pres.FriendlyName, Version: p.version, Capabilities: p.pres.Capabilities}
}
func (p *testPeer) email() string                        { return p.pres.Email }
func (p *testPeer) String() string                       { return p.pres.Email }
func (p *testPeer) wireName() string                     { return msnp.EncodeParam(p.pres.FriendlyName) }
func (p *testPeer) nextRing(t testing.TB) directory.Ring { t.Helper(); return recvRing(t, p.rings) }
func recvRing(t testing.TB, ch chan directory.Ring) directory.Ring {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitFor):
		t.Fatal("no ring delivered")
		return directory.Ring{}
	}
}

// env is a running switchboard on a loopback port.
type env struct {
	t       testing.TB
	srv     *Server
	dir     *directory.Directory
	metrics *metrics.Metrics
	addr    string
	served  chan error
	closed  sync.Once
}

// setup adjusts a test server before it starts serving.
type setup struct {
	config func(*Config)
	server func(*Server)
}

func newEnv(t testing.TB, opts ...setup) *env {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: directory.New(), metrics: metrics.New(), addr: l.Addr().String(), served: make(chan error, 1)}
	cfg := Config{Address: e.addr, Directory: e.dir, Metrics: e.metrics, Log: zerolog.New(io.Discard)}
	if testing.Verbose() {
		cfg.Log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	for _, o := range opts {
		if o.config != nil {
			o.config(&cfg)
		}
	}
	e.srv = New(cfg)
	for _, o := range opts {
		if o.server != nil {
			o.server(e.srv)
		}
	}
	go func() { e.served <- e.srv.Serve(l) }()
	t.Cleanup(e.close)
	return e
}

func (e *env) close() { e.closed.Do(e.shutdown) }

func (e *env) shutdown() {
	e.srv.Close()
	select {
	case err := <-e.served:
		if !errors.Is(err, ErrServerClosed) {
			e.t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	case <-time.After(waitFor):
		e.t.Error("Serve did not return after Close")
	}
}

// peer signs in a stand-in user with the given version and capabilities.
func (e *env) peer(name string, v msnp.Version, caps string) *testPeer {
	email := strings.ToLower(strings.ReplaceAll(name, " ", "")) + "@example.com"
	p := &testPeer{
		pres:    directory.Presence{Email: email, FriendlyName: name, Status: directory.Online, Capabilities: caps},
		version: v,
		blocks:  map[string]bool{},
		rings:   make(chan directory.Ring, 16),
	}
	e.dir.Register(email, p)
	return p
}

// client is a raw MSNP client connection to the switchboard.
type client struct {
	t    testing.TB
	name string
	nc   net.Conn
	r    *msnp.Reader
}

func (e *env) dial(name string) *client {
	e.t.Helper()
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { nc.Close() })
	return &client{t: e.t, name: name, nc: nc, r: msnp.NewReader(nc, msnp.FromServer)}
}

func (c *client) send(format string, args ...any) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := fmt.Fprintf(c.nc, format+"\r\n", args...); err != nil {
		c.t.Fatalf("%s: send: %v", c.name, err)
	}
}

func (c *client) sendMsg(trid int, mode string, payload []byte) {
	c.t.Helper()
	b := fmt.Appendf(nil, "MSG %d %s %d\r\n", trid, mode, len(payload))
	b = append(b, payload...)
	c.nc.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("%s: send MSG: %v", c.name, err)
	}
}

func (c *client) read() *msnp.Command {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(waitFor))
	cmd, err := c.r.ReadCommand()
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.name, err)
	}
	return cmd
}

// expect reads the next command and checks its line (payload length in
// place of the payload).
func (c *client) expect(want string) *msnp.Command {
	c.t.Helper()
	cmd := c.read()
	if got := cmd.String(); got != want {
		c.t.Fatalf("%s: got %q, want %q", c.name, got, want)
	}
	return cmd
}

// expectClosed reads until the server closes the connection; it fails on
// any command in between.
func (c *client) expectClosed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(waitFor))
	cmd, err := c.r.ReadCommand()
	if err == nil {
		c.t.Fatalf("%s: got %q, want the connection closed", c.name, cmd)
	}
	if isTimeout(err) {
		c.t.Fatalf("%s: connection still open", c.name)
	}
}

// open issues a cookie for u, failing the test when Open refuses.
func (e *env) open(u User) (addr, cookie string) {
	e.t.Helper()
	addr, cookie, err := e.srv.Open(u)
	if err != nil {
		e.t.Fatalf("Open(%s): %v", u.Email, err)
	}
	return addr, cookie
}

// start opens a session as p: XFR cookie, USR, USR OK.
func (e *env) start(p *testPeer) *client {
	e.t.Helper()
	addr, cookie := e.open(p.user())
	if addr != e.addr {
		e.t.Fatalf("Open address %q, want %q", addr, e.addr)
	}
	c := e.dial(p.email())
	c.send("USR 1 %s %s", p.email(), cookie)
	c.expect(fmt.Sprintf("USR 1 OK %s %s", p.email(), p.wireName()))
	return c
}

// invite has inviter CAL callee, answers the ring as callee and returns the
// callee's connection after its ANS OK; the IRO lines are checked by the
// caller of invite through the returned roster.
func (e *env) invite(inviter *client, trid int, callee *testPeer) (*client, []string) {
	e.t.Helper()
	inviter.send("CAL %d %s", trid, callee.email())
	cal := inviter.read()
	if cal.Name != "CAL" || cal.Param(0) != "RINGING" {
		e.t.Fatalf("CAL: got %q", cal)
	}
	r := callee.nextRing(e.t)
	if r.SessionID != cal.Param(1) || r.Address != e.addr || r.Cookie == "" {
		e.t.Fatalf("ring %+v does not match %q", r, cal)
	}
	c := e.dial(callee.email())
	c.send("ANS 7 %s %s %s", callee.email(), r.Cookie, r.SessionID)
	var roster []string
	for {
		cmd := c.read()
		if cmd.Name == "ANS" {
			if cmd.String() != "ANS 7 OK" {
				e.t.Fatalf("ANS: got %q", cmd)
			}
			return c, roster
		}
		roster = append(roster, cmd.String())
	}
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func value(t testing.TB, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	t.Fatal("not a gauge or counter")
	return 0
}

// text is a chat message as clients send it.
func text(s string) []byte {
	return []byte("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n" + s)
}

// p2p is a binary P2P message: headers, a 48-byte binary header full of
// NULs and stray CR/LF bytes, data, and the footer.
func p2p(dest string) []byte {
	var b bytes.Buffer
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: " + dest + "\r\n\r\n")
	hdr := make([]byte, 48)
	hdr[0], hdr[4], hdr[8] = 0x0d, 0x0a, 0x0d
	hdr[9] = 0x0a
	hdr[20] = 0xff
	b.Write(hdr)
	b.WriteString("\x00\r\n\r\nMSG 1 U 5\r\n\x00\xfe")
	b.Write([]byte{0, 0, 0, 1})
	return b.Bytes()
}

func itoa(n int) string { return strconv.Itoa(n) }
