package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/message"
)

// Participant is someone in a conversation.
type Participant struct {
	Email        string
	FriendlyName string
}

// Conversation is a chat on a switchboard with one or more contacts. It is
// safe for concurrent use.
//
// A conversation outlives its switchboard connection: when the server
// closes it (the contact left, or it was idle), a ConversationClosed event
// is sent and the next Send opens a new switchboard and invites the
// contacts again.
type Conversation struct {
	cl  *Client
	id  uint64
	sem chan struct{} // held while the switchboard is opened or someone is invited

	mu      sync.Mutex
	sb      *conn // nil while closed
	members []Participant
	peers   []string // whom to invite when the conversation is reopened
	changed chan struct{}
	inviter Participant   // who invited us into sb, until ANS OK
	closed  bool          // Close was called
	reached []Participant // members when your last message was written
	// endpoints are the GUIDs of the places others are in sb at (MSNP16+:
	// "email;{guid}" in IRO and JOI); P2P version 2 waits for its peer's.
	endpoints map[string]bool
}

func (cl *Client) newConversation(peers ...string) *Conversation {
	cl.convSeq++
	cv := &Conversation{
		cl:      cl,
		id:      cl.convSeq,
		sem:     make(chan struct{}, 1),
		peers:   peers,
		changed: make(chan struct{}),
	}
	cl.convs[cv] = struct{}{}
	return cv
}

// String names the conversation for logs: "conversation 3 (bob@example.com)".
func (cv *Conversation) String() string {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	names := make([]string, 0, len(cv.members))
	for _, m := range cv.members {
		names = append(names, m.Email)
	}
	if len(names) == 0 {
		names = cv.peers
	}
	return fmt.Sprintf("conversation %d (%s)", cv.id, strings.Join(names, ", "))
}

// Participants returns who is in the conversation now, you excepted, in
// the order they arrived. It is empty while the conversation is closed.
func (cv *Conversation) Participants() []Participant {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	return slices.Clone(cv.members)
}

// Reached returns who was in the conversation, you excepted, when your
// last message was written to the switchboard: those it went to. Someone
// who joins after it was written does not get it, however soon.
func (cv *Conversation) Reached() []Participant {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	return slices.Clone(cv.reached)
}

// Conversation returns the conversation with email alone, opening a
// switchboard and inviting them if there is none (XFR SB, CAL) and waiting
// until they joined. An offline contact gives an error wrapping
// msnp.ErrNotOnline (unless the server keeps what is said to someone
// offline: Nudge's offline.accept_calls). To leave an offline contact a
// message at MSNP13+, use SendOffline or LeaveIfOffline.
func (cl *Client) Conversation(ctx context.Context, email string) (*Conversation, error) {
	ctx, cancel := cl.withTimeout(ctx)
	defer cancel()
	cl.mu.Lock()
	if cl.err != nil {
		err := cl.err
		cl.mu.Unlock()
		return nil, err
	}
	var best *Conversation
	bestLive := false
	for cv := range cl.convs {
		if ok, live := cv.with(email); ok && (best == nil || live && !bestLive || live == bestLive && cv.id > best.id) {
			best, bestLive = cv, live
		}
	}
	if best == nil {
		best = cl.newConversation(email)
	}
	cl.mu.Unlock()
	if _, err := best.ensure(ctx); err != nil {
		return nil, err
	}
	return best, nil
}

// Group opens a conversation with several contacts at once: one
// switchboard, every one of them invited together (CAL), returning as soon
// as the first has joined. The others join as they answer (Joined events)
// or not at all; an offline one is simply not there. It fails only when
// nobody could be invited or nobody joined in time. With one address it is
// a new conversation with that contact alone.
func (cl *Client) Group(ctx context.Context, emails ...string) (*Conversation, error) {
	if len(emails) == 0 {
		return nil, errors.New("client: a conversation needs someone to invite")
	}
	ctx, cancel := cl.withTimeout(ctx)
	defer cancel()
	cl.mu.Lock()
	if cl.err != nil {
		err := cl.err
		cl.mu.Unlock()
		return nil, err
	}
	cv := cl.newConversation(slices.Clone(emails)...)
	cl.mu.Unlock()
	if _, err := cv.ensure(ctx); err != nil {
		cl.mu.Lock()
		delete(cl.convs, cv)
		cl.mu.Unlock()
		return nil, err
	}
	return cv, nil
}

// Conversations returns the conversations that are open or can be
// reopened by sending to them.
func (cl *Client) Conversations() []*Conversation {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	out := make([]*Conversation, 0, len(cl.convs))
	for cv := range cl.convs {
		out = append(out, cv)
	}
	slices.SortFunc(out, func(a, b *Conversation) int { return cmp.Compare(a.id, b.id) })
	return out
}

// with reports whether the conversation is one with email alone, and
// whether it has a switchboard with email in it.
func (cv *Conversation) with(email string) (ok, live bool) {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.closed || len(cv.peers) != 1 || key(cv.peers[0]) != key(email) {
		return false, false
	}
	for _, m := range cv.members {
		if key(m.Email) != key(email) {
			return false, false
		}
	}
	return true, cv.sb != nil && len(cv.members) > 0
}

func (cv *Conversation) lock(ctx context.Context) error {
	select {
	case cv.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("client: %v busy: %w", cv, ctx.Err())
	}
}

func (cv *Conversation) tryLock() bool {
	select {
	case cv.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

func (cv *Conversation) unlock() { <-cv.sem }

// broadcast wakes everyone waiting for a change of members. cv.mu is held.
func (cv *Conversation) broadcast() {
	close(cv.changed)
	cv.changed = make(chan struct{})
}

// ensure returns a switchboard with at least one other participant,
// opening a new one and inviting the peers again if needed.
func (cv *Conversation) ensure(ctx context.Context) (*conn, error) {
	if err := cv.lock(ctx); err != nil {
		return nil, err
	}
	defer cv.unlock()
	cv.mu.Lock()
	if cv.closed {
		cv.mu.Unlock()
		return nil, ErrConversationClosed
	}
	sb, present, peers := cv.sb, len(cv.members) > 0, slices.Clone(cv.peers)
	cv.mu.Unlock()
	if sb != nil && present {
		return sb, nil
	}
	if len(peers) == 0 {
		return nil, fmt.Errorf("client: %v has nobody to invite: %w", cv, ErrConversationClosed)
	}
	fresh := sb == nil
	if fresh {
		var err error
		if sb, err = cv.cl.openSwitchboard(ctx, cv); err != nil {
			return nil, err
		}
	}
	var callErr error
	called := 0
	for _, p := range peers {
		_, err := sb.call(ctx, msnp.New("CAL", 0, p), nil)
		if err == nil || errors.Is(err, msnp.ErrAlreadyThere) {
			called++
			continue
		}
		if callErr == nil {
			callErr = fmt.Errorf("client: inviting %s: %w", p, err)
		}
	}
	if called == 0 {
		// Nobody to talk to: leave rather than keep an empty switchboard.
		cv.detach(sb)
		return nil, callErr
	}
	if err := cv.waitMembers(ctx, sb, func() bool { return len(cv.members) > 0 }); err != nil {
		if fresh {
			cv.detach(sb)
		}
		return nil, fmt.Errorf("client: waiting for %s to join: %w", strings.Join(peers, ", "), err)
	}
	if fresh {
		// A conversation the client forgot when its switchboard closed
		// (a group one) is live again: Close and the client's own Close
		// must find it to leave its switchboard.
		cl := cv.cl
		cl.mu.Lock()
		if cl.err == nil {
			cl.convs[cv] = struct{}{}
		}
		cl.mu.Unlock()
	}
	return sb, nil
}

// waitMembers waits until cond (called with cv.mu held) holds.
func (cv *Conversation) waitMembers(ctx context.Context, sb *conn, cond func() bool) error {
	for {
		cv.mu.Lock()
		ok, ch, cur := cond(), cv.changed, cv.sb
		cv.mu.Unlock()
		if ok {
			return nil
		}
		if cur != sb {
			return ErrConnectionLost
		}
		select {
		case <-ch:
		case <-sb.done:
			return sb.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// detach closes a switchboard the conversation no longer wants, without a
// ConversationClosed event.
func (cv *Conversation) detach(sb *conn) {
	cv.mu.Lock()
	if cv.sb == sb {
		cv.sb = nil
		cv.members = nil
		cv.endpoints = nil
		cv.broadcast()
	}
	cv.mu.Unlock()
	sb.send(msnp.Notice("OUT"))
	sb.closeWait(ErrConversationClosed)
}

// attach makes sb the conversation's switchboard, closing a previous one.
func (cv *Conversation) attach(sb *conn) {
	cv.mu.Lock()
	old := cv.sb
	cv.sb = sb
	cv.members = nil
	cv.endpoints = nil
	cv.broadcast()
	cv.mu.Unlock()
	if old != nil && old != sb {
		old.send(msnp.Notice("OUT"))
		old.close(ErrConversationClosed)
	}
}

// openSwitchboard asks the notification server for a switchboard (XFR SB)
// and signs in to it.
func (cl *Client) openSwitchboard(ctx context.Context, cv *Conversation) (*conn, error) {
	s, err := cl.session(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.c.call(ctx, msnp.New("XFR", 0, "SB"), nil)
	if err != nil {
		return nil, fmt.Errorf("client: asking for a switchboard: %w", err)
	}
	// XFR trid SB host:port CKI cookie
	if r.Param(0) != "SB" || r.Param(1) == "" || r.Param(3) == "" {
		return nil, fmt.Errorf("client: switchboard referral %q: %w", r.String(), ErrProtocol)
	}
	sb, err := cl.dialSwitchboard(ctx, cv, r.Param(1))
	if err != nil {
		return nil, err
	}
	cv.attach(sb)
	r, err = sb.call(ctx, msnp.New("USR", 0, s.sbHandle(), r.Param(3)), nil)
	if err == nil && r.Param(0) != "OK" {
		err = fmt.Errorf("switchboard answered %q: %w", r.String(), ErrProtocol)
	}
	if err != nil {
		cv.detach(sb)
		return nil, fmt.Errorf("client: signing in to the switchboard: %w", err)
	}
	return sb, nil
}

func (cl *Client) dialSwitchboard(ctx context.Context, cv *Conversation, addr string) (*conn, error) {
	nc, err := dial(ctx, cl.cfg.Dialer, addr)
	if err != nil {
		return nil, fmt.Errorf("client: cannot reach the switchboard %s: %w", addr, err)
	}
	sb := newConn(nc, "SB", cl.log, cl.cfg.RequestTimeout, cl.cfg.RequestTimeout)
	if v := cl.Version(); v != 0 {
		sb.r.Version = v
	}
	sb.handle = func(cmd *msnp.Command) bool { return cv.handle(sb, cmd) }
	sb.unhandled = func(cmd *msnp.Command) { cl.emit(&ServerCommand{Conversation: cv, Command: cmd}) }
	sb.onClose = func(err error) { cv.onClose(sb, err) }
	cl.mu.Lock()
	ended := cl.err != nil
	if !ended {
		cl.wg.Add(1)
	}
	cl.mu.Unlock()
	if ended {
		nc.Close()
		return nil, cl.closedErr()
	}
	go func() {
		defer cl.wg.Done()
		sb.readLoop()
	}()
	return sb, nil
}

// answerRing joins a conversation someone invited us to:
//
//	RNG session host:port CKI cookie inviter friendly [...]
func (cl *Client) answerRing(cmd *msnp.Command) {
	p := cmd.Params
	if len(p) < 5 || p[2] != "CKI" {
		cl.emit(&ServerCommand{Command: cmd})
		return
	}
	session, addr, cookie, inviter := p[0], p[1], p[3], p[4]
	friendly := msnp.DecodeParam(cmd.Param(5))
	ctx, cancel := context.WithTimeout(cl.ctx, cl.cfg.RequestTimeout)
	defer cancel()

	cl.mu.Lock()
	if cl.err != nil {
		cl.mu.Unlock()
		return
	}
	var cv *Conversation
	for c := range cl.convs {
		if ok, live := c.with(inviter); ok && !live && c.tryLock() {
			cv = c
			break
		}
	}
	fresh := cv == nil
	if fresh {
		cv = cl.newConversation(inviter)
		cv.tryLock()
	}
	cl.mu.Unlock()
	defer cv.unlock()

	fail := func(err error) {
		cl.log.Warn().Err(err).Str("from", inviter).Msg("could not join a conversation")
		if fresh {
			cl.mu.Lock()
			delete(cl.convs, cv)
			cl.mu.Unlock()
		}
	}
	sb, err := cl.dialSwitchboard(ctx, cv, addr)
	if err != nil {
		fail(err)
		return
	}
	cv.mu.Lock()
	cv.inviter = Participant{Email: inviter, FriendlyName: friendly}
	cv.mu.Unlock()
	cv.attach(sb)
	handle := cl.Self().Email
	if s, err := cl.session(ctx); err == nil {
		handle = s.sbHandle()
	}
	if _, err := sb.call(ctx, msnp.New("ANS", 0, handle, cookie, session), nil); err != nil {
		cv.detach(sb)
		fail(fmt.Errorf("client: answering an invitation: %w", err))
	}
}

// handle interprets a command from the conversation's switchboard, on its
// read goroutine.
func (cv *Conversation) handle(sb *conn, cmd *msnp.Command) bool {
	switch cmd.Name {
	case "MSG":
		cv.onMSG(sb, cmd)
	case "JOI":
		// JOI email friendly [caps]; MSNP16+ also "email;{guid}" for
		// each endpoint, which is the same person.
		email, _, endpoint := msnp.ParseHandle(cmd.Param(0))
		cv.joinEndpoint(sb, endpoint, true)
		cv.join(sb, email, cmd.Param(1), true)
	case "IRO":
		// IRO trid index total email friendly [caps]
		email, _, endpoint := msnp.ParseHandle(cmd.Param(2))
		cv.joinEndpoint(sb, endpoint, true)
		cv.join(sb, email, cmd.Param(3), false)
	case "BYE":
		// An endpoint leaving ("email;{guid}") is not the person leaving:
		// a bare BYE says that.
		if email, _, endpoint := msnp.ParseHandle(cmd.Param(0)); endpoint == "" {
			cv.leaveMember(sb, email, cmd.Param(1) == "1")
		} else {
			cv.joinEndpoint(sb, endpoint, false)
		}
	case "ANS":
		if cmd.Param(0) == "OK" {
			cv.mu.Lock()
			inv := cv.inviter
			cv.inviter = Participant{}
			attached := cv.sb == sb
			there := slices.Clone(cv.members)
			cv.mu.Unlock()
			if attached && inv.Email != "" {
				cv.cl.emit(&Invited{Conversation: cv, From: inv.Email, FriendlyName: inv.FriendlyName, Participants: there})
			}
		}
	case "USR", "CAL", "ACK", "NAK":
	case "OUT":
		sb.close(ErrConnectionLost)
	default:
		return false
	}
	return true
}

func (cv *Conversation) join(sb *conn, email, friendly string, event bool) {
	if email == "" || key(email) == key(cv.cl.Self().Email) {
		return
	}
	p := Participant{Email: email, FriendlyName: msnp.DecodeParam(friendly)}
	cv.mu.Lock()
	if cv.sb != sb {
		cv.mu.Unlock()
		return
	}
	i := slices.IndexFunc(cv.members, func(m Participant) bool { return key(m.Email) == key(email) })
	if i >= 0 {
		cv.members[i] = p
	} else {
		cv.members = append(cv.members, p)
	}
	if !slices.ContainsFunc(cv.peers, func(s string) bool { return key(s) == key(email) }) {
		cv.peers = append(cv.peers, email)
	}
	cv.broadcast()
	cv.mu.Unlock()
	if event && i < 0 {
		cv.cl.emit(&Joined{Conversation: cv, Email: p.Email, FriendlyName: p.FriendlyName})
	}
}

// joinEndpoint records an endpoint of someone in sb arriving or leaving.
func (cv *Conversation) joinEndpoint(sb *conn, endpoint string, in bool) {
	g, ok := msnp.NormalizeGUID(endpoint)
	if !ok {
		return
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.sb != sb {
		return
	}
	if cv.endpoints == nil {
		cv.endpoints = map[string]bool{}
	}
	if in {
		cv.endpoints[g] = true
	} else {
		delete(cv.endpoints, g)
	}
	cv.broadcast()
}

func (cv *Conversation) leaveMember(sb *conn, email string, idle bool) {
	cv.mu.Lock()
	if cv.sb != sb {
		cv.mu.Unlock()
		return
	}
	i := slices.IndexFunc(cv.members, func(m Participant) bool { return key(m.Email) == key(email) })
	if i < 0 {
		cv.mu.Unlock()
		return
	}
	cv.members = slices.Delete(cv.members, i, i+1)
	// The last one to leave stays a peer: the next Send invites them
	// back.
	if len(cv.members) > 0 {
		cv.peers = slices.DeleteFunc(cv.peers, func(s string) bool { return key(s) == key(email) })
	}
	cv.broadcast()
	cv.mu.Unlock()
	cv.cl.emit(&Left{Conversation: cv, Email: email, Idle: idle})
}

func (cv *Conversation) onMSG(sb *conn, cmd *msnp.Command) {
	// MSG sender friendly len
	from, friendly := cmd.Param(0), msnp.DecodeParam(cmd.Param(1))
	m, err := message.Parse(cmd.Payload)
	if err != nil {
		cv.cl.emit(&RawMessage{Conversation: cv, From: from, FriendlyName: friendly, Payload: cmd.Payload})
		return
	}
	if message.IsChunk(m) {
		// A part of a message too long for one MSG (a wink).
		whole, done := sb.chunks.Add(m)
		if !done {
			return
		}
		m = whole
	}
	switch m.Kind() {
	case message.KindP2P:
		cv.cl.onP2P(cv, from, m)
		return
	case message.KindEmoticon, message.KindDatacast:
		if cv.onObjectMessage(from, m) {
			return
		}
	case message.KindInvite:
		if cv.onInvitation(from, m) {
			return
		}
	}
	switch m.Kind() {
	case message.KindText:
		f, _ := m.Format()
		cv.cl.emit(&Message{Conversation: cv, From: from, FriendlyName: friendly, Text: m.Text(), Format: f, Raw: m})
	case message.KindTyping:
		cv.cl.emit(&Typing{Conversation: cv, From: from})
	case message.KindNudge:
		cv.cl.emit(&Nudge{Conversation: cv, From: from})
	default:
		cv.cl.emit(&RawMessage{Conversation: cv, From: from, FriendlyName: friendly, Payload: cmd.Payload, Message: m})
	}
}

// onClose runs when a switchboard connection of the conversation ended.
func (cv *Conversation) onClose(sb *conn, err error) {
	cl := cv.cl
	cv.mu.Lock()
	if cv.sb != sb {
		cv.mu.Unlock()
		return
	}
	cv.sb = nil
	cv.members = nil
	cv.endpoints = nil
	cv.broadcast()
	local := cv.closed
	forget := local || len(cv.peers) != 1
	cv.mu.Unlock()
	if forget {
		cl.mu.Lock()
		delete(cl.convs, cv)
		cl.mu.Unlock()
	}
	if local {
		err = nil
	}
	cl.emit(&ConversationClosed{Conversation: cv, Err: err})
}

// Close leaves the conversation. Later calls of its methods return
// ErrConversationClosed.
func (cv *Conversation) Close() error {
	cv.leave()
	return nil
}

// leaveDraining leaves like leave, but first reads, for at most d, what
// the switchboard sent before it saw the OUT — the messages its senders
// already have acknowledged — until the server closes the connection.
func (cv *Conversation) leaveDraining(d time.Duration) {
	cv.mu.Lock()
	cv.closed = true
	sb := cv.sb
	cv.mu.Unlock()
	if sb != nil {
		sb.send(msnp.Notice("OUT"))
		t := time.NewTimer(d)
		select {
		case <-sb.done:
		case <-t.C:
		}
		t.Stop()
	}
	cv.leave()
}

// leave closes the conversation and waits for its switchboard connection
// to end.
func (cv *Conversation) leave() {
	cv.mu.Lock()
	cv.closed = true
	sb := cv.sb
	cv.mu.Unlock()
	cv.cl.mu.Lock()
	delete(cv.cl.convs, cv)
	cv.cl.mu.Unlock()
	if sb != nil {
		sb.send(msnp.Notice("OUT"))
		sb.closeWait(ErrConversationClosed)
	}
}

// Invite asks email to join the conversation and waits until they did.
// Messages sent meanwhile go to those already there: a contact slow to
// answer holds up nobody but the caller.
func (cv *Conversation) Invite(ctx context.Context, email string) error {
	ctx, cancel := cv.cl.withTimeout(ctx)
	defer cancel()
	sb, err := cv.ensure(ctx)
	if err != nil {
		return err
	}
	if err := cv.lock(ctx); err != nil {
		return err
	}
	_, err = sb.call(ctx, msnp.New("CAL", 0, email), nil)
	cv.unlock()
	if err != nil && !errors.Is(err, msnp.ErrAlreadyThere) {
		return fmt.Errorf("client: inviting %s: %w", email, err)
	}
	err = cv.waitMembers(ctx, sb, func() bool {
		return slices.ContainsFunc(cv.members, func(m Participant) bool { return key(m.Email) == key(email) })
	})
	if err != nil {
		return fmt.Errorf("client: waiting for %s to join: %w", email, err)
	}
	return nil
}

// Send sends a text message and waits for the switchboard to acknowledge
// it: a NAK gives ErrNotDelivered. A closed conversation is reopened
// first. Text longer than one message can carry is sent as several.
func (cv *Conversation) Send(ctx context.Context, text string) error {
	return cv.SendText(ctx, text, nil)
}

// SendText is Send with formatting (font, effects, colour); f may be nil.
func (cv *Conversation) SendText(ctx context.Context, text string, f *message.Format) error {
	ctx, cancel := cv.cl.withTimeout(ctx)
	defer cancel()
	room := msnp.MaxMessagePayload - message.NewText("", f).Len()
	for _, part := range splitText(text, room) {
		if err := cv.send(ctx, message.NewText(part, f).Bytes(), "A"); err != nil {
			return err
		}
	}
	return nil
}

// SendTyping tells the others that you are typing. It is not acknowledged.
func (cv *Conversation) SendTyping(ctx context.Context) error {
	ctx, cancel := cv.cl.withTimeout(ctx)
	defer cancel()
	return cv.send(ctx, message.NewTyping(cv.cl.Self().Email).Bytes(), "U")
}

// SendNudge sends a nudge. Clients older than MSN Messenger 7 (MSNP11)
// ignore it.
func (cv *Conversation) SendNudge(ctx context.Context) error {
	ctx, cancel := cv.cl.withTimeout(ctx)
	defer cancel()
	return cv.send(ctx, message.NewNudge().Bytes(), "A")
}

// SendRaw sends a MIME message as it is (headers, empty line, body) and
// waits for it to be acknowledged. P2P messages go with the data
// acknowledgement (MSG D) from MSNP9 on.
func (cv *Conversation) SendRaw(ctx context.Context, mime []byte) error {
	ctx, cancel := cv.cl.withTimeout(ctx)
	defer cancel()
	ack := "A"
	if m, err := message.Parse(mime); err == nil && m.Kind() == message.KindP2P && cv.cl.Version() >= 9 {
		ack = "D"
	}
	return cv.send(ctx, mime, ack)
}

// send sends one MSG. A message whose switchboard had closed (before it
// was acknowledged) is sent once more on a reopened one.
func (cv *Conversation) send(ctx context.Context, payload []byte, ack string) error {
	if len(payload) > msnp.MaxMessagePayload {
		return fmt.Errorf("client: %d bytes: %w", len(payload), ErrMessageTooLarge)
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var sb *conn
		if sb, err = cv.ensure(ctx); err != nil {
			return err
		}
		cmd := msnp.New("MSG", 0, ack).WithPayload(payload)
		cv.mu.Lock()
		cv.reached = append(cv.reached[:0], cv.members...)
		cv.mu.Unlock()
		if ack == "U" {
			cmd.TrID = sb.nextTrID()
			err = sb.send(cmd)
		} else {
			var r *msnp.Command
			r, err = sb.call(ctx, cmd, expect("ACK", "NAK"))
			if err == nil && r.Name == "NAK" {
				return fmt.Errorf("client: %v: %w", cv, ErrNotDelivered)
			}
		}
		if err == nil {
			return nil
		}
		var ns *notSentError
		if ctx.Err() != nil || !(errors.As(err, &ns) || errors.Is(err, ErrConnectionLost)) {
			break
		}
	}
	return fmt.Errorf("client: sending to %v: %w", cv, err)
}

// splitText cuts text into pieces of at most n bytes, at rune boundaries
// and, where it can, after a line break or a space.
func splitText(text string, n int) []string {
	if len(text) <= n || n <= 0 {
		return []string{text}
	}
	var out []string
	for len(text) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		if i := strings.LastIndexAny(text[:cut], "\n "); i > n/2 {
			cut = i + 1
		}
		if cut == 0 {
			cut = n
		}
		out = append(out, text[:cut])
		text = text[cut:]
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}
