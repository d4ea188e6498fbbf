package client

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// nsSession is one signed-in (or signing-in) connection to a notification
// server. Its handler runs on the connection's read goroutine and keeps the
// client's contact list and presence up to date.
type nsSession struct {
	cl *Client
	c  *conn
	d  *msnp.Dialect // set on the read goroutine when VER is answered

	mu        sync.Mutex
	sync      *listSync
	seen      map[string]bool // contacts whose presence this session reported
	loggedIn  bool
	pingEvery time.Duration
}

// listSync follows a SYN dump until it is complete.
type listSync struct {
	trid             uint32
	contacts, groups int // announced counts (MSNP8+), -1 if none
	gotC, gotG       int
	done             chan struct{}
	finished         bool
}

// clientVersions are the client versions CVR names for MSNP8–12: those of
// the MSN Messenger releases that spoke them.
var clientVersions = map[msnp.Version]string{
	8: "5.0.0544", 9: "6.0.0602", 10: "6.2.0205", 11: "7.0.0816", 12: "7.5.0324",
	13: "8.0.0787", 14: "8.0.0812", 15: "8.5.1302", 16: "14.0.8117.0416", 17: "14.0.8117.0416", 18: "14.0.8117.0416",
}

const maxRedirects = 5

// connect signs in: dispatch server, referral to a notification server,
// authentication, list synchronisation, initial status.
func (cl *Client) connect(ctx context.Context) (*nsSession, error) {
	addr := cl.cfg.Server
	for range maxRedirects + 1 {
		s, next, err := cl.signIn(ctx, addr)
		if err != nil {
			return nil, err
		}
		if next == "" {
			return s, nil
		}
		cl.log.Debug().Str("from", addr).Str("to", next).Msg("referred to another server")
		addr = next
	}
	return nil, fmt.Errorf("client: more than %d referrals (XFR NS) in a row: %w", maxRedirects, ErrProtocol)
}

// signIn runs the login sequence at one server. It returns the referral
// address when the server sends the client elsewhere (XFR NS).
func (cl *Client) signIn(ctx context.Context, addr string) (s *nsSession, next string, err error) {
	nc, err := dial(ctx, cl.cfg.Dialer, addr)
	if err != nil {
		return nil, "", fmt.Errorf("client: cannot reach %s: %w", addr, err)
	}
	c := newConn(nc, "NS", cl.log, cl.cfg.RequestTimeout, cl.cfg.RequestTimeout)
	s = &nsSession{cl: cl, c: c, seen: map[string]bool{}}
	c.handle = s.handle
	c.unhandled = s.unhandled
	c.start()
	ok := false
	defer func() {
		if !ok {
			c.closeWait(ErrClosed)
		}
	}()
	cfg := &cl.cfg

	// Version.
	vers := make([]string, 0, cfg.Version-cfg.MinVersion+2)
	for v := cfg.Version; v >= cfg.MinVersion; v-- {
		vers = append(vers, v.String())
	}
	vers = append(vers, msnp.CVR0)
	r, err := c.call(ctx, msnp.New("VER", 0, vers...), nil)
	if err != nil {
		var code msnp.ErrorCode
		switch {
		case errors.As(err, &code):
			return nil, "", fmt.Errorf("%w (offered %s to %s to %s): %w", ErrVersionRefused, cfg.MinVersion, cfg.Version, addr, err)
		case ctx.Err() == nil && c.closing() != nil:
			return nil, "", fmt.Errorf("%w (offered %s to %s to %s, which hung up): %w: %w",
				ErrVersionRefused, cfg.MinVersion, cfg.Version, addr, errHungUp, err)
		}
		return nil, "", fmt.Errorf("client: %s: %w", addr, err)
	}
	if s.d == nil {
		return nil, "", fmt.Errorf("%w (offered %s to %s, %s answered %q)", ErrVersionRefused, cfg.MinVersion, cfg.Version, addr, r.String())
	}
	d := s.d

	// Authentication method / client version.
	if d.INF {
		r, err = c.call(ctx, msnp.New("INF", 0), nil)
		if err != nil {
			return nil, "", fmt.Errorf("client: INF at %s: %w", addr, err)
		}
		if !hasParam(r.Params, "MD5") {
			return nil, "", fmt.Errorf("client: %s offers no MD5 sign-in (INF %s): %w", addr, strings.Join(r.Params, " "), ErrProtocol)
		}
	} else {
		_, err = c.call(ctx, msnp.New("CVR", 0, "0x0409", "winnt", "5.1", "i386", "MSNMSGR",
			clientVersions[d.Version], "MSMSGS", cfg.Email), nil)
		if err != nil {
			return nil, "", fmt.Errorf("client: CVR at %s: %w", addr, err)
		}
	}

	method := string(d.Auth)
	r, err = c.call(ctx, msnp.New("USR", 0, method, "I", cfg.Email), expect("USR", "XFR"))
	if err != nil {
		return nil, "", loginError(cfg.Email, err)
	}
	if r.Name == "XFR" {
		if r.Param(0) != "NS" || r.Param(1) == "" {
			return nil, "", fmt.Errorf("client: %s answered %q: %w", addr, r.String(), ErrProtocol)
		}
		c.send(msnp.Notice("OUT"))
		return nil, r.Param(1), nil
	}
	if r.Param(0) != method || r.Param(1) != "S" || r.Param(2) == "" {
		return nil, "", fmt.Errorf("client: %s answered %q: %w", addr, r.String(), ErrProtocol)
	}
	var answer []string
	switch {
	case d.Auth == msnp.AuthMD5:
		answer = []string{auth.MD5Digest(r.Param(2), cfg.Password)}
	case d.ListForm == msnp.ListAddressBook:
		if answer, err = cl.liveAnswer(ctx, d, r); err != nil {
			return nil, "", err
		}
	default:
		t, err := passportTicket(ctx, cl.passportClient(), cfg.Passport, cfg.Email, cfg.Password, r.Param(2))
		if err != nil {
			return nil, "", err
		}
		answer = []string{t}
	}
	r, err = c.call(ctx, msnp.New("USR", 0, append([]string{method, "S"}, answer...)...), nil)
	if err != nil {
		return nil, "", loginError(cfg.Email, err)
	}
	if r.Param(0) != "OK" {
		return nil, "", fmt.Errorf("client: %s answered %q: %w", addr, r.String(), ErrProtocol)
	}
	cl.mu.Lock()
	if r.Param(1) != "" {
		cl.self.Email = r.Param(1)
	}
	if d.USROKFriendly && r.Param(2) != "" {
		cl.self.FriendlyName = msnp.DecodeParam(r.Param(2))
	}
	status := cl.self.Status
	cl.mu.Unlock()
	if status == Offline {
		status = cfg.Status
	}

	// Contact list: from the address book (MSNP13+), or SYN.
	if d.ListForm == msnp.ListAddressBook {
		if err := s.syncAddressBook(ctx); err != nil {
			return nil, "", err
		}
	} else if err := s.syn(ctx); err != nil {
		return nil, "", err
	}

	// Initial status; the server answers with the presence of the online
	// contacts. A ping after it marks the end of that burst.
	if _, err = c.call(ctx, s.chg(status), nil); err != nil {
		return nil, "", fmt.Errorf("client: setting the initial status: %w", err)
	}
	if err = c.ping(ctx); err != nil {
		return nil, "", fmt.Errorf("client: ping after sign-in: %w", err)
	}
	s.finishLogin()
	ok = true
	cl.log.Info().Str("server", addr).Stringer("version", d.Version).Msg("signed in")
	return s, "", nil
}

// syn reads the contact list with SYN (MSNP2–12) and waits for all of it.
func (s *nsSession) syn(ctx context.Context) error {
	c, d := s.c, s.d
	sy := &listSync{contacts: -1, groups: -1, done: make(chan struct{})}
	s.mu.Lock()
	s.sync = sy
	s.mu.Unlock()
	syn := msnp.New("SYN", 0, "0")
	if d.SYNTimestamps {
		syn = msnp.New("SYN", 0, "0", "0")
	}
	if _, err := c.call(ctx, syn, nil); err != nil {
		return fmt.Errorf("client: list synchronisation: %w", err)
	}
	select {
	case <-sy.done:
	case <-c.done:
		return fmt.Errorf("client: list synchronisation: %w", c.Err())
	case <-ctx.Done():
		return fmt.Errorf("client: list synchronisation did not complete: %w", ctx.Err())
	}
	return nil
}

func loginError(email string, err error) error {
	var code msnp.ErrorCode
	if errors.As(err, &code) {
		switch code {
		case msnp.ErrAuthFailed:
			return fmt.Errorf("client: sign-in as %s refused: wrong e-mail address or password: %w", email, err)
		case msnp.ErrAuthFailed2, msnp.ErrBadTicket:
			return fmt.Errorf("client: sign-in as %s refused: %w (%w)", email, msnp.ErrAuthFailed, err)
		}
	}
	return fmt.Errorf("client: sign-in as %s: %w", email, err)
}

func hasParam(params []string, v string) bool {
	for _, p := range params {
		if p == v {
			return true
		}
	}
	return false
}

// chg is the CHG command for status in this dialect: with the client's
// capabilities from MSNP8, and its display picture from MSNP9.
func (s *nsSession) chg(st Status) *msnp.Command {
	if !s.d.Capabilities {
		return msnp.New("CHG", 0, string(st))
	}
	caps := msnp.FormatCaps(s.cl.cfg.Capabilities|p2pCapabilities(s.d), p2pCapabilitiesEx(s.d), s.d)
	if obj := s.cl.p2p.presenceObject(); s.d.MSNObject && obj != "" {
		return msnp.New("CHG", 0, string(st), caps, obj)
	}
	return msnp.New("CHG", 0, string(st), caps)
}

// finishLogin ends the sign-in: contacts that were online before a
// reconnection and did not show up again are now offline.
func (s *nsSession) finishLogin() {
	cl := s.cl
	s.mu.Lock()
	s.loggedIn = true
	// A copy: the reader goroutine goes on writing s.seen (onPresence,
	// under s.mu only) while the loop below reads it under cl.mu.
	seen := maps.Clone(s.seen)
	s.mu.Unlock()
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for k, ct := range cl.list.contacts {
		if ct.Status != Offline && !seen[k] {
			ct.Status = Offline
			cl.emit(ct.presence())
		}
	}
}

// keepAlive pings the server; a missing answer ends the connection.
func (s *nsSession) keepAlive() {
	every := s.cl.cfg.PingInterval
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.c.done:
			return
		}
		ctx, cancel := context.WithTimeout(s.cl.ctx, s.cl.cfg.RequestTimeout)
		err := s.c.ping(ctx)
		cancel()
		if err != nil {
			if s.cl.ctx.Err() == nil && s.c.Err() == nil {
				s.c.close(ErrPingTimeout)
			}
			return
		}
		s.mu.Lock()
		next := every
		if s.pingEvery > 0 && s.pingEvery < next {
			next = s.pingEvery
		}
		s.mu.Unlock()
		t.Reset(next)
	}
}

// handle interprets a command from the notification server. It runs on the
// read goroutine, before the command reaches a waiting request.
func (s *nsSession) handle(cmd *msnp.Command) bool {
	cl := s.cl
	switch cmd.Name {
	case "VER":
		s.onVER(cmd)
	case "INF", "CVR", "USR", "XFR", "QRY", "UUX", "SBP", "URL", "GCF", "BLP", "GTC", "SBS", "ADG", "RMG", "REG", "SND", "IMS":
		// Replies (or notices) whose content the requester uses, or that
		// change nothing the client keeps.
	case "CHL":
		if ch := cmd.Param(0); ch != "" {
			cl.wg.Add(1)
			go func() {
				defer cl.wg.Done()
				s.answerChallenge(ch)
			}()
		}
	case "QNG":
		if n, err := strconv.Atoi(cmd.Param(0)); err == nil && n > 0 {
			s.mu.Lock()
			s.pingEvery = time.Duration(n) * time.Second
			s.mu.Unlock()
		}
	case "OUT":
		s.c.close(outError(cmd.Param(0)))
	case "MSG":
		return s.onMSG(cmd)
	case "SYN":
		s.onSYN(cmd)
	case "LSG":
		s.onLSG(cmd)
	case "LST":
		s.onLST(cmd)
	case "PRP":
		s.onPRP(cmd)
	case "BPR":
		// Contact phone numbers: not kept.
	case "ADD", "ADC":
		s.onAdd(cmd)
	case "REM":
		s.onRem(cmd)
	case "REA":
		s.onREA(cmd)
	case "CHG":
		if st := Status(cmd.Param(0)); st.Valid() {
			cl.mu.Lock()
			cl.self.Status = st
			cl.mu.Unlock()
		}
	case "ILN", "NLN":
		// ST handle [network] friendly [caps [msnobj]]
		email, rest := s.handleOf(cmd.Params[min(len(cmd.Params), 1):])
		caps, _, _ := msnp.ParseCaps(param(rest, 1)) // absent before MSNP8: 0
		s.onPresence(cmd.Param(0), email, param(rest, 0), caps, true)
		if s.d.MSNObject {
			s.onObject(email, presenceObject(rest[min(len(rest), 2):]))
		}
	case "FLN":
		email, _ := s.handleOf(cmd.Params)
		s.onPresence(string(Offline), email, "", 0, false)
	case "UBX":
		s.onUBX(cmd)
	case "ADL", "RML":
		s.onML(cmd)
	case "NOT":
		return s.onNOT(cmd)
	case "RNG":
		cl.wg.Add(1)
		go func() {
			defer cl.wg.Done()
			cl.answerRing(cmd)
		}()
	default:
		return false
	}
	return true
}

// unhandled passes on what the client does not interpret.
func (s *nsSession) unhandled(cmd *msnp.Command) {
	s.cl.emit(&ServerCommand{Command: cmd})
}

func outError(reason string) error {
	switch reason {
	case "OTH":
		return ErrSignedInElsewhere
	case "SSD":
		return ErrServerShutdown
	case "":
		return ErrConnectionLost
	}
	return fmt.Errorf("%w (OUT %s)", ErrConnectionLost, reason)
}

// onVER picks the version from the server's answer. Servers answer one
// version, or (some) every acceptable one; the highest offered wins.
func (s *nsSession) onVER(cmd *msnp.Command) {
	if s.d != nil {
		return
	}
	v, _ := msnp.Negotiate(cmd.Params, s.cl.cfg.MinVersion, s.cl.cfg.Version)
	if v == 0 {
		return
	}
	s.d = v.Dialect()
	s.c.r.Version = v
}

func (s *nsSession) answerChallenge(ch string) {
	id, answer, ok := auth.AnswerChallenge(int(s.d.Version), ch)
	if !ok {
		s.cl.log.Warn().Str("challenge", ch).Msg("no product key to answer a challenge")
		return
	}
	ctx, cancel := context.WithTimeout(s.cl.ctx, s.cl.cfg.RequestTimeout)
	defer cancel()
	q := msnp.New("QRY", 0, id).WithPayload([]byte(answer))
	if _, err := s.c.call(ctx, q, nil); err != nil && s.c.Err() == nil {
		s.cl.log.Warn().Err(err).Msg("challenge answer refused")
	}
}

// onMSG handles messages from the server itself ("MSG Hotmail Hotmail").
// The initial profile is consumed; the rest is passed on.
func (s *nsSession) onMSG(cmd *msnp.Command) bool {
	m, err := message.Parse(cmd.Payload)
	if err != nil {
		return false
	}
	if md := mailData(m); md != "" && s.d.OIM {
		cl := s.cl
		cl.wg.Add(1)
		go func() {
			defer cl.wg.Done()
			cl.readOfflineMessages(md)
		}()
		return true
	}
	return m.Kind() == message.KindProfile
}

func (s *nsSession) onSYN(cmd *msnp.Command) {
	s.mu.Lock()
	sy := s.sync
	s.mu.Unlock()
	if sy == nil || sy.finished {
		return
	}
	sy.trid = cmd.TrID
	cl := s.cl
	cl.mu.Lock()
	// A new dump replaces the lists; presence is kept so that a
	// reconnection reports only what changed.
	for _, ct := range cl.list.contacts {
		ct.Lists, ct.Groups = 0, nil
	}
	cl.list.groups, cl.list.order = map[string]*Group{}, nil
	cl.mu.Unlock()

	p := cmd.Params
	switch s.d.ListForm {
	case msnp.ListNumbered:
		// "SYN trid ver": lists follow unless the version is the one asked.
		if len(p) >= 1 && p[0] == "0" {
			s.endSync(sy)
		}
	case msnp.ListCompact:
		// "SYN trid ver contacts groups", or "SYN trid ver" when current.
		if len(p) >= 3 {
			sy.contacts, _ = strconv.Atoi(p[1])
			sy.groups, _ = strconv.Atoi(p[2])
		}
		s.checkSync(sy)
	default:
		// "SYN trid ts1 ts2 contacts groups".
		if len(p) >= 4 {
			sy.contacts, _ = strconv.Atoi(p[2])
			sy.groups, _ = strconv.Atoi(p[3])
		}
		s.checkSync(sy)
	}
}

func (s *nsSession) checkSync(sy *listSync) {
	if sy.contacts < 0 || sy.gotC >= sy.contacts && sy.gotG >= sy.groups {
		s.endSync(sy)
	}
}

func (s *nsSession) endSync(sy *listSync) {
	if sy.finished {
		return
	}
	sy.finished = true
	cl := s.cl
	cl.mu.Lock()
	for _, ct := range cl.list.contacts {
		if ct.Lists == 0 {
			delete(cl.list.contacts, key(ct.Email))
		}
	}
	cl.mu.Unlock()
	close(sy.done)
}

func (s *nsSession) activeSync() *listSync {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sync == nil || s.sync.finished {
		return nil
	}
	return s.sync
}

// onLSG reads a group: "LSG trid ver idx total id name 0" (MSNP7),
// "LSG id name 0" (MSNP8–9), "LSG name guid" (MSNP10+).
func (s *nsSession) onLSG(cmd *msnp.Command) {
	p := cmd.Params
	var id, name string
	switch {
	case s.d.ListForm == msnp.ListNumbered:
		if len(p) < 5 {
			return
		}
		id, name = p[3], p[4]
	case s.d.GroupGUIDs:
		if len(p) < 2 {
			return
		}
		name, id = p[0], p[1]
	default:
		if len(p) < 2 {
			return
		}
		id, name = p[0], p[1]
	}
	cl := s.cl
	cl.mu.Lock()
	cl.list.addGroup(id, msnp.DecodeParam(name))
	cl.mu.Unlock()
	if sy := s.activeSync(); sy != nil && s.d.ListForm != msnp.ListNumbered {
		sy.gotG++
		s.checkSync(sy)
	}
}

// onLST reads a contact of the dump, in any of its three shapes.
func (s *nsSession) onLST(cmd *msnp.Command) {
	p := cmd.Params
	cl := s.cl
	switch s.d.ListForm {
	case msnp.ListNumbered:
		// LST trid LIST ver idx total [handle friendly [groups]]
		if len(p) < 4 {
			return
		}
		list, ok := listByName(p[0])
		if !ok {
			return
		}
		if len(p) >= 6 {
			cl.mu.Lock()
			ct := cl.list.get(p[4])
			ct.Lists |= list
			if list == Forward {
				ct.FriendlyName = msnp.DecodeParam(p[5])
				if len(p) >= 7 {
					ct.Groups = splitGroups(p[6])
				}
			} else if ct.FriendlyName == "" {
				ct.FriendlyName = msnp.DecodeParam(p[5])
			}
			cl.mu.Unlock()
		}
		if list == Reverse && p[2] == p[3] {
			if sy := s.activeSync(); sy != nil {
				s.endSync(sy)
			}
		}
		return
	case msnp.ListCompact:
		// LST handle friendly bits [groups]
		if len(p) < 3 {
			return
		}
		bits, _ := strconv.Atoi(p[2])
		cl.mu.Lock()
		ct := cl.list.get(p[0])
		ct.FriendlyName = msnp.DecodeParam(p[1])
		ct.Lists = List(bits)
		if len(p) >= 4 {
			ct.Groups = splitGroups(p[3])
		}
		cl.mu.Unlock()
	default:
		// LST N=handle F=friendly C=guid bits [network] [groups]
		var email, friendly, guid string
		rest := p[:0:0]
		for _, x := range p {
			switch {
			case strings.HasPrefix(x, "N="):
				email = x[2:]
			case strings.HasPrefix(x, "F="):
				friendly = x[2:]
			case strings.HasPrefix(x, "C="):
				guid = x[2:]
			default:
				rest = append(rest, x)
			}
		}
		if email == "" || len(rest) == 0 {
			return
		}
		bits, _ := strconv.Atoi(rest[0])
		rest = rest[1:]
		if s.d.LSTNetworkID && len(rest) > 0 && !strings.Contains(rest[0], "-") {
			rest = rest[1:]
		}
		cl.mu.Lock()
		ct := cl.list.get(email)
		if friendly != "" {
			ct.FriendlyName = msnp.DecodeParam(friendly)
		}
		ct.GUID = guid
		ct.Lists = List(bits)
		if len(rest) > 0 {
			ct.Groups = splitGroups(rest[0])
		}
		cl.mu.Unlock()
	}
	if sy := s.activeSync(); sy != nil {
		sy.gotC++
		s.checkSync(sy)
	}
}

// onPRP reads a user property; only the friendly name (MSNP10+) is kept.
// Forms: "PRP trid ver KEY value", "PRP KEY value", "PRP trid KEY value".
func (s *nsSession) onPRP(cmd *msnp.Command) {
	p := cmd.Params
	for len(p) > 0 && isNumber(p[0]) {
		p = p[1:]
	}
	if len(p) >= 2 && p[0] == "MFN" {
		s.cl.mu.Lock()
		s.cl.self.FriendlyName = msnp.DecodeParam(p[1])
		s.cl.mu.Unlock()
	}
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// onAdd reads a list addition: the reply to ADD/ADC, or the server telling
// that someone added you (RL).
//
//	ADD trid LIST ver handle friendly [group]     (MSNP2–9)
//	ADC trid LIST N=handle [F=friendly] [C=guid] [group]  (MSNP10+)
//	ADC trid FL C=guid group                      (MSNP10+, into a group)
func (s *nsSession) onAdd(cmd *msnp.Command) {
	p := cmd.Params
	if len(p) < 2 {
		return
	}
	list, ok := listByName(p[0])
	if !ok {
		return
	}
	var email, friendly, guid, group string
	if cmd.Name == "ADD" {
		if len(p) < 3 {
			return
		}
		email = p[2]
		if len(p) >= 4 {
			friendly = p[3]
		}
		if len(p) >= 5 {
			group = p[4]
		}
	} else {
		for _, x := range p[1:] {
			switch {
			case strings.HasPrefix(x, "N="):
				email = x[2:]
			case strings.HasPrefix(x, "F="):
				friendly = x[2:]
			case strings.HasPrefix(x, "C="):
				guid = x[2:]
			default:
				group = x
			}
		}
	}
	friendly = msnp.DecodeParam(friendly)
	cl := s.cl
	cl.mu.Lock()
	var ct *Contact
	if email == "" && guid != "" {
		ct = cl.list.byGUID(guid)
	} else if email != "" {
		ct = cl.list.get(email)
	}
	if ct == nil {
		cl.mu.Unlock()
		return
	}
	had := ct.Lists.Has(list)
	ct.Lists |= list
	if guid != "" {
		ct.GUID = guid
	}
	// A contact who is signed in keeps the name their presence gave.
	offline := ct.Status == Offline || ct.Status == ""
	if friendly != "" && (list == Forward && offline || ct.FriendlyName == "") {
		ct.FriendlyName = friendly
	}
	if group != "" && list == Forward && s.d.Groups && !hasParam(ct.Groups, group) {
		ct.Groups = append(ct.Groups, group)
	}
	if list == Reverse && !had {
		cl.emit(&ContactAdded{Email: ct.Email, FriendlyName: friendly})
	}
	cl.mu.Unlock()
}

// onRem reads a list removal.
//
//	REM trid LIST ver handle [group]   (MSNP2–9)
//	REM trid FL guid [group]           (MSNP10+)
//	REM trid AL|BL|RL handle           (MSNP10+)
func (s *nsSession) onRem(cmd *msnp.Command) {
	p := cmd.Params
	if len(p) < 2 {
		return
	}
	list, ok := listByName(p[0])
	if !ok {
		return
	}
	id, group := p[1], ""
	if s.d.ListVersions {
		if len(p) < 3 {
			return
		}
		id = p[2]
		if len(p) >= 4 {
			group = p[3]
		}
	} else if len(p) >= 3 {
		group = p[2]
	}
	cl := s.cl
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var ct *Contact
	if strings.Contains(id, "@") {
		ct = cl.list.contacts[key(id)]
	} else {
		ct = cl.list.byGUID(id)
	}
	if ct == nil {
		return
	}
	if group != "" && list == Forward {
		ct.Groups = removeString(ct.Groups, group)
		return
	}
	had := ct.Lists.Has(list)
	ct.Lists &^= list
	if list == Forward {
		// The server tells the presence of forward-list contacts only:
		// what the client knew is stale from now on.
		ct.Groups = nil
		ct.Status, ct.PersonalMessage = Offline, ""
	}
	if list == Reverse && had {
		cl.emit(&ContactRemoved{Email: ct.Email})
	}
	if ct.Lists == 0 {
		delete(cl.list.contacts, key(ct.Email))
	}
}

func removeString(s []string, v string) []string {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// onREA reads a rename: "REA trid ver handle name" (MSNP2–9).
func (s *nsSession) onREA(cmd *msnp.Command) {
	p := cmd.Params
	if len(p) < 3 {
		return
	}
	name := msnp.DecodeParam(p[2])
	cl := s.cl
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if key(p[1]) == key(cl.self.Email) {
		cl.self.FriendlyName = name
	} else if ct := cl.list.contacts[key(p[1])]; ct != nil {
		ct.FriendlyName = name
	}
}

// onPresence reads ILN/NLN ("ST handle friendly [caps …]") and FLN
// ("handle").
func (s *nsSession) onPresence(status, email, friendly string, caps uint32, online bool) {
	st := Status(status)
	if email == "" || !st.Valid() {
		return
	}
	s.mu.Lock()
	s.seen[key(email)] = true
	s.mu.Unlock()
	cl := s.cl
	cl.mu.Lock()
	defer cl.mu.Unlock()
	ct := cl.list.contacts[key(email)]
	if ct == nil {
		// Someone on none of the lists the client knows: tell, but do
		// not keep.
		ct = &Contact{Email: email, Status: Offline}
	}
	changed := ct.Status != st || ct.Capabilities != caps
	ct.Status = st
	if st == Offline {
		cl.p2p.setEndpoints(email, nil)
	}
	ct.Capabilities = caps
	if online && friendly != "" {
		name := msnp.DecodeParam(friendly)
		changed = changed || ct.FriendlyName != name
		ct.FriendlyName = name
	}
	if changed {
		cl.emit(ct.presence())
	}
}

// presenceObject finds the MSNObject among the last parameters of ILN or
// NLN, URL-encoded there; nil when there is none.
func presenceObject(params []string) *p2p.Object {
	for _, p := range params {
		if len(p) > 9 && (strings.EqualFold(p[:9], "%3Cmsnobj") || strings.HasPrefix(p, "<msnobj")) {
			obj, err := p2p.ParseObject(msnp.DecodeParam(p))
			if err == nil {
				return obj
			}
		}
	}
	return nil
}

// onObject records a contact's display picture from their presence and
// tells when it changed.
func (s *nsSession) onObject(email string, obj *p2p.Object) {
	cl := s.cl
	cl.mu.Lock()
	defer cl.mu.Unlock()
	ct := cl.list.contacts[key(email)]
	var old *p2p.Object
	if ct != nil {
		old = ct.DisplayPicture
		ct.DisplayPicture = obj
	}
	if (old == nil) != (obj == nil) || old != nil && old.SHA1D != obj.SHA1D {
		cl.emit(&DisplayPictureChanged{Email: email, Object: obj})
	}
}

// handleOf reads the contact's handle at the start of params in this
// dialect's shape ("bob@x", "bob@x 1" or "1:bob@x") and returns it with
// the parameters after it.
func (s *nsSession) handleOf(params []string) (email string, rest []string) {
	if len(params) == 0 {
		return "", nil
	}
	email, _, _ = msnp.ParseHandle(params[0])
	rest = params[1:]
	if s.d.Handles == msnp.HandleNetworkParam && len(rest) > 0 {
		rest = rest[1:]
	}
	return email, rest
}

// param is params[i], or "" when there are fewer.
func param(params []string, i int) string {
	if i < len(params) {
		return params[i]
	}
	return ""
}

// onUBX reads a personal message: "UBX handle len" + <Data><PSM>…</PSM>…
// (the handle in the dialect's shape). The user's own UBX (MSNP16+) lists
// their endpoints and is not about a contact.
func (s *nsSession) onUBX(cmd *msnp.Command) {
	email, _ := s.handleOf(cmd.Params)
	if email == "" || key(email) == key(s.cl.Self().Email) {
		return
	}
	psm := parsePSM(cmd.Payload)
	cl := s.cl
	cl.p2p.setEndpoints(email, endpointsOf(cmd.Payload))
	cl.mu.Lock()
	defer cl.mu.Unlock()
	ct := cl.list.contacts[key(email)]
	if ct == nil {
		ct = &Contact{Email: email, Status: Offline}
	}
	if ct.PersonalMessage != psm {
		ct.PersonalMessage = psm
		cl.emit(ct.presence())
	}
}

// parsePSM returns the personal message of a UBX/UUX payload.
func parsePSM(data []byte) string {
	var v struct {
		PSM string `xml:"PSM"`
	}
	d := xml.NewDecoder(strings.NewReader(string(data)))
	d.Strict = false
	if err := d.Decode(&v); err != nil && err != io.EOF {
		return ""
	}
	return v.PSM
}

// psmPayload is the UUX payload that sets a personal message.
func psmPayload(text string) []byte {
	var b strings.Builder
	b.WriteString("<Data><PSM>")
	xml.EscapeText(&b, []byte(text))
	b.WriteString("</PSM><CurrentMedia></CurrentMedia></Data>")
	return []byte(b.String())
}
