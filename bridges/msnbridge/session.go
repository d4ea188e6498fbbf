package msnbridge

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// State is where a Session is.
type State int

// The states a Session reports.
const (
	// Connecting: signing in, the first time or again.
	Connecting State = iota
	// Connected: signed in, the first time or again.
	Connected
	// Reconnecting: the connection was lost (or a sign-in failed); the
	// session signs in again by itself.
	Reconnecting
	// Gone: the session ended and cannot go on without its user (NeedsUser
	// is true of the error). It does not start again by itself.
	Gone
)

func (s State) String() string {
	return [...]string{"connecting", "connected", "reconnecting", "gone"}[s]
}

// Hooks is how a Session tells its bridge what happens. Each is called on
// the session's goroutine, in order; they should queue work rather than
// wait on the bridge's other side.
type Hooks struct {
	// Event gets every event of the session except the connection's own
	// (Disconnected, Reconnected: see State) and, when Extra is set, the
	// raw messages Extra takes.
	Event func(*client.Client, client.Event)
	// Extra gets what MSN sends besides text: a file offered, a wink, a
	// voice clip, an invitation (see Extra). Nil sends those to Event as
	// the client's events.
	Extra func(*client.Client, *Extra)
	// State is told when the session changes state; cl is the client for
	// Connected and nil otherwise, err says why for Reconnecting and Gone.
	State func(cl *client.Client, st State, err error)
	// Refused, when set, is asked after the server refused the password
	// whether the account was made again — a hosted account its server's
	// admin deleted — so that signing in again can work (true).
	Refused func(ctx context.Context) bool
}

// Session keeps one MSN account signed in for a bridge.
type Session struct {
	cfg   client.Config
	log   zerolog.Logger
	hooks Hooks

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}  // closed when the session's goroutine ended
	cl      *client.Client // signed in now
	owned   *client.Client // the goroutine's client, also while it reconnects
	ready   chan struct{}  // closed while cl is set
	gone    bool           // ended with an error that needs the user
	signOut bool           // SignOut: hand on what arrived, then end
}

// NewSession prepares a session with the account's client configuration;
// Start runs it.
// DefaultVersion is the MSNP version bridged accounts sign in with unless
// configured otherwise: 15, Windows Live Messenger 8.5's, the newest whose
// P2P (version 1) every Nudge client and older peer shares; from MSNP13 an
// account reads the offline messages left for it and leaves them for
// offline contacts (client.OfflineMessage, Client.LeaveIfOffline).
const DefaultVersion msnp.Version = 15

func NewSession(cfg client.Config, log zerolog.Logger, hooks Hooks) *Session {
	done := make(chan struct{})
	close(done) // not running until Start
	return &Session{cfg: cfg, log: log, hooks: hooks, done: done, ready: make(chan struct{})}
}

// Config is the client configuration the session signs in with.
func (s *Session) Config() client.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// SetPassword changes the password of the next sign-ins.
func (s *Session) SetPassword(pw string) {
	s.mu.Lock()
	s.cfg.Password = pw
	s.mu.Unlock()
}

// Dial signs in once with the session's configuration, without running
// the session: login flows check credentials with it, then hand the
// client to Start.
func (s *Session) Dial(ctx context.Context) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	return client.Dial(ctx, s.Config())
}

// dialTimeout bounds one sign-in (a Passport round trip and the contact
// list included).
const dialTimeout = time.Minute

// Start runs the session until Stop or SignOut: it signs in (using first,
// a client already signed in, when not nil), and again whenever the
// session ends for a reason that passes. parent bounds it.
func (s *Session) Start(parent context.Context, first *client.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		if first != nil {
			first.Close()
		}
		return // running already
	}
	ctx, cancel := context.WithCancel(parent)
	s.cancel, s.done, s.gone, s.signOut = cancel, make(chan struct{}), false, false
	go s.run(ctx, s.done, first)
}

// Running reports whether the session runs: started, and neither stopped
// nor gone.
func (s *Session) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancel != nil && !s.gone
}

// Gone reports whether the session ended with an error that needs the
// user.
func (s *Session) Gone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
}

// Current returns the signed-in client, or nil.
func (s *Session) Current() *client.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cl
}

// Client returns the signed-in client, waiting within ctx while the
// session signs in (at the start, or again). A session that is not
// running gives ErrSignedOut.
func (s *Session) Client(ctx context.Context) (*client.Client, error) {
	for {
		s.mu.Lock()
		cl, ready, done, running := s.cl, s.ready, s.done, s.cancel != nil && !s.gone
		s.mu.Unlock()
		if cl != nil {
			return cl, nil
		}
		if !running {
			return nil, ErrSignedOut
		}
		select {
		case <-ready:
		case <-done:
			return nil, ErrSignedOut
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Stop signs out and waits until the session's goroutine ended. Events
// not yet handed to the bridge are dropped.
func (s *Session) Stop() { s.stop(false) }

// SignOut signs out and waits until every event that arrived before has
// been handed to the bridge (client.SignOut), so that a message an MSN
// user sent — and the switchboard acknowledged — is not lost because the
// bridge stopped.
func (s *Session) SignOut() { s.stop(true) }

func (s *Session) stop(keep bool) {
	s.mu.Lock()
	cancel, done, cl := s.cancel, s.done, s.owned
	s.cancel = nil
	s.signOut = keep
	s.mu.Unlock()
	if cancel == nil {
		<-done
		return
	}
	if keep && cl != nil {
		// The goroutine reads the rest of the events, then sees the
		// session is over.
		cl.SignOut()
		<-done
		cancel()
		return
	}
	cancel()
	if cl != nil {
		cl.Close()
	}
	<-done
}

func (s *Session) stopped(ctx context.Context) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ctx.Err() != nil || s.cancel == nil
}

func (s *Session) setClient(cl *client.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cl != nil && s.cl == nil {
		close(s.ready)
	} else if cl == nil && s.cl != nil {
		s.ready = make(chan struct{})
	}
	s.cl = cl
}

func (s *Session) state(cl *client.Client, st State, err error) {
	if s.hooks.State != nil {
		s.hooks.State(cl, st, err)
	}
}

// run keeps the account signed in until ctx ends or an error needs the
// user.
func (s *Session) run(ctx context.Context, done chan struct{}, cl *client.Client) {
	defer close(done)
	attempt := 0
	for {
		if cl == nil {
			s.state(nil, Connecting, nil)
			var err error
			cl, err = s.signIn(ctx)
			if s.stopped(ctx) {
				if cl != nil {
					cl.Close()
				}
				return
			}
			if err != nil {
				if NeedsUser(err) {
					s.end(err)
					return
				}
				attempt++
				s.log.Warn().Err(err).Int("attempt", attempt).Msg("Could not sign in to MSN")
				s.state(nil, Reconnecting, err)
				if !sleep(ctx, backoff(attempt)) {
					return
				}
				continue
			}
		}
		attempt = 0
		s.mu.Lock()
		s.owned = cl
		s.mu.Unlock()
		s.setClient(cl)
		if s.stopped(ctx) {
			// Stop ran while the sign-in finished and saw no client.
			cl.Close()
			s.setClient(nil)
			return
		}
		s.log.Info().Str("email", s.cfg.Email).Stringer("version", cl.Version()).Msg("Signed in to MSN")
		s.state(cl, Connected, nil)
		err := s.pump(cl)
		s.setClient(nil)
		s.mu.Lock()
		keep := s.signOut
		s.owned = nil
		s.mu.Unlock()
		if keep {
			return
		}
		cl.Close()
		cl = nil
		if s.stopped(ctx) {
			return
		}
		if NeedsUser(err) {
			s.end(err)
			return
		}
		s.log.Warn().Err(err).Msg("MSN session ended; signing in again")
		s.state(nil, Reconnecting, err)
		attempt = 1
		if !sleep(ctx, backoff(attempt)) {
			return
		}
	}
}

// end marks the session gone and tells the bridge.
func (s *Session) end(err error) {
	s.mu.Lock()
	s.gone = true
	s.mu.Unlock()
	s.log.Warn().Err(err).Msg("MSN session ended; it needs its user")
	s.state(nil, Gone, err)
}

// signIn signs in once; a refused password is tried once more when the
// Refused hook made the account again.
func (s *Session) signIn(ctx context.Context) (*client.Client, error) {
	cl, err := s.Dial(ctx)
	if err != nil && IsAuth(err) && s.hooks.Refused != nil && ctx.Err() == nil && s.hooks.Refused(ctx) {
		cl, err = s.Dial(ctx)
	}
	return cl, err
}

// pump hands the client's events to the bridge until the client ends, and
// returns why it ended.
func (s *Session) pump(cl *client.Client) error {
	var last error
	for ev := range cl.Events() {
		switch ev := ev.(type) {
		case *client.Disconnected:
			if ev.Reconnecting {
				s.setClient(nil)
				s.state(nil, Reconnecting, ev.Err)
			} else {
				last = ev.Err
			}
		case *client.Reconnected:
			s.setClient(cl)
			s.state(cl, Connected, nil)
		default:
			if x := extraOf(ev); x != nil && s.hooks.Extra != nil {
				s.hooks.Extra(cl, x)
				if t := x.Transfer; t != nil && !x.kept {
					// Not carried: said no to at once rather than left to
					// the sender's client to time out.
					go t.Decline()
				}
			} else if s.hooks.Event != nil {
				s.hooks.Event(cl, ev)
			}
		}
	}
	if last == nil {
		last = cl.Err()
	}
	if last == nil {
		last = errors.New("the MSN session ended")
	}
	return last
}

// backoff is the wait before the n-th attempt to sign in again: 2 s
// doubling to 2 min, less up to a fifth at random so that many accounts
// do not all come back at once.
func backoff(n int) time.Duration {
	d := 2 * time.Second
	for i := 1; i < n && d < 2*time.Minute; i++ {
		d *= 2
	}
	d = min(d, 2*time.Minute)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
