package discordtest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// AddGuild makes a guild with the bot in it, holding every permission a
// bridge needs, and dispatches GUILD_CREATE. It returns the guild's ID.
func (s *Server) AddGuild(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID()
	owner := s.nextID()
	g := &guildState{
		guild: Guild{
			ID: id, Name: name, OwnerID: owner, Emojis: []any{}, Features: []string{},
			Roles: []Role{{ID: id, Name: "@everyone", Permissions: strconv.FormatInt(PermViewChannel|PermSendMessages|PermReadMessageHistory|PermSendInThreads, 10)}},
		},
		members: map[string]*Member{},
		botPerm: PermAll,
	}
	g.members[s.Bot.ID] = &Member{User: &s.Bot, Roles: []string{}, JoinedAt: time.Now().UTC(), Permissions: strconv.FormatInt(PermAll, 10)}
	s.guilds[id] = g
	s.guildOrder = append(s.guildOrder, id)
	s.dispatch("GUILD_CREATE", IntentGuilds, s.guildCreate(id), nil)
	return id
}

// SetBotPermissions sets the bot's permissions in a guild (a Perm… bit
// set); requests that need a missing one get 403 Missing Permissions.
func (s *Server) SetBotPermissions(guildID string, perms int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guilds[guildID]; g != nil {
		g.botPerm = perms
		g.members[s.Bot.ID].Permissions = strconv.FormatInt(perms, 10)
	}
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
	s.dispatch("GUILD_MEMBER_ADD", 1<<1, struct {
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
// attachments, and dispatches MESSAGE_CREATE.
func (s *Server) Post(channelID, userID, content string, files ...File) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	m := s.newMessage(c, *u, g.members[userID], content, up, 0)
	return *m, nil
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
