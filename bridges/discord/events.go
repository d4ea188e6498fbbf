package discord

import (
	"sort"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/format"
)

// What the gateway sends. Handlers run in the gateway's order and only
// queue work: a conversation's Discord → MSN traffic goes through its own
// queue ("d2m:" + channel), so it keeps its order and waits for nobody
// else.

func (b *Bridge) addHandlers() {
	dg := b.dg
	dg.AddHandler(b.onReady)
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { b.onMessage(m.Message) })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageUpdate) { b.onEdit(m.Message) })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageDelete) { b.onDelete(m.Message) })
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.MessageReactionAdd) {
		b.onReaction(r.MessageReaction, r.Member, true)
	})
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.MessageReactionRemove) {
		b.onReaction(r.MessageReaction, nil, false)
	})
	dg.AddHandler(func(_ *discordgo.Session, t *discordgo.TypingStart) { b.onTyping(t) })
	dg.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { b.onInteraction(i.Interaction) })
	dg.AddHandler(func(_ *discordgo.Session, c *discordgo.ThreadDelete) { b.onThreadDelete(c.Channel) })
	dg.AddHandler(func(_ *discordgo.Session, c *discordgo.ChannelDelete) { b.onChannelDelete(c.Channel) })
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.RateLimit) {
		b.log.Debug().Str("url", r.URL).Dur("retry_after", r.RetryAfter).Msg("Discord rate limit")
	})
}

func (b *Bridge) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	b.mu.Lock()
	if r.User != nil {
		b.botID = r.User.ID
	}
	if r.Application != nil && r.Application.ID != "" {
		b.appID = r.Application.ID
	} else if r.User != nil {
		b.appID = r.User.ID
	}
	started := b.started
	b.mu.Unlock()
	b.readyOnce.Do(func() { close(b.ready) })
	// The first READY: Start catches up once the MSN sessions run. A later
	// one is a new gateway session, whose missed events are lost.
	if started {
		b.catchUpAll()
	}
}

// catchUpAll fetches what is missing from every bridged channel, through
// the same queues as live messages.
func (b *Bridge) catchUpAll() {
	b.mu.Lock()
	var chans []string
	for id := range b.byThread {
		chans = append(chans, id)
	}
	for id := range b.rooms {
		chans = append(chans, id)
	}
	b.mu.Unlock()
	sort.Strings(chans)
	for _, id := range chans {
		b.q.Do("d2m:"+id, func() { b.catchUp(id) })
	}
}

// catchUp handles the messages of a channel newer than its checkpoint.
func (b *Bridge) catchUp(channelID string) {
	last := b.checkpoint(channelID)
	if last == "" {
		return
	}
	guild := b.guildOf(channelID)
	for range 50 { // at most 5000 messages
		msgs, err := b.dg.ChannelMessages(channelID, 100, "", last, "")
		if err != nil {
			b.log.Warn().Err(err).Str("channel", channelID).Msg("cannot fetch missed messages")
			return
		}
		sort.Slice(msgs, func(i, j int) bool { return snowflakeLess(msgs[i].ID, msgs[j].ID) })
		for _, m := range msgs {
			if m.GuildID == "" {
				m.GuildID = guild // REST messages do not say
			}
			b.handleMessage(m)
			last = m.ID
		}
		if len(msgs) < 100 {
			return
		}
	}
}

// guildOf returns the guild of a channel or thread.
func (b *Bridge) guildOf(channelID string) string {
	if c, err := b.dg.State.Channel(channelID); err == nil {
		return c.GuildID
	}
	if c, err := b.dg.Channel(channelID); err == nil {
		return c.GuildID
	}
	return ""
}

// own reports whether a message is the bridge's: the bot's or one of its
// webhooks'.
func (b *Bridge) own(m *discordgo.Message) bool {
	if m.Author == nil {
		return true // a partial event: nothing to bridge
	}
	if m.Author.ID == b.bot() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return m.WebhookID != "" && b.webhooks[m.WebhookID]
}

// bridgedKind is the message types the bridge carries: plain messages and
// replies. System messages (a thread started, someone added, a pin) are
// Discord's.
func bridgedKind(m *discordgo.Message) bool {
	return m.Type == discordgo.MessageTypeDefault || m.Type == discordgo.MessageTypeReply
}

func (b *Bridge) onMessage(m *discordgo.Message) {
	if b.isClosing() || b.own(m) || !bridgedKind(m) {
		return
	}
	b.q.Do("d2m:"+m.ChannelID, func() { b.handleMessage(m) })
}

// handleMessage carries a Discord message to MSN, once: messages at or
// before the channel's checkpoint were handled already.
func (b *Bridge) handleMessage(m *discordgo.Message) {
	if b.own(m) || !bridgedKind(m) {
		return
	}
	b.mu.Lock()
	ref, inThread := b.byThread[m.ChannelID]
	owner := b.byChannel[m.ChannelID]
	r := b.rooms[m.ChannelID]
	b.mu.Unlock()
	if !inThread && owner == nil && r == nil {
		// A thread of a user's channel that the bridge is still making
		// (the user can write in it as soon as Discord shows it): wait
		// until it is registered.
		if c, err := b.dg.State.Channel(m.ChannelID); err == nil && c.ParentID != "" {
			b.mu.Lock()
			pu := b.byChannel[c.ParentID]
			b.mu.Unlock()
			if pu != nil {
				pu.waitThreads()
				b.mu.Lock()
				ref, inThread = b.byThread[m.ChannelID]
				b.mu.Unlock()
			}
		}
	}
	switch {
	case inThread:
		if m.Author.ID != ref.u.rec().UserID || !b.fresh(m.ChannelID, m.ID) {
			return
		}
		ref.u.fromDiscord(ref.key, m)
	case r != nil:
		if !b.fresh(m.ChannelID, m.ID) {
			return
		}
		r.fromDiscord(m)
	case owner != nil:
		if m.Author.ID == owner.rec().UserID {
			b.notice(m.ChannelID, "Write in a contact's thread to talk to them. Start one with `/msn chat`, see your contacts with `/msn contacts`.")
		}
		return
	default:
		return
	}
	b.setCheckpoint(m.ChannelID, m.ID)
}

// onEdit carries an edit. Discord sends MESSAGE_UPDATE for more than
// edits — a link preview, a pin — with the text as it was and no
// edited_timestamp: only a message with its edited timestamp set and a
// text other than the one carried is an edit.
func (b *Bridge) onEdit(m *discordgo.Message) {
	if b.isClosing() || m.Author == nil || b.own(m) || !bridgedKind(m) || m.EditedTimestamp == nil {
		return
	}
	b.q.Do("d2m:"+m.ChannelID, func() {
		rec, ok, err := b.store.Message(b.ctx, m.ID)
		if err != nil || !ok || rec.Direction != ToMSN {
			return
		}
		text, f := b.editText(m)
		if text == "" || Digest(text) == rec.Digest {
			return
		}
		b.mu.Lock()
		ref, inThread := b.byThread[m.ChannelID]
		r := b.rooms[m.ChannelID]
		b.mu.Unlock()
		var carried bool
		switch {
		case inThread:
			carried = ref.u.editFromDiscord(ref.key, m, text, f)
		case r != nil:
			carried = r.editFromDiscord(m, text, f)
		}
		if carried {
			rec.Digest, rec.Excerpt = Digest(text), truncate(text, 200)
			if err := b.store.PutMessage(b.ctx, rec); err != nil {
				b.log.Error().Err(err).Msg("database")
			}
		}
	})
}

func (b *Bridge) onDelete(m *discordgo.Message) {
	if b.isClosing() {
		return
	}
	b.q.Do("d2m:"+m.ChannelID, func() {
		rec, ok, err := b.store.Message(b.ctx, m.ID)
		if err != nil || !ok || rec.Direction != ToMSN {
			return
		}
		b.mu.Lock()
		ref, inThread := b.byThread[m.ChannelID]
		r := b.rooms[m.ChannelID]
		b.mu.Unlock()
		switch {
		case inThread:
			ref.u.deleteFromDiscord(ref.key, rec)
		case r != nil:
			r.deleteFromDiscord(rec)
		}
	})
}

// onReaction carries a reaction, or its taking back, as a short note about
// the message it is on: MSN has no reactions.
func (b *Bridge) onReaction(r *discordgo.MessageReaction, member *discordgo.Member, added bool) {
	if b.isClosing() || r.UserID == b.bot() {
		return
	}
	b.mu.Lock()
	ref, inThread := b.byThread[r.ChannelID]
	rm := b.rooms[r.ChannelID]
	b.mu.Unlock()
	if !inThread && rm == nil || inThread && r.UserID != ref.u.rec().UserID {
		return
	}
	b.q.Do("d2m:"+r.ChannelID, func() {
		emoji := emojiText(r.Emoji)
		snippet := b.snippetOf(r.ChannelID, r.MessageID)
		note := format.UnreactNote(emoji, snippet)
		if added {
			note = format.ReactionNote(emoji, snippet)
		}
		if inThread {
			ref.u.noteFromDiscord(ref.key, r.ChannelID, note)
			return
		}
		name := b.memberName(r.GuildID, r.UserID, member)
		if name == "" {
			name = "someone"
		}
		rm.noteFromDiscord(r.ChannelID, name, note)
	})
}

// emojiText is how a reaction's emoji reads on MSN: itself, or :name: for
// a guild's own.
func emojiText(e discordgo.Emoji) string {
	if e.ID != "" {
		return ":" + e.Name + ":"
	}
	return e.Name
}

// snippetOf is the start of a message the bridge knows of, for a note
// about it: what it carried, else the message as Discord has it.
func (b *Bridge) snippetOf(channelID, messageID string) string {
	if rec, ok, err := b.store.Message(b.ctx, messageID); err == nil && ok {
		return format.Snippet(rec.Excerpt)
	}
	m, err := b.dg.ChannelMessage(channelID, messageID)
	if err != nil {
		return ""
	}
	if m.GuildID == "" {
		m.GuildID = b.guildOf(channelID)
	}
	text, _ := format.DiscordToMSN(m.Content, b.names(m))
	return format.Snippet(text)
}

func (b *Bridge) onTyping(t *discordgo.TypingStart) {
	if b.isClosing() || t.UserID == b.bot() {
		return
	}
	b.mu.Lock()
	ref, ok := b.byThread[t.ChannelID]
	b.mu.Unlock()
	if ok && t.UserID == ref.u.rec().UserID {
		b.q.Do("typing:"+t.ChannelID, func() { ref.u.typingFromDiscord(ref.key) })
	}
}

func (b *Bridge) onThreadDelete(c *discordgo.Channel) {
	b.mu.Lock()
	ref, ok := b.byThread[c.ID]
	if ok {
		delete(b.byThread, c.ID)
	}
	b.mu.Unlock()
	if ok {
		ref.u.forgetThread(ref.key, c.ID)
	}
}

func (b *Bridge) onChannelDelete(c *discordgo.Channel) {
	b.mu.Lock()
	u := b.byChannel[c.ID]
	r := b.rooms[c.ID]
	b.mu.Unlock()
	if u != nil {
		b.q.Do("user:"+u.id, func() { u.forgetChannel(c.ID) })
	}
	if r != nil {
		b.q.Do("d2m:"+c.ID, func() { b.unbridge(r, "") })
	}
}

// ---- checkpoints ----

func (b *Bridge) checkpoint(channelID string) string {
	b.mu.Lock()
	last, ok := b.checkpoints[channelID]
	b.mu.Unlock()
	if ok {
		return last
	}
	last, err := b.store.Checkpoint(b.ctx, channelID)
	if err != nil {
		b.log.Error().Err(err).Msg("database")
	}
	b.mu.Lock()
	b.checkpoints[channelID] = last
	b.mu.Unlock()
	return last
}

// fresh reports whether a message is newer than the channel's checkpoint.
// A channel without one (never bridged) takes everything.
func (b *Bridge) fresh(channelID, msgID string) bool {
	last := b.checkpoint(channelID)
	return last == "" || snowflakeLess(last, msgID)
}

func (b *Bridge) setCheckpoint(channelID, msgID string) {
	if err := b.store.SetCheckpoint(b.ctx, channelID, msgID); err != nil {
		b.log.Error().Err(err).Msg("database")
	}
	b.mu.Lock()
	if last := b.checkpoints[channelID]; last == "" || snowflakeLess(last, msgID) {
		b.checkpoints[channelID] = msgID
	}
	b.mu.Unlock()
}
