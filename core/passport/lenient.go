package passport

import (
	"bytes"
	"net"
	"slices"
)

// maxHead bounds how much of a connection's first request LenientListener
// reads before it gives up looking and lets net/http judge it.
const maxHead = 64 << 10

// LenientListener wraps the listener of a Passport port — the plain one,
// or the TLS one (wrap the tls.NewListener) — so that the first request of
// each connection reaches net/http even when it is shaped as vintage
// clients shape it:
//
//   - "GET /rdr/pprdr.asp\r\n\r\n", with no HTTP version and no headers
//     (Pidgin's MSN plugin, older msn-pecan). net/http would answer 400;
//     it is read as an HTTP/1.1 request that closes the connection, so the
//     answer has the status line and headers the client looks for.
//   - HTTP/1.1 without a Host header, which net/http also refuses: it gets
//     an empty one, so handlers see no Host and use the address the
//     connection came in on.
//
// Later requests on a connection are passed through untouched: the clients
// that send these open one connection per request. Handlers on a wrapped
// TLS listener see no Request.TLS.
func LenientListener(l net.Listener) net.Listener { return lenientListener{l} }

type lenientListener struct{ net.Listener }

func (l lenientListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lenientConn{Conn: c}, nil
}

// lenientConn serves the first request's head, rewritten if need be, and
// then the connection as it comes. Only net/http's goroutine for the
// connection reads it.
type lenientConn struct {
	net.Conn
	started bool
	head    []byte // rewritten bytes still to hand out
	err     error  // the read error that ended the head, after it
}

func (c *lenientConn) Read(p []byte) (int, error) {
	if !c.started {
		c.started = true
		c.head, c.err = readHead(c.Conn)
	}
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	if c.err != nil {
		err := c.err
		c.err = nil
		return 0, err
	}
	return c.Conn.Read(p)
}

// readHead reads the first request's line and headers (within maxHead) and
// returns them as net/http should see them, followed by whatever else was
// read. A read error is returned after the bytes read before it.
func readHead(r net.Conn) ([]byte, error) {
	buf := make([]byte, 0, 1024)
	var err error
	for {
		ended := err != nil || len(buf) >= maxHead
		if head, done := fixHead(buf, ended); done {
			return head, err
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		var n int
		n, err = r.Read(buf[len(buf):min(cap(buf), maxHead)])
		buf = buf[:len(buf)+n]
	}
}

// fixHead looks at the start of a connection, buf; ended says no more bytes
// will come. It reports done once it has decided, with head what to hand
// net/http instead of buf.
func fixHead(buf []byte, ended bool) (head []byte, done bool) {
	eol := bytes.IndexByte(buf, '\n')
	if eol < 0 {
		return buf, ended
	}
	line := bytes.TrimRight(buf[:eol], "\r")
	fields := bytes.Fields(line)
	rest := buf[eol+1:]
	switch {
	case len(fields) == 2 && isToken(fields[0]) && len(fields[1]) > 0 && fields[1][0] == '/':
		// No version: HTTP/0.9's shape. Headers are taken only as far as
		// they came with the line and end in a blank line (Pidgin sends
		// that blank line); the connection closes after the answer, so
		// nothing after them is read.
		headers, _, complete := splitHeaders(rest)
		if !complete {
			headers = nil
		}
		out := make([]byte, 0, len(line)+len(headers)+48)
		out = append(out, fields[0]...)
		out = append(out, ' ')
		out = append(out, fields[1]...)
		out = append(out, " HTTP/1.1\r\n"...)
		out = append(out, headers...)
		if !hasHost(headers) {
			out = append(out, "Host: \r\n"...)
		}
		return append(out, "Connection: close\r\n\r\n"...), true
	case len(fields) == 3 && bytes.Equal(fields[2], []byte("HTTP/1.1")):
		headers, body, complete := splitHeaders(rest)
		if !complete {
			return buf, ended
		}
		if hasHost(headers) {
			return buf, true
		}
		out := make([]byte, 0, len(buf)+8)
		out = append(out, buf[:eol+1]...)
		out = append(out, "Host: \r\n"...)
		out = append(out, headers...)
		out = append(out, "\r\n"...)
		return append(out, body...), true
	}
	return buf, true
}

// splitHeaders splits what follows the request line at the blank line that
// ends the headers: headers are the header lines (each with its line end),
// body what follows the blank line. complete is false when no blank line
// has come yet.
func splitHeaders(b []byte) (headers, body []byte, complete bool) {
	for i := 0; i < len(b); {
		eol := bytes.IndexByte(b[i:], '\n')
		if eol < 0 {
			return nil, nil, false
		}
		if len(bytes.TrimRight(b[i:i+eol], "\r")) == 0 {
			return b[:i], b[i+eol+1:], true
		}
		i += eol + 1
	}
	return nil, nil, false
}

// hasHost reports whether header lines include a Host field.
func hasHost(headers []byte) bool {
	for len(headers) > 0 {
		line := headers
		if i := bytes.IndexByte(headers, '\n'); i >= 0 {
			line, headers = headers[:i], headers[i+1:]
		} else {
			headers = nil
		}
		if name, _, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("host")) {
			return true
		}
	}
	return false
}

// isToken reports whether b looks like an HTTP method.
func isToken(b []byte) bool {
	if len(b) == 0 || len(b) > 16 {
		return false
	}
	for _, c := range b {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
