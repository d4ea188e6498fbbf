package ns

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/message"
)

// Windows Live Messenger (MSNP13–18): the list through the address book
// and ADL/RML/FQY, notices between endpoints (UUN/UBN), offline messages
// over the NS (UUM), the group-chat commands answered as a service
// without group chats, and several points of presence (MSNP16+).

// policies is the GCF pushed to MSNP13+ clients before the sign-in
// challenge: nothing is denied, and each policy carries the MD5 of its
// data, as MSNP18 clients check.
var policies = func() string {
	var b strings.Builder
	b.WriteString("<Policies>")
	for _, p := range [][2]string{
		{"SHIELDS", `<config><shield><cli maj="7" min="0" minbld="0" maxbld="9999" deny=" " /></shield><block></block></config>`},
		{"ABCH", `<policy><set id="push" service="ABCH" priority="200"><r id="pushstorage" threshold="180000" /></set></policy>`},
		{"ERRORRESPONSETABLE", `<Policy><Feature type="3" name="P2P"><Entry hr="0x82000020" action="3" /></Feature></Policy>`},
		{"P2P", `<ObjStr SndDly="1" />`},
	} {
		sum := md5.Sum([]byte(p[1]))
		fmt.Fprintf(&b, `<Policy type="%s" checksum="%s">%s</Policy>`, p[0], strings.ToUpper(hex.EncodeToString(sum[:])), p[1])
	}
	b.WriteString("</Policies>")
	return b.String()
}()

// replacedByAddressBook are the list commands MSNP13 removed: the address
// book web service does their work. A client of those versions that sends
// one gets 502 and carries on.
var replacedByAddressBook = map[string]bool{
	"SYN": true, "LST": true, "GTC": true, "ADD": true, "ADC": true, "REM": true,
	"ADG": true, "RMG": true, "REG": true, "REA": true, "SBP": true, "GCF": true,
}

// --- endpoints (MSNP16+) ---

// Endpoint implements directory.Peer.
func (s *session) Endpoint() msnp.Endpoint {
	if e := s.ep.Load(); e != nil {
		return *e
	}
	return msnp.Endpoint{}
}

// updateEndpoint changes what this endpoint tells about itself. Only the
// session's own goroutine calls it.
func (s *session) updateEndpoint(f func(*msnp.Endpoint)) {
	e := s.Endpoint()
	f(&e)
	s.ep.Store(&e)
}

// endpoints lists the user's endpoints for UBX, or nil when the user is
// signed in without a GUID.
func (s *session) endpoints() []msnp.Endpoint {
	if s.Endpoint().ID == "" {
		return nil
	}
	var out []msnp.Endpoint
	for _, p := range s.srv.cfg.Directory.Endpoints(s.emailOf()) {
		if e := p.Endpoint(); e.ID != "" {
			out = append(out, e)
		}
	}
	return out
}

// shareWithEndpoints gives the user's other endpoints, on this node or
// another, the presence this one just set: a user has one status, name,
// picture and personal message wherever they are signed in.
func (s *session) shareWithEndpoints() {
	others := s.otherEndpoints()
	if len(others) == 0 {
		return
	}
	s.mu.Lock()
	p := s.presence
	s.mu.Unlock()
	for _, o := range others {
		o.Share(p)
	}
}

// otherEndpoints are the user's endpoints other than this one, on this
// node or another; none for a session that is no endpoint (a user signed
// in below MSNP16 is in one place only).
func (s *session) otherEndpoints() []directory.Peer {
	if s.Endpoint().ID == "" {
		return nil
	}
	var out []directory.Peer
	for _, o := range s.srv.cfg.Directory.Endpoints(s.emailOf()) {
		if o != directory.Peer(s) {
			out = append(out, o)
		}
	}
	return out
}

// Share implements directory.Peer: the user set p at another endpoint.
func (s *session) Share(p directory.Presence) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.presence.Status, s.presence.FriendlyName = p.Status, p.FriendlyName
	s.presence.Capabilities, s.presence.MSNObject, s.presence.Personal = p.Capabilities, p.MSNObject, p.Personal
}

// shareContact gives the user's other endpoints, on this node or another,
// the list entry for handle as it is now (0: gone), so that they decide
// alike who sees the user.
func (s *session) shareContact(handle string, l store.List) {
	s.shareList(directory.Listing{Contact: handle, Lists: uint8(l)})
}

// shareSettings gives the user's other endpoints the privacy mode and GTC
// as they are now.
func (s *session) shareSettings() {
	s.mu.Lock()
	l := directory.Listing{Privacy: string(s.privacy), Prompt: s.promptOnAdd}
	s.mu.Unlock()
	s.shareList(l)
}

func (s *session) shareList(l directory.Listing) {
	for _, o := range s.otherEndpoints() {
		o.ShareList(l)
	}
}

// ShareList implements directory.Peer: the user changed a list entry or
// their privacy at another endpoint.
func (s *session) ShareList(l directory.Listing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Contact == "" {
		if p := store.Privacy(l.Privacy); p == store.AllowByDefault || p == store.BlockByDefault {
			s.privacy, s.promptOnAdd = p, l.Prompt
		}
		return
	}
	s.roster.set(l.Contact, store.List(l.Lists))
}

// showSelf sends the user's own UBX, with the private data of every
// endpoint, to each of the user's MSNP16+ endpoints, on any node.
func (s *session) showSelf() {
	if s.Endpoint().ID == "" {
		return
	}
	s.mu.Lock()
	p := s.presence
	s.mu.Unlock()
	p.Endpoints = s.endpoints()
	for _, peer := range s.srv.cfg.Directory.Endpoints(p.Email) {
		peer.ShowSelf(p)
	}
}

// ShowSelf implements directory.Peer.
func (s *session) ShowSelf(p directory.Presence) {
	if s.dialect.SelfUBX {
		s.send(msnp.Notice("UBX", s.dialect.Handle(p.Email)...).WithPayload(ubxFor(p, s.dialect, true)))
	}
}

// rebroadcast tells the watchers what the user's remaining endpoints show,
// after this one left.
func (s *session) rebroadcast() {
	email := s.emailOf()
	dir := s.srv.cfg.Directory
	rest := dir.Lookup(email)
	if rest == nil {
		s.broadcastOffline()
		return
	}
	for _, w := range s.listed(store.Reverse) {
		peer := dir.Lookup(w)
		if peer == nil {
			continue
		}
		if p, ok := rest.PresenceFor(w); ok {
			peer.ShowPresence(p)
		} else {
			peer.HidePresence(email)
		}
	}
	// The endpoints left, on any node, hear that this one went.
	s.showSelf()
}

// Note implements directory.Peer: a UUN someone sent to the user (or to
// this endpoint) arrives as UBN. A sign-out sent from the user's own other
// endpoint (type 4 "goawyplzthxbye" to one, type 8 "gtfo" to all) then
// ends this session.
func (s *session) Note(n directory.Note) {
	if n.To != "" && n.To != s.Endpoint().ID {
		return
	}
	from := n.From
	if n.FromEndpoint != "" && s.dialect.MachineGUID {
		from += ";" + n.FromEndpoint
	}
	s.send(msnp.Notice("UBN", from, strconv.Itoa(n.Type)).WithPayload(bytes.Clone(n.Payload)))
	if n.From == s.emailOf() && isSignOut(n) {
		s.log.Info().Str("by", n.FromEndpoint).Msg("signed out by another endpoint")
		s.send(msnp.Notice("OUT"))
		s.out.Close()
	}
}

// isSignOut reports whether a UUN from the user's own endpoint asks this
// one to sign out.
func isSignOut(n directory.Note) bool {
	switch n.Type {
	case 4:
		return bytes.HasPrefix(n.Payload, []byte("goawyplzthxbye"))
	case 8:
		return bytes.Equal(bytes.TrimSpace(n.Payload), []byte("gtfo"))
	}
	return false
}

// --- ADL, RML, FQY ---

// lists a client may set with ADL/RML.
var clientLists = []store.List{store.Forward, store.Allow, store.Block}

// readML parses the payload of ADL, RML or FQY. A malformed one is
// answered with its code (240 or 241) and ends the connection, as on the
// official service; so does a client naming RL or PL, which only the
// server keeps, or AL and BL at once.
func (s *session) readML(c *msnp.Command) (msnp.ML, error) {
	m, err := msnp.ParseML(c.Payload)
	var me *msnp.MLError
	if errors.As(err, &me) {
		s.log.Info().Str("command", c.Name).Msg(me.Reason + "; closing the connection")
		return m, s.failClose(c, me.Code)
	}
	for _, ct := range m.Contacts {
		l := store.List(ct.Lists)
		if l&^(store.Forward|store.Allow|store.Block) != 0 || l&(store.Allow|store.Block) == store.Allow|store.Block {
			s.log.Info().Str("command", c.Name).Int("lists", ct.Lists).Msg("list a client may not set; closing the connection")
			return m, s.failClose(c, msnp.ErrInvalidXML)
		}
	}
	return m, nil
}

// messenger reports whether an ADL/RML entry is on this service's only
// network; the others (Yahoo, e-mail, circles) are left alone, as a
// service without them would.
func messenger(ct msnp.MLContact) bool {
	return ct.Network == 0 || ct.Network == msnp.NetworkMessenger
}

// handleADL adds contacts to lists (MSNP13+). The first ADL after sign-in
// (l="1") lists what the client read from the address book, which the
// server already holds: it is acknowledged and nothing changes. Later ones
// are edits. Adding what is already there is no error: Windows Live
// Messenger adds a contact with ADL and again through the address book.
func (s *session) handleADL(c *msnp.Command) error {
	if s.dialect.ListForm != msnp.ListAddressBook {
		return errClose
	}
	m, err := s.readML(c)
	if err != nil {
		return err
	}
	if m.Initial {
		s.reply(c, "OK")
		return nil
	}
	var failed error
	for _, ct := range m.Contacts {
		if !messenger(ct) {
			continue
		}
		for _, l := range clientLists {
			if store.List(ct.Lists)&l == 0 {
				continue
			}
			if s.onList(ct.Email, l) {
				if l == store.Forward {
					s.showContact(ct.Email)
				}
				continue
			}
			name := ""
			if l == store.Forward {
				name = ct.Email
			}
			ch, was, err := s.addToList(ct.Email, l, name, "")
			if errors.Is(err, store.ErrOppositeList) {
				ch, was, err = s.moveAcross(ct.Email, l)
			}
			if errors.Is(err, store.ErrAlreadyOnList) {
				continue
			}
			if err != nil {
				failed = cmp(failed, err)
				continue
			}
			s.afterAdd(nil, ct.Email, l, ch, was)
		}
	}
	if failed != nil {
		return s.storeFail(c, failed)
	}
	s.reply(c, "OK")
	return nil
}

// moveAcross puts handle on l (AL or BL), taking it off the other one
// first. WLM-era clients keep the two apart themselves and do not always
// say RML before ADL (bitlbee blocks with ADL l="4" alone, not knowing its
// ABContactAdd put the contact on AL), so ADL moves the contact, as the
// address book's AddMember does, where MSNP12's ADD answered 219. was is
// whether the user was visible to handle before either step.
func (s *session) moveAcross(handle string, l store.List) (ch store.Change, was bool, err error) {
	s.mu.Lock()
	was = s.visibleToLocked(handle)
	s.mu.Unlock()
	if _, _, err = s.removeFromList(handle, (store.Allow|store.Block)&^l, ""); err != nil && !errors.Is(err, store.ErrNotOnList) {
		return ch, was, err
	}
	ch, _, err = s.addToList(handle, l, "", "")
	return ch, was, err
}

// showContact shows the user the presence of a contact already on the
// FL. Windows Live Messenger and Pidgin add a contact through the address
// book first (ABContactAdd) and tell the notification server with ADL
// after; reload shows the contact when the book changes (at every
// endpoint), or else the ADL does. A contact the client was already told
// of is not told again.
func (s *session) showContact(handle string) {
	s.mu.Lock()
	shown := s.roster.shown(handle)
	s.mu.Unlock()
	if shown {
		return
	}
	if peer := s.srv.cfg.Directory.Lookup(handle); peer != nil {
		if p, ok := peer.PresenceFor(s.emailOf()); ok {
			s.showPresence(p, nil)
		}
	}
}

// handleRML takes contacts off lists (MSNP13+); what is not there is
// skipped.
func (s *session) handleRML(c *msnp.Command) error {
	if s.dialect.ListForm != msnp.ListAddressBook {
		return errClose
	}
	m, err := s.readML(c)
	if err != nil {
		return err
	}
	var failed error
	for _, ct := range m.Contacts {
		if !messenger(ct) {
			continue
		}
		for _, l := range clientLists {
			if store.List(ct.Lists)&l == 0 || !s.onList(ct.Email, l) {
				continue
			}
			_, tell, err := s.removeFromList(ct.Email, l, "")
			if err != nil {
				if !errors.Is(err, store.ErrNotOnList) {
					failed = cmp(failed, err)
				}
				continue
			}
			tell()
		}
	}
	if failed != nil {
		return s.storeFail(c, failed)
	}
	s.reply(c, "OK")
	return nil
}

// cmp keeps the first error.
func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func (s *session) onList(handle string, l store.List) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roster.lists(handle)&l != 0
}

// handleFQY tells which network contacts are on (MSNP14+): Messenger for
// those with an account here. Pidgin asks in batches; a question about
// nobody known is 208.
func (s *session) handleFQY(c *msnp.Command) error {
	if !s.dialect.FQY {
		return errClose
	}
	m, err := s.readML(c)
	if err != nil {
		return err
	}
	var found msnp.ML
	for _, ct := range m.Contacts {
		if _, err := s.srv.cfg.Store.Account(s.srv.ctx(), ct.Email); err == nil {
			found.Contacts = append(found.Contacts, msnp.MLContact{Email: ct.Email, Network: msnp.NetworkMessenger})
		}
	}
	if len(found.Contacts) == 0 {
		return s.fail(c, msnp.ErrInvalidPrincipal)
	}
	s.send(msnp.New("FQY", c.TrID).WithPayload(found.Marshal()))
	return nil
}

// --- notices ---

// notifyBook tells the client that its address book changed on the
// server, so that it reads it again (NOT with an ABCHInternal
// notification, MSNP13+).
func (s *session) notifyBook() {
	s.mu.Lock()
	email, cid := s.email, s.cid
	s.mu.Unlock()
	id := memberID(email)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<NOTIFICATION id="0" siteid="45705" siteurl="http://contacts.msn.com"><TO pid="0x%08x:0x%08x" name="`,
		uint32(id), uint32(id>>32))
	xml.EscapeText(&b, []byte(email))
	b.WriteString(`"><VIA agent="messenger"/></TO><MSG id="0"><SUBSCR url="s.htm"/><ACTION url="a.htm"/><BODY>`)
	body := fmt.Sprintf(`<NotificationData xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`+
		`<Service>ABCHInternal</Service><CID>%d</CID><LastModifiedDate>%s</LastModifiedDate><HasNewItem>false</HasNewItem></NotificationData>`,
		cid, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	xml.EscapeText(&b, []byte(body))
	b.WriteString(`</BODY></MSG></NOTIFICATION>`)
	s.send(msnp.Notice("NOT").WithPayload(b.Bytes()))
}

// reload re-reads what BookChanged says changed; tell is whether this
// endpoint tells the watchers (one endpoint does, for all of them).
func (s *session) reload(contact string, tell bool) {
	ctx, st := s.srv.ctx(), s.srv.cfg.Store
	before := s.watchersView()
	if contact == "" {
		acct, err1 := st.Account(ctx, s.emailOf())
		cs, _, err2 := st.Contacts(ctx, s.emailOf())
		if err := errors.Join(err1, err2); err != nil {
			s.log.Error().Err(err).Msg("re-reading the list failed")
			return
		}
		s.mu.Lock()
		s.privacy, s.promptOnAdd, s.listVersion = acct.Privacy, acct.PromptOnAdd, acct.ListVersion
		var shown []string
		for i := range s.roster.entries {
			if s.roster.entries[i].shown {
				shown = append(shown, s.roster.entries[i].email())
			}
		}
		s.roster.fill(cs)
		for _, email := range shown {
			s.roster.setShown(email, true) // still told; a contact gone from the list stays gone
		}
		s.mu.Unlock()
	} else {
		contact = strings.ToLower(contact)
		l, err := st.Listed(ctx, s.emailOf(), contact)
		if err != nil {
			s.log.Error().Err(err).Msg("re-reading a list entry failed")
			return
		}
		s.mu.Lock()
		s.roster.set(contact, l)
		s.mu.Unlock()
	}
	if tell {
		s.tellChangedViews(before)
	}
	if s.dialect.ListForm == msnp.ListAddressBook {
		s.notifyBook()
	}
	for _, email := range s.unshown(contact) {
		s.showContact(email)
	}
}

// unshown lists the FL contacts (only contact, unless it is "") the
// client has not been told are online. A contact added to the address
// book at another endpoint is on the FL here from reload on, with no ADL
// of this endpoint's to show it: reload shows it (showContact; someone
// hidden or not letting the user in stays unseen).
func (s *session) unshown(contact string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.online {
		return nil
	}
	var out []string
	for email := range s.roster.on(store.Forward) {
		if (contact == "" || email == contact) && !s.roster.shown(email) {
			out = append(out, email)
		}
	}
	return out
}

// handleUUN sends a notice to a user's endpoints (MSNP13+): "UUN t
// email[;{guid}] type len". Someone offline, hidden or not letting the
// user in is 217, alike; the user's own endpoints may always be reached
// (that is how one signs the others out).
func (s *session) handleUUN(c *msnp.Command) error {
	if !s.dialect.UUN {
		return errClose
	}
	email, _, endpoint := msnp.ParseHandle(c.Param(0))
	email = strings.ToLower(email)
	kind, err := strconv.Atoi(c.Param(1))
	if !validHandle(email) || err != nil || kind < 0 {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	to := ""
	if endpoint != "" {
		if to, _ = msnp.NormalizeGUID(endpoint); to == "" {
			return s.fail(c, msnp.ErrInvalidParameter)
		}
	}
	me := s.emailOf()
	peer := s.srv.cfg.Directory.Lookup(email)
	if peer == nil {
		return s.fail(c, msnp.ErrNotOnline)
	}
	if email != me {
		if p, ok := peer.PresenceFor(me); !ok || p.Status == directory.Hidden {
			return s.fail(c, msnp.ErrNotOnline)
		}
	}
	n := directory.Note{From: me, FromEndpoint: s.Endpoint().ID, To: to, Type: kind, Payload: bytes.Clone(c.Payload)}
	s.reply(c, "OK")
	for _, p := range s.srv.cfg.Directory.Endpoints(email) {
		if p != directory.Peer(s) {
			p.Note(n)
		}
	}
	return nil
}

// handleUUM takes a message through the NS (MSNP14+). Only MSNP18 uses it
// for Messenger contacts, to leave an offline message (bitlbee 3.2 sends
// every message to an offline contact this way): "UUM t email 1 1 len" with
// a text/plain MIME message. It is kept like any offline message; other
// networks and types, which this service does not have, are ignored, with
// no reply, as on success.
func (s *session) handleUUM(c *msnp.Command) error {
	if !s.dialect.UUM {
		return errClose
	}
	email := strings.ToLower(c.Param(0))
	if c.Param(1) != "1" || c.Param(2) != "1" || !validHandle(email) {
		return nil
	}
	msg, err := message.Parse(c.Payload)
	if err != nil {
		return nil
	}
	if typ, _ := msg.ContentType(); !strings.EqualFold(typ, "text/plain") {
		return nil
	}
	me := s.emailOf()
	s.mu.Lock()
	name := s.presence.FriendlyName
	s.mu.Unlock()
	// The mailbox's rule: someone who blocks the user (or lets only their
	// AL in) gets nothing, and the sender is not told.
	if _, err := s.srv.mailbox().Leave(s.srv.ctx(), store.OfflineMessage{
		To: email, From: me, FromName: name, ContentType: "text/plain; charset=UTF-8", Body: msg.Body,
	}); err != nil {
		s.log.Info().Err(err).Str("to", email).Msg("offline message not kept")
	}
	return nil
}

// Group chats (circles, MSNP18) are not part of this service: the
// commands get what a server without them answers, so clients carry on.

// handlePUT answers a circle's presence publication.
func (s *session) handlePUT(c *msnp.Command) error {
	if !s.dialect.Circles {
		return errClose
	}
	s.send(msnp.New("PUT", c.TrID, "OK").WithPayload([]byte{}))
	return nil
}

// handleDEL answers a circle's removal: there is nothing to remove.
func (s *session) handleDEL(c *msnp.Command) error {
	if !s.dialect.Circles {
		return errClose
	}
	s.reply(c, "OK")
	return nil
}

// handleQuiet takes SDG (a circle's message) and VAS (a report) without a
// reply: there is no circle to send to and nobody to report to.
func (s *session) handleQuiet(c *msnp.Command) error {
	if !s.dialect.Circles {
		return errClose
	}
	return nil
}

// handleSignedInUSR answers USR after sign-in: MSNP18's "USR t SHA A
// ticket" presents the group-chat ticket of the address book, which this
// service does not issue; it is accepted, with no circles to follow. Any
// other USR is out of order.
func (s *session) handleSignedInUSR(c *msnp.Command) error {
	if s.dialect.Circles && c.Param(0) == "SHA" && c.Param(1) == "A" {
		s.reply(c, "OK", s.emailOf(), "0", "0")
		return nil
	}
	return s.fail(c, msnp.ErrAlreadyLoggedIn)
}
