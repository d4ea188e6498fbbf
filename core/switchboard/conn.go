package switchboard

import (
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/outbox"
	"github.com/nudge-im/nudge/msnp"
)

// conn is one client connection and, once it has joined, one participant.
type conn struct {
	srv *Server
	nc  net.Conn
	out *outbox.Outbox
	r   *msnp.Reader
	log zerolog.Logger

	// Owned by the connection's goroutine.
	cmd    msnp.Command     // reused by every read
	queued []*outbox.Outbox // others' outboxes this goroutine queued messages to
	// stage is what this goroutine relayed to stageTo, the other person
	// of a two-party session, since it last flushed: it leaves in one
	// SendEncoded, straight from here when they are idle, and costs no
	// lock per message. Borrowed from stages; nil while empty.
	stage       []byte
	stageTo     *conn
	sess        *session
	deadlineSet time.Time // when the idle deadline was last pushed back
	idle        bool      // the read deadline passed
	admitted    bool      // holds a place in Config.Unauthenticated
	complained  bool      // malformed input was logged
	// Commands read and messages relayed since the metrics were last
	// told: they are added up before each read, not per message, so
	// that connections on different processors do not take turns at
	// one shared counter for every message.
	commands, messages int

	// The participant as others see it. Set before the connection is
	// published to a session and never changed after, so other
	// connections' goroutines read them freely.
	email    string // as shown
	key      string // lower case, for comparisons
	endpoint string // the machine GUID, "{…}" in lower case (MSNP16+), or ""
	name     string // friendly name, decoded
	encName  string // friendly name, encoded
	caps     string
	version  msnp.Version
	dialect  *msnp.Dialect
	relay    msnp.Command // "MSG email name" with the payload set per message
	// onlyOnline: calls reach signed-in users only (User.OnlyOnline).
	onlyOnline bool
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, admitted: true}
	c.log = s.log.With().Str("remote", nc.RemoteAddr().String()).Logger()
	c.out = outbox.New(nc, outbox.Options{Limit: s.outboxLimit, OnSlow: c.onSlow})
	c.r = msnp.NewReader(nc, msnp.FromClient)
	c.r.MaxPayload = msnp.MaxMessagePayload
	c.r.LargeReads()
	c.r.BeforeRead = c.flush
	return c
}

// flush writes what this goroutine queued, its own replies and the
// messages it relayed, before it reads again: a burst of messages read at
// once leaves in one write per recipient. A signed-in connection's idle
// deadline is pushed back here too, once per read rather than per
// command.
func (c *conn) flush() {
	if c.sess != nil {
		c.touch()
	}
	c.count()
	c.sendStage()
	c.out.Flush()
	for i, o := range c.queued {
		o.Flush()
		c.queued[i] = nil
	}
	c.queued = c.queued[:0]
}

// queue queues cmd to another participant, to be flushed before this
// connection reads again.
func (c *conn) queue(o *outbox.Outbox, cmd *msnp.Command) bool {
	if !o.Queue(cmd) {
		return false
	}
	for _, q := range c.queued {
		if q == o {
			return true
		}
	}
	c.queued = append(c.queued, o)
	return true
}

// stageSize is a staging buffer's size: room for outbox.QueueBurst bytes,
// at which it is sent, and a message of the largest size after them.
const stageSize = outbox.QueueBurst + 16<<10

var stages = sync.Pool{New: func() any { return new([stageSize]byte) }}

// relayTo relays cmd to m, the one other participant, through the stage.
// It reports false when m's connection is over.
func (c *conn) relayTo(m *conn, cmd *msnp.Command) bool {
	if c.stageTo != m {
		c.sendStage()
	}
	if !m.out.Open() {
		return false
	}
	n := cmd.WireSize()
	if len(c.stage)+n > stageSize {
		c.sendStage()
		if n > stageSize {
			return c.queue(m.out, cmd)
		}
	}
	if c.stage == nil {
		c.stage, c.stageTo = stages.Get().(*[stageSize]byte)[:0], m
	}
	c.stage = msnp.AppendCommand(c.stage, cmd)
	if len(c.stage) >= outbox.QueueBurst {
		c.sendStage()
	}
	return true
}

// sendStage sends what is staged.
func (c *conn) sendStage() {
	if c.stage == nil {
		return
	}
	c.stageTo.out.SendEncoded(c.stage)
	stages.Put((*[stageSize]byte)(c.stage[:stageSize]))
	c.stage, c.stageTo = nil, nil
}

// onSlow runs on the goroutine whose Send found c's outbox over its limit.
func (c *conn) onSlow() {
	if c.srv.m != nil {
		c.srv.m.slow.Inc()
	}
	c.log.Warn().Msg("slow consumer cut off")
}

// serve is the connection's goroutine: authenticate, then read and act
// until the client leaves or fails.
func (c *conn) serve() {
	defer c.finish()
	defer func() {
		// A bug in handling one connection must not take the server
		// down; the connection is closed and the others go on.
		if v := recover(); v != nil {
			c.log.Error().Interface("panic", v).Msg("connection handler panicked")
		}
	}()
	c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.JoinTimeout))
	ok := c.authenticate()
	c.authenticated()
	if !ok {
		return
	}
	for {
		if err := c.r.ReadInto(&c.cmd); err != nil {
			if c.readFailed(err) {
				continue
			}
			return
		}
		c.counted()
		switch c.cmd.Name {
		case "MSG":
			if !c.message() {
				return
			}
		case "CAL":
			c.call()
		case "OUT":
			return
		default:
			c.complain("unexpected command", nil, c.cmd.Name)
			return
		}
	}
}

// authenticated gives back the connection's place among those that have
// not sent USR or ANS, once.
func (c *conn) authenticated() {
	if c.admitted {
		c.admitted = false
		c.srv.cfg.Unauthenticated.Leave(c.nc.RemoteAddr().String())
	}
}

// finish leaves the session, flushes what is queued and closes.
func (c *conn) finish() {
	c.authenticated()
	c.flush()
	if c.sess != nil {
		c.sess.leave(c, c.idle)
		c.log.Debug().Bool("idle", c.idle).Msg("left")
	}
	c.out.Close()
	c.srv.forget(c)
}

func (c *conn) counted() { c.commands++ }

// count adds what was counted since last time to the metrics.
func (c *conn) count() {
	if m := c.srv.m; m != nil && c.commands+c.messages > 0 {
		m.commands.Add(float64(c.commands))
		m.messages.Add(float64(c.messages))
		c.commands, c.messages = 0, 0
	}
}

// touch pushes the idle deadline back, at most once per slot.
func (c *conn) touch() {
	now := time.Now()
	if now.Sub(c.deadlineSet) < c.srv.slot {
		return
	}
	c.deadlineSet = now
	c.nc.SetReadDeadline(now.Add(c.srv.cfg.IdleTimeout + c.srv.slot))
}

// authenticate reads the first command, USR or ANS, and joins a session.
func (c *conn) authenticate() bool {
	if err := c.r.ReadInto(&c.cmd); err != nil {
		var re *msnp.ReadError
		if errors.As(err, &re) {
			c.complain("malformed first command", err, re.Name)
			if re.InSync && re.HasTrID {
				c.fail(msnp.ErrAuthFailed, re.TrID)
			}
		} else if isTimeout(err) {
			c.log.Debug().Msg("no USR or ANS in time")
		}
		return false
	}
	c.counted()
	cmd := &c.cmd
	var ok bool
	switch cmd.Name {
	case "USR":
		ok = c.usr()
	case "ANS":
		ok = c.ans()
	default:
		c.complain("first command is not USR or ANS", nil, cmd.Name)
	}
	if !ok {
		if cmd.HasTrID {
			c.fail(msnp.ErrAuthFailed, cmd.TrID)
		}
		return false
	}
	return true
}

// usr starts a session: "USR trid email cookie"; from MSNP16 the handle
// names the endpoint too, "email;{guid}".
func (c *conn) usr() bool {
	cmd := &c.cmd
	if len(cmd.Params) < 2 {
		return false
	}
	email, _, endpoint := msnp.ParseHandle(cmd.Params[0])
	u, ok := c.srv.redeem(email, cmd.Params[1])
	if !ok || (endpoint != "" && !sameEndpoint(endpoint, u.Endpoint)) {
		c.log.Info().Str("user", cmd.Params[0]).Msg("USR with an invalid cookie")
		return false
	}
	c.identify(u.Email, u.FriendlyName, u.Capabilities, u.Version, u.Endpoint)
	c.onlyOnline = u.OnlyOnline
	c.sess = c.srv.newSession(c)
	c.log = c.log.With().Str("user", c.email).Str("session", c.sess.id).Logger()
	c.out.Send(msnp.New("USR", cmd.TrID, "OK", c.handleFor(c.dialect), c.encName))
	c.log.Debug().Msg("session started")
	return true
}

// sameEndpoint compares a GUID as a client wrote it with a normalised one.
func sameEndpoint(written, normal string) bool {
	g, ok := msnp.NormalizeGUID(written)
	return ok && g == normal
}

// ans joins a session the user was invited to: "ANS trid email cookie id"
// (MSNP16+: "email;{guid}", each endpoint of the user answering the same
// invitation).
func (c *conn) ans() bool {
	cmd := &c.cmd
	if len(cmd.Params) < 3 {
		return false
	}
	handle, cookie, id := cmd.Params[0], cmd.Params[1], cmd.Params[2]
	email, _, written := msnp.ParseHandle(handle)
	key := strings.ToLower(email)
	endpoint := ""
	if written != "" {
		var ok bool
		if endpoint, ok = msnp.NormalizeGUID(written); !ok {
			return false
		}
	}
	peer := c.srv.endpoint(key, endpoint)
	if peer == nil {
		c.log.Info().Str("user", handle).Msg("ANS from a user who is not signed in there")
		return false
	}
	endpoint = peer.Endpoint().ID
	sess := c.srv.session(id)
	if sess == nil || !sess.answer(key, endpoint, cookie) {
		c.log.Info().Str("user", handle).Str("session", id).Msg("ANS with an invalid cookie")
		return false
	}
	p, v := peer.Self()
	if !strings.EqualFold(p.Email, email) {
		p.Email = email
	}
	caps := p.Capabilities
	if e := peer.Endpoint(); e.Capabilities != "" {
		caps = e.Capabilities
	}
	c.identify(p.Email, p.FriendlyName, caps, v, endpoint)
	c.log = c.log.With().Str("user", c.email).Str("session", sess.id).Logger()
	if !sess.join(c, cmd.TrID) {
		c.log.Info().Msg("ANS to a session that ended or already has the user")
		return false
	}
	c.sess = sess
	c.log.Debug().Msg("joined")
	return true
}

// identify fixes how the participant is shown to others.
func (c *conn) identify(email, name, caps string, v msnp.Version, endpoint string) {
	c.email = email
	c.key = strings.ToLower(email)
	c.endpoint = endpoint
	if name == "" {
		name = email
	}
	c.name = name
	c.encName = msnp.EncodeParam(name)
	if _, _, ok := msnp.ParseCaps(caps); !ok || caps == "" {
		caps = "0"
	}
	c.caps = caps
	c.version = v
	c.dialect = v.Dialect()
	c.relay = msnp.Command{Name: "MSG", Params: []string{c.email, c.encName}}
}

// handleFor is how a participant of dialect d sees c in IRO, JOI and BYE:
// with its endpoint from MSNP16.
func (c *conn) handleFor(d *msnp.Dialect) string {
	if d.MachineGUID && c.endpoint != "" {
		return c.email + ";" + c.endpoint
	}
	return c.email
}

// capsFor is c's capabilities as a participant of dialect d reads them:
// "caps:capsEx" from MSNP16, plain before.
func (c *conn) capsFor(d *msnp.Dialect) string {
	caps, ex, _ := msnp.ParseCaps(c.caps)
	return msnp.FormatCaps(caps, ex, d)
}

// message relays "MSG trid mode length" and acknowledges it. It reports
// false when the connection must close.
func (c *conn) message() bool {
	cmd := &c.cmd
	if len(cmd.Params) != 1 || !validAckMode(cmd.Params[0]) {
		c.complain("bad MSG acknowledgement mode", nil, cmd.Name)
		return false
	}
	ok := c.keepForAbsent(cmd.Payload, c.sess.relay(c, cmd.Payload))
	if ok {
		c.messages++
	}
	switch cmd.Params[0][0] {
	case 'A', 'D':
		if ok {
			c.ackWhenRead(cmd.TrID, *c.sess.members.Load())
		} else {
			c.reply("NAK", cmd.TrID)
		}
	case 'N':
		if !ok {
			c.reply("NAK", cmd.TrID)
		}
	}
	return true
}

// ackWhenRead acknowledges a relayed message once no recipient has more
// than a quarter of its outbox waiting. Senders that wait for the ACK
// before sending on — every P2P sender paces its chunks so — then go at
// the pace of the slowest reader, and a file sent to someone on a slow
// line fills no backlog until they are cut off. Nobody else waits: the
// sender's reads and the other recipients go on.
func (c *conn) ackWhenRead(trid uint32, members []*conn) {
	bound := c.srv.outboxBound() / 4
	for i, m := range members {
		if m != c && m.out.Pending() > bound {
			rest := members[i+1:]
			// Called later on another goroutine, which must write the
			// ACK itself: this one's flush before reading is long past.
			m.out.WhenBelow(bound, func() {
				c.ackWhenRead(trid, rest)
				c.out.Flush()
			})
			return
		}
	}
	c.reply("ACK", trid)
}

func validAckMode(m string) bool {
	return m == "U" || m == "N" || m == "A" || m == "D"
}

// call invites a user: "CAL trid handle".
func (c *conn) call() {
	cmd := &c.cmd
	trid := cmd.TrID
	handle := cmd.Param(0)
	if !validHandle(handle) {
		c.fail(msnp.ErrInvalidPrincipal, trid)
		return
	}
	key := strings.ToLower(handle)
	if key == c.key {
		c.callSelf(trid)
		return
	}
	peer, r, code := c.sess.call(c, key)
	if code == msnp.ErrNotOnline && c.callAbsent(trid, key) {
		return
	}
	if code != 0 {
		c.fail(code, trid)
		return
	}
	// RINGING goes out before the callee can possibly join.
	c.out.Queue(msnp.New("CAL", trid, "RINGING", c.sess.id))
	peer.Ring(r)
	c.log.Debug().Str("callee", handle).Msg("ringing")
}

// callSelf is Windows Live Messenger 2009 calling its own address, to
// bring the user's other endpoints into the conversation (MSNP16+). They
// are rung; with none to ring, the client is shown itself joining, which
// is what it waits for. Older clients calling themselves get 215, as
// anyone already in the session.
func (c *conn) callSelf(trid uint32) {
	if !c.dialect.MachineGUID {
		c.fail(msnp.ErrAlreadyThere, trid)
		return
	}
	var others []directory.Peer
	for _, p := range c.srv.dir.Endpoints(c.key) {
		if id := p.Endpoint().ID; id != "" && id != c.endpoint && !c.sess.present(c.key, id) {
			others = append(others, p)
		}
	}
	r, ok := c.sess.ringSelf(c)
	if !ok {
		c.fail(msnp.ErrSwitchboardFailed, trid)
		return
	}
	c.out.Queue(msnp.New("CAL", trid, "RINGING", c.sess.id))
	if len(others) == 0 {
		c.out.Queue(msnp.Notice("JOI", c.email, c.encName, c.capsFor(c.dialect)))
		return
	}
	for _, p := range others {
		p.Ring(r)
	}
}

// readFailed handles a read error after authentication. It reports true
// when the connection goes on.
func (c *conn) readFailed(err error) bool {
	var re *msnp.ReadError
	if !errors.As(err, &re) {
		c.idle = isTimeout(err)
		return false
	}
	if re.Name == "MSG" && errors.Is(re.Err, msnp.ErrPayloadTooLarge) {
		// The MSN switchboard closed the connection of a client that
		// sent more than 1664 bytes in one MSG, without a reply.
		c.complain("MSG over the switchboard's limit; closing the connection", err, re.Name)
		return false
	}
	c.complain("malformed command", err, re.Name)
	// Only a command this server knows is worth an error reply; anything
	// else is out of place here whether it is well formed or not.
	if !re.InSync || !re.HasTrID || (re.Name != "MSG" && re.Name != "CAL") {
		return false
	}
	c.fail(re.Code(), re.TrID)
	return true
}

// complain logs malformed or unexpected input, once per connection.
func (c *conn) complain(what string, err error, name string) {
	if c.complained {
		return
	}
	c.complained = true
	ev := c.log.Warn()
	if err != nil {
		ev = ev.Err(err)
	}
	if name != "" {
		ev = ev.Str("command", name)
	}
	ev.Msg(what)
}

func (c *conn) reply(name string, trid uint32) {
	c.out.Queue(&msnp.Command{Name: name, TrID: trid, HasTrID: true})
}

func (c *conn) fail(code msnp.ErrorCode, trid uint32) {
	if c.srv.m != nil {
		c.srv.m.errors.WithLabelValues("sb", code.Name()).Inc()
	}
	c.out.Queue(msnp.Error(code, trid))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
