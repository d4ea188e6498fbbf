package ns

import (
	"bytes"
	"encoding/xml"
	"io"
	"time"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// handleCHG sets the user's status. The first CHG of a session makes the
// user visible and answers with an ILN for every contact on the FL who is
// online and lets the user see them.
func (s *session) handleCHG(c *msnp.Command) error {
	if len(c.Params) < 1 {
		return s.fail(c, msnp.ErrSyntax)
	}
	status := directory.Status(c.Params[0])
	if !status.Settable() {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	var caps, msnobj string
	if s.dialect.Capabilities {
		caps = c.Param(1)
	}
	if s.dialect.MSNObject {
		msnobj = c.Param(2)
	}
	// The status is set before the echo leaves, so that a client that
	// reads it and has someone call it at once is online for them; under
	// the lock, so that no contact's NLN overtakes the echo.
	s.mu.Lock()
	first := !s.online
	s.online = true
	s.presence.Status = status
	s.presence.Capabilities = caps
	s.presence.MSNObject = msnobj
	s.queue(c) // the echo is exact
	s.mu.Unlock()

	if first {
		s.sendInitialPresence(c.TrID)
		s.startChallenge()
	}
	s.broadcast()
	if first {
		s.offlineWaiting() // after the contacts saw the user come online
	}
	return nil
}

// handleUUX sets the personal message (MSNP11+). The payload must be XML;
// it is passed on to watchers as it came.
func (s *session) handleUUX(c *msnp.Command) error {
	if !s.dialect.PersonalMsg {
		return s.fail(c, msnp.ErrCommandDisabled)
	}
	if len(c.Payload) > 0 && !wellFormedXML(c.Payload) {
		s.log.Info().Msg("UUX payload is not XML; closing the connection")
		return s.failClose(c, msnp.ErrInvalidXML)
	}
	s.reply(c, "0")
	s.mu.Lock()
	if len(c.Payload) == 0 {
		s.presence.Personal = nil
	} else {
		s.presence.Personal = bytes.Clone(c.Payload)
	}
	visible := s.online
	s.mu.Unlock()
	if visible {
		s.broadcast()
	}
	return nil
}

func wellFormedXML(b []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// sendInitialPresence answers the first CHG with the presence of the
// contacts on the FL.
func (s *session) sendInitialPresence(trid uint32) {
	for _, email := range s.listed(store.Forward) {
		peer := s.srv.cfg.Directory.Lookup(email)
		if peer == nil {
			continue
		}
		if p, ok := peer.PresenceFor(s.emailOf()); ok {
			s.showPresence(p, &trid)
		}
	}
}

// listed returns the handles on one of the user's lists.
func (s *session) listed(l store.List) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, s.roster.len())
	for email := range s.roster.on(l) {
		out = append(out, email)
	}
	return out
}

func (s *session) emailOf() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.email
}

// broadcast tells everyone who has the user on their FL what they may see
// of the user now: the presence, or offline.
func (s *session) broadcast() { s.broadcastTo(nil) }

// broadcastTo is broadcast to the watchers for whom only is true (all of
// them when only is nil).
func (s *session) broadcastTo(only func(email string) bool) {
	s.mu.Lock()
	p := s.presence
	type target struct {
		email   string
		visible bool
	}
	targets := make([]target, 0, s.roster.len())
	for email := range s.roster.on(store.Reverse) {
		if only == nil || only(email) {
			targets = append(targets, target{email, s.visibleToLocked(email)})
		}
	}
	s.mu.Unlock()

	dir := s.srv.cfg.Directory
	fanOut(len(targets), func(i int) {
		t := targets[i]
		peer := dir.Lookup(t.email)
		if peer == nil {
			return
		}
		if t.visible {
			peer.ShowPresence(p)
		} else {
			peer.HidePresence(p.Email)
		}
	})
}

// broadcastOffline tells the watchers the user signed out.
func (s *session) broadcastOffline() {
	email := s.emailOf()
	dir := s.srv.cfg.Directory
	watchers := s.listed(store.Reverse)
	fanOut(len(watchers), func(i int) {
		if peer := dir.Lookup(watchers[i]); peer != nil {
			peer.HidePresence(email)
		}
	})
}

// updateVisibility tells one watcher what they may see after a change of
// the user's AL or BL, if the change made a difference to them: a list
// change that leaves someone's view as it was sends them nothing.
func (s *session) updateVisibility(email string, wasVisible bool) {
	s.mu.Lock()
	watching := s.roster.lists(email)&store.Reverse != 0
	visible := s.visibleToLocked(email)
	p := s.presence
	s.mu.Unlock()
	if !watching || visible == wasVisible {
		return
	}
	if peer := s.srv.cfg.Directory.Lookup(email); peer != nil {
		if visible {
			peer.ShowPresence(p)
		} else {
			peer.HidePresence(p.Email)
		}
	}
}

// watchersView is whether each watcher (RL) may see the user, for
// tellChangedViews after a change of the privacy mode.
func (s *session) watchersView() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	view := make(map[string]bool)
	for email := range s.roster.on(store.Reverse) {
		view[email] = s.visibleToLocked(email)
	}
	return view
}

// tellChangedViews tells the watchers whose view of the user differs from
// before, and nobody else.
func (s *session) tellChangedViews(before map[string]bool) {
	after := s.watchersView()
	s.mu.Lock()
	p := s.presence
	s.mu.Unlock()
	dir := s.srv.cfg.Directory
	for email, visible := range after {
		was, known := before[email]
		if !known || was == visible {
			continue
		}
		if peer := dir.Lookup(email); peer != nil {
			if visible {
				peer.ShowPresence(p)
			} else {
				peer.HidePresence(p.Email)
			}
		}
	}
}

// allowsLocked reports whether viewer may see and talk to the user: not
// blocked, and on the AL if the privacy mode is "only the allow list".
func (s *session) allowsLocked(viewer string) bool {
	lists := s.roster.lists(viewer)
	if lists&store.Block != 0 {
		return false
	}
	if s.privacy == store.BlockByDefault && lists&store.Allow == 0 {
		return false
	}
	return true
}

func (s *session) visibleToLocked(viewer string) bool {
	return s.online && !s.closed && s.presence.Status != directory.Hidden && s.allowsLocked(viewer)
}

// --- directory.Peer ---

// PresenceFor implements directory.Peer.
func (s *session) PresenceFor(viewer string) (directory.Presence, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.visibleToLocked(viewer) {
		return directory.Presence{}, false
	}
	return s.presence, true
}

// Self implements directory.Peer.
func (s *session) Self() (directory.Presence, msnp.Version) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.presence, s.version
}

// ShowPresence implements directory.Peer: NLN (and UBX) for a contact on
// the user's FL.
func (s *session) ShowPresence(p directory.Presence) { s.showPresence(p, nil) }

// showPresence sends ILN (with trid) or NLN, then UBX where the dialect has
// personal messages.
func (s *session) showPresence(p directory.Presence, trid *uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.online || s.closed || s.roster.lists(p.Email)&store.Forward == 0 {
		return
	}
	s.roster.setShown(p.Email, true)
	d := s.dialect
	params := make([]string, 0, 6)
	params = append(params, string(p.Status), p.Email, msnp.EncodeParam(p.FriendlyName))
	if d.Capabilities {
		caps := p.Capabilities
		if caps == "" {
			caps = "0"
		}
		params = append(params, caps)
		if d.MSNObject && p.MSNObject != "" {
			params = append(params, p.MSNObject)
		}
	}
	// ILN answers the session's own CHG or ADD, and waits for its flush;
	// NLN (and UBX) come from another session and leave at once, in one
	// write.
	if trid != nil {
		s.queue(msnp.New("ILN", *trid, params...))
	} else {
		s.queue(msnp.Notice("NLN", params...))
	}
	if d.PersonalMsg && p.Personal != nil {
		s.queue(msnp.Notice("UBX", p.Email).WithPayload(p.Personal))
	}
	if trid == nil {
		s.out.Flush()
	}
}

// HidePresence implements directory.Peer: FLN, once, for a contact the
// client was told is online.
func (s *session) HidePresence(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.roster.shown(email) || s.closed {
		return
	}
	s.roster.setShown(email, false)
	s.send(msnp.Notice("FLN", email))
}

// Ring implements directory.Peer.
func (s *session) Ring(r directory.Ring) {
	s.send(msnp.Notice("RNG", r.SessionID, s.referral(r.Address), "CKI", r.Cookie, r.Caller, msnp.EncodeParam(r.CallerName)))
}

// ReverseAdded implements directory.Peer: someone put the user on their FL.
func (s *session) ReverseAdded(email, friendlyName string, version int64) {
	s.mu.Lock()
	s.roster.set(email, s.roster.lists(email)|store.Reverse)
	s.listVersion = max(s.listVersion, version)
	d := s.dialect
	s.mu.Unlock()

	// The adder is told of the user's presence by the adder's own session
	// (ILN), so nothing more goes that way from here.
	if d.ContactGUIDs {
		s.send(msnp.New("ADC", 0, "RL", "N="+email, "F="+msnp.EncodeParam(friendlyName)))
	} else {
		s.send(msnp.New("ADD", 0, "RL", itoa(version), email, msnp.EncodeParam(friendlyName)))
	}
}

// ReverseRemoved implements directory.Peer: someone took the user off
// their FL.
func (s *session) ReverseRemoved(email string, version int64) {
	s.mu.Lock()
	s.roster.set(email, s.roster.lists(email)&^store.Reverse)
	s.listVersion = max(s.listVersion, version)
	d := s.dialect
	s.mu.Unlock()
	if d.ListVersions {
		s.send(msnp.New("REM", 0, "RL", itoa(version), email))
	} else {
		s.send(msnp.New("REM", 0, "RL", email))
	}
}

// Revoke implements directory.Peer: the account was deleted or its
// password changed since the user signed in, so the session ends (a plain
// OUT: the server closes the session). A session that began after the
// change — signed in with the new password — stays.
func (s *session) Revoke(seq int64) {
	if seq <= s.knownEvent {
		return
	}
	s.log.Info().Int64("event", seq).Msg("account deleted or its password changed; closing its session")
	s.send(msnp.Notice("OUT"))
	s.out.Close()
}

// Replace implements directory.Peer: the user signed in elsewhere.
func (s *session) Replace() {
	s.log.Info().Msg("signed in elsewhere; closing the older session")
	s.send(msnp.Notice("OUT", "OTH"))
	s.out.Close()
}

// --- challenges ---

// startChallenge sends CHL after the first CHG, as the official servers
// did, when the dialect has challenges and they are on.
func (s *session) startChallenge() {
	if !s.srv.cfg.Challenges || s.dialect.Challenge == msnp.ChallengeNone {
		return
	}
	s.challenge = auth.NewChallenge()
	s.challengeDeadline = time.Now().Add(s.srv.cfg.ChallengeTimeout)
	s.queue(msnp.New("CHL", 0, s.challenge))
}

// handleQRY checks a challenge answer: 540 and a disconnect when wrong.
func (s *session) handleQRY(c *msnp.Command) error {
	if s.challenge == "" || len(c.Params) < 1 {
		return s.fail(c, msnp.ErrNotExpected)
	}
	if !auth.VerifyQRY(int(s.version), s.challenge, c.Params[0], string(c.Payload)) {
		s.log.Info().Str("product", c.Params[0]).Msg("wrong challenge answer")
		return s.failClose(c, msnp.ErrChallengeFailed)
	}
	s.challenge = ""
	s.challengeDeadline = time.Time{}
	s.reply(c)
	return nil
}
