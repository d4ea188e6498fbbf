package discord

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// A user's place in Discord: their private channel under the MSN category,
// its webhook, and a thread per conversation — made when first needed and
// made again when someone deletes them.

// post speaks MSN text in a conversation's thread as the contact. text is
// what MSN carried, for the record.
func (u *userSession) post(cl *client.Client, key, from, name string, contents []string, text string) {
	u.postAll(cl, key, from, name, texts(contents), text)
}

// postAll posts messages and files in a conversation's thread as the
// contact.
func (u *userSession) postAll(cl *client.Client, key, from, name string, contents []outgoing, text string) {
	if len(contents) == 0 {
		return
	}
	avatar := u.b.contactAvatar(cl, from)
	for range 3 {
		// The channel and its webhook first (made again if deleted on
		// Discord), then the thread.
		if _, err := u.ensureChannel(); err != nil {
			u.log.Warn().Err(err).Msg("cannot make the channel")
			return
		}
		th, err := u.ensureThread(cl, key)
		if err != nil {
			u.log.Warn().Err(err).Msg("cannot make a thread")
			return
		}
		rec := u.rec()
		ids, err := u.b.speak(rec.WebhookID, rec.WebhookToken, th, nameOr(name, from), from, avatar, contents)
		for _, id := range ids {
			u.b.record(id, th, ToDiscord, text, text)
		}
		if err == nil {
			return
		}
		contents = contents[len(ids):]
		// The thread, channel or webhook was deleted on Discord: make what
		// is missing and try again.
		switch restCode(err) {
		case discordgo.ErrCodeUnknownChannel:
			u.forgetThread(key, th)
			continue
		case discordgo.ErrCodeUnknownWebhook, 50027: // 50027: invalid webhook token
			u.save(func(r *UserRecord) { r.WebhookID, r.WebhookToken = "", "" })
			continue
		}
		u.log.Warn().Err(err).Msg("cannot post to Discord")
		return
	}
}

// ensureThread returns the thread of a conversation, making it (and the
// user's channel) when missing.
func (u *userSession) ensureThread(cl *client.Client, key string) (string, error) {
	u.threadMu.Lock()
	defer u.threadMu.Unlock()
	if th := u.thread(key); th != "" {
		return th, nil
	}
	ch, err := u.ensureChannel()
	if err != nil {
		return "", err
	}
	title := u.threadTitle(cl, key)
	start := &discordgo.ThreadStart{Name: title, Type: discordgo.ChannelTypeGuildPublicThread, AutoArchiveDuration: 10080}
	t, err := u.b.dg.ThreadStartComplex(ch, start)
	if restCode(err) == discordgo.ErrCodeUnknownChannel {
		u.forgetChannel(ch)
		if ch, err = u.ensureChannel(); err != nil {
			return "", err
		}
		t, err = u.b.dg.ThreadStartComplex(ch, start)
	}
	if err != nil {
		return "", err
	}
	// Being a member makes the thread show in the user's list and notify
	// them.
	if err := u.b.dg.ThreadMemberAdd(t.ID, u.id); err != nil {
		u.log.Warn().Err(err).Msg("cannot add the user to their thread")
	}
	if err := u.b.store.PutThread(u.b.ctx, ThreadRecord{UserID: u.id, Key: key, ThreadID: t.ID, Title: title}); err != nil {
		u.log.Error().Err(err).Msg("database")
	}
	u.b.setCheckpoint(t.ID, t.ID)
	u.mu.Lock()
	u.threads[key] = t.ID
	u.mu.Unlock()
	u.b.mu.Lock()
	u.b.byThread[t.ID] = threadRef{u, key}
	u.b.mu.Unlock()
	return t.ID, nil
}

// waitThreads waits until no thread is being made for the user.
func (u *userSession) waitThreads() {
	u.threadMu.Lock()
	defer u.threadMu.Unlock()
}

// threadTitle names a conversation's thread: "Bob (bob@example.com)", or
// the names of a group.
func (u *userSession) threadTitle(cl *client.Client, key string) string {
	emails := msnbridge.KeyMembers(key)
	if len(emails) == 1 {
		name := u.contactName(cl, emails[0])
		if name == emails[0] {
			return truncate(name, maxThreadName)
		}
		return truncate(name+" ("+emails[0]+")", maxThreadName)
	}
	var names []string
	for _, e := range emails {
		names = append(names, u.contactName(cl, e))
	}
	return truncate(strings.Join(names, ", "), maxThreadName)
}

// ensureChannel returns the user's private channel and makes sure it has
// the webhook contacts speak through.
func (u *userSession) ensureChannel() (string, error) {
	u.channelMu.Lock()
	defer u.channelMu.Unlock()
	for range 2 {
		ch, gone, err := u.ensureChannelOnce()
		if !gone {
			return ch, err
		}
		// The channel was deleted on Discord meanwhile: make a new one.
		u.forgetChannelLocked(ch)
	}
	return "", errors.New("your channel keeps disappearing")
}

// What the user and the bot may do in a private channel, as far as the
// bot can grant it.
const (
	userAllow = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionSendMessagesInThreads |
		discordgo.PermissionReadMessageHistory | discordgo.PermissionAttachFiles | discordgo.PermissionEmbedLinks | discordgo.PermissionAddReactions
	botAllow = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionSendMessagesInThreads |
		discordgo.PermissionReadMessageHistory | discordgo.PermissionManageWebhooks | discordgo.PermissionManageThreads |
		discordgo.PermissionCreatePublicThreads | discordgo.PermissionEmbedLinks | discordgo.PermissionAttachFiles
)

// ensureChannelOnce makes what is missing; gone reports that the recorded
// channel no longer exists.
func (u *userSession) ensureChannelOnce() (ch string, gone bool, err error) {
	b := u.b
	rec := u.rec()
	if rec.ChannelID == "" {
		cat, err := b.category(rec.GuildID)
		if err != nil {
			return "", false, fmt.Errorf("making the %s category: %s", b.cfg.Category, permissionHint(err))
		}
		// Discord refuses overwrites that grant what the bot does not have
		// itself where the channel is made: grant only that.
		have, err := b.botPermissions(rec.GuildID, cat)
		if err != nil {
			return "", false, fmt.Errorf("reading the bot's permissions: %s", permissionHint(err))
		}
		name := "msn-" + msnbridge.LocalPart(rec.Name)
		if name == "msn-" {
			name = "msn-" + rec.UserID
		}
		c, err := b.dg.GuildChannelCreateComplex(rec.GuildID, discordgo.GuildChannelCreateData{
			Name: name, Type: discordgo.ChannelTypeGuildText, ParentID: cat.ID,
			Topic: fmt.Sprintf("MSN Messenger for %s, signed in as %s. Each conversation is a thread.", rec.Name, rec.Email),
			PermissionOverwrites: []*discordgo.PermissionOverwrite{
				{ID: rec.GuildID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel & have},
				{ID: u.id, Type: discordgo.PermissionOverwriteTypeMember, Allow: userAllow & have},
				{ID: b.bot(), Type: discordgo.PermissionOverwriteTypeMember, Allow: botAllow & have},
			},
		})
		if err != nil {
			return "", false, fmt.Errorf("making your channel: %s", permissionHint(err))
		}
		u.save(func(r *UserRecord) { r.ChannelID, r.WebhookID, r.WebhookToken = c.ID, "", "" })
		b.mu.Lock()
		b.byChannel[c.ID] = u
		b.mu.Unlock()
		rec = u.rec()
		b.notice(c.ID, fmt.Sprintf("<@%s>, this is your MSN Messenger, signed in as **%s**. Each conversation is a thread here; "+
			"`/msn contacts` lists your contacts, `/msn chat` starts a conversation.", u.id, format.EscapeDiscord(rec.Email)))
	}
	if rec.WebhookID == "" {
		w, err := b.dg.WebhookCreate(rec.ChannelID, "MSN", "")
		if restCode(err) == discordgo.ErrCodeUnknownChannel {
			return rec.ChannelID, true, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("making the channel's webhook: %s", permissionHint(err))
		}
		b.addWebhook(w.ID)
		u.save(func(r *UserRecord) { r.WebhookID, r.WebhookToken = w.ID, w.Token })
	}
	return rec.ChannelID, false, nil
}

// forgetThread drops a thread that was deleted on Discord; the next
// message makes a new one.
func (u *userSession) forgetThread(key, threadID string) {
	u.mu.Lock()
	if u.threads[key] == threadID {
		delete(u.threads, key)
	}
	u.mu.Unlock()
	u.b.mu.Lock()
	delete(u.b.byThread, threadID)
	u.b.mu.Unlock()
	if err := u.b.store.DeleteThread(u.b.ctx, threadID); err != nil {
		u.log.Error().Err(err).Msg("database")
	}
}

// forgetChannel drops the user's channel (deleted on Discord) and its
// threads.
func (u *userSession) forgetChannel(channelID string) {
	u.channelMu.Lock()
	defer u.channelMu.Unlock()
	u.forgetChannelLocked(channelID)
}

func (u *userSession) forgetChannelLocked(channelID string) {
	if u.rec().ChannelID != channelID {
		return
	}
	u.save(func(r *UserRecord) { r.ChannelID, r.WebhookID, r.WebhookToken = "", "", "" })
	u.mu.Lock()
	threads := u.threads
	u.threads = map[string]string{}
	u.mu.Unlock()
	u.b.mu.Lock()
	delete(u.b.byChannel, channelID)
	for _, th := range threads {
		delete(u.b.byThread, th)
	}
	u.b.mu.Unlock()
	if err := u.b.store.DeleteThreads(u.b.ctx, u.id); err != nil {
		u.log.Error().Err(err).Msg("database")
	}
}
