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

	"github.com/nudge-im/nudge/core/connlimit"
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
	// Endpoint is the machine GUID of the session (MSNP16+), "" for none.
	Endpoint string
	// OnlyOnline: the session's calls reach signed-in users only, and
	// never leave what is said for someone offline (the service's own
	// courier of offline messages).
	OnlyOnline bool `json:",omitempty"`
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

	// Per user: at most MaxCookies unused XFR cookies, MaxSessions open
	// sessions started with USR, and RequestsPerMinute calls of Open (in
	// bursts of up to a quarter of that). Zero means the defaults.
	MaxCookies        int
	MaxSessions       int
	RequestsPerMinute int
	// Unauthenticated, when set, admits connections before USR or ANS.
	Unauthenticated *connlimit.Gate
	// Mailbox, when set, keeps what is said to a contact called while
	// offline (absent.go); nil: calling someone offline is 217.
	Mailbox Mailbox
}

// Defaults of the per-user limits.
const (
	DefaultMaxCookies        = 16
	DefaultMaxSessions       = 100
	DefaultRequestsPerMinute = 60
)

// Errors of Open: the user asked for too much.
var (
	ErrTooManyCookies  = errors.New("switchboard: too many unused cookies")
	ErrTooManySessions = errors.New("switchboard: too many open sessions")
	ErrTooFast         = errors.New("switchboard: too many requests")
)

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
	cookies   map[string]ticket     // XFR cookies
	users     map[string]*userState // by lower-case handle; under cookieMu
	swept     int                   // cookies deleted since the map was last rebuilt
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

// userState is what one user holds: unused cookies, sessions started, and
// the request bucket (tokens, refilled since refilled).
type userState struct {
	cookies, sessions int
	tokens            float64
	refilled          time.Time
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
	if cfg.MaxCookies <= 0 {
		cfg.MaxCookies = DefaultMaxCookies
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.RequestsPerMinute <= 0 {
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Log.With().Str("server", "sb").Logger(),
		dir:       cfg.Directory,
		slot:      cfg.IdleTimeout / 64,
		listeners: make(map[*net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		cookies:   make(map[string]ticket),
		users:     make(map[string]*userState),
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

	for {
		nc, err := connlimit.Accept(l, s.log, s.isClosed)
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			return err
		}
		s.ServeConn(nc)
	}
}

// ServeConn serves one connection accepted elsewhere (the HTTP gateway's
// sessions, with the client's own address as RemoteAddr).
func (s *Server) ServeConn(nc net.Conn) {
	if !s.cfg.Unauthenticated.Enter(nc.RemoteAddr().String()) {
		s.log.Debug().Str("remote", nc.RemoteAddr().String()).Msg("too many connections without USR or ANS; closed a new one")
		if m := s.cfg.Metrics; m != nil {
			m.Refused.WithLabelValues("sb", "unauthenticated").Inc()
		}
		nc.Close()
		return
	}
	s.start(nc)
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
		c.authenticated()
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
// USR within the CookieTTL. It fails when u holds too many cookies or
// sessions or asks too often.
func (s *Server) Open(u User) (address, cookie string, err error) {
	cookie = newCookie()
	now := time.Now()
	key := strings.ToLower(u.Email)
	s.cookieMu.Lock()
	defer s.cookieMu.Unlock()
	s.sweepLocked(now)
	us := s.users[key]
	if us == nil {
		us = &userState{tokens: s.burst(), refilled: now}
		s.users[key] = us
	}
	us.tokens = min(s.burst(), us.tokens+now.Sub(us.refilled).Minutes()*float64(s.cfg.RequestsPerMinute))
	us.refilled = now
	switch {
	case us.tokens < 1:
		return "", "", ErrTooFast
	case us.cookies >= s.cfg.MaxCookies:
		return "", "", ErrTooManyCookies
	case us.sessions >= s.cfg.MaxSessions:
		return "", "", ErrTooManySessions
	}
	us.tokens--
	us.cookies++
	s.cookies[cookie] = ticket{user: u, expires: now.Add(s.cfg.CookieTTL)}
	return s.cfg.Address, cookie, nil
}

// burst is how many requests a user may make at once.
func (s *Server) burst() float64 { return float64(max(1, s.cfg.RequestsPerMinute/4)) }

// sweepLocked drops expired XFR cookies, at most once per TTL, so that
// cookies nobody uses do not pile up, and the users who hold nothing. Once
// many were dropped, the maps are built anew: Go maps never give back the
// memory of deleted entries.
func (s *Server) sweepLocked(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(s.cfg.CookieTTL)
	for k, t := range s.cookies {
		if now.After(t.expires) {
			delete(s.cookies, k)
			s.swept++
			if us := s.users[strings.ToLower(t.user.Email)]; us != nil {
				us.cookies--
			}
		}
	}
	for k, us := range s.users {
		if us.cookies == 0 && us.sessions == 0 {
			delete(s.users, k)
			s.swept++
		}
	}
	if s.swept > 1024 && s.swept > len(s.cookies)+len(s.users) {
		s.cookies = rebuild(s.cookies)
		s.users = rebuild(s.users)
		s.swept = 0
	}
}

// rebuild copies m into a map sized for what it holds now (maps.Clone
// would keep the old size).
func rebuild[K comparable, V any](m map[K]V) map[K]V {
	n := make(map[K]V, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}

// redeem consumes an XFR cookie and returns its user, if it was valid for
// email.
func (s *Server) redeem(email, cookie string) (User, bool) {
	now := time.Now()
	s.cookieMu.Lock()
	defer s.cookieMu.Unlock()
	t, ok := s.cookies[cookie]
	if !ok {
		return User{}, false
	}
	delete(s.cookies, cookie)
	s.swept++
	us := s.users[strings.ToLower(t.user.Email)]
	if us != nil {
		us.cookies--
	}
	if now.After(t.expires) || !strings.EqualFold(t.user.Email, email) {
		return User{}, false
	}
	if us != nil {
		us.sessions++
	}
	return t.user, true
}

// sessionClosed is told that a session started by email with USR has
// ended.
func (s *Server) sessionClosed(email string) {
	s.cookieMu.Lock()
	defer s.cookieMu.Unlock()
	if us := s.users[strings.ToLower(email)]; us != nil && us.sessions > 0 {
		us.sessions--
	}
}

// endpoint finds the session of key at endpoint (a GUID, or "" for a user
// signed in at one place, here or on another node of a cluster).
func (s *Server) endpoint(key, endpoint string) directory.Peer {
	ps := s.dir.Endpoints(key)
	for _, p := range ps {
		if endpoint == "" || p.Endpoint().ID == endpoint {
			return p
		}
	}
	if len(ps) == 0 && endpoint == "" {
		return s.dir.Lookup(key)
	}
	return nil
}

// Sessions is the number of sessions open now.
func (s *Server) Sessions() int {
	s.sessMu.RLock()
	defer s.sessMu.RUnlock()
	return len(s.sessions)
}

// newSession opens a session with c as its only participant.
func (s *Server) newSession(c *conn) *session {
	sess := &session{srv: s, opener: c.email}
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
	s.sessionClosed(sess.opener)
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
