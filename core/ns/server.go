// Package ns is the Dispatch and Notification Server: the connection a
// client keeps for its whole MSN session.
//
// A client connects, negotiates a protocol version (VER), signs in (USR,
// with MD5 for MSNP2–7 or a Passport ticket for MSNP8–12), synchronises its
// lists (SYN), sets its presence (CHG) and from then on receives the
// presence of its contacts and the invitations to switchboard sessions.
//
// Each connection is one session: one goroutine reads its commands and runs
// the handlers in order; everything it sends goes through its outbox, so no
// handler ever waits on another user's network. Sessions reach each other
// only through the directory, as directory.Peers.
//
// Every reply shape that differs between versions is taken from the
// session's msnp.Dialect.
package ns

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/connlimit"
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/mailbox"
	"github.com/nudge-im/nudge/core/metrics"
	"github.com/nudge-im/nudge/core/outbox"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/core/switchboard"
	"github.com/nudge-im/nudge/core/throttle"
	"github.com/nudge-im/nudge/msnp"
)

// Switchboards hands out switchboard sessions for XFR SB. Open fails when
// the user may not have another one now (the client is told 713).
type Switchboards interface {
	Open(u switchboard.User) (address, cookie string, err error)
}

// Tickets redeems the Passport tickets clients present in USR TWN S, and
// the SSO tickets of USR SSO S with the proof key each was issued with.
type Tickets interface {
	Redeem(ticket, email string) bool
	RedeemKey(ticket, email string) (proofKey []byte, ok bool)
}

// Config is what a Server needs. Store, Directory and Switchboards are
// required; the rest have defaults.
type Config struct {
	Store        store.Store
	Directory    *directory.Directory
	Switchboards Switchboards
	Tickets      Tickets // required for MSNP8+ logins
	// Offline delivers offline messages to MSNP2-12 clients at sign-in;
	// nil: they wait (MSNP13+ clients read them as OIMs regardless).
	Offline OfflineCourier
	// Mailbox leaves offline messages sent over the NS (UUM); nil: one
	// over Store that tells nobody signed in.
	Mailbox *mailbox.Mailbox
	Metrics *metrics.Metrics
	Log     zerolog.Logger

	// MinVersion and MaxVersion bound what VER accepts. Raising MinVersion
	// to 8 turns MD5 logins off.
	MinVersion, MaxVersion msnp.Version

	// Referral, when set, makes this a Dispatch Server: it answers USR I
	// with "XFR NS Referral" instead of signing the client in. Address is
	// this server's own public address, the "current server" of XFR NS.
	Referral string
	// Refer, when set, names the Notification Server to refer each client
	// to instead of Referral (a cluster's least loaded); "" when none is up,
	// which the client is told as 600.
	Refer   func() string
	Address string

	// Challenges turns on CHL/QRY for MSNP6+: a wrong answer is 540 and a
	// disconnect, no answer within ChallengeTimeout is a disconnect.
	Challenges       bool
	ChallengeTimeout time.Duration

	LoginTimeout time.Duration // to finish signing in after connecting
	IdleTimeout  time.Duration // with no command at all, even PNG
	OutboxLimit  int           // bytes queued to a slow reader before it is cut off

	// FirstCommand closes a connection that sent nothing (not even VER)
	// this long after connecting.
	FirstCommand time.Duration
	// Unauthenticated, when set, admits connections that have not signed
	// in yet; a connection it refuses is closed at once.
	Unauthenticated *connlimit.Gate
	// SignIn, when set, throttles failed MD5 sign-ins.
	SignIn *throttle.Guard
	// SaltKey derives the made-up MD5 salts of unknown users. Empty means a
	// random key for this process.
	SaltKey []byte
}

func (c *Config) setDefaults() {
	if c.MinVersion == 0 {
		c.MinVersion = msnp.MinVersion
	}
	if c.MaxVersion == 0 {
		c.MaxVersion = msnp.LatestVersion
	}
	if c.ChallengeTimeout == 0 {
		c.ChallengeTimeout = 90 * time.Second
	}
	if c.LoginTimeout == 0 {
		c.LoginTimeout = 2 * time.Minute
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.FirstCommand == 0 {
		c.FirstCommand = 10 * time.Second
	}
	if len(c.SaltKey) == 0 {
		c.SaltKey = make([]byte, 32)
		rand.Read(c.SaltKey)
	}
}

// Server serves Notification (or Dispatch) connections.
type Server struct {
	cfg  Config
	name string // "ns" or "ds", for logs and metrics
	log  zerolog.Logger

	// This server's series of cfg.Metrics, looked up once rather than by
	// label at every command; nil without metrics.
	commands    prometheus.Counter
	connections prometheus.Gauge

	// ctx ends when the server closes, waking sessions that wait (a
	// throttled sign-in).
	closing context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	closed    bool
	wg        sync.WaitGroup
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	cfg.setDefaults()
	name := "ns"
	if cfg.Referral != "" || cfg.Refer != nil {
		name = "ds"
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &Server{
		cfg:       cfg,
		name:      name,
		log:       cfg.Log.With().Str("server", name).Logger(),
		closing:   ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		sessions:  make(map[*session]struct{}),
	}
	if m := cfg.Metrics; m != nil {
		srv.commands = m.Commands.WithLabelValues(name)
		srv.connections = m.Connections.WithLabelValues(name)
	}
	return srv
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("ns: server closed")

// Serve accepts connections on l until l is closed.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()

	for {
		conn, err := connlimit.Accept(l, s.log, s.isClosed)
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			return err
		}
		if !s.ServeConn(conn) {
			return ErrServerClosed
		}
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// ServeConn serves one connection accepted elsewhere (the HTTP gateway
// hands over its sessions this way, with the client's own address as
// RemoteAddr). It reports false, closing conn, when the server is closed.
func (s *Server) ServeConn(conn net.Conn) bool {
	if !s.cfg.Unauthenticated.Enter(conn.RemoteAddr().String()) {
		// Logged at debug only: a flood would fill the log.
		s.log.Debug().Str("remote", conn.RemoteAddr().String()).Msg("too many connections not signed in; closed a new one")
		if m := s.cfg.Metrics; m != nil {
			m.Refused.WithLabelValues(s.name, "unauthenticated").Inc()
		}
		conn.Close()
		return true
	}
	sess := s.newSession(conn)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sess.authenticated()
		conn.Close()
		return false
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go sess.serve()
	return true
}

// forget drops a session that ended.
func (s *Server) forget(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	s.wg.Done()
}

// Close stops accepting, tells every signed-in client the server is going
// down (OUT SSD), closes every connection and waits for them to finish.
func (s *Server) Close() error {
	s.cancel()
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.shutdown()
	}
	s.wg.Wait()
	return nil
}

// Sessions is the number of open connections.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) newSession(conn net.Conn) *session {
	sess := &session{
		srv:       s,
		conn:      conn,
		admitted:  true,
		connected: time.Now(),
	}
	sess.log = sessionLog{sess}
	sess.out = outbox.New(conn, outbox.Options{Limit: s.cfg.OutboxLimit, OnSlow: func() {
		sess.log.Warn().Msg("cut off a client that reads too slowly")
		if m := s.cfg.Metrics; m != nil {
			m.SlowConsumers.WithLabelValues(s.name).Inc()
		}
	}})
	return sess
}

func (s *Server) ctx() context.Context { return context.Background() }
