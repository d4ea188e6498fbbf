package switchboard

import (
	"crypto/subtle"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/msnp"
)

// session is one switchboard room.
type session struct {
	id     string
	srv    *Server
	opener string // who started it with USR, for the per-user limit

	// members is the current participants, in the order they joined. The
	// slice is never modified in place: joins and leaves store a new one
	// under mu, so the message path reads it without a lock.
	members atomic.Pointer[[]*conn]

	mu      sync.Mutex
	ringing map[string]ring // pending invitations, by callee key
	ended   bool
}

// ring is a pending invitation: the cookie its callee must present.
type ring struct {
	cookie  string
	expires time.Time
}

// call invites the user whose lower-case handle is key on behalf of c. It
// returns the callee and the invitation to deliver, or the error code to answer.
func (s *session) call(c *conn, key string) (directory.Peer, directory.Ring, msnp.ErrorCode) {
	if s.busy(key, time.Now()) {
		return nil, directory.Ring{}, msnp.ErrAlreadyThere
	}
	peer := s.srv.dir.Lookup(key)
	if peer == nil {
		return nil, directory.Ring{}, msnp.ErrNotOnline
	}
	// One answer for offline, hidden, blocked and not allowed, so that a
	// refusal tells the caller nothing more than "not online".
	p, ok := peer.PresenceFor(c.key)
	if !ok || p.Status == directory.Hidden || p.Status == directory.Offline {
		return nil, directory.Ring{}, msnp.ErrNotOnline
	}

	cookie := newCookie()
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return nil, directory.Ring{}, msnp.ErrSwitchboardFailed
	}
	if s.busyLocked(key, now) { // a concurrent CAL got there first
		return nil, directory.Ring{}, msnp.ErrAlreadyThere
	}
	for k, r := range s.ringing {
		if now.After(r.expires) {
			delete(s.ringing, k)
		}
	}
	if s.ringing == nil {
		s.ringing = make(map[string]ring)
	}
	s.ringing[key] = ring{cookie: cookie, expires: now.Add(s.srv.cfg.CookieTTL)}
	return peer, directory.Ring{
		SessionID:  s.id,
		Address:    s.srv.cfg.Address,
		Cookie:     cookie,
		Caller:     c.email,
		CallerName: c.name,
	}, 0
}

// busy reports whether key is in the session or being rung.
func (s *session) busy(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busyLocked(key, now)
}

func (s *session) busyLocked(key string, now time.Time) bool {
	for _, m := range *s.members.Load() {
		if m.key == key {
			return true
		}
	}
	r, ok := s.ringing[key]
	return ok && !now.After(r.expires)
}

// answer consumes the invitation of key, if cookie is its unexpired
// cookie. A wrong cookie changes nothing: anyone can connect and send ANS,
// so a guess must not cancel the callee's real invitation.
func (s *session) answer(key, cookie string) bool {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.ringing[key]
	if !ok || s.ended || subtle.ConstantTimeCompare([]byte(r.cookie), []byte(cookie)) != 1 {
		return false
	}
	delete(s.ringing, key)
	return !now.After(r.expires)
}

// join adds c, whose identity is set, to the session: the roster and ANS OK
// to c, JOI to the others. It fails if the session has ended or c's handle is
// already in it.
func (s *session) join(c *conn, trid uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.members.Load()
	if s.ended {
		return false
	}
	for _, m := range old {
		if m.key == c.key {
			return false
		}
	}
	total := strconv.Itoa(len(old))
	for i, m := range old {
		params := []string{strconv.Itoa(i + 1), total, m.email, m.encName}
		if c.rosterCaps {
			params = append(params, m.caps)
		}
		c.out.Queue(msnp.New("IRO", trid, params...))
	}
	c.out.Queue(msnp.New("ANS", trid, "OK"))
	// The joiner is a member before anyone hears of it: someone who reads
	// JOI and answers at once must find the joiner there. Its roster and
	// ANS OK are queued already, so no message overtakes them.
	next := make([]*conn, len(old), len(old)+1)
	copy(next, old)
	next = append(next, c)
	s.members.Store(&next)
	joi := msnp.Notice("JOI", c.joiParams...)
	joiCaps := msnp.Notice("JOI", c.joiCapsParams...)
	for _, m := range old {
		if m.rosterCaps {
			m.out.Send(joiCaps)
		} else {
			m.out.Send(joi)
		}
	}
	return true
}

// leave takes c out of the session and tells the others with BYE; idle
// says c was dropped for silence. The session ends with its last member.
func (s *session) leave(c *conn, idle bool) {
	s.mu.Lock()
	old := *s.members.Load()
	next := make([]*conn, 0, len(old))
	for _, m := range old {
		if m != c {
			next = append(next, m)
		}
	}
	if len(next) == len(old) {
		s.mu.Unlock()
		return
	}
	// Gone before anyone hears of it: a participant who reads BYE and
	// sends at once must not find c still there.
	s.members.Store(&next)
	bye := msnp.Notice("BYE", c.email)
	byeIdle := bye
	if idle {
		byeIdle = msnp.Notice("BYE", c.email, "1")
	}
	for _, m := range next {
		if m.version >= 8 {
			m.out.Send(byeIdle)
		} else {
			m.out.Send(bye)
		}
	}
	ended := len(next) == 0
	if ended {
		s.ended = true
		s.ringing = nil // pending invitations die with the session
	}
	s.mu.Unlock()
	if ended {
		s.srv.endSession(s)
	}
}

// relay queues c's message to every other participant, to leave when c
// flushes. It reports false when there was nobody else or an outbox
// refused it.
func (s *session) relay(c *conn, payload []byte) bool {
	cmd := &c.relay
	cmd.Payload = payload
	sent, ok := 0, true
	for _, m := range *s.members.Load() {
		if m == c {
			continue
		}
		sent++
		if !c.queue(m.out, cmd) {
			ok = false
		}
	}
	cmd.Payload = nil
	return ok && sent > 0
}
