package web_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nudge-im/nudge/core/web"
)

// upstream is a TCP server standing in for the Notification server: it
// answers every line with "echo LINE" and can push lines of its own.
type upstream struct {
	ln    net.Listener
	conns chan net.Conn
}

func startUpstream(t *testing.T) *upstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln, conns: make(chan net.Conn, 8)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.conns <- c
			go func() {
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					io.WriteString(c, "echo "+line)
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return u
}

func (u *upstream) conn(t *testing.T) net.Conn {
	select {
	case c := <-u.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the relay did not connect upstream")
		return nil
	}
}

func startRelay(t *testing.T, cfg web.Config) (*web.Handler, string) {
	h := web.New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); srv.Close() })
	return h, "ws" + strings.TrimPrefix(srv.URL, "http") + "/web/relay"
}

func dialWS(t *testing.T, url string, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	return d.Dial(url, h)
}

func read(t *testing.T, ws *websocket.Conn) (int, string) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	kind, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return kind, string(data)
}

// readBytes collects binary frames until want bytes arrived.
func readBytes(t *testing.T, ws *websocket.Conn, want int) string {
	t.Helper()
	var b strings.Builder
	for b.Len() < want {
		kind, s := read(t, ws)
		if kind != websocket.BinaryMessage {
			t.Fatalf("got text %q, want MSNP bytes", s)
		}
		b.WriteString(s)
	}
	return b.String()
}

func TestRelayCarriesBytesAndResumesAfterABlip(t *testing.T) {
	up := startUpstream(t)
	h, url := startRelay(t, web.Config{NSAddr: up.ln.Addr().String(), SBAddr: up.ln.Addr().String(), Grace: 5 * time.Second})

	ws, _, err := dialWS(t, url+"?server=ns", "")
	if err != nil {
		t.Fatal(err)
	}
	_, hello := read(t, ws)
	id, ok := strings.CutPrefix(hello, "session ")
	if !ok || len(id) != 32 {
		t.Fatalf("greeting %q", hello)
	}
	server := up.conn(t)
	ws.WriteMessage(websocket.BinaryMessage, []byte("VER 1 MSNP12 CVR0\r\n"))
	if got := readBytes(t, ws, 24); got != "echo VER 1 MSNP12 CVR0\r\n" {
		t.Fatalf("got %q", got)
	}

	// The network drops: no close frame. The server goes on talking.
	if n := h.BreakWebSockets(); n != 1 {
		t.Fatalf("broke %d WebSockets", n)
	}
	ws.Close()
	time.Sleep(100 * time.Millisecond)
	io.WriteString(server, "NLN AWY bob@example.com Bob 0\r\n")
	time.Sleep(100 * time.Millisecond)
	if h.Sessions() != 1 {
		t.Fatalf("%d sessions after the blip, want the one kept", h.Sessions())
	}

	// The page comes back saying it got 24 bytes; it missed the NLN.
	ws2, _, err := dialWS(t, url+"?resume="+id+"&got=24", "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.Close()
	if _, s := read(t, ws2); s != "resumed 19" {
		t.Fatalf("resume greeting %q, want the 19 bytes the relay got", s)
	}
	if got := readBytes(t, ws2, 31); got != "NLN AWY bob@example.com Bob 0\r\n" {
		t.Fatalf("replayed %q", got)
	}
	ws2.WriteMessage(websocket.BinaryMessage, []byte("PNG\r\n"))
	if got := readBytes(t, ws2, 10); got != "echo PNG\r\n" {
		t.Fatalf("after resume %q", got)
	}

	// Resuming from before what the page acknowledged is refused.
	ws2.WriteMessage(websocket.TextMessage, []byte("ack 65"))
	time.Sleep(100 * time.Millisecond)
	ws3, resp, err := dialWS(t, url+"?resume="+id+"&got=0", "")
	if err == nil {
		ws3.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err = ws3.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 4410 {
			t.Fatalf("stale resume: %v", err)
		}
		ws3.Close()
	} else if resp == nil || resp.StatusCode != http.StatusGone {
		t.Fatalf("stale resume: %v", err)
	}

	// A goodbye ends the MSNP connection at once.
	ws2.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(server); err != nil {
		t.Fatalf("upstream not closed after goodbye: %v", err)
	}
	waitFor(t, func() bool { return h.Sessions() == 0 })
}

func TestRelayGraceEnds(t *testing.T) {
	up := startUpstream(t)
	h, url := startRelay(t, web.Config{NSAddr: up.ln.Addr().String(), SBAddr: up.ln.Addr().String(), Grace: 300 * time.Millisecond})
	ws, _, err := dialWS(t, url+"?server=sb", "")
	if err != nil {
		t.Fatal(err)
	}
	read(t, ws)
	server := up.conn(t)
	h.BreakWebSockets()
	ws.Close()
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(server); err != nil {
		t.Fatalf("upstream not closed after the grace: %v", err)
	}
	waitFor(t, func() bool { return h.Sessions() == 0 })
}

func TestRelayRefusesOtherOriginsAndBadRequests(t *testing.T) {
	up := startUpstream(t)
	_, url := startRelay(t, web.Config{NSAddr: up.ln.Addr().String(), SBAddr: up.ln.Addr().String()})
	if _, resp, err := dialWS(t, url+"?server=ns", "http://evil.example"); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin page: err %v", err)
	}
	for _, q := range []string{"?server=xx", "?resume=nope&got=0", ""} {
		if _, resp, err := dialWS(t, url+q, ""); err == nil || resp.StatusCode < 400 {
			t.Errorf("%q accepted", q)
		}
	}
	// Same origin is fine.
	host := strings.TrimPrefix(strings.TrimSuffix(url, "/web/relay"), "ws://")
	ws, _, err := dialWS(t, url+"?server=ns", "http://"+host)
	if err != nil {
		t.Fatalf("same-origin page refused: %v", err)
	}
	ws.Close()
}

func TestRelayLimitsSessionsPerSource(t *testing.T) {
	up := startUpstream(t)
	_, url := startRelay(t, web.Config{NSAddr: up.ln.Addr().String(), SBAddr: up.ln.Addr().String(), MaxSessionsPerSource: 2})
	var open []*websocket.Conn
	for i := 0; i < 2; i++ {
		ws, _, err := dialWS(t, url+"?server=sb", "")
		if err != nil {
			t.Fatal(err)
		}
		read(t, ws)
		open = append(open, ws)
	}
	if _, resp, err := dialWS(t, url+"?server=sb", ""); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third session from one address: %v", err)
	}
	// Closing one makes room.
	open[0].WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	open[0].Close()
	waitFor(t, func() bool {
		ws, _, err := dialWS(t, url+"?server=sb", "")
		if err == nil {
			ws.Close()
		}
		return err == nil
	})
	open[1].Close()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The switchboard a page asks for (addr=, from its XFR or RNG) reaches
// the service's dialer, which in a cluster connects to the node that holds
// the conversation.
func TestRelayPassesTheSwitchboardAsked(t *testing.T) {
	up := startUpstream(t)
	asked := make(chan [2]string, 1)
	_, url := startRelay(t, web.Config{Dial: func(server, addr, _ string) (net.Conn, error) {
		asked <- [2]string{server, addr}
		return net.Dial("tcp", up.ln.Addr().String())
	}})
	ws, _, err := dialWS(t, url+"?server=sb&addr=10.0.0.13%3A1864", "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	select {
	case got := <-asked:
		if got != [2]string{"SB", "10.0.0.13:1864"} {
			t.Fatalf("dialled %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the relay never dialled")
	}
}
