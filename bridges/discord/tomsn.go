package discord

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// Discord → MSN: what a user writes in a thread goes to its conversation;
// replies carry a quote of what they answer, and edits, deletions and
// reactions, which MSN does not have, go as short notes.

// conversation returns the conversation of a thread, opening it when there
// is none: with a group's members all invited at once, so that the message
// waits for the first of them and not for each.
func (u *userSession) conversation(ctx context.Context, key string) (*client.Conversation, error) {
	cl, err := u.session().Client(ctx)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	cv := u.convs[key]
	u.mu.Unlock()
	emails := msnbridge.KeyMembers(key)
	if cv != nil && (len(emails) == 1 || len(cv.Participants()) > 0) {
		return cv, nil
	}
	if len(emails) == 1 {
		cv, err = cl.Conversation(ctx, emails[0])
	} else {
		// A group everyone left is opened again with all its people, not
		// only the last who left, as the client would.
		cv, err = u.openGroup(ctx, cl, key, cv)
	}
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	u.bindLocked(key, cv)
	u.mu.Unlock()
	return cv, nil
}

// send sends text to a conversation, reopening it once if it was closed.
func (u *userSession) send(key, text string, f *message.Format) error {
	ctx, cancel := context.WithTimeout(u.b.ctx, u.b.cfg.RequestTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		cv, err := u.conversation(ctx, key)
		if err != nil {
			// A contact who is offline is left the text (MSNP13+).
			if emails := msnbridge.KeyMembers(key); len(emails) == 1 {
				if cl := u.session().Current(); cl != nil {
					return cl.LeaveIfOffline(ctx, emails[0], text, err)
				}
			}
			return err
		}
		err = cv.SendText(ctx, text, f)
		if err == nil {
			u.tellMissing(key, cv)
		}
		if errors.Is(err, client.ErrNotDelivered) && attempt == 0 {
			// Refused by a switchboard everyone else had left: the next
			// send reopens the conversation, and says why if it cannot.
			continue
		}
		if errors.Is(err, client.ErrConversationClosed) && attempt == 0 {
			u.mu.Lock()
			if u.convs[key] == cv {
				delete(u.convs, key)
				delete(u.keys, cv)
			}
			u.mu.Unlock()
			continue
		}
		return err
	}
}

// who names a conversation's other side for a notice.
func (u *userSession) who(key string) string {
	cl := u.session().Current()
	var names []string
	for _, e := range msnbridge.KeyMembers(key) {
		names = append(names, u.contactName(cl, e))
	}
	return strings.Join(names, ", ")
}

// notDelivered says in the thread that something did not reach MSN.
func (u *userSession) notDelivered(channelID, what, key string, err error) {
	u.b.notice(channelID, "⚠️ "+what+": "+format.EscapeDiscord(msnbridge.Explain(err, u.who(key)))+".")
}

func (u *userSession) fromDiscord(key string, m *discordgo.Message) {
	// Attachments go as files, the rest as text.
	files := m.Attachments
	bare := *m
	bare.Attachments = nil
	text, f := u.b.discordText(&bare)
	u.filesToMSN(key, m.ChannelID, files)
	if text == "" {
		return
	}
	if err := u.send(key, text, f); err != nil {
		u.notDelivered(m.ChannelID, "Not delivered", key, err)
		return
	}
	content, _ := u.b.editText(m)
	u.b.record(m.ID, m.ChannelID, ToMSN, text, content)
}

// editFromDiscord sends an edit's new text; it reports whether it went.
func (u *userSession) editFromDiscord(key string, m *discordgo.Message, text string, f *message.Format) bool {
	if err := u.send(key, format.EditNote(text), f); err != nil {
		u.notDelivered(m.ChannelID, "Edit not delivered", key, err)
		return false
	}
	return true
}

func (u *userSession) deleteFromDiscord(key string, rec MessageRecord) {
	if err := u.send(key, format.DeleteNote(format.Snippet(rec.Excerpt)), nil); err != nil {
		u.log.Info().Err(err).Msg("delete note not delivered")
	}
}

// noteFromDiscord sends a note (a reaction) to the conversation.
func (u *userSession) noteFromDiscord(key, channelID, note string) {
	if err := u.send(key, note, nil); err != nil {
		u.notDelivered(channelID, "Not delivered", key, err)
	}
}

func (u *userSession) typingFromDiscord(key string) {
	u.mu.Lock()
	cv := u.convs[key]
	last := u.typedMSN[key]
	now := time.Now()
	if cv == nil || now.Sub(last) < 4*time.Second {
		u.mu.Unlock()
		return
	}
	u.typedMSN[key] = now
	u.mu.Unlock()
	if len(cv.Participants()) == 0 {
		return // not open: typing is no reason to ring someone
	}
	ctx, cancel := context.WithTimeout(u.b.ctx, 10*time.Second)
	defer cancel()
	cv.SendTyping(ctx)
}

// discordText turns a Discord message into MSN text: a quote of what it
// answers when it is a reply, its markdown converted, then its attachments
// and stickers as links and names.
func (b *Bridge) discordText(m *discordgo.Message) (string, *message.Format) {
	text, f := format.DiscordToMSN(m.Content, b.names(m))
	var extra []string
	for _, a := range m.Attachments {
		if a != nil {
			extra = append(extra, a.Filename+": "+a.URL)
		}
	}
	for _, s := range m.StickerItems {
		if s != nil {
			extra = append(extra, "[sticker: "+s.Name+"]")
		}
	}
	if len(extra) > 0 {
		if strings.TrimSpace(text) != "" {
			text += "\n"
		}
		text += strings.Join(extra, "\n")
	}
	text = strings.TrimSpace(text)
	if text != "" && m.Type == discordgo.MessageTypeReply {
		text = format.Reply(b.replySnippet(m), text)
	}
	return text, f
}

// replySnippet is the start of the message a reply answers.
func (b *Bridge) replySnippet(m *discordgo.Message) string {
	if ref := m.ReferencedMessage; ref != nil {
		if ref.GuildID == "" {
			ref.GuildID = m.GuildID
		}
		if rec, ok, err := b.store.Message(b.ctx, ref.ID); err == nil && ok && rec.Direction == ToDiscord {
			return format.Snippet(rec.Excerpt) // what the contact wrote on MSN
		}
		text, _ := format.DiscordToMSN(ref.Content, b.names(ref))
		return format.Snippet(text)
	}
	if m.MessageReference != nil {
		return b.snippetOf(m.ChannelID, m.MessageReference.MessageID)
	}
	return ""
}

// editText is the new text of an edited message: its content only, since
// its attachments went with the original.
func (b *Bridge) editText(m *discordgo.Message) (string, *message.Format) {
	text, f := format.DiscordToMSN(m.Content, b.names(m))
	return strings.TrimSpace(text), f
}

// names resolves the mentions of a message from the message itself and
// the gateway's state.
func (b *Bridge) names(m *discordgo.Message) *format.Names {
	return &format.Names{
		User: func(id string) string {
			if m.GuildID != "" {
				if n := b.memberName(m.GuildID, id, nil); n != "" {
					return n
				}
			}
			for _, u := range m.Mentions {
				if u != nil && u.ID == id {
					return displayName(u, nil)
				}
			}
			return ""
		},
		Channel: func(id string) string {
			if c, err := b.dg.State.Channel(id); err == nil {
				return c.Name
			}
			return ""
		},
		Role: func(id string) string {
			if r, err := b.dg.State.Role(m.GuildID, id); err == nil {
				return r.Name
			}
			return ""
		},
	}
}

// memberName is the name Discord shows for a member: their nickname in the
// guild, their display name or their username; "" when they are not a
// member. The gateway gives the member with each message, a message
// fetched over REST does not, and without the privileged Guild Members
// intent the bridge is not sent the member list: a member it has not seen
// is looked up once and kept in the state.
func (b *Bridge) memberName(guildID, userID string, m *discordgo.Member) string {
	if m != nil && m.User != nil {
		return displayName(m.User, m)
	}
	if mem, err := b.dg.State.Member(guildID, userID); err == nil {
		return displayName(mem.User, mem)
	}
	mem, err := b.dg.GuildMember(guildID, userID)
	if err != nil || mem.User == nil {
		return ""
	}
	mem.GuildID = guildID
	_ = b.dg.State.MemberAdd(mem)
	return displayName(mem.User, mem)
}

// authorName names the author of a message.
func (b *Bridge) authorName(m *discordgo.Message) string {
	if m.Member != nil {
		return displayName(m.Author, m.Member)
	}
	if m.Author == nil {
		return "someone"
	}
	if n := b.memberName(m.GuildID, m.Author.ID, nil); n != "" {
		return n
	}
	return displayName(m.Author, nil)
}
