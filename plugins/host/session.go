package host

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
	botpb "github.com/nudge-im/nudge/plugins/proto"
)

// session is a bot's MSN session and the queues that feed its hooks. It
// outlives the bot's processes: a restart does not sign the bot out.
type session struct {
	b *bot
	c *client.Client

	mu    sync.Mutex
	ids   map[*client.Conversation]string
	convs map[string]*client.Conversation
	seq   uint64
	lanes map[string]*lane
	// unread are the messages the bot did not read, by conversation and
	// reason, waiting to be named to their senders.
	unread map[unreadKey]*unread
	drops  int // messages refused by full queues, for the log

	done chan struct{} // closed when the event loop has ended
}

// lane is the queue of one conversation (or of the bot's contact list, or
// of presence): its events go to the bot one at a time, in order.
type lane struct {
	q        []event
	messages int // messages in q: QueueLimit bounds them
	running  bool
}

// event is one hook call waiting to be made.
type event struct {
	hook botpb.Hook
	name string // the hook's name, for logs
	// prepare, when set, runs first, whether or not the bot is up (the
	// host's own part, such as accepting a contact).
	prepare func(ctx context.Context)
	call    func(ctx context.Context, rpc botpb.BotClient) error
	// coalesce, when set, makes the event take the place of a waiting one
	// with the same key: of typing, nudges and presence only the latest
	// matters, so they never pile up.
	coalesce string
	// msg is set for a message: the queue limit counts messages, and a
	// message the bot does not read is named to its sender.
	msg *unreadMessage
}

// unreadMessage is what a notice says of a message the bot did not read.
type unreadMessage struct {
	conv, from, text string
	group            bool // several people in the conversation: name the sender
}

// redeliveries is how many times an event goes to a new process after the
// host replaced the one handling it: once, so that an event that hangs
// every process it reaches cannot keep the bot restarting.
const redeliveries = 1

// ensureSession signs the bot in if it is not.
func (b *bot) ensureSession(ctx context.Context) error {
	b.mu.Lock()
	s := b.sess
	b.mu.Unlock()
	if s != nil {
		select {
		case <-s.c.Done():
			// Ended for good (signed in elsewhere, or gave up
			// reconnecting): sign in afresh.
			b.closeSession()
		default:
			return nil
		}
	}
	s, err := b.dial(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.sess = s
	b.mu.Unlock()
	go s.loop()
	go s.acceptWaiting(ctx)
	return nil
}

func randomPassword() string {
	var raw [18]byte
	rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

// dial signs in: on this service with an account made (or given a fresh
// password) through the admin API, or on the configured server.
func (b *bot) dial(ctx context.Context) (*session, error) {
	cfg := client.Config{
		Email:     b.cfg.Email,
		Version:   cmp.Or(b.cfg.Protocol, DefaultProtocol),
		Reconnect: true,
		Logger:    &b.log.zl,
	}
	if b.cfg.Server == "" {
		// The password is new at every sign-in and kept nowhere: the
		// account is the host's to use, and nobody else needs it.
		cfg.Server, cfg.Password = b.h.cfg.Server, randomPassword()
		cfg.Passport.URL = b.h.cfg.PassportURL
		if _, err := b.h.cfg.Admin.CreateOrResetAccount(ctx, adminapi.NewAccount{
			Email: b.cfg.Email, Password: cfg.Password, FriendlyName: b.cfg.FriendlyName}); err != nil {
			return nil, fmt.Errorf("cannot make the bot's account %s: %w", b.cfg.Email, err)
		}
	} else {
		cfg.Server, cfg.Password = b.cfg.Server, b.cfg.Password
		cfg.Passport.URL = b.cfg.PassportURL
		if cfg.Passport.URL == "" {
			host, _, _ := net.SplitHostPort(b.cfg.Server)
			cfg.Passport.URL = "http://" + net.JoinHostPort(host, "8080")
		}
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s cannot sign in to %s: %w", b.cfg.Email, cfg.Server, err)
	}
	if b.cfg.FriendlyName != "" && c.Self().FriendlyName != b.cfg.FriendlyName {
		if err := c.SetFriendlyName(ctx, b.cfg.FriendlyName); err != nil {
			b.log.warn("cannot set the friendly name: %v", err)
		}
	}
	b.log.info("signed in to MSN as %s", b.cfg.Email)
	return &session{
		b: b, c: c, ids: map[*client.Conversation]string{}, convs: map[string]*client.Conversation{},
		lanes: map[string]*lane{}, unread: map[unreadKey]*unread{}, done: make(chan struct{}),
	}, nil
}

// closeSession signs the bot out.
func (b *bot) closeSession() {
	b.mu.Lock()
	s := b.sess
	b.sess = nil
	b.mu.Unlock()
	if s != nil {
		s.c.Close()
		<-s.done
	}
}

func (b *bot) session() *session {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sess
}

func (b *bot) selfContact() *botpb.Contact {
	c := &botpb.Contact{Email: b.cfg.Email, FriendlyName: b.cfg.FriendlyName, Status: botpb.Status_STATUS_ONLINE}
	if s := b.session(); s != nil {
		self := s.c.Self()
		c.FriendlyName, c.PersonalMessage, c.Status = self.FriendlyName, self.PersonalMessage, statusToPB(self.Status)
	}
	return c
}

func (s *session) online() bool {
	select {
	case <-s.c.Done():
		return false
	default:
	}
	return s.c.Self().Status != client.Offline
}

// convID names a conversation, making up a name the first time.
func (s *session) convID(cv *client.Conversation) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[cv]; ok {
		return id
	}
	s.seq++
	id := "c" + strconv.FormatUint(s.seq, 10)
	s.ids[cv] = id
	s.convs[id] = cv
	return id
}

// forgetIfGone drops the name of a conversation the client has forgotten
// (a group conversation that closed): nothing can be sent to it any more,
// and a bot that talks in many groups must not make the map grow forever.
// One-to-one conversations stay: the client reopens them on the next send.
func (s *session) forgetIfGone(cv *client.Conversation) {
	if slices.Contains(s.c.Conversations(), cv) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[cv]; ok {
		delete(s.ids, cv)
		delete(s.convs, id)
	}
}

func (s *session) conv(id string) (*client.Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cv, ok := s.convs[id]
	return cv, ok
}

// enqueue adds an event to a lane and starts the lane's worker if it is
// idle. Typing, nudges and presence take the place of the same kind of
// event waiting from the same person. Messages are bounded by QueueLimit
// per conversation: one that arrives at a full queue is not queued, and
// its sender is told which message the bot did not read (see notices.go).
// Nothing is dropped without a word; the other events are bounded by the
// protocol (people joining, leaving, adding the bot).
func (s *session) enqueue(key string, ev event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lanes[key]
	if l == nil {
		l = &lane{}
		s.lanes[key] = l
	}
	if ev.coalesce != "" {
		for i := range l.q {
			if l.q[i].coalesce == ev.coalesce {
				l.q[i] = ev
				return
			}
		}
	}
	if ev.msg != nil {
		if l.messages >= s.b.h.cfg.QueueLimit {
			s.drops++
			if s.drops == 1 || s.drops%100 == 0 {
				s.b.log.warn("the bot is not keeping up: %d messages not read so far (their senders are told)", s.drops)
			}
			s.noteUnreadLocked(unreadBusy, ev.msg)
			return
		}
		l.messages++
	}
	l.q = append(l.q, ev)
	if !l.running {
		l.running = true
		go s.drain(key, l)
	}
}

// drain delivers a lane's events until it is empty.
func (s *session) drain(key string, l *lane) {
	ctx := s.b.ctx
	for {
		s.mu.Lock()
		if len(l.q) == 0 {
			l.running = false
			delete(s.lanes, key)
			s.mu.Unlock()
			return
		}
		ev := l.q[0]
		l.q[0] = event{}
		l.q = l.q[1:]
		if ev.msg != nil {
			l.messages--
		}
		s.mu.Unlock()
		s.deliver(ctx, ev)
	}
}

func (s *session) deliver(ctx context.Context, ev event) {
	b := s.b
	if ev.prepare != nil {
		pctx, cancel := context.WithTimeout(ctx, b.h.cfg.HookTimeout)
		ev.prepare(pctx)
		cancel()
	}
	for attempt := 0; ; attempt++ {
		p := b.waitProc(ctx)
		if p == nil || !p.implements(ev.hook) {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, b.h.cfg.HookTimeout)
		err := ev.call(cctx, p.rpc)
		cancel()
		if !s.outcome(p, ev, err) || attempt >= redeliveries {
			return
		}
		b.log.info("%s went to a process that was being replaced; delivering it again", ev.name)
	}
}

// outcome takes the result of a hook call and reports whether the event
// should go to the next process: the call failed because the host ended
// the process under it.
func (s *session) outcome(p *proc, ev event, err error) (again bool) {
	b := s.b
	switch code := status.Code(err); {
	case err == nil:
		p.timeouts.Store(0)
	case code == codes.Unimplemented:
		p.dropHook(ev.hook)
	case code == codes.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded):
		n := p.timeouts.Add(1)
		b.log.warn("%s did not return within %s; abandoned", ev.name, b.h.cfg.HookTimeout)
		if n >= hungAfter {
			p.hungOnce.Do(func() { close(p.hung) })
		}
	case code == codes.Unavailable || code == codes.Canceled:
		if p.retired.Load() {
			return true
		}
		// The process ended by itself during the call: the supervisor
		// restarts it, and the events after this one wait for that. This
		// one is not delivered again, so that a message that crashes the
		// bot cannot crash it forever; its sender is told.
		p.broken.Store(true)
		if ev.msg != nil {
			s.noteUnread(unreadCrash, ev.msg)
		}
	default:
		p.timeouts.Store(0)
		b.log.warn("%s failed: %s", ev.name, rpcMessage(err))
	}
	return false
}

// loop turns the session's events into hook calls.
func (s *session) loop() {
	defer close(s.done)
	b := s.b
	for ev := range s.c.Events() {
		switch e := ev.(type) {
		case *client.Message:
			id := s.convID(e.Conversation)
			msg := &botpb.MessageEvent{ConversationId: id, Sender: &botpb.Contact{Email: e.From, FriendlyName: e.FriendlyName},
				Text: e.Text, Format: formatToPB(e.Format), Participants: participants(e.Conversation)}
			from := e.FriendlyName
			if from == "" {
				from = e.From
			}
			s.enqueue(id, event{hook: botpb.Hook_HOOK_MESSAGE, name: "OnMessage", call: func(ctx context.Context, rpc botpb.BotClient) error {
				_, err := rpc.OnMessage(ctx, msg)
				return err
			}, msg: &unreadMessage{conv: id, from: from, text: e.Text, group: len(msg.Participants) > 1}})
		case *client.OfflineMessage:
			// Left while the bot was offline: no conversation; the bot
			// answers its sender by email.
			msg := &botpb.MessageEvent{Sender: &botpb.Contact{Email: e.From, FriendlyName: e.FriendlyName},
				Text: e.Text, SentUnixMs: e.Sent.UnixMilli()}
			s.enqueue("offline "+strings.ToLower(e.From), event{hook: botpb.Hook_HOOK_MESSAGE, name: "OnMessage", call: func(ctx context.Context, rpc botpb.BotClient) error {
				_, err := rpc.OnMessage(ctx, msg)
				return err
			}})
		case *client.Typing:
			id := s.convID(e.Conversation)
			te := &botpb.TypingEvent{ConversationId: id, Sender: &botpb.Contact{Email: e.From}}
			s.enqueue(id, event{hook: botpb.Hook_HOOK_TYPING, name: "OnTyping", call: func(ctx context.Context, rpc botpb.BotClient) error {
				_, err := rpc.OnTyping(ctx, te)
				return err
			}, coalesce: "typing " + e.From})
		case *client.Nudge:
			id := s.convID(e.Conversation)
			ne := &botpb.NudgeEvent{ConversationId: id, Sender: &botpb.Contact{Email: e.From}}
			s.enqueue(id, event{hook: botpb.Hook_HOOK_NUDGE, name: "OnNudge", call: func(ctx context.Context, rpc botpb.BotClient) error {
				_, err := rpc.OnNudge(ctx, ne)
				return err
			}, coalesce: "nudge " + e.From})
		case *client.Invited:
			id := s.convID(e.Conversation)
			ce := &botpb.ConversationEvent{ConversationId: id, Contact: &botpb.Contact{Email: e.From, FriendlyName: e.FriendlyName},
				Participants: participants(e.Conversation), Invited: true}
			s.enqueue(id, joinEvent(ce))
		case *client.Joined:
			id := s.convID(e.Conversation)
			ce := &botpb.ConversationEvent{ConversationId: id, Contact: &botpb.Contact{Email: e.Email, FriendlyName: e.FriendlyName},
				Participants: participants(e.Conversation)}
			s.enqueue(id, joinEvent(ce))
		case *client.Left:
			id := s.convID(e.Conversation)
			ce := &botpb.ConversationEvent{ConversationId: id, Contact: &botpb.Contact{Email: e.Email},
				Participants: participants(e.Conversation)}
			s.enqueue(id, event{hook: botpb.Hook_HOOK_LEAVE, name: "OnLeave", call: func(ctx context.Context, rpc botpb.BotClient) error {
				_, err := rpc.OnLeave(ctx, ce)
				return err
			}})
		case *client.Presence:
			pe := &botpb.PresenceEvent{Contact: &botpb.Contact{Email: e.Email, FriendlyName: e.FriendlyName,
				Status: statusToPB(e.Status), PersonalMessage: e.PersonalMessage}}
			s.enqueue("presence", event{hook: botpb.Hook_HOOK_PRESENCE, name: "OnPresence", call: func(ctx context.Context, rpc botpb.BotClient) error {
				_, err := rpc.OnPresence(ctx, pe)
				return err
			}, coalesce: e.Email})
		case *client.ContactAdded:
			s.enqueue("contacts", s.contactAdded(e.Email, e.FriendlyName))
		case *client.ConversationClosed:
			s.forgetIfGone(e.Conversation)
		case *client.Disconnected:
			if e.Reconnecting {
				b.log.warn("disconnected from MSN (%v); signing in again", e.Err)
			} else if e.Err != nil && !errors.Is(e.Err, client.ErrClosed) {
				b.log.warn("disconnected from MSN: %v", e.Err)
			}
		case *client.Reconnected:
			b.log.info("signed in to MSN again")
		}
	}
}

func joinEvent(ce *botpb.ConversationEvent) event {
	return event{hook: botpb.Hook_HOOK_JOIN, name: "OnJoin", call: func(ctx context.Context, rpc botpb.BotClient) error {
		_, err := rpc.OnJoin(ctx, ce)
		return err
	}}
}

// contactAdded accepts the person as the configuration says, then tells
// the bot.
func (s *session) contactAdded(email, name string) event {
	var accepted bool
	return event{
		hook: botpb.Hook_HOOK_CONTACT_ADDED, name: "OnContactAdded",
		prepare: func(ctx context.Context) {
			if s.b.cfg.AcceptNone {
				return
			}
			if err := s.c.AddContact(ctx, email); err != nil {
				s.b.log.warn("cannot add back %s: %v", email, err)
				return
			}
			accepted = true
			s.b.log.info("%s added the bot; added them back", email)
		},
		call: func(ctx context.Context, rpc botpb.BotClient) error {
			_, err := rpc.OnContactAdded(ctx, &botpb.ContactEvent{
				Contact: &botpb.Contact{Email: email, FriendlyName: name}, Accepted: accepted})
			return err
		},
	}
}

// acceptWaiting handles the people who added the bot while it was signed
// out: they are on its reverse list and on neither allow nor block list.
func (s *session) acceptWaiting(context.Context) {
	for _, c := range s.c.Contacts() {
		if c.Lists.Has(client.Reverse) && !c.Lists.Has(client.Allow) && !c.Lists.Has(client.Block) {
			s.enqueue("contacts", s.contactAdded(c.Email, c.FriendlyName))
		}
	}
}

func participants(cv *client.Conversation) []*botpb.Contact {
	ps := cv.Participants()
	out := make([]*botpb.Contact, 0, len(ps))
	for _, p := range ps {
		out = append(out, &botpb.Contact{Email: p.Email, FriendlyName: p.FriendlyName})
	}
	return out
}

var statusPB = map[client.Status]botpb.Status{
	client.Online:      botpb.Status_STATUS_ONLINE,
	client.Busy:        botpb.Status_STATUS_BUSY,
	client.Idle:        botpb.Status_STATUS_IDLE,
	client.BeRightBack: botpb.Status_STATUS_BE_RIGHT_BACK,
	client.Away:        botpb.Status_STATUS_AWAY,
	client.OnThePhone:  botpb.Status_STATUS_ON_THE_PHONE,
	client.OutToLunch:  botpb.Status_STATUS_OUT_TO_LUNCH,
	client.Hidden:      botpb.Status_STATUS_HIDDEN,
	client.Offline:     botpb.Status_STATUS_OFFLINE,
}

func statusToPB(s client.Status) botpb.Status {
	if v, ok := statusPB[s]; ok {
		return v
	}
	return botpb.Status_STATUS_UNSPECIFIED
}

func statusFromPB(s botpb.Status) (client.Status, bool) {
	for k, v := range statusPB {
		if v == s {
			return k, true
		}
	}
	return "", false
}

func formatToPB(f message.Format) *botpb.Format {
	if f == (message.Format{}) {
		return nil
	}
	return &botpb.Format{
		Font: f.Font, Bold: f.Bold, Italic: f.Italic, Underline: f.Underline, Strikethrough: f.Strikethrough,
		Color:   uint32(f.Color.R)<<16 | uint32(f.Color.G)<<8 | uint32(f.Color.B),
		Charset: uint32(f.Charset), PitchFamily: uint32(f.PitchFamily), RightToLeft: f.RightToLeft,
	}
}

func formatFromPB(f *botpb.Format) *message.Format {
	if f == nil {
		return nil
	}
	c := f.GetColor()
	return &message.Format{
		Font: f.GetFont(), Bold: f.GetBold(), Italic: f.GetItalic(), Underline: f.GetUnderline(),
		Strikethrough: f.GetStrikethrough(), Color: message.Color{R: uint8(c >> 16), G: uint8(c >> 8), B: uint8(c)},
		Charset: uint8(f.GetCharset()), PitchFamily: uint8(f.GetPitchFamily()), RightToLeft: f.GetRightToLeft(),
	}
}

func contactToPB(c client.Contact) *botpb.Contact {
	return &botpb.Contact{
		Email: c.Email, FriendlyName: c.FriendlyName, Status: statusToPB(c.Status), PersonalMessage: c.PersonalMessage,
		Forward: c.Lists.Has(client.Forward), Allowed: c.Lists.Has(client.Allow), Blocked: c.Lists.Has(client.Block),
		Reverse: c.Lists.Has(client.Reverse), Pending: c.Lists.Has(client.Pending),
	}
}

// rpcMessage is the message of a gRPC error without its code prefix.
func rpcMessage(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}

func isUnimplemented(err error) bool { return status.Code(err) == codes.Unimplemented }
