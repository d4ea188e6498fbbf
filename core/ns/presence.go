package ns

import (
	"bytes"
	"encoding/xml"
	"io"
	"sync"
	"time"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// handleCHG sets the user's status. The first CHG of a session makes the
// user visible and answers with an ILN (MSNP18: an NLN) for every contact
// on the FL who is online and lets the user see them.
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
		// bitlbee 3.0 sends none at all: that is 0.
		caps = c.Param(1)
		if _, _, ok := msnp.ParseCaps(caps); !ok {
			return s.fail(c, msnp.ErrInvalidParameter)
		}
	}
	if s.dialect.MSNObject {
		msnobj = c.Param(2)
		if msnobj == "0" {
			msnobj = "" // Pidgin 2.10's "no display picture"
		}
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
	if e := s.Endpoint(); e.ID != "" && caps != "" {
		// Until the client says otherwise in UUX <EndpointData>.
		s.updateEndpoint(func(e *msnp.Endpoint) {
			if e.Capabilities == "" {
				e.Capabilities = capsFor(caps, s.dialect)
			}
			e.Private.State = string(status)
		})
	}
	s.shareWithEndpoints()

	if first {
		s.sendInitialPresence(c.TrID)
		s.startChallenge()
	}
	s.broadcast()
	if first {
		s.offlineWaiting() // after the contacts saw the user come online
	}
	s.settled = true
	s.signInList = nil // for a SYN before the first CHG only (MSNP13+ send none)
	return nil
}

// handleUUX sets the personal message (MSNP11+). The payload must be XML;
// a <Data> is passed on to watchers as it came. MSNP13+ clients also
// describe their endpoint: <EndpointData> for everyone, and
// <PrivateEndpointData> for the user's own other endpoints (MSNP16+).
func (s *session) handleUUX(c *msnp.Command) error {
	if !s.dialect.PersonalMsg {
		return s.fail(c, msnp.ErrCommandDisabled)
	}
	kind := msnp.UUXData
	if len(c.Payload) > 0 {
		if s.dialect.ListForm == msnp.ListAddressBook {
			u, err := msnp.ParseUUX(c.Payload)
			if err != nil {
				s.log.Info().Msg("UUX payload is not a Data, EndpointData or PrivateEndpointData; closing the connection")
				return s.failClose(c, msnp.ErrInvalidXML)
			}
			kind = u.Kind
			switch u.Kind {
			case msnp.UUXEndpoint:
				s.updateEndpoint(func(e *msnp.Endpoint) { e.Capabilities = capsFor(u.Capabilities, msnp.LatestVersion.Dialect()) })
			case msnp.UUXPrivateEndpoint:
				s.updateEndpoint(func(e *msnp.Endpoint) { e.Private = u.Private })
			}
		} else if !wellFormedXML(c.Payload) {
			s.log.Info().Msg("UUX payload is not XML; closing the connection")
			return s.failClose(c, msnp.ErrInvalidXML)
		}
	}
	s.reply(c, "0")
	s.mu.Lock()
	if kind == msnp.UUXData {
		if len(c.Payload) == 0 {
			s.presence.Personal = nil
		} else {
			s.presence.Personal = bytes.Clone(c.Payload)
		}
	}
	visible := s.online
	s.mu.Unlock()
	if kind == msnp.UUXData {
		s.shareWithEndpoints()
	}
	switch {
	case kind == msnp.UUXPrivateEndpoint:
		s.showSelf()
	case visible:
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
// contacts on the FL: ILNs with its TrID, or NLNs from MSNP18.
func (s *session) sendInitialPresence(trid uint32) {
	t := &trid
	if s.dialect.InitialNLN {
		t = nil
	}
	for _, email := range s.listed(store.Forward) {
		peer := s.srv.cfg.Directory.Lookup(email)
		if peer == nil {
			continue
		}
		if p, ok := peer.PresenceFor(s.emailOf()); ok {
			s.showPresence(p, t)
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
// of the user now: the presence, or offline. The user's own other
// endpoints (MSNP16+) hear of it too.
func (s *session) broadcast() {
	s.broadcastTo(nil)
	s.showSelf()
}

// broadcastTo is broadcast to the watchers for whom only is true (all of
// them when only is nil), without the user's own endpoints.
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
	p.Endpoints = s.endpoints()

	// Watchers on other nodes are told in one message per node.
	dir := s.srv.cfg.Directory.Batch()
	ch := &change{p: p}
	fanOut(len(targets), func(i int) {
		t := targets[i]
		peer := dir.Lookup(t.email)
		switch w, local := peer.(*session); {
		case peer == nil:
		case !t.visible:
			peer.HidePresence(p.Email)
		case local:
			w.showChange(ch)
		default: // several endpoints, or on another node
			peer.ShowPresence(p)
		}
	})
	dir.Send()
}

// broadcastOffline tells the watchers the user signed out.
func (s *session) broadcastOffline() {
	email := s.emailOf()
	dir := s.srv.cfg.Directory.Batch()
	watchers := s.listed(store.Reverse)
	fanOut(len(watchers), func(i int) {
		if peer := dir.Lookup(watchers[i]); peer != nil {
			peer.HidePresence(email)
		}
	})
	dir.Send()
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
	dir := s.srv.cfg.Directory.Batch()
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
	dir.Send()
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
	if !s.visibleToLocked(viewer) {
		s.mu.Unlock()
		return directory.Presence{}, false
	}
	p := s.presence
	s.mu.Unlock()
	p.Endpoints = s.endpoints()
	return p, true
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
// personal messages (from MSNP16, also to list the contact's endpoints),
// each in the shape of the user's version.
func (s *session) showPresence(p directory.Presence, trid *uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.admitLocked(p.Email) {
		return
	}
	// ILN answers the session's own CHG or ADD, and waits for its flush;
	// NLN (and UBX) come from another session and leave at once, in one
	// write.
	line, ubx := presenceNotice(p, s.dialect, trid)
	s.queue(line)
	if ubx != nil {
		s.queue(ubx)
	}
	if trid == nil {
		s.out.Flush()
	}
}

// admitLocked reports whether the client is to hear of the presence of
// email, a contact on its FL while the user is online, and remembers that
// it was shown (for HidePresence).
func (s *session) admitLocked(email string) bool {
	if !s.online || s.closed || s.roster.lists(email)&store.Forward == 0 {
		return false
	}
	s.roster.setShown(email, true)
	return true
}

// presenceNotice is the NLN of p (with trid, the ILN) for a client of
// dialect d, and the UBX that follows it, or nil.
func presenceNotice(p directory.Presence, d *msnp.Dialect, trid *uint32) (line, ubx *msnp.Command) {
	params := make([]string, 0, 7)
	params = append(params, string(p.Status))
	params = append(params, d.Handle(p.Email)...)
	params = append(params, msnp.EncodeParam(p.FriendlyName))
	if d.Capabilities {
		params = append(params, capsFor(p.Capabilities, d))
		switch {
		case d.MSNObject && p.MSNObject != "":
			params = append(params, p.MSNObject)
		case d.ListForm == msnp.ListAddressBook:
			// Always there from MSNP13: bitlbee counts the parameters.
			params = append(params, "0")
		}
	}
	if trid != nil {
		line = msnp.New("ILN", *trid, params...)
	} else {
		line = msnp.Notice("NLN", params...)
	}
	if b := ubxFor(p, d, false); b != nil {
		ubx = msnp.Notice("UBX", d.Handle(p.Email)...).WithPayload(b)
	}
	return line, ubx
}

// change is one presence change on its way to many watchers: its NLN (and
// UBX) in each dialect's shape is encoded once, by whichever watcher of
// that dialect needs it first, and the same bytes go to all the others.
// A status change reaching ten thousand watchers thus costs each of them
// a look at their list and one write, and no allocation.
type change struct {
	p       directory.Presence
	encoded [msnp.LatestVersion + 1]struct {
		once sync.Once
		b    []byte
	}
}

func (ch *change) encodedFor(d *msnp.Dialect) []byte {
	e := &ch.encoded[d.Version]
	e.once.Do(func() {
		line, ubx := presenceNotice(ch.p, d, nil)
		e.b = msnp.AppendCommand(nil, line)
		if ubx != nil {
			e.b = msnp.AppendCommand(e.b, ubx)
		}
	})
	return e.b
}

// showChange is ShowPresence of ch.p, with the notice made once for all.
func (s *session) showChange(ch *change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admitLocked(ch.p.Email) {
		s.out.SendEncoded(ch.encodedFor(s.dialect))
	}
}

// ubxFor is the UBX payload of p for a client of dialect d, or nil when
// there is nothing to send: the personal message and, from MSNP16, the
// contact's endpoints (private: with what only the user's own endpoints
// see).
func ubxFor(p directory.Presence, d *msnp.Dialect, private bool) []byte {
	switch {
	case !d.PersonalMsg:
		return nil
	case d.MachineGUID && len(p.Endpoints) > 0:
		return msnp.UBXPayload(p.Personal, p.Endpoints, private)
	}
	return p.Personal
}

// capsFor writes capabilities as a client of dialect d reads them:
// "caps:capsEx" from MSNP16, plain caps before (and "0" for none).
func capsFor(caps string, d *msnp.Dialect) string {
	c, x, ok := msnp.ParseCaps(caps)
	if !ok {
		c, x = 0, 0
	}
	return msnp.FormatCaps(c, x, d)
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
	s.send(fln(email, s.dialect))
}

// fln is the notice that email went offline, in the shape of dialect d.
func fln(email string, d *msnp.Dialect) *msnp.Command {
	params := d.Handle(email)
	if d.Handles != msnp.HandlePlain {
		// MSNP14+: "FLN bob@x 1 0", "… 1 0:0", "FLN 1:bob@x 0:0".
		params = append(params, capsFor("", d))
	}
	return msnp.Notice("FLN", params...)
}

// Ring implements directory.Peer.
func (s *session) Ring(r directory.Ring) {
	params := []string{r.SessionID, s.referral(r.Address), "CKI", r.Cookie, r.Caller, msnp.EncodeParam(r.CallerName)}
	s.send(msnp.Notice("RNG", append(params, s.dialect.RNGTail...)...))
}

// ReverseAdded implements directory.Peer: someone put the user on their FL.
func (s *session) ReverseAdded(email, friendlyName string, version int64) {
	s.mu.Lock()
	l := s.roster.lists(email) | store.Reverse
	if l&(store.Allow|store.Block) == 0 && email != s.email {
		l |= store.Pending // as the store keeps it
	}
	s.roster.set(email, l)
	s.listVersion = max(s.listVersion, version)
	d := s.dialect
	s.mu.Unlock()

	// The adder is told of the user's presence by the adder's own session
	// (ILN), so nothing more goes that way from here.
	switch {
	case d.ListForm == msnp.ListAddressBook:
		s.send(msnp.New("ADL", 0).WithPayload(msnp.ML{Contacts: []msnp.MLContact{
			{Email: email, Lists: int(store.Reverse), Network: msnp.NetworkMessenger, Friendly: friendlyName}}}.Marshal()))
		s.notifyBook()
	case d.ContactGUIDs:
		s.send(msnp.New("ADC", 0, "RL", "N="+email, "F="+msnp.EncodeParam(friendlyName)))
	default:
		s.send(msnp.New("ADD", 0, "RL", itoa(version), email, msnp.EncodeParam(friendlyName)))
	}
}

// ReverseRemoved implements directory.Peer: someone took the user off
// their FL.
func (s *session) ReverseRemoved(email string, version int64) {
	s.mu.Lock()
	s.roster.set(email, s.roster.lists(email)&^(store.Reverse|store.Pending))
	s.listVersion = max(s.listVersion, version)
	d := s.dialect
	s.mu.Unlock()
	switch {
	case d.ListForm == msnp.ListAddressBook:
		s.send(msnp.New("RML", 0).WithPayload(msnp.ML{Contacts: []msnp.MLContact{
			{Email: email, Lists: int(store.Reverse), Network: msnp.NetworkMessenger}}}.Marshal()))
		s.notifyBook()
	case d.ListVersions:
		s.send(msnp.New("REM", 0, "RL", itoa(version), email))
	default:
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
