package discordtest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AddGuild makes a guild with the bot in it and dispatches GUILD_CREATE.
// The bot holds what the bridge's invite link grants (PermBridge) through
// its own managed role, and @everyone may view, write and read history
// (PermEveryone). It returns the guild's ID.
func (s *Server) AddGuild(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID()
	owner := s.nextID()
	botRole := s.nextID()
	g := &guildState{
		guild: Guild{
			ID: id, Name: name, OwnerID: owner, Emojis: []any{}, Features: []string{},
			Roles: []Role{
				{ID: id, Name: "@everyone", Permissions: strconv.FormatInt(PermEveryone, 10)},
				{ID: botRole, Name: s.Bot.Username, Position: 1, Managed: true, Permissions: strconv.FormatInt(PermBridge, 10)},
			},
		},
		members: map[string]*Member{},
		botRole: botRole,
	}
	g.members[s.Bot.ID] = &Member{User: &s.Bot, Roles: []string{botRole}, JoinedAt: time.Now().UTC()}
	s.guilds[id] = g
	s.guildOrder = append(s.guildOrder, id)
	s.dispatch("GUILD_CREATE", IntentGuilds, nil, func(sess *gwSession, _ any) any { return s.guildCreate(id, sess.intents) })
	return id
}

// SetBotPermissions sets the permissions of the bot's role in a guild (a
// Perm… bit set); @everyone's add to them. Requests that need a missing
// one get 403 Missing Permissions.
func (s *Server) SetBotPermissions(guildID string, perms int64) {
	s.setRole(guildID, func(g *guildState) string { return g.botRole }, perms)
}

// SetEveryonePermissions sets what @everyone may do in a guild.
func (s *Server) SetEveryonePermissions(guildID string, perms int64) {
	s.setRole(guildID, func(g *guildState) string { return g.guild.ID }, perms)
}

func (s *Server) setRole(guildID string, which func(*guildState) string, perms int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guilds[guildID]
	if g == nil {
		return
	}
	id := which(g)
	for i := range g.guild.Roles {
		if g.guild.Roles[i].ID == id {
			g.guild.Roles[i].Permissions = strconv.FormatInt(perms, 10)
			s.dispatch("GUILD_ROLE_UPDATE", IntentGuilds, map[string]any{"guild_id": guildID, "role": g.guild.Roles[i]}, nil)
		}
	}
}

// SetOverwrites sets a channel's permission overwrites, as an admin would
// in Discord's client, and dispatches CHANNEL_UPDATE.
func (s *Server) SetOverwrites(channelID string, ows []Overwrite) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil {
		return errors.New("discordtest: no such channel")
	}
	c.PermissionOverwrites = []Overwrite{}
	for _, o := range ows {
		if o.Allow == "" {
			o.Allow = "0"
		}
		if o.Deny == "" {
			o.Deny = "0"
		}
		c.PermissionOverwrites = append(c.PermissionOverwrites, o)
	}
	s.dispatch("CHANNEL_UPDATE", IntentGuilds, *c, nil)
	return nil
}

// BotRole returns the ID of the bot's managed role in a guild.
func (s *Server) BotRole(guildID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guilds[guildID]; g != nil {
		return g.botRole
	}
	return ""
}

// SetNick sets a member's server nickname.
func (s *Server) SetNick(guildID, userID, nick string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guilds[guildID]
	if g == nil || g.members[userID] == nil {
		return errors.New("discordtest: no such member")
	}
	g.members[userID].Nick = ptr(nick)
	s.dispatch("GUILD_MEMBER_UPDATE", IntentGuildMembers, struct {
		Member
		GuildID string `json:"guild_id"`
	}{*g.members[userID], guildID}, nil)
	return nil
}

// AddUser makes a Discord user. globalName, when not empty, is the display
// name Discord shows instead of the username.
func (s *Server) AddUser(username, globalName string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{ID: s.nextID(), Username: username, Discriminator: "0"}
	if globalName != "" {
		u.GlobalName = ptr(globalName)
	}
	s.users[u.ID] = u
	return *u
}

// SetUsername changes a user's username, as Discord lets people do: the
// old one can then be taken by someone else.
func (s *Server) SetUsername(userID, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return errors.New("discordtest: no such user")
	}
	for _, o := range s.users {
		if o != u && strings.EqualFold(o.Username, username) {
			return errors.New("discordtest: the username is taken")
		}
	}
	u.Username = username
	s.notify()
	return nil
}

// AddMember puts a user in a guild with the given permissions (a Perm…
// bit set; PermAdministrator for an admin) and dispatches
// GUILD_MEMBER_ADD.
func (s *Server) AddMember(guildID, userID string, perms int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guilds[guildID]
	u := s.users[userID]
	if g == nil || u == nil {
		return errors.New("discordtest: no such guild or user")
	}
	m := &Member{User: u, Roles: []string{}, JoinedAt: time.Now().UTC(), Permissions: strconv.FormatInt(perms, 10)}
	g.members[userID] = m
	d := *m
	s.dispatch("GUILD_MEMBER_ADD", IntentGuildMembers, struct {
		Member
		GuildID string `json:"guild_id"`
	}{d, guildID}, nil)
	return nil
}

// AddChannel makes a channel (ChannelText or ChannelCategory) in a guild,
// under the category parentID if not empty, and returns its ID.
func (s *Server) AddChannel(guildID, name string, typ int, parentID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guilds[guildID] == nil {
		return "", errors.New("discordtest: no such guild")
	}
	c := &Channel{ID: s.nextID(), Type: typ, GuildID: guildID, Name: name, PermissionOverwrites: []Overwrite{}}
	if typ == ChannelText {
		c.Name = textChannelName(name)
	}
	if parentID != "" {
		c.ParentID = ptr(parentID)
	}
	s.channels[c.ID] = c
	s.dispatch("CHANNEL_CREATE", IntentGuilds, *c, nil)
	return c.ID, nil
}

// File is a file a user attaches to a message.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// Post has a user write a message in a channel or thread, with optional
// attachments, and dispatches MESSAGE_CREATE. A message with a link then
// gets its preview: a MESSAGE_UPDATE that changes nothing a person wrote.
func (s *Server) Post(channelID, userID, content string, files ...File) (Message, error) {
	return s.PostReply(channelID, userID, content, "", files...)
}

// PostReply has a user answer a message (replyTo; "" for none) of the same
// channel: a message of type 19 that carries the one it answers.
func (s *Server) PostReply(channelID, userID, content, replyTo string, files ...File) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ref *Message
	if replyTo != "" {
		ref = s.messages[replyTo]
		if ref == nil || ref.ChannelID != channelID {
			return Message{}, errors.New("discordtest: no such message to answer")
		}
	}
	c := s.channels[channelID]
	u := s.users[userID]
	if c == nil || u == nil {
		return Message{}, errors.New("discordtest: no such channel or user")
	}
	g := s.guilds[c.GuildID]
	if g == nil || g.members[userID] == nil {
		return Message{}, fmt.Errorf("discordtest: user %s is not a member of the channel's guild", userID)
	}
	if content == "" && len(files) == 0 {
		return Message{}, errors.New("discordtest: cannot send an empty message")
	}
	if c.IsThread() {
		if c.ThreadMetadata.Locked {
			return Message{}, errors.New("discordtest: the thread is locked")
		}
		s.addMemberToThread(c, userID)
	}
	var up []upload
	for _, f := range files {
		up = append(up, upload{name: f.Name, contentType: f.ContentType, data: f.Data})
	}
	m := s.newMessageReply(c, *u, g.members[userID], content, up, 0, ref)
	return *m, nil
}

// Pin has a member pin a message: Discord dispatches a MESSAGE_UPDATE
// with the content unchanged and no edited_timestamp, and posts a "pinned
// a message" notice.
func (s *Server) Pin(channelID, messageID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c, err := s.memberAndMessage(channelID, messageID, userID)
	if err != nil {
		return err
	}
	m.Pinned = true
	s.update(m)
	n := s.systemMessage(c, MessagePinned, userID)
	n.MessageReference = &MessageReference{MessageID: m.ID, ChannelID: c.ID, GuildID: c.GuildID}
	s.store(c, n)
	s.dispatch("CHANNEL_PINS_UPDATE", IntentGuilds, map[string]any{"guild_id": c.GuildID, "channel_id": c.ID, "last_pin_timestamp": time.Now().UTC()}, nil)
	return nil
}

// React has a member react to a message with an emoji ("👍", or a custom
// one as "name:id") and dispatches MESSAGE_REACTION_ADD.
func (s *Server) React(channelID, messageID, userID, emoji string) error {
	return s.reaction(channelID, messageID, userID, emoji, true)
}

// Unreact takes a member's reaction back (MESSAGE_REACTION_REMOVE).
func (s *Server) Unreact(channelID, messageID, userID, emoji string) error {
	return s.reaction(channelID, messageID, userID, emoji, false)
}

// memberAndMessage finds a message, and checks that userID is a member of
// its guild. Call with s.mu held.
func (s *Server) memberAndMessage(channelID, messageID, userID string) (*Message, *Channel, error) {
	m, e := s.message(channelID, messageID)
	if e != nil {
		return nil, nil, e
	}
	c := s.channels[channelID]
	if g := s.guilds[c.GuildID]; g == nil || g.members[userID] == nil {
		return nil, nil, errors.New("discordtest: no such member")
	}
	return m, c, nil
}

func (s *Server) reaction(channelID, messageID, userID, emoji string, add bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c, err := s.memberAndMessage(channelID, messageID, userID)
	if err != nil {
		return err
	}
	g := s.guilds[c.GuildID]
	em := Emoji{Name: emoji}
	if name, id, ok := strings.Cut(emoji, ":"); ok {
		em = Emoji{ID: ptr(id), Name: name}
	}
	i := slices.IndexFunc(m.Reactions, func(r Reaction) bool { return r.Emoji.Name == em.Name })
	switch {
	case add && i < 0:
		m.Reactions = append(m.Reactions, Reaction{Count: 1, Emoji: em})
	case add:
		m.Reactions[i].Count++
	case i < 0:
		return errors.New("discordtest: no such reaction")
	default:
		if m.Reactions[i].Count--; m.Reactions[i].Count == 0 {
			m.Reactions = slices.Delete(m.Reactions, i, i+1)
		}
	}
	d := map[string]any{"user_id": userID, "channel_id": c.ID, "message_id": m.ID, "guild_id": c.GuildID, "emoji": em}
	t := "MESSAGE_REACTION_REMOVE"
	if add {
		t = "MESSAGE_REACTION_ADD"
		d["member"] = g.members[userID]
		d["message_author_id"] = m.Author.ID
	}
	s.dispatch(t, IntentGuildReactions, d, nil)
	return nil
}

// Edit has a message's author change its content, and dispatches
// MESSAGE_UPDATE.
func (s *Server) Edit(channelID, messageID, content string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.message(channelID, messageID)
	if e != nil {
		return e
	}
	s.edit(m, &content)
	return nil
}

// Delete deletes a message and dispatches MESSAGE_DELETE.
func (s *Server) Delete(channelID, messageID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.message(channelID, messageID)
	if e != nil {
		return e
	}
	s.remove(m)
	return nil
}

// Typing has a user start typing in a channel (TYPING_START).
func (s *Server) Typing(channelID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil {
		return errors.New("discordtest: no such channel")
	}
	s.typingEvent(c, userID)
	return nil
}

// ArchiveThread archives a thread, as Discord does after its
// auto-archive duration without messages.
func (s *Server) ArchiveThread(threadID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.channels[threadID]
	if t == nil || !t.IsThread() {
		return errors.New("discordtest: no such thread")
	}
	t.ThreadMetadata.Archived = true
	t.ThreadMetadata.ArchiveTimestamp = time.Now().UTC()
	s.dispatch("THREAD_UPDATE", IntentGuilds, *t, nil)
	return nil
}

// DeleteChannel deletes a channel (and its threads), as a user with
// Manage Channels would.
func (s *Server) DeleteChannel(channelID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil {
		return errors.New("discordtest: no such channel")
	}
	s.removeChannel(c)
	return nil
}

// ---- reading the state ----

// Messages returns the messages of a channel or thread, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(channelID)
}

func (s *Server) messagesLocked(channelID string) []Message {
	var out []Message
	for _, id := range s.history[channelID] {
		out = append(out, *s.messages[id])
	}
	return out
}

// Channel returns a channel, category or thread.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[id]
	if c == nil {
		return Channel{}, false
	}
	cc := *c
	if c.ThreadMetadata != nil {
		tm := *c.ThreadMetadata
		cc.ThreadMetadata = &tm
	}
	return cc, true
}

// Channels returns a guild's channels and categories (not threads), in
// the order they were made.
func (s *Server) Channels(guildID string) []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, c := range s.sortedChannels() {
		if c.GuildID == guildID && !c.IsThread() {
			out = append(out, *c)
		}
	}
	return out
}

// Threads returns the threads of a channel, in the order they were made.
func (s *Server) Threads(parentID string) []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, c := range s.sortedChannels() {
		if c.IsThread() && c.ParentID != nil && *c.ParentID == parentID {
			cc := *c
			tm := *c.ThreadMetadata
			cc.ThreadMetadata = &tm
			out = append(out, cc)
		}
	}
	return out
}

// ThreadMembers returns the IDs of a thread's members, sorted.
func (s *Server) ThreadMembers(threadID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.threadMember[threadID] {
		out = append(out, id)
	}
	slices.SortFunc(out, cmpID)
	return out
}

// Webhooks returns the webhooks of a channel.
func (s *Server) Webhooks(channelID string) []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhooksWhere(func(w *Webhook) bool { return w.ChannelID == channelID })
}

// DeleteWebhook deletes a webhook, as a member with Manage Webhooks would.
func (s *Server) DeleteWebhook(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhooks[id] == nil {
		return errors.New("discordtest: no such webhook")
	}
	delete(s.webhooks, id)
	s.notify()
	return nil
}
