package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The relay carries MSNP between the browser and the Notification or
// Switchboard server: one WebSocket per MSNP connection, binary frames in
// both directions holding the protocol's bytes unchanged, so the servers see
// an ordinary TCP client. Text frames are the relay's own:
//
//	GET /web/relay?server=ns|sb                  → "session ID"   then MSNP bytes
//	GET /web/relay?resume=ID&got=N               → "resumed M"    then MSNP bytes after the first N
//	client → relay "ack N": N bytes arrived, the relay may forget them
//
// A WebSocket that breaks without a close frame (a network blip, a phone
// changing networks) leaves its MSNP connection open for Grace: the page
// reconnects with resume, the relay replays what the page missed and says
// how much of the page's own bytes it got (M), so the page resends the rest.
// Nothing is lost or doubled and the user stays signed in. A close frame
// from the page, or Grace without a WebSocket, ends the MSNP connection.
type relay struct {
	cfg      Config
	upgrader websocket.Upgrader

	mu       sync.Mutex
	sessions map[string]*relaySession
	bySource map[string]int // admitted sessions per source address
	total    int            // admitted sessions, connecting ones included
	closed   bool
}

type relaySession struct {
	r      *relay
	id     string
	source string
	up     net.Conn

	mu       sync.Mutex
	ws       *websocket.Conn // nil while detached
	attach   uint64          // counts attachments, so a stale reader does not detach a new one
	buf      []byte          // bytes sent to the page and not yet acknowledged
	bufStart int64           // stream offset of buf[0]
	sent     int64           // bytes read from the server so far
	recv     int64           // bytes received from the page so far
	upDone   bool            // the server closed the connection
	grace    *time.Timer
	ended    bool
}

const (
	relayPath     = "/web/relay"
	maxFrame      = 64 << 10
	writeDeadline = 10 * time.Second
)

func newRelay(cfg Config) *relay {
	return &relay{
		cfg:      cfg,
		sessions: map[string]*relaySession{},
		bySource: map[string]int{},
		upgrader: websocket.Upgrader{
			ReadBufferSize:  4 << 10,
			WriteBufferSize: 4 << 10,
			// The default CheckOrigin refuses a browser whose page is on
			// another origin: only our own pages may open the relay.
		},
	}
}

func (rl *relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "WebSocket only", http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	if id := q.Get("resume"); id != "" {
		got, err := strconv.ParseInt(q.Get("got"), 10, 64)
		rl.mu.Lock()
		s := rl.sessions[id]
		rl.mu.Unlock()
		if s == nil || err != nil {
			http.Error(w, "no such session", http.StatusGone)
			return
		}
		ws, err := rl.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.resume(ws, got)
		return
	}
	var addr string
	switch strings.ToLower(q.Get("server")) {
	case "ns":
		addr = rl.cfg.NSAddr
	case "sb":
		addr = rl.cfg.SBAddr
	default:
		http.Error(w, "server must be ns or sb", http.StatusBadRequest)
		return
	}
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	if err := rl.admit(source); err != nil {
		w.Header().Set("Retry-After", "30")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	var up net.Conn
	if rl.cfg.Dial != nil {
		up, err = rl.cfg.Dial(strings.ToUpper(q.Get("server")), q.Get("addr"), r.RemoteAddr)
	} else {
		up, err = net.DialTimeout("tcp", addr, 5*time.Second)
	}
	if err != nil {
		rl.release(source)
		rl.cfg.Log.Warn().Err(err).Str("addr", addr).Msg("web relay: cannot reach the server")
		http.Error(w, "cannot reach the server", http.StatusBadGateway)
		return
	}
	ws, err := rl.upgrader.Upgrade(w, r, nil)
	if err != nil {
		up.Close()
		rl.release(source)
		return
	}
	var raw [16]byte
	rand.Read(raw[:])
	s := &relaySession{r: rl, id: hex.EncodeToString(raw[:]), source: source, up: up}
	rl.mu.Lock()
	if rl.closed {
		rl.mu.Unlock()
		up.Close()
		ws.Close()
		rl.release(source)
		return
	}
	rl.sessions[s.id] = s
	rl.mu.Unlock()
	s.mu.Lock()
	s.attachLocked(ws, "session "+s.id)
	s.mu.Unlock()
	go s.readServer()
}

// admit counts a new session against the limits, or says which is reached.
func (rl *relay) admit(source string) error {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.cfg.MaxSessions > 0 && rl.total >= rl.cfg.MaxSessions {
		return fmt.Errorf("too many Web Messenger connections: try again later")
	}
	if rl.cfg.MaxSessionsPerSource > 0 && rl.bySource[source] >= rl.cfg.MaxSessionsPerSource {
		return fmt.Errorf("too many Web Messenger connections from %s: close some conversations or sign out elsewhere", source)
	}
	rl.bySource[source]++
	rl.total++
	return nil
}

func (rl *relay) release(source string) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.total--
	if rl.bySource[source]--; rl.bySource[source] <= 0 {
		delete(rl.bySource, source)
	}
}

// Sessions is the number of MSNP connections the relay holds.
func (rl *relay) Sessions() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return len(rl.sessions)
}

func (rl *relay) close() {
	rl.mu.Lock()
	rl.closed = true
	all := make([]*relaySession, 0, len(rl.sessions))
	for _, s := range rl.sessions {
		all = append(all, s)
	}
	rl.mu.Unlock()
	for _, s := range all {
		s.end()
	}
}

// attachLocked makes ws the session's WebSocket, greets it and starts its
// reader. s.mu is held.
func (s *relaySession) attachLocked(ws *websocket.Conn, greeting string) {
	if s.ws != nil {
		s.ws.Close() // the page came back before the old one noticed
	}
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	s.ws = ws
	s.attach++
	ws.SetReadLimit(maxFrame)
	s.writeLocked(websocket.TextMessage, []byte(greeting))
	go s.readPage(ws, s.attach)
}

func (s *relaySession) resume(ws *websocket.Conn, got int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || got < s.bufStart || got > s.sent {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4410, "session gone"), time.Now().Add(time.Second))
		ws.Close()
		return
	}
	s.buf = s.buf[got-s.bufStart:]
	s.bufStart = got
	s.attachLocked(ws, "resumed "+strconv.FormatInt(s.recv, 10))
	if len(s.buf) > 0 {
		s.writeLocked(websocket.BinaryMessage, s.buf)
	}
	if s.upDone {
		s.closeWSLocked("server closed the connection")
	}
}

// readServer copies the server's bytes to the page, keeping them until the
// page acknowledges them.
func (s *relaySession) readServer() {
	b := make([]byte, 16<<10)
	for {
		n, err := s.up.Read(b)
		s.mu.Lock()
		if n > 0 {
			s.buf = append(s.buf, b[:n]...)
			s.sent += int64(n)
			if len(s.buf) > s.r.cfg.MaxPending {
				// The page neither reads nor acknowledges: cut it off as
				// the gateway cuts off a client that stops polling.
				s.mu.Unlock()
				s.end()
				return
			}
			if s.ws != nil {
				s.writeLocked(websocket.BinaryMessage, b[:n])
			}
		}
		if err != nil {
			s.upDone = true
			if s.ws != nil {
				s.closeWSLocked("server closed the connection")
				s.mu.Unlock()
				s.end()
				return
			}
			// Detached: keep the tail for a resume within the grace.
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// readPage copies the page's bytes to the server.
func (s *relaySession) readPage(ws *websocket.Conn, attach uint64) {
	for {
		kind, data, err := ws.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				s.end() // signed out or the page was closed
				return
			}
			s.detach(attach)
			return
		}
		switch kind {
		case websocket.BinaryMessage:
			s.up.SetWriteDeadline(time.Now().Add(writeDeadline))
			if _, err := s.up.Write(data); err != nil {
				s.end()
				return
			}
			s.mu.Lock()
			s.recv += int64(len(data))
			s.mu.Unlock()
		case websocket.TextMessage:
			if n, ok := strings.CutPrefix(string(data), "ack "); ok {
				if got, err := strconv.ParseInt(n, 10, 64); err == nil {
					s.ack(got)
				}
			}
		}
	}
}

func (s *relaySession) ack(got int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if got > s.bufStart && got <= s.sent {
		s.buf = append(s.buf[:0:0], s.buf[got-s.bufStart:]...)
		s.bufStart = got
	}
}

// detach forgets a broken WebSocket and waits Grace for the page to resume.
func (s *relaySession) detach(attach uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attach != attach || s.ended {
		return // a newer WebSocket took over
	}
	s.ws.Close()
	s.ws = nil
	s.grace = time.AfterFunc(s.r.cfg.Grace, func() {
		s.mu.Lock()
		stale := s.ws == nil
		s.mu.Unlock()
		if stale {
			s.end()
		}
	})
	s.r.cfg.Log.Debug().Str("session", s.id).Msg("web relay: page gone, waiting for it to resume")
}

// writeLocked sends a frame to the attached page; a failed write detaches
// it (the reader notices the broken connection too).
func (s *relaySession) writeLocked(kind int, data []byte) {
	s.ws.SetWriteDeadline(time.Now().Add(writeDeadline))
	if err := s.ws.WriteMessage(kind, data); err != nil {
		s.ws.Close()
	}
}

func (s *relaySession) closeWSLocked(reason string) {
	s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, reason), time.Now().Add(time.Second))
	s.ws.Close()
}

// end closes both sides and forgets the session.
func (s *relaySession) end() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	if s.grace != nil {
		s.grace.Stop()
	}
	if s.ws != nil {
		s.closeWSLocked("closed")
		s.ws = nil
	}
	s.mu.Unlock()
	s.up.Close()
	s.r.mu.Lock()
	delete(s.r.sessions, s.id)
	s.r.mu.Unlock()
	s.r.release(s.source)
}
