package discordtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// handler serves one REST route with s.mu held.
type handler func(r *http.Request) (status int, v any, err *restError)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /gateway", s.serveGateway)
	mux.HandleFunc("GET /gateway/", s.serveGateway)
	mux.HandleFunc("GET /attachments/{channel_id}/{id}/{name}", s.serveFile)
	mux.HandleFunc("GET /avatars/{user_id}/{file}", s.serveAvatar)

	api := func(pattern string, auth bool, h handler) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.HandleFunc(method+" /api/{version}"+path, func(w http.ResponseWriter, r *http.Request) {
			s.serveAPI(w, r, pattern, auth, h)
		})
	}
	api("GET /gateway", false, s.getGateway)
	api("GET /gateway/bot", true, s.getGateway)
	api("GET /users/@me", true, func(*http.Request) (int, any, *restError) { return 200, s.Bot, nil })
	api("GET /users/{user_id}", true, s.getUser)
	api("GET /guilds/{guild_id}", true, s.getGuild)
	api("GET /guilds/{guild_id}/channels", true, s.getGuildChannels)
	api("POST /guilds/{guild_id}/channels", true, s.createChannel)
	api("GET /guilds/{guild_id}/members/{user_id}", true, s.getMember)
	api("GET /guilds/{guild_id}/roles", true, s.getRoles)
	api("GET /guilds/{guild_id}/webhooks", true, s.getGuildWebhooks)
	api("GET /channels/{channel_id}", true, s.getChannel)
	api("PATCH /channels/{channel_id}", true, s.editChannel)
	api("DELETE /channels/{channel_id}", true, s.deleteChannel)
	api("GET /channels/{channel_id}/messages", true, s.getMessages)
	api("POST /channels/{channel_id}/messages", true, s.createMessage)
	api("GET /channels/{channel_id}/messages/{message_id}", true, s.getMessage)
	api("PATCH /channels/{channel_id}/messages/{message_id}", true, s.editMessage)
	api("DELETE /channels/{channel_id}/messages/{message_id}", true, s.deleteMessage)
	api("POST /channels/{channel_id}/typing", true, s.typing)
	api("POST /channels/{channel_id}/threads", true, s.createThread)
	api("POST /channels/{channel_id}/messages/{message_id}/threads", true, s.createThread)
	api("GET /channels/{channel_id}/thread-members", true, s.getThreadMembers)
	api("PUT /channels/{channel_id}/thread-members/{user_id}", true, s.addThreadMember)
	api("DELETE /channels/{channel_id}/thread-members/{user_id}", true, s.removeThreadMember)
	api("POST /channels/{channel_id}/webhooks", true, s.createWebhook)
	api("GET /channels/{channel_id}/webhooks", true, s.getChannelWebhooks)
	api("GET /webhooks/{webhook_id}", true, s.getWebhook)
	api("DELETE /webhooks/{webhook_id}", true, s.deleteWebhook)
	api("GET /webhooks/{webhook_id}/{token}", false, s.getWebhook)
	api("POST /webhooks/{webhook_id}/{token}", false, s.executeWebhook)
	api("GET /webhooks/{webhook_id}/{token}/messages/{message_id}", false, s.getWebhookMessage)
	api("PATCH /webhooks/{webhook_id}/{token}/messages/{message_id}", false, s.editWebhookMessage)
	api("DELETE /webhooks/{webhook_id}/{token}/messages/{message_id}", false, s.deleteWebhookMessage)
	api("GET /applications/{app_id}/commands", true, s.getCommands)
	api("PUT /applications/{app_id}/commands", true, s.putCommands)
	api("POST /applications/{app_id}/commands", true, s.createCommand)
	api("DELETE /applications/{app_id}/commands/{command_id}", true, s.deleteCommand)
	api("GET /applications/{app_id}/guilds/{guild_id}/commands", true, s.getCommands)
	api("PUT /applications/{app_id}/guilds/{guild_id}/commands", true, s.putCommands)
	api("POST /applications/{app_id}/guilds/{guild_id}/commands", true, s.createCommand)
	api("DELETE /applications/{app_id}/guilds/{guild_id}/commands/{command_id}", true, s.deleteCommand)
	api("POST /interactions/{interaction_id}/{token}/callback", false, s.interactionCallback)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, apiError{Message: "404: Not Found", Code: CodeGeneral})
	})
	return mux
}

// serveAPI runs a REST route: version and token checks, injected faults,
// rate limits, the call record, then the handler under the lock.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, pattern string, auth bool, h handler) {
	if v := r.PathValue("version"); v != "v9" && v != "v10" {
		writeJSON(w, http.StatusNotFound, apiError{Message: "404: Not Found", Code: CodeGeneral})
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	r.Body = io.NopCloser(bytes.NewReader(body))

	s.mu.Lock()
	status := 0
	defer func() {
		s.calls = append(s.calls, Call{Method: r.Method, Route: pattern, Path: r.URL.Path, Query: r.URL.Query(), Body: body, Status: status})
		s.notify()
		s.mu.Unlock()
	}()

	if auth && r.Header.Get("Authorization") != "Bot "+s.Token {
		status = http.StatusUnauthorized
		writeJSON(w, status, apiError{Message: "401: Unauthorized", Code: CodeGeneral})
		return
	}
	if e := s.takeFault(pattern); e != nil {
		status = e.status
		writeError(w, e)
		return
	}
	if !s.limitGlobal(w, pattern, r) || !s.limit(w, pattern, r) {
		status = http.StatusTooManyRequests
		return
	}
	st, v, e := h(r)
	if e != nil {
		status = e.status
		writeError(w, e)
		return
	}
	status = st
	if st == http.StatusNoContent {
		w.WriteHeader(st)
		return
	}
	writeJSON(w, st, v)
}

// ---- rate limits and faults ----

type rateLimit struct {
	limit  int
	window time.Duration
}

type bucket struct {
	count   int
	resetAt time.Time
}

// defaultLimit is generous, so tests that do not care never wait; the
// headers are sent either way.
var defaultLimit = rateLimit{limit: 1000, window: time.Second}

// SetRateLimit limits a route (a pattern such as
// "POST /webhooks/{webhook_id}/{token}") to limit requests per window for
// each channel, guild or webhook, as Discord's per-route buckets do.
func (s *Server) SetRateLimit(route string, limit int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[route] = rateLimit{limit, window}
}

// limit applies the route's bucket and writes the X-RateLimit headers; it
// answers 429 and returns false when the bucket is empty. Call with s.mu
// held.
func (s *Server) limit(w http.ResponseWriter, pattern string, r *http.Request) bool {
	rl, ok := s.limits[pattern]
	if !ok {
		rl = defaultLimit
	}
	major := r.PathValue("channel_id") + r.PathValue("guild_id") + r.PathValue("webhook_id")
	key := pattern + " " + major
	now := time.Now()
	b := s.buckets[key]
	if b == nil || !now.Before(b.resetAt) {
		b = &bucket{resetAt: now.Add(rl.window)}
		s.buckets[key] = b
	}
	b.count++
	sum := sha1.Sum([]byte(pattern))
	after := b.resetAt.Sub(now).Seconds()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(rl.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, rl.limit-b.count)))
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(b.resetAt.UnixMilli())/1000, 'f', 3, 64))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(math.Ceil(after*1000)/1000, 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", hex.EncodeToString(sum[:8]))
	if b.count <= rl.limit {
		return true
	}
	s.rateLimited++
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(after))))
	h.Set("X-RateLimit-Scope", "user")
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"message": "You are being rate limited.", "retry_after": math.Ceil(after*1000) / 1000, "global": false, "code": 0,
	})
	return false
}

// Discord's global limit: 50 requests a second for a bot, over every
// route but interaction callbacks.
var defaultGlobal = rateLimit{limit: 50, window: time.Second}

// webhookLimit is Discord's limit for executing one webhook: 5 requests
// every 2 seconds.
var webhookLimit = rateLimit{limit: 5, window: 2 * time.Second}

// SetGlobalRateLimit changes the bot's global limit (default 50 requests
// a second).
func (s *Server) SetGlobalRateLimit(limit int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.global = rateLimit{limit, window}
}

// limitGlobal applies the global limit of the request's token; over it,
// it answers 429 with "global": true and returns false. Call with s.mu
// held.
func (s *Server) limitGlobal(w http.ResponseWriter, pattern string, r *http.Request) bool {
	if strings.HasPrefix(pattern, "POST /interactions/") {
		return true
	}
	key := "global " + r.Header.Get("Authorization")
	now := time.Now()
	b := s.buckets[key]
	if b == nil || !now.Before(b.resetAt) {
		b = &bucket{resetAt: now.Add(s.global.window)}
		s.buckets[key] = b
	}
	b.count++
	if b.count <= s.global.limit {
		return true
	}
	s.rateLimited++
	after := b.resetAt.Sub(now).Seconds()
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(after))))
	h.Set("X-RateLimit-Global", "true")
	h.Set("X-RateLimit-Scope", "global")
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"message": "You are being rate limited.", "retry_after": math.Ceil(after*1000) / 1000, "global": true, "code": 0,
	})
	return false
}

type fault struct {
	route string
	err   *restError
}

// FailNext makes the next request to route (a pattern such as
// "POST /channels/{channel_id}/messages") fail with the given HTTP status
// and Discord error code.
func (s *Server) FailNext(route string, status, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{route, &restError{status, code, message}})
}

func (s *Server) takeFault(pattern string) *restError {
	for i, f := range s.faults {
		if f.route == pattern {
			s.faults = slices.Delete(s.faults, i, i+1)
			return f.err
		}
	}
	return nil
}

// ---- gateway, users, guilds ----

func (s *Server) getGateway(r *http.Request) (int, any, *restError) {
	v := map[string]any{"url": s.GatewayURL()}
	if strings.HasSuffix(r.URL.Path, "/bot") {
		v["shards"] = 1
		v["session_start_limit"] = map[string]any{"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
	}
	return 200, v, nil
}

func (s *Server) getUser(r *http.Request) (int, any, *restError) {
	u := s.users[r.PathValue("user_id")]
	if u == nil {
		return 0, nil, errNotFound(10013, "User")
	}
	return 200, u, nil
}

func (s *Server) guild(r *http.Request) (*guildState, *restError) {
	g := s.guilds[r.PathValue("guild_id")]
	if g == nil {
		return nil, errNotFound(CodeUnknownGuild, "Guild")
	}
	return g, nil
}

func (s *Server) getGuild(r *http.Request) (int, any, *restError) {
	g, e := s.guild(r)
	if e != nil {
		return 0, nil, e
	}
	gg := g.guild
	gg.MemberCount = len(g.members)
	return 200, gg, nil
}

func (s *Server) getRoles(r *http.Request) (int, any, *restError) {
	g, e := s.guild(r)
	if e != nil {
		return 0, nil, e
	}
	return 200, g.guild.Roles, nil
}

func (s *Server) getMember(r *http.Request) (int, any, *restError) {
	g, e := s.guild(r)
	if e != nil {
		return 0, nil, e
	}
	m := g.members[r.PathValue("user_id")]
	if m == nil {
		return 0, nil, errNotFound(CodeUnknownMember, "Member")
	}
	return 200, m, nil
}

func (s *Server) getGuildChannels(r *http.Request) (int, any, *restError) {
	g, e := s.guild(r)
	if e != nil {
		return 0, nil, e
	}
	out := []Channel{}
	for _, c := range s.sortedChannels() {
		if c.GuildID == g.guild.ID && !c.IsThread() {
			out = append(out, *c)
		}
	}
	return 200, out, nil
}

// guildCreate is the GUILD_CREATE payload of a guild for a session with
// these intents: every member only with the privileged GUILD_MEMBERS
// intent, otherwise the bot alone, as on Discord. Call with s.mu held.
func (s *Server) guildCreate(gid string, intents int) any {
	g := s.guilds[gid]
	gg := g.guild
	gg.Roles = append([]Role(nil), g.guild.Roles...)
	gg.Channels, gg.Threads, gg.Members = []Channel{}, []Channel{}, []Member{}
	for _, c := range s.sortedChannels() {
		if c.GuildID != gid {
			continue
		}
		if c.IsThread() {
			if !c.ThreadMetadata.Archived {
				gg.Threads = append(gg.Threads, *c)
			}
		} else {
			gg.Channels = append(gg.Channels, *c)
		}
	}
	for id, m := range g.members {
		if intents&IntentGuildMembers != 0 || id == s.Bot.ID {
			gg.Members = append(gg.Members, *m)
		}
	}
	gg.MemberCount = len(g.members)
	gg.JoinedAt = time.Now().UTC()
	return gg
}

// sortedChannels returns the channels in the order they were made.
func (s *Server) sortedChannels() []*Channel {
	out := make([]*Channel, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Channel) int { return cmpID(a.ID, b.ID) })
	return out
}

func cmpID(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// ---- channels and threads ----

func (s *Server) channel(id string) (*Channel, *restError) {
	c := s.channels[id]
	if c == nil {
		return nil, errNotFound(CodeUnknownChannel, "Channel")
	}
	return c, nil
}

var channelNameStrip = regexp.MustCompile(`[^\p{L}\p{N}_\-]+`)

// textChannelName is how Discord stores a text channel's name: lower case,
// spaces as dashes, no punctuation.
func textChannelName(n string) string {
	n = strings.ToLower(strings.TrimSpace(n))
	n = strings.Join(strings.Fields(n), "-")
	return strings.Trim(channelNameStrip.ReplaceAllString(n, ""), "-")
}

type channelBody struct {
	Name                 *string     `json:"name"`
	Type                 *int        `json:"type"`
	Topic                *string     `json:"topic"`
	ParentID             *string     `json:"parent_id"`
	Position             *int        `json:"position"`
	PermissionOverwrites []Overwrite `json:"permission_overwrites"`
	Archived             *bool       `json:"archived"`
	Locked               *bool       `json:"locked"`
	AutoArchiveDuration  *int        `json:"auto_archive_duration"`
	Invitable            *bool       `json:"invitable"`
}

func (s *Server) createChannel(r *http.Request) (int, any, *restError) {
	g, e := s.guild(r)
	if e != nil {
		return 0, nil, e
	}
	var b channelBody
	if _, _, e := readBody(r, &b); e != nil {
		return 0, nil, e
	}
	var parent *Channel
	if b.ParentID != nil && *b.ParentID != "" {
		parent = s.channels[*b.ParentID]
	}
	if parent != nil && parent.GuildID == g.guild.ID {
		if e := s.needIn(parent, PermManageChannels); e != nil {
			return 0, nil, e
		}
	} else if e := s.needGuild(g.guild.ID, PermManageChannels); e != nil {
		return 0, nil, e
	}
	if e := s.checkOverwrites(g.guild.ID, parent, b.PermissionOverwrites); e != nil {
		return 0, nil, e
	}
	typ := ChannelText
	if b.Type != nil {
		typ = *b.Type
	}
	if typ != ChannelText && typ != ChannelCategory {
		return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: the emulator makes text channels and categories only")
	}
	if b.Name == nil || utf8.RuneCountInString(*b.Name) < 1 || utf8.RuneCountInString(*b.Name) > 100 {
		return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: name must be 1-100 characters")
	}
	name := *b.Name
	if typ == ChannelText {
		name = textChannelName(name)
		if name == "" {
			name = "channel"
		}
	}
	c := &Channel{ID: s.nextID(), Type: typ, GuildID: g.guild.ID, Name: name, Topic: b.Topic, PermissionOverwrites: b.PermissionOverwrites}
	if b.ParentID != nil && *b.ParentID != "" {
		p := s.channels[*b.ParentID]
		if p == nil || p.Type != ChannelCategory || p.GuildID != g.guild.ID || typ == ChannelCategory {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: parent_id is not a category of this guild")
		}
		n := 0
		for _, o := range s.channels {
			if o.ParentID != nil && *o.ParentID == p.ID && !o.IsThread() {
				n++
			}
		}
		if n >= 50 {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: parent_id: Maximum number of channels in category reached (50)")
		}
		c.ParentID = b.ParentID
	}
	if b.Position != nil {
		c.Position = *b.Position
	}
	if c.PermissionOverwrites == nil {
		c.PermissionOverwrites = []Overwrite{}
	}
	s.channels[c.ID] = c
	s.dispatch("CHANNEL_CREATE", IntentGuilds, *c, nil)
	return 201, c, nil
}

func (s *Server) getChannel(r *http.Request) (int, any, *restError) {
	c, e := s.channel(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	return 200, c, nil
}

func (s *Server) editChannel(r *http.Request) (int, any, *restError) {
	c, e := s.channel(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	var b channelBody
	if _, _, e := readBody(r, &b); e != nil {
		return 0, nil, e
	}
	if !c.IsThread() {
		if e := s.needIn(c, PermManageChannels); e != nil {
			return 0, nil, e
		}
		if b.PermissionOverwrites != nil {
			var parent *Channel
			if c.ParentID != nil {
				parent = s.channels[*c.ParentID]
			}
			if e := s.checkOverwrites(c.GuildID, parent, b.PermissionOverwrites); e != nil {
				return 0, nil, e
			}
		}
	}
	if b.Name != nil {
		if n := utf8.RuneCountInString(*b.Name); n < 1 || n > 100 {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: name must be 1-100 characters")
		}
		c.Name = *b.Name
		if c.Type == ChannelText {
			c.Name = textChannelName(c.Name)
		}
	}
	if b.Topic != nil {
		c.Topic = b.Topic
	}
	if b.PermissionOverwrites != nil {
		c.PermissionOverwrites = b.PermissionOverwrites
	}
	if c.IsThread() {
		if b.Archived != nil {
			c.ThreadMetadata.Archived = *b.Archived
			c.ThreadMetadata.ArchiveTimestamp = time.Now().UTC()
		}
		if b.Locked != nil {
			c.ThreadMetadata.Locked = *b.Locked
		}
		if b.AutoArchiveDuration != nil {
			c.ThreadMetadata.AutoArchiveDuration = *b.AutoArchiveDuration
		}
		if b.Invitable != nil {
			c.ThreadMetadata.Invitable = *b.Invitable
		}
		s.dispatch("THREAD_UPDATE", IntentGuilds, *c, nil)
	} else {
		s.dispatch("CHANNEL_UPDATE", IntentGuilds, *c, nil)
	}
	return 200, c, nil
}

func (s *Server) deleteChannel(r *http.Request) (int, any, *restError) {
	c, e := s.channel(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	if e := s.needIn(c, PermManageChannels); e != nil && !c.IsThread() {
		return 0, nil, e
	}
	s.removeChannel(c)
	return 200, c, nil
}

// removeChannel deletes a channel, its threads, messages and webhooks.
// Call with s.mu held.
func (s *Server) removeChannel(c *Channel) {
	for _, t := range s.channels {
		if t.IsThread() && t.ParentID != nil && *t.ParentID == c.ID {
			s.removeChannel(t)
		}
	}
	for _, id := range s.history[c.ID] {
		delete(s.messages, id)
	}
	delete(s.history, c.ID)
	for id, w := range s.webhooks {
		if w.ChannelID == c.ID {
			delete(s.webhooks, id)
		}
	}
	delete(s.channels, c.ID)
	if c.IsThread() {
		s.dispatch("THREAD_DELETE", IntentGuilds, map[string]any{"id": c.ID, "guild_id": c.GuildID, "parent_id": c.ParentID, "type": c.Type}, nil)
	} else {
		s.dispatch("CHANNEL_DELETE", IntentGuilds, *c, nil)
	}
}

func (s *Server) createThread(r *http.Request) (int, any, *restError) {
	parent, e := s.channel(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	if parent.Type != ChannelText {
		return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: threads can only be made in text channels")
	}
	var b channelBody
	if _, _, e := readBody(r, &b); e != nil {
		return 0, nil, e
	}
	fromMessage := r.PathValue("message_id")
	typ := ChannelPrivateThread // Discord's default for POST /threads
	if fromMessage != "" {
		typ = ChannelPublicThread
		if m := s.messages[fromMessage]; m == nil || m.ChannelID != parent.ID {
			return 0, nil, errNotFound(CodeUnknownMessage, "Message")
		}
	} else if b.Type != nil {
		typ = *b.Type
	}
	if typ != ChannelPublicThread && typ != ChannelPrivateThread {
		return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: type must be 11 or 12")
	}
	perm := int64(PermCreatePublicThread)
	if typ == ChannelPrivateThread {
		perm = PermCreatePrivateThread
	}
	if e := s.needIn(parent, perm); e != nil {
		return 0, nil, e
	}
	if b.Name == nil || utf8.RuneCountInString(*b.Name) < 1 || utf8.RuneCountInString(*b.Name) > 100 {
		return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: name must be 1-100 characters")
	}
	auto := 4320
	if b.AutoArchiveDuration != nil && *b.AutoArchiveDuration != 0 {
		auto = *b.AutoArchiveDuration
		if auto != 60 && auto != 1440 && auto != 4320 && auto != 10080 {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: auto_archive_duration must be 60, 1440, 4320 or 10080")
		}
	}
	invitable := true
	if b.Invitable != nil {
		invitable = *b.Invitable
	}
	id := s.nextID()
	if fromMessage != "" {
		id = fromMessage // a thread started from a message has the message's ID
	}
	t := &Channel{
		ID: id, Type: typ, GuildID: parent.GuildID, Name: *b.Name, ParentID: ptr(parent.ID), OwnerID: s.Bot.ID,
		ThreadMetadata: &ThreadMetadata{AutoArchiveDuration: auto, ArchiveTimestamp: time.Now().UTC(), Invitable: invitable},
		MemberCount:    1,
	}
	s.channels[t.ID] = t
	s.threadMember[t.ID] = map[string]time.Time{s.Bot.ID: time.Now().UTC()}
	payload := struct {
		Channel
		NewlyCreated bool `json:"newly_created"`
	}{*t, true}
	s.dispatch("THREAD_CREATE", IntentGuilds, payload, nil)
	if fromMessage == "" && typ == ChannelPublicThread {
		// "Nudge Bridge started a thread: Bob. See all threads."
		m := s.systemMessage(parent, MessageThreadCreated, s.Bot.ID)
		m.Content, m.MessageReference = t.Name, &MessageReference{ChannelID: t.ID, GuildID: t.GuildID}
		s.store(parent, m)
	}
	return 201, t, nil
}

func (s *Server) thread(id string) (*Channel, *restError) {
	t, e := s.channel(id)
	if e != nil {
		return nil, e
	}
	if !t.IsThread() {
		return nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: not a thread")
	}
	return t, nil
}

func (s *Server) getThreadMembers(r *http.Request) (int, any, *restError) {
	t, e := s.thread(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	out := []map[string]any{}
	for uid, at := range s.threadMember[t.ID] {
		out = append(out, map[string]any{"id": t.ID, "user_id": uid, "join_timestamp": at, "flags": 0})
	}
	return 200, out, nil
}

func (s *Server) addThreadMember(r *http.Request) (int, any, *restError) {
	t, e := s.thread(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	uid := r.PathValue("user_id")
	if g := s.guilds[t.GuildID]; g == nil || g.members[uid] == nil {
		return 0, nil, errNotFound(CodeUnknownMember, "Member")
	}
	if t.ThreadMetadata.Archived {
		return 0, nil, errBadRequest(CodeThreadArchived, "Thread is archived")
	}
	if s.addMemberToThread(t, uid) && uid != s.Bot.ID {
		// "Nudge Bridge added Nelly to the thread."
		m := s.systemMessage(t, MessageRecipientAdd, s.Bot.ID)
		if u := s.users[uid]; u != nil {
			m.Mentions = append(m.Mentions, *u)
		}
		s.store(t, m)
	}
	return http.StatusNoContent, nil, nil
}

// addMemberToThread makes uid a member of t, and reports whether they
// were not one before. Call with s.mu held.
func (s *Server) addMemberToThread(t *Channel, uid string) bool {
	if s.threadMember[t.ID] == nil {
		s.threadMember[t.ID] = map[string]time.Time{}
	}
	if _, ok := s.threadMember[t.ID][uid]; ok {
		return false
	}
	now := time.Now().UTC()
	s.threadMember[t.ID][uid] = now
	t.MemberCount = len(s.threadMember[t.ID])
	s.dispatch("THREAD_MEMBERS_UPDATE", IntentGuildMembers, map[string]any{
		"id": t.ID, "guild_id": t.GuildID, "member_count": t.MemberCount,
		"added_members": []any{map[string]any{"id": t.ID, "user_id": uid, "join_timestamp": now, "flags": 0}},
	}, nil)
	return true
}

func (s *Server) removeThreadMember(r *http.Request) (int, any, *restError) {
	t, e := s.thread(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	delete(s.threadMember[t.ID], r.PathValue("user_id"))
	t.MemberCount = len(s.threadMember[t.ID])
	return http.StatusNoContent, nil, nil
}

// ---- messages ----

type messageBody struct {
	Content          *string           `json:"content"`
	TTS              bool              `json:"tts"`
	Flags            int               `json:"flags"`
	Embeds           []any             `json:"embeds"`
	Nonce            any               `json:"nonce"`
	MessageReference *MessageReference `json:"message_reference"`
	Username         string            `json:"username"`
	AvatarURL        string            `json:"avatar_url"`
	ThreadName       string            `json:"thread_name"`
}

// checkContent applies Discord's rules for a new message body.
func checkContent(b *messageBody, files []upload) *restError {
	content := ""
	if b.Content != nil {
		content = *b.Content
	}
	if utf8.RuneCountInString(content) > 2000 {
		return errBadRequest(CodeInvalidForm, "Invalid Form Body: content: Must be 2000 or fewer in length.")
	}
	if strings.TrimSpace(content) == "" && len(files) == 0 && len(b.Embeds) == 0 {
		return errBadRequest(CodeEmptyMessage, "Cannot send an empty message")
	}
	return nil
}

var (
	userMentionRE = regexp.MustCompile(`<@!?(\d+)>`)
	roleMentionRE = regexp.MustCompile(`<@&(\d+)>`)
)

// newMessage makes a message in channel c and dispatches MESSAGE_CREATE.
// Call with s.mu held.
func (s *Server) newMessage(c *Channel, author User, member *Member, content string, files []upload, flags int) *Message {
	return s.newMessageReply(c, author, member, content, files, flags, nil)
}

// newMessageReply is newMessage for a reply to ref (when not nil): its
// type is 19 and it carries the message it answers, as Discord sends it.
// Call with s.mu held.
func (s *Server) newMessageReply(c *Channel, author User, member *Member, content string, files []upload, flags int, ref *Message) *Message {
	m := &Message{
		ID: s.nextID(), ChannelID: c.ID, GuildID: c.GuildID, Author: author, Member: member, Content: content,
		Timestamp: time.Now().UTC(), Mentions: []User{}, MentionRoles: []string{}, Attachments: []Attachment{},
		Flags: flags,
	}
	if ref != nil {
		m.Type = MessageReply
		m.MessageReference = &MessageReference{MessageID: ref.ID, ChannelID: ref.ChannelID, GuildID: ref.GuildID}
		r := *ref
		r.ReferencedMessage = nil // Discord goes one level deep
		m.ReferencedMessage = &r
	}
	for _, sm := range userMentionRE.FindAllStringSubmatch(content, -1) {
		if u := s.users[sm[1]]; u != nil {
			m.Mentions = append(m.Mentions, *u)
		}
	}
	for _, sm := range roleMentionRE.FindAllStringSubmatch(content, -1) {
		m.MentionRoles = append(m.MentionRoles, sm[1])
	}
	m.MentionEveryone = strings.Contains(content, "@everyone") || strings.Contains(content, "@here")
	for i, f := range files {
		id := s.nextID()
		name := f.name
		if name == "" {
			name = "file" + strconv.Itoa(i)
		}
		s.files[id] = storedFile{contentType: f.contentType, data: f.data}
		u := fmt.Sprintf("%s/attachments/%s/%s/%s", s.URL, c.ID, id, name)
		m.Attachments = append(m.Attachments, Attachment{ID: id, Filename: name, Size: len(f.data), URL: u, ProxyURL: u, ContentType: f.contentType})
	}
	s.store(c, m)
	return m
}

// store keeps a message and dispatches MESSAGE_CREATE. Call with s.mu
// held.
func (s *Server) store(c *Channel, m *Message) {
	if m.Embeds == nil {
		m.Embeds = []json.RawMessage{}
	}
	if m.Components == nil {
		m.Components = []json.RawMessage{}
	}
	s.messages[m.ID] = m
	s.history[c.ID] = append(s.history[c.ID], m.ID)
	c.LastMessageID = ptr(m.ID)
	if c.IsThread() {
		c.MessageCount++
		if c.ThreadMetadata.Archived {
			c.ThreadMetadata.Archived = false
			s.dispatch("THREAD_UPDATE", IntentGuilds, *c, nil)
		}
	}
	s.dispatch("MESSAGE_CREATE", messageIntent(c), messagePayload(m), s.contentShape)
	s.unfurl(m)
}

var linkRE = regexp.MustCompile(`https?://[^\s<>]+`)

// unfurl adds a link preview (an embed) to a message with links, and
// dispatches the MESSAGE_UPDATE Discord sends for it: the same content,
// and no edited_timestamp, because nobody edited anything. Call with s.mu
// held.
func (s *Server) unfurl(m *Message) {
	links := linkRE.FindAllString(m.Content, 5)
	if len(links) == 0 || m.Flags&(1<<2) != 0 { // SUPPRESS_EMBEDS
		return
	}
	for _, l := range links {
		e, _ := json.Marshal(map[string]any{"type": "link", "url": l, "title": l})
		m.Embeds = append(m.Embeds, e)
	}
	s.update(m)
}

// update dispatches MESSAGE_UPDATE with a message as it is now. Call with
// s.mu held.
func (s *Server) update(m *Message) {
	s.dispatch("MESSAGE_UPDATE", messageIntent(s.channels[m.ChannelID]), messagePayload(m), s.contentShape)
}

func messageIntent(c *Channel) int {
	if c.Type == ChannelDM {
		return IntentDirectMessages
	}
	return IntentGuildMessages
}

// messagePayload is a message as dispatched: arrays present.
func messagePayload(m *Message) Message {
	return *m
}

// systemMessage makes one of Discord's own messages (a pin, a thread
// started) in c, by the user who caused it; store dispatches it. Call
// with s.mu held.
func (s *Server) systemMessage(c *Channel, typ int, by string) *Message {
	m := &Message{
		ID: s.nextID(), Type: typ, ChannelID: c.ID, GuildID: c.GuildID, Timestamp: time.Now().UTC(),
		Mentions: []User{}, MentionRoles: []string{}, Attachments: []Attachment{},
	}
	if u := s.users[by]; u != nil {
		m.Author = *u
	}
	if g := s.guilds[c.GuildID]; g != nil {
		m.Member = g.members[by]
	}
	return m
}

// restMessage is a message as the REST API returns it: without guild_id
// and member, which only gateway events carry. Call with s.mu held.
func restMessage(m *Message) Message {
	out := *m
	out.GuildID, out.Member = "", nil
	if out.ReferencedMessage != nil {
		r := restMessage(out.ReferencedMessage)
		out.ReferencedMessage = &r
	}
	return out
}

// contentShape blanks what the MESSAGE_CONTENT intent guards, for a
// session without it: the content, attachments, embeds and components of
// guild messages by others that do not mention the bot.
func (s *Server) contentShape(sess *gwSession, d any) any {
	m, ok := d.(Message)
	if !ok || sess.intents&IntentMessageContent != 0 || m.GuildID == "" || m.Author.ID == s.Bot.ID {
		return d
	}
	for _, u := range m.Mentions {
		if u.ID == s.Bot.ID {
			return d
		}
	}
	m.Content = ""
	m.Attachments = []Attachment{}
	m.Embeds = []json.RawMessage{}
	m.Components = []json.RawMessage{}
	return m
}

func (s *Server) createMessage(r *http.Request) (int, any, *restError) {
	c, e := s.channel(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	if c.Type == ChannelCategory {
		return 0, nil, errBadRequest(CodeInvalidForm, "Cannot send messages in a non-text channel")
	}
	need := int64(PermSendMessages)
	if c.IsThread() {
		need = PermSendInThreads
		if c.ThreadMetadata.Locked {
			return 0, nil, errBadRequest(CodeThreadArchived, "Thread is locked")
		}
	}
	if e := s.needIn(c, need); e != nil {
		return 0, nil, e
	}
	var b messageBody
	files, _, e := readBody(r, &b)
	if e != nil {
		return 0, nil, e
	}
	if e := checkContent(&b, files); e != nil {
		return 0, nil, e
	}
	var member *Member
	if g := s.guilds[c.GuildID]; g != nil {
		member = g.members[s.Bot.ID]
	}
	var ref *Message
	if b.MessageReference != nil {
		ref = s.messages[b.MessageReference.MessageID]
		if ref == nil || ref.ChannelID != c.ID {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: message_reference: Unknown message")
		}
	}
	m := s.newMessageReply(c, s.Bot, member, deref(b.Content), files, b.Flags&^FlagEphemeral, ref)
	return 200, restMessage(m), nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) message(channelID, id string) (*Message, *restError) {
	m := s.messages[id]
	if m == nil || m.ChannelID != channelID {
		return nil, errNotFound(CodeUnknownMessage, "Message")
	}
	return m, nil
}

func (s *Server) getMessage(r *http.Request) (int, any, *restError) {
	if _, e := s.channel(r.PathValue("channel_id")); e != nil {
		return 0, nil, e
	}
	m, e := s.message(r.PathValue("channel_id"), r.PathValue("message_id"))
	if e != nil {
		return 0, nil, e
	}
	return 200, restMessage(m), nil
}

// getMessages answers history requests: newest first, at most limit
// (default 50, at most 100), before, after or around a message.
func (s *Server) getMessages(r *http.Request) (int, any, *restError) {
	c, e := s.channel(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	if e := s.needIn(c, PermReadMessageHistory); e != nil {
		return 0, nil, e
	}
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: limit must be 1-100")
		}
		limit = n
	}
	ids := s.history[c.ID]
	var sel []string
	switch {
	case q.Get("after") != "":
		after := q.Get("after")
		for _, id := range ids {
			if cmpID(id, after) > 0 {
				sel = append(sel, id)
			}
		}
		if len(sel) > limit {
			sel = sel[:limit] // the oldest ones after the cursor
		}
	case q.Get("around") != "":
		around := q.Get("around")
		i, _ := slices.BinarySearchFunc(ids, around, cmpID)
		lo := max(0, i-limit/2)
		hi := min(len(ids), lo+limit)
		sel = ids[lo:hi]
	default:
		before := q.Get("before")
		for _, id := range ids {
			if before == "" || cmpID(id, before) < 0 {
				sel = append(sel, id)
			}
		}
		if len(sel) > limit {
			sel = sel[len(sel)-limit:]
		}
	}
	out := make([]Message, 0, len(sel))
	for i := len(sel) - 1; i >= 0; i-- {
		out = append(out, restMessage(s.messages[sel[i]]))
	}
	return 200, out, nil
}

func (s *Server) editMessage(r *http.Request) (int, any, *restError) {
	m, e := s.message(r.PathValue("channel_id"), r.PathValue("message_id"))
	if e != nil {
		return 0, nil, e
	}
	if m.Author.ID != s.Bot.ID {
		return 0, nil, errForbidden(CodeCannotEditOthers, "Cannot edit a message authored by another user")
	}
	var b messageBody
	if _, _, e := readBody(r, &b); e != nil {
		return 0, nil, e
	}
	return 200, s.edit(m, b.Content), nil
}

// edit changes a message's content and dispatches MESSAGE_UPDATE. Call
// with s.mu held.
func (s *Server) edit(m *Message, content *string) *Message {
	if content != nil {
		m.Content = *content
	}
	m.EditedTimestamp = ptr(time.Now().UTC())
	c := s.channels[m.ChannelID]
	s.dispatch("MESSAGE_UPDATE", messageIntent(c), messagePayload(m), s.contentShape)
	return m
}

func (s *Server) deleteMessage(r *http.Request) (int, any, *restError) {
	m, e := s.message(r.PathValue("channel_id"), r.PathValue("message_id"))
	if e != nil {
		return 0, nil, e
	}
	if m.Author.ID != s.Bot.ID {
		if e := s.needIn(s.channels[m.ChannelID], PermManageMessages); e != nil {
			return 0, nil, e
		}
	}
	s.remove(m)
	return http.StatusNoContent, nil, nil
}

// remove deletes a message and dispatches MESSAGE_DELETE. Call with s.mu
// held.
func (s *Server) remove(m *Message) {
	delete(s.messages, m.ID)
	s.history[m.ChannelID] = slices.DeleteFunc(s.history[m.ChannelID], func(id string) bool { return id == m.ID })
	c := s.channels[m.ChannelID]
	s.dispatch("MESSAGE_DELETE", messageIntent(c), map[string]any{"id": m.ID, "channel_id": m.ChannelID, "guild_id": m.GuildID}, nil)
}

func (s *Server) typing(r *http.Request) (int, any, *restError) {
	c, e := s.channel(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	need := int64(PermSendMessages)
	if c.IsThread() {
		need = PermSendInThreads
	}
	if e := s.needIn(c, need); e != nil {
		return 0, nil, e
	}
	s.typingEvent(c, s.Bot.ID)
	return http.StatusNoContent, nil, nil
}

// typingEvent dispatches TYPING_START. Call with s.mu held.
func (s *Server) typingEvent(c *Channel, userID string) {
	need := IntentGuildMessageTyping
	if c.Type == ChannelDM {
		need = intentDirectMessageTyping
	}
	d := map[string]any{"channel_id": c.ID, "guild_id": c.GuildID, "user_id": userID, "timestamp": time.Now().Unix()}
	if g := s.guilds[c.GuildID]; g != nil && g.members[userID] != nil {
		d["member"] = g.members[userID]
	}
	s.dispatch("TYPING_START", need, d, nil)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, ok := s.files[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if f.contentType != "" {
		w.Header().Set("Content-Type", f.contentType)
	}
	w.Write(f.data)
}

// ---- webhooks ----

// webhookNameOK applies Discord's rules for webhook names and username
// overrides.
func webhookNameOK(n string) *restError {
	l := strings.ToLower(n)
	switch {
	case utf8.RuneCountInString(strings.TrimSpace(n)) < 1 || utf8.RuneCountInString(n) > 80:
		return errBadRequest(CodeInvalidForm, "Invalid Form Body: name: Must be between 1 and 80 in length.")
	case strings.Contains(l, "clyde") || strings.Contains(l, "discord"):
		return errBadRequest(CodeInvalidForm, `Invalid Form Body: name: Username cannot contain "clyde" or "discord"`)
	case l == "everyone" || l == "here":
		return errBadRequest(CodeInvalidForm, "Invalid Form Body: name: Username is not allowed")
	}
	return nil
}

func (s *Server) createWebhook(r *http.Request) (int, any, *restError) {
	c, e := s.channel(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	if c.Type != ChannelText {
		return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: webhooks can only be made in text channels")
	}
	if e := s.needIn(c, PermManageWebhooks); e != nil {
		return 0, nil, e
	}
	var b struct {
		Name   string  `json:"name"`
		Avatar *string `json:"avatar"`
	}
	if _, _, e := readBody(r, &b); e != nil {
		return 0, nil, e
	}
	if e := webhookNameOK(b.Name); e != nil {
		return 0, nil, e
	}
	n := 0
	for _, w := range s.webhooks {
		if w.ChannelID == c.ID {
			n++
		}
	}
	if n >= 15 {
		return 0, nil, errBadRequest(30007, "Maximum number of webhooks reached (15)")
	}
	w := &Webhook{
		ID: s.nextID(), Type: 1, GuildID: c.GuildID, ChannelID: c.ID, User: &s.Bot, Name: b.Name,
		Token: randomToken(), ApplicationID: ptr(s.AppID),
	}
	s.webhooks[w.ID] = w
	s.dispatch("WEBHOOKS_UPDATE", 1<<5, map[string]any{"guild_id": c.GuildID, "channel_id": c.ID}, nil)
	return 200, w, nil
}

// randomToken returns a token shaped like Discord's (68 URL-safe
// characters).
func randomToken() string {
	b := make([]byte, 51)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) getChannelWebhooks(r *http.Request) (int, any, *restError) {
	c, e := s.channel(r.PathValue("channel_id"))
	if e != nil {
		return 0, nil, e
	}
	if e := s.needIn(c, PermManageWebhooks); e != nil {
		return 0, nil, e
	}
	return 200, s.webhooksWhere(func(w *Webhook) bool { return w.ChannelID == c.ID }), nil
}

func (s *Server) getGuildWebhooks(r *http.Request) (int, any, *restError) {
	g, e := s.guild(r)
	if e != nil {
		return 0, nil, e
	}
	if e := s.needGuild(g.guild.ID, PermManageWebhooks); e != nil {
		return 0, nil, e
	}
	return 200, s.webhooksWhere(func(w *Webhook) bool { return w.GuildID == g.guild.ID }), nil
}

func (s *Server) webhooksWhere(ok func(*Webhook) bool) []Webhook {
	out := []Webhook{}
	for _, w := range s.webhooks {
		if ok(w) {
			out = append(out, *w)
		}
	}
	slices.SortFunc(out, func(a, b Webhook) int { return cmpID(a.ID, b.ID) })
	return out
}

// webhook finds a webhook by ID, and checks the token when the route has
// one.
func (s *Server) webhook(r *http.Request) (*Webhook, *restError) {
	w := s.webhooks[r.PathValue("webhook_id")]
	if w == nil {
		return nil, errNotFound(CodeUnknownWebhook, "Webhook")
	}
	if tok := r.PathValue("token"); tok != "" && tok != w.Token {
		return nil, &restError{http.StatusUnauthorized, 50027, "Invalid Webhook Token"}
	}
	return w, nil
}

func (s *Server) getWebhook(r *http.Request) (int, any, *restError) {
	if r.PathValue("webhook_id") == s.AppID {
		return 0, nil, errNotFound(CodeUnknownWebhook, "Webhook")
	}
	w, e := s.webhook(r)
	if e != nil {
		return 0, nil, e
	}
	out := *w
	if r.PathValue("token") != "" {
		out.User = nil // Discord leaves the creator out when asked by token
	}
	return 200, out, nil
}

func (s *Server) deleteWebhook(r *http.Request) (int, any, *restError) {
	w, e := s.webhook(r)
	if e != nil {
		return 0, nil, e
	}
	delete(s.webhooks, w.ID)
	return http.StatusNoContent, nil, nil
}

// webhookTarget resolves the channel a webhook request acts in: its own
// channel, or a thread of it named by thread_id.
func (s *Server) webhookTarget(w *Webhook, r *http.Request) (*Channel, *restError) {
	c, e := s.channel(w.ChannelID)
	if e != nil {
		return nil, e
	}
	tid := r.URL.Query().Get("thread_id")
	if tid == "" {
		return c, nil
	}
	t := s.channels[tid]
	if t == nil || !t.IsThread() || t.ParentID == nil || *t.ParentID != w.ChannelID {
		return nil, errNotFound(CodeUnknownChannel, "Channel")
	}
	if t.ThreadMetadata.Locked {
		return nil, errBadRequest(CodeThreadArchived, "Thread is locked")
	}
	return t, nil
}

func truthy(v string) bool { return v == "true" || v == "True" || v == "1" }

func (s *Server) executeWebhook(r *http.Request) (int, any, *restError) {
	if r.PathValue("webhook_id") == s.AppID {
		return s.followup(r)
	}
	w, e := s.webhook(r)
	if e != nil {
		return 0, nil, e
	}
	c, e := s.webhookTarget(w, r)
	if e != nil {
		return 0, nil, e
	}
	var b messageBody
	files, _, e := readBody(r, &b)
	if e != nil {
		return 0, nil, e
	}
	if e := checkContent(&b, files); e != nil {
		return 0, nil, e
	}
	name := w.Name
	if b.Username != "" {
		if e := webhookNameOK(b.Username); e != nil {
			return 0, nil, e
		}
		name = b.Username
	}
	author := User{ID: w.ID, Username: name, Discriminator: "0000", Bot: true}
	if b.AvatarURL != "" {
		if e := avatarURLOK(b.AvatarURL); e != nil {
			return 0, nil, e
		}
		sum := sha1.Sum([]byte(b.AvatarURL))
		author.Avatar = ptr(hex.EncodeToString(sum[:16]))
	}
	m := &Message{
		ID: s.nextID(), ChannelID: c.ID, GuildID: c.GuildID, Author: author, Content: deref(b.Content),
		Timestamp: time.Now().UTC(), Mentions: []User{}, MentionRoles: []string{}, Attachments: []Attachment{},
		WebhookID: w.ID, Flags: b.Flags,
	}
	if w.ApplicationID != nil {
		m.ApplicationID = *w.ApplicationID
	}
	for i, f := range files {
		id := s.nextID()
		fn := f.name
		if fn == "" {
			fn = "file" + strconv.Itoa(i)
		}
		s.files[id] = storedFile{contentType: f.contentType, data: f.data}
		u := fmt.Sprintf("%s/attachments/%s/%s/%s", s.URL, c.ID, id, fn)
		m.Attachments = append(m.Attachments, Attachment{ID: id, Filename: fn, Size: len(f.data), URL: u, ProxyURL: u, ContentType: f.contentType})
	}
	if b.AvatarURL != "" {
		s.avatarURLs[m.ID] = b.AvatarURL
	}
	s.store(c, m)
	if !truthy(r.URL.Query().Get("wait")) {
		return http.StatusNoContent, nil, nil
	}
	return 200, m, nil
}

// webhookMessage finds a message sent by a webhook, in the channel or
// thread the request names: a message in a thread is unknown without its
// thread_id, as on Discord.
func (s *Server) webhookMessage(r *http.Request) (*Webhook, *Message, *restError) {
	if r.PathValue("webhook_id") == s.AppID {
		return nil, nil, errNotFound(CodeUnknownWebhook, "Webhook")
	}
	w, e := s.webhook(r)
	if e != nil {
		return nil, nil, e
	}
	c, e := s.webhookTarget(w, r)
	if e != nil {
		return nil, nil, e
	}
	m, e := s.message(c.ID, r.PathValue("message_id"))
	if e != nil {
		return nil, nil, e
	}
	if m.WebhookID != w.ID {
		return nil, nil, errNotFound(CodeUnknownMessage, "Message")
	}
	return w, m, nil
}

func (s *Server) getWebhookMessage(r *http.Request) (int, any, *restError) {
	if r.PathValue("webhook_id") == s.AppID {
		ix, m, e := s.interactionMessage(r)
		if e != nil {
			return 0, nil, e
		}
		_ = ix
		return 200, m, nil
	}
	_, m, e := s.webhookMessage(r)
	if e != nil {
		return 0, nil, e
	}
	return 200, m, nil
}

func (s *Server) editWebhookMessage(r *http.Request) (int, any, *restError) {
	if r.PathValue("webhook_id") == s.AppID {
		return s.editInteractionMessage(r)
	}
	_, m, e := s.webhookMessage(r)
	if e != nil {
		return 0, nil, e
	}
	var b messageBody
	if _, _, e := readBody(r, &b); e != nil {
		return 0, nil, e
	}
	if b.Content != nil && utf8.RuneCountInString(*b.Content) > 2000 {
		return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: content: Must be 2000 or fewer in length.")
	}
	return 200, s.edit(m, b.Content), nil
}

func (s *Server) deleteWebhookMessage(r *http.Request) (int, any, *restError) {
	if r.PathValue("webhook_id") == s.AppID {
		return s.deleteInteractionMessage(r)
	}
	_, m, e := s.webhookMessage(r)
	if e != nil {
		return 0, nil, e
	}
	s.remove(m)
	return http.StatusNoContent, nil, nil
}
