//go:build goolm

package matrix

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/event"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// handleEvent turns one event of the MSN session into what Matrix should
// see. It runs on the session's goroutine, in the order of the events, and
// only queues work: nothing here waits for the homeserver.
func (c *MSNClient) handleEvent(ctx context.Context, cl *client.Client, ev client.Event) {
	switch ev := ev.(type) {
	case *client.Message:
		body, html := format.MSNToMatrix(ev.Text, ev.Format)
		c.queueText(ev.Conversation, ev.From, event.MsgText, body, html)
	case *client.Nudge:
		name := c.contactName(cl, ev.From, "")
		c.queueText(ev.Conversation, ev.From, event.MsgNotice, format.NudgeText(name), "")
	case *client.Typing:
		key, ok := c.portalOf(ev.Conversation, ev.From, false)
		if !ok {
			return
		}
		c.login.QueueRemoteEvent(&simplevent.Typing{
			EventMeta: simplevent.EventMeta{
				Type:      bridgev2.RemoteEventTyping,
				PortalKey: key,
				Sender:    c.sender(ev.From),
				Timestamp: time.Now(),
			},
			// MSN clients repeat TypingUser about every 5 seconds while
			// their user types.
			Timeout: 7 * time.Second,
		})
	case *client.RawMessage:
		c.handleRaw(cl, ev)
	case *client.Invited:
		if len(ev.Conversation.Participants()) > 1 {
			c.becomeGroup(cl, ev.Conversation)
		}
	case *client.Joined:
		if key, ok := c.groupOf(ev.Conversation); ok {
			c.queueMembers(key, ev.Email, ev.FriendlyName, event.MembershipJoin)
		} else if len(ev.Conversation.Participants()) > 1 {
			c.becomeGroup(cl, ev.Conversation)
		}
	case *client.Left:
		if key, ok := c.groupOf(ev.Conversation); ok {
			c.queueMembers(key, ev.Email, "", event.MembershipLeave)
		}
	case *client.ConversationClosed:
		c.forgetGroup(ev.Conversation)
	case *client.Presence:
		if ct, ok := cl.Contact(ev.Email); ok {
			c.ghosts.queue(ct)
		} else {
			c.ghosts.queue(client.Contact{Email: ev.Email, FriendlyName: ev.FriendlyName, Status: ev.Status, PersonalMessage: ev.PersonalMessage})
		}
	case *client.ContactAdded:
		c.announceRequest(ctx, cl, ev.Email, ev.FriendlyName)
	case *client.ContactRemoved:
		c.log.Info().Str("contact", ev.Email).Msg("Removed from a contact's list")
	case *client.ServerCommand:
		c.log.Debug().Str("command", ev.Command.Name).Msg("MSN server command not bridged")
	default:
		c.log.Debug().Type("event", ev).Msg("MSN event not bridged")
	}
}

// sender is the Matrix-side sender for an MSN address.
func (c *MSNClient) sender(email string) bridgev2.EventSender {
	id := userID(email)
	return bridgev2.EventSender{Sender: id, IsFromMe: id == c.selfID(), SenderLogin: c.loginIfSelf(id)}
}

func (c *MSNClient) loginIfSelf(id networkid.UserID) networkid.UserLoginID {
	if id == c.selfID() {
		return c.login.ID
	}
	return ""
}

// portalOf returns the portal of a conversation: its group portal, or the
// DM portal of from. A conversation with more than one contact that has
// no group portal yet gets one when create is set.
func (c *MSNClient) portalOf(conv *client.Conversation, from string, create bool) (networkid.PortalKey, bool) {
	if key, ok := c.groupOf(conv); ok {
		return key, true
	}
	if conv != nil && len(conv.Participants()) > 1 {
		if !create {
			return networkid.PortalKey{}, false
		}
		return c.becomeGroup(c.current(), conv), true
	}
	return dmPortalKey(c.login.ID, from), true
}

func (c *MSNClient) groupOf(conv *client.Conversation) (networkid.PortalKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key, ok := c.groups[conv]
	return key, ok
}

// becomeGroup gives a conversation with several contacts its own portal
// and creates the room with everyone in it.
func (c *MSNClient) becomeGroup(cl *client.Client, conv *client.Conversation) networkid.PortalKey {
	key := newGroupPortalKey(c.login.ID)
	c.mapGroup(conv, key)
	members := participantEmails(conv)
	c.log.Info().Str("portal_id", string(key.ID)).Strs("members", members).Msg("Conversation became a group chat")
	c.login.QueueRemoteEvent(&simplevent.ChatResync{
		EventMeta: simplevent.EventMeta{
			Type:         bridgev2.RemoteEventChatResync,
			PortalKey:    key,
			CreatePortal: true,
			Timestamp:    time.Now(),
		},
		ChatInfo: c.groupInfo(cl, members, true),
	})
	return key
}

func (c *MSNClient) mapGroup(conv *client.Conversation, key networkid.PortalKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.convs[key.ID]; ok && old != conv {
		delete(c.groups, old)
	}
	c.groups[conv] = key
	c.convs[key.ID] = conv
}

// forgetGroup drops a closed conversation: its group portal stays, and the
// next message from Matrix opens a new conversation with its members.
func (c *MSNClient) forgetGroup(conv *client.Conversation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key, ok := c.groups[conv]; ok {
		delete(c.groups, conv)
		if c.convs[key.ID] == conv {
			delete(c.convs, key.ID)
		}
	}
}

func participantEmails(conv *client.Conversation) []string {
	var out []string
	for _, p := range conv.Participants() {
		out = append(out, strings.ToLower(p.Email))
	}
	return out
}

// queueMembers tells a group portal that someone joined or left.
func (c *MSNClient) queueMembers(key networkid.PortalKey, email, friendly string, m event.Membership) {
	member := bridgev2.ChatMember{EventSender: c.sender(email), Membership: m}
	if m == event.MembershipJoin {
		member.UserInfo = c.userInfo(email, friendly)
	}
	email = strings.ToLower(email)
	c.login.QueueRemoteEvent(&simplevent.ChatInfoChange{
		EventMeta: simplevent.EventMeta{
			Type:      bridgev2.RemoteEventChatInfoChange,
			PortalKey: key,
			Sender:    c.sender(email),
			Timestamp: time.Now(),
		},
		ChatInfoChange: &bridgev2.ChatInfoChange{
			ChatInfo: &bridgev2.ChatInfo{ExtraUpdates: func(_ context.Context, p *bridgev2.Portal) bool {
				return updateMembers(p, email, m == event.MembershipJoin)
			}},
			MemberChanges: &bridgev2.ChatMemberList{MemberMap: bridgev2.ChatMemberMap{member.Sender: member}},
		},
	})
}

// updateMembers keeps a group portal's member list, which is whom to invite
// when the conversation is opened again.
func updateMembers(p *bridgev2.Portal, email string, joined bool) bool {
	meta, ok := p.Metadata.(*PortalMetadata)
	if !ok {
		return false
	}
	for i, m := range meta.Members {
		if m == email {
			if joined {
				return false
			}
			meta.Members = append(meta.Members[:i], meta.Members[i+1:]...)
			return true
		}
	}
	if !joined {
		return false
	}
	meta.Members = append(meta.Members, email)
	return true
}

// queueText queues a message for Matrix from an MSN address.
func (c *MSNClient) queueText(conv *client.Conversation, from string, msgType event.MessageType, body, html string) {
	key, _ := c.portalOf(conv, from, true)
	content := &event.MessageEventContent{MsgType: msgType, Body: body}
	if html != "" {
		content.Format, content.FormattedBody = event.FormatHTML, html
	}
	id := newMessageID()
	c.login.QueueRemoteEvent(&simplevent.PreConvertedMessage{
		EventMeta: simplevent.EventMeta{
			Type:         bridgev2.RemoteEventMessage,
			PortalKey:    key,
			Sender:       c.sender(from),
			CreatePortal: true,
			Timestamp:    time.Now(),
			LogContext: func(lc zerolog.Context) zerolog.Context {
				return lc.Str("msn_from", from).Str("message_id", string(id))
			},
		},
		ID: id,
		Data: &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{
			Type:       event.EventMessage,
			Content:    content,
			DBMetadata: &MessageMetadata{Snippet: snippet(body)},
		}}},
	})
}

// handleRaw shows the MSN messages that are not text as notices, so that
// nothing a person sent disappears, and drops the protocol's plumbing.
func (c *MSNClient) handleRaw(cl *client.Client, ev *client.RawMessage) {
	m := ev.Message
	if m == nil {
		c.log.Debug().Str("from", ev.From).Msg("Dropped a message that is not MIME")
		return
	}
	name := c.contactName(cl, ev.From, ev.FriendlyName)
	kind := m.Kind()
	switch kind {
	case message.KindInvite:
		f, err := m.Invite()
		if err != nil || !strings.EqualFold(f.Get("Invitation-Command"), "INVITE") {
			return
		}
		app := f.Get("Application-Name")
		if file := f.Get("Application-File"); file != "" {
			size := f.Get("Application-FileSize")
			if n, err := strconv.ParseInt(size, 10, 64); err == nil {
				size = humanSize(n)
			}
			c.queueText(ev.Conversation, ev.From, event.MsgNotice,
				fmt.Sprintf("%s wants to send you a file, %s (%s). File transfers do not cross the bridge: ask them to share a link.", name, file, size), "")
			return
		}
		if app == "" {
			app = "an invitation"
		}
		c.queueText(ev.Conversation, ev.From, event.MsgNotice,
			fmt.Sprintf("%s sent an invitation (%s), which the bridge cannot answer.", name, app), "")
	case message.KindDatacast:
		id, _ := m.DatacastID()
		switch id {
		case message.DatacastWink:
			c.queueText(ev.Conversation, ev.From, event.MsgNotice, name+" sent a wink.", "")
		case message.DatacastVoiceClip:
			c.queueText(ev.Conversation, ev.From, event.MsgNotice, name+" sent a voice clip, which the bridge cannot play.", "")
		case message.DatacastAction:
			f, _ := message.ParseFields(m.Body)
			if text := strings.TrimSpace(f.Get("Data")); text != "" {
				c.queueText(ev.Conversation, ev.From, event.MsgEmote, text, "")
			}
		}
	case message.KindP2P, message.KindEmoticon, message.KindProfile, message.KindSystem, message.KindTyping:
		// Transfers in progress, custom emoticon definitions and the
		// like: plumbing, not messages.
		c.log.Trace().Str("from", ev.From).Stringer("kind", kind).Msg("Dropped a protocol message")
	default:
		ct, _ := m.ContentType()
		switch ct {
		case "text/x-clientcaps", "text/x-keepalive", "text/x-msmsgscontrol":
			return
		}
		c.queueText(ev.Conversation, ev.From, event.MsgNotice,
			fmt.Sprintf("%s sent something the bridge cannot show (%s).", name, ct), "")
	}
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// contactName is how a contact is called in notices.
func (c *MSNClient) contactName(cl *client.Client, email, friendly string) string {
	if cl != nil {
		if ct, ok := cl.Contact(email); ok && ct.FriendlyName != "" {
			friendly = ct.FriendlyName
		}
	}
	if n := format.PlainName(friendly); n != "" {
		return n
	}
	return email
}

// groupInfo is the chat info of a group portal with the given members.
func (c *MSNClient) groupInfo(cl *client.Client, members []string, withName bool) *bridgev2.ChatInfo {
	roomType := database.RoomTypeGroupDM
	list := &bridgev2.ChatMemberList{IsFull: true, MemberMap: bridgev2.ChatMemberMap{}}
	list.MemberMap.Set(bridgev2.ChatMember{EventSender: c.sender(c.meta.Email), Membership: event.MembershipJoin})
	var names []string
	for _, m := range members {
		list.MemberMap.Set(bridgev2.ChatMember{
			EventSender: c.sender(m),
			Membership:  event.MembershipJoin,
			UserInfo:    c.userInfo(m, ""),
		})
		names = append(names, c.contactName(cl, m, ""))
	}
	info := &bridgev2.ChatInfo{
		Type:    &roomType,
		Members: list,
		ExtraUpdates: func(_ context.Context, p *bridgev2.Portal) bool {
			meta, ok := p.Metadata.(*PortalMetadata)
			if !ok || len(members) == 0 || slices.Equal(meta.Members, members) {
				return false
			}
			meta.Members = append([]string(nil), members...)
			return true
		},
	}
	if withName {
		name := strings.Join(names, ", ") + " (MSN)"
		info.Name = &name
	}
	return info
}
