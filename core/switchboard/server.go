package switchboard

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/metrics"
	"github.com/nudge-im/nudge/core/outbox"
	"github.com/nudge-im/nudge/msnp"
)

// Defaults for the zero fields of Config.
const (
	DefaultCookieTTL   = 2 * time.Minute
	DefaultJoinTimeout = 60 * time.Second
	DefaultIdleTimeout = 30 * time.Minute
)

// maxHandle is the longest handle (e-mail address) the protocol allows.
const maxHandle = 129

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("switchboard: server closed")

// User is who a cookie from Open lets in: the user who asked the
// Notification Server for a switchboard.
type User struct {
	Email        string
	FriendlyName string // decoded
	Version      msnp.Version
	Capabilities string
}

// Config configures a Server.
type Config struct {
	// Address is the host:port put in XFR and RNG: the address clients
	// reach this server at.
	Address string
	// Directory finds the callees of CAL and the joiners of ANS.
	Directory *directory.Directory
	// Metrics, when set, receives the switchboard's counters.
	Metrics *metrics.Metrics
	Log     zerolog.Logger

	// CookieTTL is how long an XFR or RNG cookie stays valid unused.
	CookieTTL time.Duration
	// JoinTimeout is how long a new connection has to send USR or ANS.
	JoinTimeout time.Duration
	// IdleTimeout is how long a participant may stay silent before it is
	// dropped (the others see "BYE handle 1").
	IdleTimeout time.Duration
}

// Server is a Switchboard server. Make one with New.
type Server struct {
	cfg  Config
	log  zerolog.Logger
	m    *counters
	dir  *directory.Directory
	slot time.Duration // how often the idle deadline is refreshed

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*conn]struct{}
	closed    bool
	wg        sync.WaitGroup

	cookieMu  sync.Mutex
	cookies   map[string]ticket // XFR cookies
	nextSweep time.Time

	sessMu   sync.RWMutex
	sessions map[string]*session

	// outboxLimit overrides outbox.DefaultLimit; tests use it to find slow
	// consumers without filling megabytes of socket buffers.
	outboxLimit int
}

// outboxBound is the most bytes that may wait for one participant.
func (s *Server) outboxBound() int {
	if s.outboxLimit > 0 {
		return s.outboxLimit
	}
	return outbox.DefaultLimit
}

// ticket is what an XFR cookie stands for.
type ticket struct {
	user    User
	expires time.Time
}

// counters are the metrics this server touches, resolved once.
type counters struct {
	connections prometheus.Gauge
	commands    prometheus.Counter
	errors      *prometheus.CounterVec
	messages    prometheus.Counter
	sessions    prometheus.Gauge
	slow        prometheus.Counter
}

// New returns a server for cfg, filling in the defaults.
func New(cfg Config) *Server {
	if cfg.CookieTTL <= 0 {
		cfg.CookieTTL = DefaultCookieTTL
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = DefaultJoinTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Directory == nil {
		cfg.Directory = directory.New()
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Log.With().Str("server", "sb").Logger(),
		dir:       cfg.Directory,
		slot:      cfg.IdleTimeout / 64,
		listeners: make(map[*net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		cookies:   make(map[string]ticket),
		sessions:  make(map[string]*session),
	}
	if m := cfg.Metrics; m != nil {
		s.m = &counters{
			connections: m.Connections.WithLabelValues("sb"),
			commands:    m.Commands.WithLabelValues("sb"),
			errors:      m.Errors,
			messages:    m.Messages,
			sessions:    m.Switchboards,
			slow:        m.SlowConsumers.WithLabelValues("sb"),
		}
	}
	return s
}

// Serve accepts connections on l and serves each in its own goroutine. It
// returns when l fails or is closed: ErrServerClosed after Close, otherwise
// the listener's error.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[&l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, &l)
		s.mu.Unlock()
	}()

	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn().Err(err).Dur("retry_in", backoff).Msg("accept failed")
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.start(nc)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// start registers nc and starts its goroutine, unless the server is closed.
func (s *Server) start(nc net.Conn) {
	c := newConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.out.Kill()
		<-c.out.Done()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	if s.m != nil {
		s.m.connections.Inc()
	}
	go c.serve()
}

// forget is called by a connection's goroutine as it ends.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if s.m != nil {
		s.m.connections.Dec()
	}
	s.wg.Done()
}

// Close closes the listeners and every connection, and returns when all
// connection goroutines have ended. Participants of a session being closed
// see each other leave as the connections go.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		(*l).Close()
	}
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Open issues a cookie that lets u start a new session, for the
// Notification Server's reply to "XFR trid SB". The cookie is good for one
// USR within the CookieTTL.
func (s *Server) Open(u User) (address, cookie string) {
	cookie = newCookie()
	now := time.Now()
	s.cookieMu.Lock()
	s.sweepLocked(now)
	s.cookies[cookie] = ticket{user: u, expires: now.Add(s.cfg.CookieTTL)}
	s.cookieMu.Unlock()
	return s.cfg.Address, cookie
}

// sweepLocked drops expired XFR cookies, at most once per TTL, so that
// cookies nobody uses do not pile up.
func (s *Server) sweepLocked(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	for k, t := range s.cookies {
		if now.After(t.expires) {
			delete(s.cookies, k)
		}
	}
	s.nextSweep = now.Add(s.cfg.CookieTTL)
}

// redeem consumes an XFR cookie and returns its user, if it was valid for
// email.
func (s *Server) redeem(email, cookie string) (User, bool) {
	now := time.Now()
	s.cookieMu.Lock()
	t, ok := s.cookies[cookie]
	if ok {
		delete(s.cookies, cookie)
	}
	s.cookieMu.Unlock()
	if !ok || now.After(t.expires) || !strings.EqualFold(t.user.Email, email) {
		return User{}, false
	}
	return t.user, true
}

// Sessions is the number of sessions open now.
func (s *Server) Sessions() int {
	s.sessMu.RLock()
	defer s.sessMu.RUnlock()
	return len(s.sessions)
}

// newSession opens a session with c as its only participant.
func (s *Server) newSession(c *conn) *session {
	sess := &session{srv: s}
	sess.members.Store(&[]*conn{c})
	s.sessMu.Lock()
	for sess.id == "" || s.sessions[sess.id] != nil {
		sess.id = newSessionID()
	}
	s.sessions[sess.id] = sess
	s.sessMu.Unlock()
	if s.m != nil {
		s.m.sessions.Inc()
	}
	return sess
}

func (s *Server) session(id string) *session {
	s.sessMu.RLock()
	defer s.sessMu.RUnlock()
	return s.sessions[id]
}

// endSession forgets a session whose last participant has left.
func (s *Server) endSession(sess *session) {
	s.sessMu.Lock()
	delete(s.sessions, sess.id)
	s.sessMu.Unlock()
	if s.m != nil {
		s.m.sessions.Dec()
	}
	s.log.Debug().Str("session", sess.id).Msg("session ended")
}

// newCookie returns an unguessable cookie shaped like the official ones:
// three decimal numbers joined by dots (about 100 random bits).
func newCookie() string {
	var b [24]byte
	rand.Read(b[:])
	const mod = 10_000_000_000
	buf := make([]byte, 0, 32)
	for i := 0; i < 3; i++ {
		if i > 0 {
			buf = append(buf, '.')
		}
		buf = strconv.AppendUint(buf, binary.LittleEndian.Uint64(b[8*i:])%mod, 10)
	}
	return string(buf)
}

// newSessionID returns a random session id: a decimal number of eight to
// ten digits like MSN's, below 2^31 because some clients keep it in a
// signed 32-bit integer, and random rather than counted so that nobody can
// enumerate the sessions.
func newSessionID() string {
	for {
		var b [4]byte
		rand.Read(b[:])
		if n := binary.LittleEndian.Uint32(b[:]) >> 1; n >= 10_000_000 {
			return strconv.FormatUint(uint64(n), 10)
		}
	}
}

// validHandle reports whether h can be a handle: at most maxHandle bytes
// of printable ASCII with an '@' that is neither first nor last.
func validHandle(h string) bool {
	if len(h) == 0 || len(h) > maxHandle {
		return false
	}
	at := strings.IndexByte(h, '@')
	if at <= 0 || at == len(h)-1 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if h[i] <= ' ' || h[i] >= 0x7f {
			return false
		}
	}
	return true
}
