package client

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp"
)

// A scripted server replays a protocol transcript over real TCP: it reads
// what the client sends, checks each line against the transcript, and
// writes the server's lines. It is a transcript replay, not a simulation:
// it only knows the lines it is told.

type scriptServer struct {
	t     testing.TB
	ln    net.Listener
	conns chan *sconn
}

func newScriptServer(t testing.TB) *scriptServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptServer{t: t, ln: ln, conns: make(chan *sconn, 16)}
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				close(s.conns)
				return
			}
			s.conns <- &sconn{t: t, nc: nc, r: msnp.NewReader(nc, msnp.FromClient), w: bufio.NewWriter(nc)}
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *scriptServer) addr() string { return s.ln.Addr().String() }

// accept waits for the next client connection.
func (s *scriptServer) accept() *sconn {
	s.t.Helper()
	select {
	case c, ok := <-s.conns:
		if !ok {
			s.t.Fatal("listener closed")
		}
		s.t.Cleanup(func() { c.nc.Close() })
		return c
	case <-time.After(10 * time.Second):
		s.t.Fatal("no connection from the client")
	}
	return nil
}

// sconn is the server side of one client connection.
type sconn struct {
	t  testing.TB
	nc net.Conn
	r  *msnp.Reader
	w  *bufio.Writer
}

// read returns the next command from the client.
func (c *sconn) read() *msnp.Command {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	cmd, err := c.r.ReadCommand()
	if err != nil {
		c.t.Fatalf("reading from the client: %v", err)
	}
	return cmd
}

// expect reads a command and checks its line against pattern, word by
// word: "*" matches any one word, a final "..." any rest. It returns the
// command.
func (c *sconn) expect(pattern string) *msnp.Command {
	c.t.Helper()
	cmd := c.read()
	if !matchLine(pattern, cmd.String()) {
		c.t.Fatalf("client sent %q, transcript expects %q", cmd.String(), pattern)
	}
	return cmd
}

func matchLine(pattern, line string) bool {
	pw, lw := strings.Fields(pattern), strings.Fields(line)
	for i, p := range pw {
		if p == "..." && i == len(pw)-1 {
			return true
		}
		if i >= len(lw) || p != "*" && p != lw[i] {
			return false
		}
	}
	return len(pw) == len(lw)
}

// send writes server lines.
func (c *sconn) send(lines ...string) {
	c.t.Helper()
	for _, l := range lines {
		c.w.WriteString(l)
		c.w.WriteString("\r\n")
	}
	if err := c.w.Flush(); err != nil {
		c.t.Fatalf("writing to the client: %v", err)
	}
}

// sendPayload writes "line len\r\n" and the payload.
func (c *sconn) sendPayload(line string, payload string) {
	c.t.Helper()
	c.w.WriteString(line + " " + strconv.Itoa(len(payload)) + "\r\n" + payload)
	if err := c.w.Flush(); err != nil {
		c.t.Fatalf("writing to the client: %v", err)
	}
}

// expectClosed waits for the client to close the connection, allowing an
// OUT first.
func (c *sconn) expectClosed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		cmd, err := c.r.ReadCommand()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.t.Fatal("the client did not close the connection")
			}
			return
		}
		if cmd.Name != "OUT" {
			c.t.Fatalf("client sent %q, expected it to leave", cmd.String())
		}
	}
}

// md5Login replays an MSNP2–7 sign-in up to USR OK.
func (c *sconn) md5Login(v int, email, friendly string) {
	c.t.Helper()
	vs := "MSNP" + strconv.Itoa(v)
	c.expect("VER 1 " + vs + " CVR0")
	c.send("VER 1 " + vs)
	c.expect("INF 2")
	c.send("INF 2 MD5")
	c.expect("USR 3 MD5 I " + email)
	c.send("USR 3 MD5 S 1013928519.693957190")
	c.expect("USR 4 MD5 S 6f3963009fc8a9d2b2ff137da0905c55")
	ok := "USR 4 OK " + email + " " + friendly
	if v >= 6 {
		ok += " 1"
	}
	c.send(ok)
}

// quietLogin replays a whole MSNP7 sign-in with an empty list.
func (c *sconn) quietLogin(email string) {
	c.t.Helper()
	c.md5Login(7, email, "Me")
	c.expect("SYN 5 0")
	c.send("SYN 5 0")
	c.expect("CHG 6 NLN")
	c.send("CHG 6 NLN")
	c.expect("PNG")
	c.send("QNG")
}

func testConfig(addr string, v msnp.Version) Config {
	return Config{
		Server:         addr,
		Email:          "alice@example.com",
		Password:       "mypassword",
		Version:        v,
		MinVersion:     v,
		RequestTimeout: 5 * time.Second,
		PingInterval:   time.Hour,
	}
}

// nextEvent returns the next event, failing after a while.
func nextEvent(t testing.TB, c *Client) Event {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return nil
}

// waitEvent skips events until one of type T arrives.
func waitEvent[T Event](t testing.TB, c *Client) T {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				var zero T
				t.Fatalf("events closed while waiting for %T", zero)
			}
			if e, ok := ev.(T); ok {
				return e
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %T event", zero)
		}
	}
}
