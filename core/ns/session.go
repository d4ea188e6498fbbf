package ns

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/outbox"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
)

// session is one client connection. Fields above mu are touched only by the
// session's own goroutine; fields below mu are shared with other sessions
// (through the directory.Peer methods) and guarded by it.
type session struct {
	srv       *Server
	conn      net.Conn
	r         *msnp.Reader
	out       *outbox.Outbox
	log       sessionLog
	connected time.Time

	version msnp.Version // 0 until VER
	dialect *msnp.Dialect
	cvr0    bool

	// Login progress.
	loginEmail string // from USR I
	md5Digest  string
	registered bool // in the directory
	// settled: the first CHG was handled (the sign-in is over). Until
	// then run keeps its goroutine between commands (see run).
	settled  bool
	admitted bool // holds a place in Config.Unauthenticated
	// knownEvent is the newest account event at sign-in (set before the
	// session is in the directory, read by Revoke): later ones end it.
	knownEvent int64

	// The list read at sign-in, for the SYN that follows: it answers from
	// it when the list version has not moved since (see handleSYN).
	signInList *listSnapshot

	// Challenge in flight.
	challenge         string
	challengeDeadline time.Time

	// ssoNonce is what "USR SSO S" asked the client to answer (MSNP15+).
	ssoNonce string
	// ep is where this session is (MSNP16+: the machine GUID, from USR SSO
	// S; its capabilities and private data, from UUX). Replaced whole, so
	// the directory reads it without the session's lock.
	ep atomic.Pointer[msnp.Endpoint]

	mu          sync.Mutex
	email       string // set once signed in
	cid         int64  // the account's CID, for address book notices
	presence    directory.Presence
	online      bool // the first CHG was handled: the user shows presence
	privacy     store.Privacy
	promptOnAdd bool
	listVersion int64
	roster      roster // the user's lists, kept in step with the store
	closed      bool
}

type listSnapshot struct {
	account  store.Account // its settings too: they move the version
	contacts []store.Contact
	groups   []store.Group
}

// sessionLog logs about one session: the server's logger with the
// client's address, and its version and handle once known. The fields are
// added when a line is logged rather than kept in a per-session copy of
// the logger, which would cost every idle session half a kilobyte.
type sessionLog struct{ s *session }

func (l sessionLog) Debug() *zerolog.Event { return l.about(l.s.srv.log.Debug()) }
func (l sessionLog) Info() *zerolog.Event  { return l.about(l.s.srv.log.Info()) }
func (l sessionLog) Warn() *zerolog.Event  { return l.about(l.s.srv.log.Warn()) }
func (l sessionLog) Error() *zerolog.Event { return l.about(l.s.srv.log.Error()) }

func (l sessionLog) about(e *zerolog.Event) *zerolog.Event {
	if e == nil { // the level is off
		return nil
	}
	s := l.s
	e.Stringer("remote", s.conn.RemoteAddr())
	if s.version != 0 {
		e.Stringer("version", s.version)
	}
	if s.registered {
		e.Str("user", s.email)
	}
	if ep := s.ep.Load(); ep != nil && ep.ID != "" {
		e.Str("endpoint", ep.ID)
	}
	return e
}

// errClose ends the connection after a handler; handlers that send a final
// error reply first return it.
var errClose = errors.New("close connection")

type handler func(s *session, c *msnp.Command) error

// handlers before sign-in and after it. A command in neither table is
// unknown and ends the connection, as on the official servers.
var (
	loginHandlers = map[string]handler{
		"VER": (*session).handleVER,
		"CVR": (*session).handleCVR,
		"INF": (*session).handleINF,
		"USR": (*session).handleUSR,
		"OUT": (*session).handleOUT,
	}
	sessionHandlers = map[string]handler{
		"VER": (*session).handleVER,
		"CVR": (*session).handleCVR,
		"USR": (*session).handleSignedInUSR,
		"OUT": (*session).handleOUT,
		"PNG": (*session).handlePNG,
		"QRY": (*session).handleQRY,
		"SYN": (*session).handleSYN,
		"LST": (*session).handleLST,
		"CHG": (*session).handleCHG,
		"UUX": (*session).handleUUX,
		"ADD": (*session).handleADD,
		"ADC": (*session).handleADC,
		"REM": (*session).handleREM,
		"ADG": (*session).handleADG,
		"RMG": (*session).handleRMG,
		"REG": (*session).handleREG,
		"REA": (*session).handleREA,
		"PRP": (*session).handlePRP,
		"SBP": (*session).handleSBP,
		"BLP": (*session).handleBLP,
		"GTC": (*session).handleGTC,
		"XFR": (*session).handleXFR,
		"URL": (*session).handleURL,
		"SND": (*session).handleSND,
		"SDC": (*session).handleSND,
		"GCF": (*session).handleGCF,
		"IMS": (*session).handleIMS,
		// MSNP13+ (live.go).
		"ADL": (*session).handleADL,
		"RML": (*session).handleRML,
		"FQY": (*session).handleFQY,
		"UUN": (*session).handleUUN,
		"UUM": (*session).handleUUM,
		"PUT": (*session).handlePUT,
		"DEL": (*session).handleDEL,
		"SDG": (*session).handleQuiet,
		"VAS": (*session).handleQuiet,
	}
)

// serve runs the session until the connection ends. The goroutine that
// serves it changes on the way (see run).
func (s *session) serve() {
	if c := s.srv.connections; c != nil {
		c.Inc()
	}
	s.r = msnp.NewReader(s.conn, msnp.FromClient)
	s.r.BeforeRead = s.out.Flush // the answers to a burst of commands leave together
	s.wait()
}

// wait waits for the client's next command, then serves it. It is the
// whole stack of a goroutine waiting for a silent client, so it stays
// small: everything else happens after the wait.
func (s *session) wait() {
	s.conn.SetReadDeadline(s.readDeadline())
	if err := s.r.Wait(); err != nil {
		s.waitFailed(err)
		return
	}
	s.run()
}

func (s *session) waitFailed(err error) {
	s.readFailed(err)
	s.end()
}

// end runs once the connection is done with.
func (s *session) end() {
	s.signOut()
	if c := s.srv.connections; c != nil {
		c.Dec()
	}
	s.srv.forget(s)
}

// run reads and handles commands while the client has sent some. When it
// has used up the input it hands the session to a new goroutine, which
// waits for more, and returns: a goroutine that ran the handlers (a
// sign-in's database work, say) has grown a stack the runtime gives back
// only in part, and with tens of thousands of silent clients those stacks
// would be most of the memory the server holds.
func (s *session) run() {
	commands := s.srv.commands
	var c msnp.Command
	for {
		if s.r.Buffered() == 0 {
			if s.settled {
				go s.wait()
				return
			}
			// Signing in: the client answers at once, and this
			// goroutine's stack is grown for the next handler already.
			// Moving on to a fresh one for each step would grow a new
			// stack every time.
			s.conn.SetReadDeadline(s.readDeadline())
			if err := s.r.Wait(); err != nil {
				s.waitFailed(err)
				return
			}
			continue
		}
		s.conn.SetReadDeadline(s.readDeadline())
		err := s.r.ReadInto(&c)
		if err != nil {
			if !s.readFailed(err) {
				s.end()
				return
			}
			continue
		}
		if commands != nil {
			commands.Inc()
		}
		table := loginHandlers
		if s.signedIn() {
			table = sessionHandlers
		}
		h, ok := table[c.Name]
		if !ok {
			if _, known := sessionHandlers[c.Name]; known && c.HasTrID {
				// A real command sent before sign-in.
				s.fail(&c, msnp.ErrNotLoggedIn)
				continue
			}
			s.log.Info().Str("command", c.Name).Msg("unknown command; closing the connection")
			s.end()
			return
		}
		if s.signedIn() && s.dialect.ListForm == msnp.ListAddressBook && replacedByAddressBook[c.Name] {
			s.fail(&c, msnp.ErrCommandDisabled)
			continue
		}
		if err := h(s, &c); err != nil {
			if err != errClose {
				s.log.Error().Err(err).Str("command", c.Name).Msg("command failed")
			}
			s.end()
			return
		}
		// Handlers may keep what they were given: start afresh rather
		// than let the next read reuse the slices.
		c = msnp.Command{}
	}
}

// readFailed decides what a read error means: true to go on reading.
func (s *session) readFailed(err error) bool {
	if err == io.EOF {
		return false // the client hung up: the commonest end, found without errors.As
	}
	var re *msnp.ReadError
	if errors.As(err, &re) {
		s.log.Info().Err(err).Msg("malformed command")
		if re.InSync && re.HasTrID {
			s.fail(&msnp.Command{Name: re.Name, TrID: re.TrID, HasTrID: true}, re.Code())
			return true
		}
		return false
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		if !s.challengeDeadline.IsZero() && time.Now().After(s.challengeDeadline) {
			s.log.Info().Msg("challenge not answered in time")
		} else {
			s.log.Info().Msg("idle connection closed")
		}
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	default:
		s.log.Debug().Err(err).Msg("read failed")
	}
	return false
}

func (s *session) readDeadline() time.Time {
	cfg := &s.srv.cfg
	if s.version == 0 {
		return s.connected.Add(min(cfg.FirstCommand, cfg.LoginTimeout))
	}
	if !s.signedIn() {
		return s.connected.Add(cfg.LoginTimeout)
	}
	d := time.Now().Add(cfg.IdleTimeout)
	if !s.challengeDeadline.IsZero() && s.challengeDeadline.Before(d) {
		d = s.challengeDeadline
	}
	return d
}

func (s *session) signedIn() bool { return s.registered }

// send writes a command to the client as soon as the socket takes it:
// what other sessions tell this one (presence, invitations) goes this way.
func (s *session) send(c *msnp.Command) { s.out.Send(c) }

// queue queues a command that the session's own goroutine sends: it
// leaves, with the rest of the answers to what the client sent, before
// the session reads again (msnp.Reader.BeforeRead).
func (s *session) queue(c *msnp.Command) { s.out.Queue(c) }

// sendBulk queues part of a large answer to the client's own request (a
// contact list dump): it waits for the client to read rather than cut it
// off, which only the session's own goroutine may do. What it queues
// leaves before the session reads the client's next command.
func (s *session) sendBulk(c *msnp.Command) { s.out.QueueWait(c) }

func (s *session) replyBulk(c *msnp.Command, params ...string) {
	s.sendBulk(msnp.New(c.Name, c.TrID, params...))
}

// reply answers the request c.
func (s *session) reply(c *msnp.Command, params ...string) {
	s.queue(msnp.New(c.Name, c.TrID, params...))
}

// fail answers the request c with an error code; it returns nil so that
// handlers can "return s.fail(...)" and keep the connection.
func (s *session) fail(c *msnp.Command, code msnp.ErrorCode) error {
	if m := s.srv.cfg.Metrics; m != nil {
		m.Errors.WithLabelValues(s.srv.name, code.Name()).Inc()
	}
	s.queue(msnp.Error(code, c.TrID))
	return nil
}

// failClose sends an error reply and ends the connection.
func (s *session) failClose(c *msnp.Command, code msnp.ErrorCode) error {
	s.fail(c, code)
	return errClose
}

func (s *session) handleOUT(c *msnp.Command) error { return errClose }

// shutdown is Server.Close's goodbye: OUT SSD to a signed-in client.
func (s *session) shutdown() {
	if s.isRegistered() {
		s.send(msnp.Notice("OUT", "SSD"))
	}
	s.out.Close()
}

func (s *session) isRegistered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.email != "" && !s.closed
}

// signOut runs when the connection ends: it flushes what is queued, leaves
// the directory and tells the watchers the user went offline.
func (s *session) signOut() {
	s.authenticated()
	s.out.Close()
	s.mu.Lock()
	s.closed = true
	email := s.email
	s.mu.Unlock()
	if !s.registered {
		return
	}
	if m := s.srv.cfg.Metrics; m != nil {
		m.Sessions.Dec()
	}
	removed, left := s.srv.cfg.Directory.Unregister(email, s)
	if !removed {
		return // replaced by a newer sign-in, which owns the presence now
	}
	if left > 0 {
		// Signed in elsewhere still: what the watchers see of the user
		// is what the other endpoints show.
		s.rebroadcast()
	} else {
		// Even a session that never showed itself: it may have replaced
		// one that did, whose presence the watchers still see. Only those
		// shown the user get FLN.
		s.broadcastOffline()
	}
	s.log.Info().Str("user", email).Msg("signed out")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// referral is the address a client is sent to (XFR, RNG): addr as it is,
// unless its host is unspecified (a server listening on every address with
// no public host set), which becomes the address this client's own
// connection came in on — one it can reach, which 127.0.0.1 is not for a
// client on another machine.
func (s *session) referral(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsUnspecified() {
		return addr
	}
	localHost, _, _ := net.SplitHostPort(s.conn.LocalAddr().String())
	ip := net.ParseIP(localHost)
	if ip == nil {
		return addr
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4 // an IPv4 client on a dual-stack socket: MSN clients need IPv4
	}
	return net.JoinHostPort(ip.String(), port)
}

// authenticated gives back the session's place among the connections not
// signed in, once: at sign-in or when the connection ends.
func (s *session) authenticated() {
	if s.admitted {
		s.admitted = false
		s.srv.cfg.Unauthenticated.Leave(s.conn.RemoteAddr().String())
	}
}
