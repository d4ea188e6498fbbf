// Package gateway is the MSN HTTP gateway: clients behind firewalls that
// block port 1863 speak MSNP inside HTTP requests to /gateway/gateway.dll.
//
// Each gateway session is a real TCP connection from the gateway to the
// Notification or Switchboard server, so the servers need to know nothing
// about HTTP. A request's body is written to that connection; the response
// carries whatever the server has sent since the last request:
//
//	POST /gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com   (body: VER …)
//	200  X-MSN-Messenger: SessionID=…; GW-IP=…                                   (body: VER …)
//	POST /gateway/gateway.dll?SessionID=…                                        (body: commands)
//	POST /gateway/gateway.dll?Action=poll&SessionID=…                            (empty body)
//
// When the server has closed the connection and everything it sent has been
// delivered, the header ends with "; Session=close" and the session is gone.
// Sessions without requests for Timeout are closed.
package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/connlimit"
)

// Path is where clients post.
const Path = "/gateway/gateway.dll"

// Config says where the gateway's sessions connect.
type Config struct {
	NSAddr, SBAddr string // host:port of the servers, reachable from the gateway
	Timeout        time.Duration
	Log            zerolog.Logger
	// MaxPending bounds what a session buffers between polls; a client that
	// stops polling is cut off past it.
	MaxPending int

	// Dial, when set, connects a session to "NS" or "SB" for the client at
	// the given address (host:port), instead of a TCP connection to
	// NSAddr or SBAddr; the service uses it so that its limits see the
	// client's own address. addr is what the client asked for (IP=: the
	// host of an XFR or RNG, with or without its port), which in a
	// cluster may be another node's switchboard.
	Dial func(server, addr, client string) (net.Conn, error)
	// MaxSessions and MaxPerSource cap the open sessions, in total and per
	// client address (0: no cap); an open past either is answered 503.
	MaxSessions, MaxPerSource int
	// Refused, when set, is told of every open refused by a cap.
	Refused func()
	// AllowOrigins are the other web origins whose pages may call the
	// gateway (CORS). Pages of the gateway's own origin need no entry.
	AllowOrigins []string
}

// Gateway is the HTTP handler. Close ends every session.
type Gateway struct {
	cfg     Config
	gate    *connlimit.Gate
	origins map[string]bool

	mu       sync.Mutex
	sessions map[string]*session
	done     chan struct{}
	closed   bool
}

type session struct {
	id     string
	gwIP   string
	conn   net.Conn
	client string // the address the session was opened from

	busy sync.Mutex // one request at a time per session

	mu       sync.Mutex
	pending  []byte
	eof      bool
	lastSeen time.Time
	arrived  chan struct{} // signalled when bytes arrive or the server closes
}

// New returns a gateway and starts its sweeper.
func New(cfg Config) *Gateway {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1 << 20
	}
	g := &Gateway{cfg: cfg, sessions: make(map[string]*session), done: make(chan struct{}),
		gate: connlimit.NewGate(cfg.MaxSessions, cfg.MaxPerSource), origins: make(map[string]bool)}
	for _, o := range cfg.AllowOrigins {
		g.origins[strings.TrimSuffix(strings.ToLower(o), "/")] = true
	}
	go g.sweep()
	return g
}

// Close ends every session.
func (g *Gateway) Close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.done)
	}
	for _, s := range g.sessions {
		g.endLocked(s)
	}
	g.mu.Unlock()
}

// endLocked closes s and forgets it; g.mu is held.
func (g *Gateway) endLocked(s *session) {
	if g.sessions[s.id] != s {
		return
	}
	s.conn.Close()
	delete(g.sessions, s.id)
	g.gate.Leave(s.client)
}

func (g *Gateway) sweep() {
	t := time.NewTicker(g.cfg.Timeout / 4)
	defer t.Stop()
	for {
		select {
		case <-g.done:
			return
		case now := <-t.C:
			g.mu.Lock()
			for _, s := range g.sessions {
				s.mu.Lock()
				idle := now.Sub(s.lastSeen) > g.cfg.Timeout
				s.mu.Unlock()
				if idle {
					g.endLocked(s)
				}
			}
			g.mu.Unlock()
		}
	}
}

// Sessions is the number of open gateway sessions.
func (g *Gateway) Sessions() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sessions)
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Cross-origin pages only when the operator allows their origin: the
	// service's own pages are the same origin and need nothing, and any
	// other page could otherwise drive a gateway session from a visitor's
	// browser.
	if origin := r.Header.Get("Origin"); origin != "" && g.origins[strings.ToLower(origin)] {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Expose-Headers", "X-MSN-Messenger")
	}
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil || len(body) > 64<<10 {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}

	var s *session
	if id := q.Get("SessionID"); id != "" {
		g.mu.Lock()
		s = g.sessions[id]
		g.mu.Unlock()
		if s == nil {
			http.Error(w, "no such session", http.StatusBadRequest)
			return
		}
	} else if strings.EqualFold(q.Get("Action"), "open") {
		if !g.gate.Enter(r.RemoteAddr) {
			if g.cfg.Refused != nil {
				g.cfg.Refused()
			}
			g.cfg.Log.Debug().Str("remote", r.RemoteAddr).Msg("gateway: too many sessions; open refused")
			h.Set("Retry-After", "30")
			http.Error(w, "too many gateway sessions; try again later", http.StatusServiceUnavailable)
			return
		}
		if s, err = g.open(q.Get("Server"), q.Get("IP"), r); err != nil {
			g.gate.Leave(r.RemoteAddr)
			g.cfg.Log.Info().Err(err).Msg("gateway: cannot open session")
			http.Error(w, "cannot reach the server", http.StatusBadGateway)
			return
		}
	} else {
		http.Error(w, "missing SessionID", http.StatusBadRequest)
		return
	}

	if !s.busy.TryLock() {
		http.Error(w, "a request for this session is already pending", http.StatusBadRequest)
		return
	}
	defer s.busy.Unlock()
	s.touch()

	if len(body) > 0 {
		s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := s.conn.Write(body); err != nil {
			s.conn.Close()
		}
		// The server answers in microseconds; give it a moment so the
		// reply travels in this response, as clients expect.
		s.wait(r, 2*time.Second, 15*time.Millisecond)
	}
	out, closed := s.take()
	value := "SessionID=" + s.id + "; GW-IP=" + s.gwIP
	if closed {
		value += "; Session=close"
		g.mu.Lock()
		g.endLocked(s)
		g.mu.Unlock()
	}
	h["X-MSN-Messenger"] = []string{value} // exact case: clients compare it byte for byte
	h.Set("Content-Type", "application/x-msn-messenger")
	h.Set("Cache-Control", "no-cache")
	w.Write(out)
}

func (g *Gateway) open(server, ip string, r *http.Request) (*session, error) {
	var conn net.Conn
	var err error
	if g.cfg.Dial != nil {
		name := "NS"
		if strings.EqualFold(server, "SB") {
			name = "SB"
		}
		conn, err = g.cfg.Dial(name, ip, r.RemoteAddr)
	} else {
		addr := g.cfg.NSAddr
		if strings.EqualFold(server, "SB") {
			addr = g.cfg.SBAddr
		}
		conn, err = net.DialTimeout("tcp", addr, 5*time.Second)
	}
	if err != nil {
		return nil, err
	}
	// Two halves with a dot between, the shape of the MSN gateway's
	// session ids: msn-pecan and Pidgin's MSN plugin split the id at the
	// dot and crash without one. Still 128 random bits.
	var raw [16]byte
	rand.Read(raw[:])
	gwIP := ip
	if gwIP == "" || strings.ContainsAny(gwIP, ";, ") {
		gwIP, _, _ = net.SplitHostPort(r.Host)
		if gwIP == "" {
			gwIP = r.Host
		}
	}
	s := &session{
		id:       hex.EncodeToString(raw[:8]) + "." + hex.EncodeToString(raw[8:]),
		gwIP:     gwIP,
		conn:     conn,
		client:   r.RemoteAddr,
		lastSeen: time.Now(),
		arrived:  make(chan struct{}, 1),
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		conn.Close()
		return nil, net.ErrClosed
	}
	g.sessions[s.id] = s
	g.mu.Unlock()
	go s.read(g.cfg.MaxPending)
	return s, nil
}

// read collects what the server sends until it closes.
func (s *session) read(limit int) {
	buf := make([]byte, 16<<10)
	for {
		n, err := s.conn.Read(buf)
		s.mu.Lock()
		s.pending = append(s.pending, buf[:n]...)
		over := len(s.pending) > limit
		if err != nil || over {
			s.eof = true
		}
		s.mu.Unlock()
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		if err != nil || over {
			s.conn.Close()
			return
		}
	}
}

// wait returns once something arrived and then settle passed without more,
// or after max.
func (s *session) wait(r *http.Request, max, settle time.Duration) {
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	got := false
	for {
		var quiet <-chan time.Time
		if got {
			quiet = time.After(settle)
		}
		select {
		case <-s.arrived:
			got = true
			s.mu.Lock()
			eof := s.eof
			s.mu.Unlock()
			if eof {
				return
			}
		case <-quiet:
			return
		case <-deadline.C:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (s *session) take() (out []byte, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, s.pending = s.pending, nil
	return out, s.eof
}

func (s *session) touch() {
	s.mu.Lock()
	s.lastSeen = time.Now()
	s.mu.Unlock()
}
