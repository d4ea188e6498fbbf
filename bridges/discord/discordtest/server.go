// Package discordtest is an emulator of the Discord API — the gateway
// (websocket) and the REST routes a bridge bot uses — for tests. Unmodified
// discordgo sessions connect to it as they would to Discord: point
// Session.Client at [Server.Client], which sends every request (the
// gateway lookup included) to the emulator.
//
// The emulator is faithful where a bot can tell the difference, and as
// strict as Discord where a lenient emulator would hide a bug:
//
//   - Gateway: HELLO first; IDENTIFY (the token is checked) answered by READY
//     and one GUILD_CREATE per guild — nothing is dispatched to a session
//     before its READY, which can be held back ([Server.HoldReady]);
//     heartbeats answered with ACKs, and a connection that stops sending
//     them is closed with 4009, ending its session; RESUME with the session
//     ID and sequence replays the events missed while disconnected and ends
//     with RESUMED, while a session that is unknown, ended, or was away
//     longer than its resume window ([WithResumeWindow]) gets INVALID
//     SESSION; every dispatch has the next sequence number of its session.
//     Events are filtered by the intents given in IDENTIFY: without the
//     privileged MESSAGE_CONTENT intent the content, attachments and embeds
//     of other users' guild messages arrive empty, and without
//     GUILD_MEMBERS a GUILD_CREATE lists the bot alone among the members.
//     A message with a link gets its preview as a MESSAGE_UPDATE with the
//     same content and no edited_timestamp, as a pin does; replies carry
//     the message they answer (referenced_message); reactions come as
//     MESSAGE_REACTION_ADD/REMOVE with the GUILD_MESSAGE_REACTIONS intent.
//     Frames are JSON text; zlib is never used.
//   - REST under /api/v9 and /api/v10 with "Authorization: Bot <token>":
//     guilds, roles, channels (categories, text channels, public and
//     private threads, thread members), messages (JSON and multipart bodies
//     with files, replies, edits, deletes, history with
//     before/after/around, returned without guild_id and member as Discord
//     does), typing, webhooks (create, list, execute with wait and
//     thread_id, edit and delete their messages, Discord's name rules),
//     slash commands (global and guild, bulk overwrite), interaction
//     callbacks (messages, ephemeral messages, deferred replies, modals),
//     follow-ups and edits of the original response. Unknown fields in
//     bodies are ignored, as Discord does. Errors have Discord's status and
//     JSON code.
//   - Permissions are computed as Discord does — roles, then the channel's
//     overwrites — and checked on every route the bot uses; permission
//     overwrites may only allow or deny what the bot itself has where the
//     channel is made (Discord's rule since 2021). A new guild gives the bot
//     exactly what the bridge's invite link asks for ([PermBridge]).
//   - Threads made without a message leave the "started a thread" system
//     message in their channel, and adding a member leaves "added to the
//     thread" in the thread, as on Discord.
//   - Rate limits: every response carries X-RateLimit headers; a bot has a
//     global limit (50 requests a second) and each webhook its own (5 every
//     2 seconds), and buckets can be made tighter to test that a bot waits
//     (429 with retry_after when it does not).
//   - Interactions must be answered within three seconds of reaching the
//     bot, or the callback gets "Unknown interaction".
//
// Test hooks act as Discord users and as Discord itself: [Server.Post]
// (a user writes, with attachments), [Server.PostReply], [Server.Edit],
// [Server.Delete], [Server.Pin], [Server.React], [Server.Unreact],
// [Server.Typing], [Server.Run] (a user runs a slash command),
// [Server.SubmitModal], [Server.ArchiveThread], [Server.DeleteChannel],
// [Server.SetNick], [Server.SetOverwrites], [Server.DropConnections] (the
// network fails; the bot resumes), [Server.InvalidateSessions] and
// [Server.RefuseConnections] (an outage too long to resume),
// [Server.HoldReady], [Server.SetHeartbeatACK], [Server.SendReconnect],
// [Server.FailNext], [Server.SetRateLimit], [Server.SetGlobalRateLimit],
// [Server.SetBotPermissions], [Server.SetEveryonePermissions] and
// [WithoutMessageContentIntent]. Reads of the state ([Server.Messages],
// [Server.Channel], [Server.Threads], [Server.Webhooks], [Server.Calls] …)
// return copies, and [Server.WaitFor] waits until a condition holds,
// re-checking after every change instead of sleeping.
//
// The emulator is not a security boundary and keeps everything in memory;
// it is for tests.
package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nudge-im/nudge/bridges/msnbridge"
)

// discordEpoch is the start of Discord's snowflake clock (2015-01-01).
const discordEpoch = 1420070400000

// Server is a running emulator.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:41234.
	URL string
	// Token is the bot token the emulator accepts ("Bot " + Token).
	Token string
	// Bot is the bot's user; AppID its application's ID.
	Bot   User
	AppID string

	hs *httptest.Server

	mu      sync.Mutex
	changed chan struct{}
	lastID  uint64

	users        map[string]*User
	guilds       map[string]*guildState
	guildOrder   []string
	channels     map[string]*Channel
	messages     map[string]*Message
	history      map[string][]string // channel ID → message IDs in order
	threadMember map[string]map[string]time.Time
	webhooks     map[string]*Webhook
	commands     map[string]*Command
	interactions map[string]*Interaction
	files        map[string]storedFile
	avatars      map[string]storedFile // user ID → their avatar (SetAvatar)
	avatarURLs   map[string]string     // webhook message ID → its avatar_url

	sessions          map[string]*gwSession
	conns             map[*gwConn]struct{}
	heartbeat         time.Duration
	heartbeatTimeouts int
	heartbeats        int
	resumeWindow      time.Duration
	holdReady         bool
	ack               bool
	refuse            bool
	identify          []Identify
	// noContentIntent: the Message Content Intent is off "in the portal".
	noContentIntent bool
	ixTimeout       time.Duration

	limits      map[string]rateLimit
	global      rateLimit
	buckets     map[string]*bucket
	rateLimited int
	faults      []fault
	calls       []Call
}

type guildState struct {
	guild   Guild
	members map[string]*Member
	botRole string // the bot's managed role
}

type storedFile struct {
	contentType string
	data        []byte
}

// Option configures a Server.
type Option func(*Server)

// WithHeartbeatInterval sets the interval the gateway asks for in HELLO
// (default 41.25 s, as Discord). discordgo reconnects after five intervals
// without an ACK.
func WithHeartbeatInterval(d time.Duration) Option {
	return func(s *Server) { s.heartbeat = d }
}

// WithResumeWindow sets how long a session without a connection stays
// resumable (default a minute); after it, a RESUME gets INVALID SESSION
// and the client must identify again, missing what was said meanwhile.
func WithResumeWindow(d time.Duration) Option {
	return func(s *Server) { s.resumeWindow = d }
}

// WithoutMessageContentIntent makes the emulator behave as Discord does
// for an application whose Message Content Intent is off in the Developer
// Portal: an IDENTIFY asking for it is closed with 4014.
func WithoutMessageContentIntent() Option {
	return func(s *Server) { s.noContentIntent = true }
}

// WithInteractionTimeout sets how long the bot has to acknowledge an
// interaction (default InteractionTimeout, Discord's three seconds). Tests
// on a loaded machine may allow more; the rule itself is tested with a
// short one.
func WithInteractionTimeout(d time.Duration) Option {
	return func(s *Server) { s.ixTimeout = d }
}

// WithToken sets the bot token (default "test-token").
func WithToken(token string) Option { return func(s *Server) { s.Token = token } }

// New starts an emulator on a loopback port. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		Token:        "test-token",
		changed:      make(chan struct{}),
		users:        map[string]*User{},
		guilds:       map[string]*guildState{},
		channels:     map[string]*Channel{},
		messages:     map[string]*Message{},
		history:      map[string][]string{},
		threadMember: map[string]map[string]time.Time{},
		webhooks:     map[string]*Webhook{},
		commands:     map[string]*Command{},
		interactions: map[string]*Interaction{},
		files:        map[string]storedFile{},
		avatars:      map[string]storedFile{},
		avatarURLs:   map[string]string{},
		sessions:     map[string]*gwSession{},
		conns:        map[*gwConn]struct{}{},
		heartbeat:    41250 * time.Millisecond,
		resumeWindow: time.Minute,
		ixTimeout:    InteractionTimeout,
		ack:          true,
		limits:       map[string]rateLimit{"POST /webhooks/{webhook_id}/{token}": webhookLimit},
		global:       defaultGlobal,
		buckets:      map[string]*bucket{},
	}
	for _, o := range opts {
		o(s)
	}
	s.AppID = s.nextID()
	s.Bot = User{ID: s.AppID, Username: "Nudge Bridge", Discriminator: "0", Bot: true}
	s.users[s.Bot.ID] = &s.Bot
	s.hs = httptest.NewServer(s.routes())
	s.URL = s.hs.URL
	return s
}

// Close stops the emulator and closes every gateway connection.
func (s *Server) Close() {
	s.mu.Lock()
	for c := range s.conns {
		c.ws.Close()
	}
	s.mu.Unlock()
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// Client returns an HTTP client that sends every request, whatever its
// host, to the emulator: set it as a discordgo Session's Client.
func (s *Server) Client() *http.Client {
	u, _ := url.Parse(s.URL)
	return &http.Client{Transport: msnbridge.RewriteTransport(u), Timeout: 30 * time.Second}
}

// GatewayURL is the websocket URL the emulator hands out.
func (s *Server) GatewayURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/gateway" }

// nextID returns a new snowflake, greater than every earlier one.
func (s *Server) nextID() string {
	id := uint64(time.Now().UnixMilli()-discordEpoch) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return strconv.FormatUint(id, 10)
}

// notify wakes everyone in Wait. Call with s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Wait waits until cond, called with the emulator's state locked, returns
// true, or until ctx ends. cond must not call the Server's methods; it may
// read what it captured through them before.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitFor waits until cond, which may call the Server's methods, returns
// true, or until ctx ends. It re-checks after every change of the
// emulator's state.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Call is a REST request the emulator received.
type Call struct {
	Method string
	Route  string // the route pattern, such as "POST /webhooks/{id}/{token}"
	Path   string
	Query  url.Values
	Body   []byte
	Status int
}

// Calls returns the REST requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// RateLimited returns how many requests were answered 429.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimited
}

// ---- errors, bodies and responses ----

// restError is an error answer.
type restError struct {
	status int
	code   int
	msg    string
}

func (e *restError) Error() string { return fmt.Sprintf("%d %s (%d)", e.status, e.msg, e.code) }

func errNotFound(code int, what string) *restError {
	return &restError{http.StatusNotFound, code, "Unknown " + what}
}

func errForbidden(code int, msg string) *restError {
	return &restError{http.StatusForbidden, code, msg}
}

func errBadRequest(code int, msg string) *restError {
	return &restError{http.StatusBadRequest, code, msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

func writeError(w http.ResponseWriter, e *restError) {
	writeJSON(w, e.status, apiError{Message: e.msg, Code: e.code})
}

// maxBody bounds request bodies (Discord's attachment limit for bots
// without boosts, plus room for the JSON).
const maxBody = 26 << 20

// upload is a file in a multipart request.
type upload struct {
	name, contentType string
	data              []byte
}

// readBody reads a JSON body, or the payload_json part and the files of a
// multipart one, into v. Unknown fields are ignored.
func readBody(r *http.Request, v any) ([]upload, []byte, *restError) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		mr := multipart.NewReader(io.LimitReader(r.Body, maxBody), params["boundary"])
		var files []upload
		var payload []byte
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: "+err.Error())
			}
			data, err := io.ReadAll(p)
			if err != nil {
				return nil, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: "+err.Error())
			}
			switch name := p.FormName(); {
			case name == "payload_json":
				payload = data
			case strings.HasPrefix(name, "files[") || strings.HasPrefix(name, "file"):
				files = append(files, upload{name: p.FileName(), contentType: p.Header.Get("Content-Type"), data: data})
			}
		}
		if payload != nil && v != nil {
			if err := json.Unmarshal(payload, v); err != nil {
				return nil, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: "+err.Error())
			}
		}
		return files, payload, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body")
	}
	if len(body) > 0 && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return nil, body, errBadRequest(CodeInvalidForm, "Invalid Form Body: "+err.Error())
		}
	}
	return nil, body, nil
}

func ptr[T any](v T) *T { return &v }
