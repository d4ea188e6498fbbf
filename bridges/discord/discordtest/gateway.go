package discordtest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opPresenceUpdate = 3
	opResume         = 6
	opReconnect      = 7
	opRequestMembers = 8
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

// maxLog is how many dispatches a session keeps for RESUME.
const maxLog = 10000

// Identify is a recorded IDENTIFY.
type Identify struct {
	Token      string
	Intents    int
	Properties map[string]string
	Compress   bool
}

type frame struct {
	Op   int             `json:"op"`
	D    json.RawMessage `json:"d"`
	S    *int64          `json:"s"`
	T    *string         `json:"t"`
	kind string          // for dispatches: the event name
	// written, when set, is called (with s.mu held) once the frame is on
	// the wire: an interaction's three seconds start then.
	written func(time.Time)
}

// gwSession is a gateway session: its sequence and the dispatches it was
// sent, kept for RESUME.
type gwSession struct {
	id      string
	seq     int64
	log     []frame
	intents int
	conn    *gwConn
	dead    bool
	lostAt  time.Time // when its last connection ended
	ready   bool      // READY was sent
}

// gwConn is one websocket connection.
type gwConn struct {
	ws       *websocket.Conn
	sess     *gwSession
	queue    []frame
	wake     chan struct{}
	closed   bool
	lastBeat time.Time // HELLO, then the last heartbeat
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	if v := r.URL.Query().Get("v"); v != "" && v != "9" && v != "10" {
		http.Error(w, "unsupported gateway version", http.StatusBadRequest)
		return
	}
	if e := r.URL.Query().Get("encoding"); e != "" && e != "json" {
		http.Error(w, "only encoding=json is emulated", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	refuse := s.refuse
	s.mu.Unlock()
	if refuse {
		http.Error(w, "the gateway is unavailable", http.StatusServiceUnavailable)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws, wake: make(chan struct{}, 1), lastBeat: time.Now()}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	hello, _ := json.Marshal(map[string]any{"heartbeat_interval": s.heartbeat.Milliseconds()})
	s.send(c, frame{Op: opHello, D: hello})
	s.mu.Unlock()
	go s.writeLoop(c)
	go s.watchHeartbeats(c)
	s.readLoop(c)
}

// watchHeartbeats closes a connection whose client stopped sending
// heartbeats — a zombie to Discord — with 4009, which ends its session.
// A client has twice the interval (a first heartbeat is due after a random
// part of it, and a busy client may be late).
func (s *Server) watchHeartbeats(c *gwConn) {
	s.mu.Lock()
	interval := s.heartbeat
	s.mu.Unlock()
	t := time.NewTicker(max(interval/4, 10*time.Millisecond))
	defer t.Stop()
	for range t.C {
		s.mu.Lock()
		closed, late := c.closed, time.Since(c.lastBeat) > 2*interval
		if late && !closed {
			s.heartbeatTimeouts++
			if c.sess != nil {
				c.sess.dead = true
			}
		}
		s.mu.Unlock()
		if closed {
			return
		}
		if late {
			s.closeWith(c, 4009, "Session timed out.")
			c.ws.Close()
			return
		}
	}
}

// send queues a frame on a connection. Call with s.mu held.
func (s *Server) send(c *gwConn, f frame) {
	if c.closed {
		return
	}
	c.queue = append(c.queue, f)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (s *Server) writeLoop(c *gwConn) {
	for range c.wake {
		s.mu.Lock()
		q := c.queue
		c.queue = nil
		closed := c.closed
		s.mu.Unlock()
		if closed {
			return
		}
		for _, f := range q {
			b, _ := json.Marshal(f)
			c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.ws.Close()
				return
			}
			if f.written != nil {
				s.mu.Lock()
				f.written(time.Now())
				s.mu.Unlock()
			}
		}
	}
}

// closeConn forgets a connection. Call with s.mu held.
func (s *Server) closeConn(c *gwConn, clean bool) {
	if c.closed {
		return
	}
	c.closed = true
	close(c.wake)
	delete(s.conns, c)
	if c.sess != nil && c.sess.conn == c {
		c.sess.conn = nil
		c.sess.lostAt = time.Now()
		// A client that closes with 1000 or 1001 ends its session, as on
		// Discord; a dropped connection leaves it resumable.
		if clean {
			c.sess.dead = true
		}
	}
	s.notify()
}

func (s *Server) readLoop(c *gwConn) {
	clean := false
	defer func() {
		s.mu.Lock()
		s.closeConn(c, clean)
		s.mu.Unlock()
		c.ws.Close()
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway) {
				clean = true
			}
			return
		}
		var f struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			s.closeWith(c, 4002, "Error while decoding payload.")
			return
		}
		s.mu.Lock()
		code, text := s.handleOp(c, f.Op, f.D)
		s.mu.Unlock()
		if code != 0 {
			s.closeWith(c, code, text)
			return
		}
	}
}

// closeWith ends a connection with a gateway close code.
func (s *Server) closeWith(c *gwConn, code int, text string) {
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

// handleOp handles one frame from the client. A non-zero code closes the
// connection with that gateway close code. Call with s.mu held.
func (s *Server) handleOp(c *gwConn, op int, d json.RawMessage) (code int, text string) {
	switch op {
	case opHeartbeat:
		c.lastBeat = time.Now()
		s.heartbeats++
		s.notify()
		if s.ack {
			s.send(c, frame{Op: opHeartbeatACK})
		}
	case opIdentify:
		var id struct {
			Token      string            `json:"token"`
			Intents    int               `json:"intents"`
			Properties map[string]string `json:"properties"`
			Compress   bool              `json:"compress"`
		}
		if json.Unmarshal(d, &id) != nil {
			return 4002, "Error while decoding payload."
		}
		if c.sess != nil {
			return 4005, "Already authenticated."
		}
		if id.Token != "Bot "+s.Token && id.Token != s.Token {
			return 4004, "Authentication failed."
		}
		if s.noContentIntent && id.Intents&IntentMessageContent != 0 {
			return 4014, "Disallowed intent(s)."
		}
		s.identify = append(s.identify, Identify{Token: id.Token, Intents: id.Intents, Properties: id.Properties, Compress: id.Compress})
		sess := &gwSession{id: s.nextID(), intents: id.Intents, conn: c}
		s.sessions[sess.id] = sess
		c.sess = sess
		if !s.holdReady {
			s.ready(sess)
		}
		s.notify()
	case opResume:
		var r struct {
			Token     string `json:"token"`
			SessionID string `json:"session_id"`
			Seq       int64  `json:"seq"`
		}
		if json.Unmarshal(d, &r) != nil {
			return 4002, "Error while decoding payload."
		}
		if r.Token != "Bot "+s.Token && r.Token != s.Token {
			return 4004, "Authentication failed."
		}
		sess := s.sessions[r.SessionID]
		if sess != nil && sess.conn == nil && !sess.lostAt.IsZero() && time.Since(sess.lostAt) > s.resumeWindow {
			sess.dead = true // away too long: Discord forgot it
		}
		if sess == nil || sess.dead || !sess.ready || r.Seq > sess.seq || (len(sess.log) > 0 && r.Seq < *sess.log[0].S-1) {
			s.send(c, frame{Op: opInvalidSession, D: json.RawMessage("false")})
			return 0, ""
		}
		if old := sess.conn; old != nil && old != c {
			old.sess = nil
			old.ws.Close()
		}
		sess.conn = c
		c.sess = sess
		for _, f := range sess.log {
			if *f.S > r.Seq {
				s.send(c, f)
			}
		}
		s.dispatchTo(sess, "RESUMED", map[string]any{})
		s.notify()
	case opPresenceUpdate, opRequestMembers, 4:
		// Accepted and ignored: nothing a bridge needs answers to them.
	default:
		return 4001, "Unknown opcode."
	}
	return 0, ""
}

// ready sends a new session its READY and a GUILD_CREATE per guild. Call
// with s.mu held.
func (s *Server) ready(sess *gwSession) {
	sess.ready = true
	var guilds []map[string]any
	for _, gid := range s.guildOrder {
		guilds = append(guilds, map[string]any{"id": gid, "unavailable": true})
	}
	if guilds == nil {
		guilds = []map[string]any{}
	}
	s.dispatchTo(sess, "READY", map[string]any{
		"v":                  9,
		"user":               s.Bot,
		"session_id":         sess.id,
		"resume_gateway_url": s.GatewayURL(),
		"guilds":             guilds,
		"private_channels":   []any{},
		"application":        map[string]any{"id": s.AppID, "flags": 0},
	})
	for _, gid := range s.guildOrder {
		s.dispatchTo(sess, "GUILD_CREATE", s.guildCreate(gid, sess.intents))
	}
}

// dispatchTo sends an event to one session (or keeps it for its RESUME
// when it has no connection). Call with s.mu held.
func (s *Server) dispatchTo(sess *gwSession, t string, d any) {
	s.dispatchWritten(sess, t, d, nil)
}

// dispatchWritten is dispatchTo with a callback for when the event is on
// the wire (a replay after RESUME calls it again).
func (s *Server) dispatchWritten(sess *gwSession, t string, d any, written func(time.Time)) {
	b, err := json.Marshal(d)
	if err != nil {
		panic("discordtest: " + err.Error())
	}
	sess.seq++
	seq := sess.seq
	f := frame{Op: opDispatch, D: b, S: &seq, T: &t, kind: t, written: written}
	sess.log = append(sess.log, f)
	if len(sess.log) > maxLog {
		sess.log = sess.log[len(sess.log)-maxLog:]
	}
	if sess.conn != nil {
		s.send(sess.conn, f)
	}
}

// dispatch sends an event to every live session whose intents include
// need (0: always). shape may change the payload per session (for the
// message content intent). Call with s.mu held.
func (s *Server) dispatch(t string, need int, d any, shape func(sess *gwSession, d any) any) {
	for _, sess := range s.sessions {
		if sess.dead || !sess.ready {
			continue // nothing comes before READY
		}
		if need != 0 && sess.intents&need == 0 {
			continue
		}
		p := d
		if shape != nil {
			p = shape(sess, d)
		}
		s.dispatchTo(sess, t, p)
	}
	s.notify()
}

// Identifies returns the IDENTIFY payloads received so far.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identify(nil), s.identify...)
}

// Connections returns how many gateway connections are open and
// identified or resumed.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.sess != nil {
			n++
		}
	}
	return n
}

// Resumes returns how many RESUMED events were sent.
func (s *Server) Resumes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sess := range s.sessions {
		for _, f := range sess.log {
			if f.kind == "RESUMED" {
				n++
			}
		}
	}
	return n
}

// DropConnections cuts every gateway connection without a close frame, as
// a network failure would. The sessions stay resumable: a client that
// RESUMEs gets the events dispatched meanwhile.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.ws.UnderlyingConn().Close()
	}
}

// SendReconnect asks every connected client to reconnect (op 7).
func (s *Server) SendReconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		s.send(c, frame{Op: opReconnect})
	}
}

// HoldReady holds back (true) or sends (false) the READY of new sessions:
// Discord may take its time between IDENTIFY and READY, and a bot must
// not act on the gateway before it. Sessions identified while it was held
// get their READY when it is let go.
func (s *Server) HoldReady(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdReady = hold
	if !hold {
		for _, sess := range s.sessions {
			if !sess.ready && !sess.dead {
				s.ready(sess)
			}
		}
	}
	s.notify()
}

// Heartbeats returns how many heartbeats clients sent.
func (s *Server) Heartbeats() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heartbeats
}

// HeartbeatTimeouts returns how many connections were closed for missing
// heartbeats.
func (s *Server) HeartbeatTimeouts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heartbeatTimeouts
}

// SetHeartbeatACK turns heartbeat ACKs on or off. Without ACKs a client
// takes the connection for dead and reconnects.
func (s *Server) SetHeartbeatACK(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ack = on
}

// InvalidateSessions ends every gateway session, as Discord does after a
// long disconnection: a RESUME gets INVALID SESSION and the client must
// IDENTIFY again; what was dispatched meanwhile is not replayed.
func (s *Server) InvalidateSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.sessions {
		sess.dead = true
	}
}

// RefuseConnections makes the gateway refuse (or accept again) new
// websocket connections, as during an outage.
func (s *Server) RefuseConnections(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = refuse
	s.notify()
}
