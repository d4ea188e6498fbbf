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
	absent  []absentee // called while offline (absent.go); never modified in place
	// anyAbsent is set once absent has someone: until then the message
	// path need not take mu to find that out.
	anyAbsent atomic.Bool
}

// ring is a pending invitation: the cookie its callee must present. Every
// endpoint of the callee (MSNP16+) may answer it, each once.
type ring struct {
	cookie   string
	expires  time.Time
	answered map[string]bool // endpoints that joined with it ("" for a session without one)
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
	s.ringing[key] = ring{cookie: cookie, expires: now.Add(s.srv.cfg.CookieTTL), answered: map[string]bool{}}
	return peer, directory.Ring{
		SessionID:  s.id,
		Address:    s.srv.cfg.Address,
		Cookie:     cookie,
		Caller:     c.email,
		CallerName: c.name,
	}, 0
}

// ringSelf invites the caller's own other endpoints (a self-CAL): an
// invitation for the caller's handle that its other endpoints answer.
func (s *session) ringSelf(c *conn) (directory.Ring, bool) {
	cookie := newCookie()
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return directory.Ring{}, false
	}
	if s.ringing == nil {
		s.ringing = make(map[string]ring)
	}
	s.ringing[c.key] = ring{cookie: cookie, expires: now.Add(s.srv.cfg.CookieTTL), answered: map[string]bool{c.endpoint: true}}
	return directory.Ring{SessionID: s.id, Address: s.srv.cfg.Address, Cookie: cookie, Caller: c.email, CallerName: c.name}, true
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
	// An invitation someone answered no longer holds the user: once the
	// user has left, they may be called again.
	r, ok := s.ringing[key]
	return ok && len(r.answered) == 0 && !now.After(r.expires)
}

// present reports whether the user key is in the session at endpoint.
func (s *session) present(key, endpoint string) bool {
	for _, m := range *s.members.Load() {
		if m.key == key && m.endpoint == endpoint {
			return true
		}
	}
	return false
}

// answer uses the invitation of key for one of its endpoints, if cookie is
// its unexpired cookie and that endpoint has not joined with it yet. A
// wrong cookie changes nothing: anyone can connect and send ANS, so a
// guess must not cancel the callee's real invitation.
func (s *session) answer(key, endpoint, cookie string) bool {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.ringing[key]
	if !ok || s.ended || subtle.ConstantTimeCompare([]byte(r.cookie), []byte(cookie)) != 1 || r.answered[endpoint] {
		return false
	}
	if now.After(r.expires) {
		delete(s.ringing, key)
		return false
	}
	r.answered[endpoint] = true
	return true
}

// join adds c, whose identity is set, to the session: the roster and ANS OK
// to c, JOI to the others. It fails if the session has ended or c is
// already in it (the same user at the same endpoint).
//
// From MSNP16 a participant sees each endpoint: the roster lists every
// other participant's endpoint as "email;{guid}" and each user once more by
// handle alone, and a joining endpoint is announced both ways (the handle
// alone only for a user new to the session). Older clients see each user
// once.
func (s *session) join(c *conn, trid uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.members.Load()
	if s.ended {
		return false
	}
	newUser := true
	for _, m := range old {
		if m.key == c.key && m.endpoint == c.endpoint {
			return false
		}
		if m.key == c.key {
			newUser = false
		}
	}
	for i, params := range roster(old, c) {
		params = append([]string{strconv.Itoa(i + 1), strconv.Itoa(len(roster(old, c)))}, params...)
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
	for _, m := range old {
		if m.dialect.MachineGUID && c.endpoint != "" {
			m.out.Send(msnp.Notice("JOI", rosterParams(c, m.dialect, true)...))
		}
		if newUser && m.key != c.key {
			m.out.Send(msnp.Notice("JOI", rosterParams(c, m.dialect, false)...))
		}
	}
	return true
}

// roster is what c is told of the others already in the session: the
// parameters of each IRO after "index total".
func roster(members []*conn, c *conn) [][]string {
	var out [][]string
	seen := map[string]bool{c.key: true}
	for _, m := range members {
		if c.dialect.MachineGUID && m.endpoint != "" {
			out = append(out, rosterParams(m, c.dialect, true))
		}
		if !seen[m.key] {
			seen[m.key] = true
			out = append(out, rosterParams(m, c.dialect, false))
		}
	}
	return out
}

// rosterParams is how a participant of dialect d sees m in IRO or JOI:
// handle (with the endpoint when withEndpoint), name, and capabilities
// where the dialect has them.
func rosterParams(m *conn, d *msnp.Dialect, withEndpoint bool) []string {
	handle := m.email
	if withEndpoint {
		handle = m.handleFor(d)
	}
	params := []string{handle, m.encName}
	if d.RosterCaps {
		params = append(params, m.capsFor(d))
	}
	return params
}

// leave takes c out of the session and tells the others with BYE; idle
// says c was dropped for silence. The session ends with its last member.
// From MSNP16 the others hear of the endpoint ("email;{guid}"), and, when
// it was the user's last one, of the user; older clients only of the user.
func (s *session) leave(c *conn, idle bool) {
	s.mu.Lock()
	old := *s.members.Load()
	next := make([]*conn, 0, len(old))
	userStays := false
	for _, m := range old {
		if m != c {
			next = append(next, m)
			userStays = userStays || m.key == c.key
		}
	}
	if len(next) == len(old) {
		s.mu.Unlock()
		return
	}
	for _, m := range next {
		bye := func(handle string) {
			if idle && m.version >= 8 {
				m.out.Send(msnp.Notice("BYE", handle, "1"))
			} else {
				m.out.Send(msnp.Notice("BYE", handle))
			}
		}
		if m.dialect.MachineGUID && c.endpoint != "" {
			bye(c.handleFor(m.dialect))
		}
		if !userStays && m.key != c.key {
			bye(c.email)
		}
	}
	s.members.Store(&next)
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
	members := *s.members.Load()
	if len(members) == 2 && (members[0] == c) != (members[1] == c) {
		// Two people: staged for the other, no lock per message.
		other := members[0]
		if other == c {
			other = members[1]
		}
		ok := c.relayTo(other, cmd)
		cmd.Payload = nil
		return ok
	}
	c.sendStage() // what was staged goes first
	sent, ok := 0, true
	for _, m := range members {
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
