//go:build goolm

package matrix

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/event"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// handleEvent turns one event of the MSN session into what Matrix should
// see. It runs on the session's goroutine, in the order of the events, and
// only queues work: nothing here waits for the homeserver.
func (c *MSNClient) handleEvent(cl *client.Client, ev client.Event) {
	ctx := c.log.WithContext(context.Background())
	switch ev := ev.(type) {
	case *client.Message:
		body, html := format.MSNToMatrix(ev.Text, ev.Format)
		if used := c.emoticons.Used(ev.Conversation, ev.From, ev.Text); len(used) > 0 {
			c.queueEmoticonText(cl, ev.Conversation, ev.From, body, html, used)
			return
		}
		c.queueText(cl, ev.Conversation, ev.From, event.MsgText, body, html)
	case *client.OfflineMessage:
		// Left while the account was offline (MSNP13+): in the contact's
		// DM, at the time it was written.
		body, html := format.MSNToMatrix(ev.Text, message.Format{})
		c.queueTextAt(cl, nil, ev.From, event.MsgText, body, html, ev.Sent)
	case *client.Emoticons:
		c.emoticons.Announce(ev)
	case *client.Nudge:
		name := c.contactName(cl, ev.From, "")
		c.queueText(cl, ev.Conversation, ev.From, event.MsgNotice, format.NudgeText(name), "")
	case *client.Typing:
		key, ok := c.portalOf(cl, ev.Conversation, ev.From, false)
		if !ok {
			return
		}
		c.queue(&simplevent.Typing{
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
		var there []string
		for _, p := range ev.Participants {
			there = append(there, p.Email)
		}
		if members := c.seeMembers(ev.Conversation, there, ""); len(members) > 1 {
			c.becomeGroup(cl, ev.Conversation, members)
		}
	case *client.Joined:
		members := c.seeMembers(ev.Conversation, nil, ev.Email)
		if key, ok := c.groupOf(ev.Conversation); ok {
			c.queueMembers(key, ev.Email, ev.FriendlyName, event.MembershipJoin)
		} else if len(members) > 1 {
			c.becomeGroup(cl, ev.Conversation, members)
		}
	case *client.Left:
		c.unseeMember(ev.Conversation, ev.Email)
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

// handleExtra announces what MSN sent besides text — a file offered, a
// wink, a voice clip, an invitation — in the conversation's room; an
// action ("/me waves") is an emote.
func (c *MSNClient) handleExtra(cl *client.Client, x *msnbridge.Extra) {
	if x.Kind == msnbridge.Action {
		c.queueText(cl, x.Conversation, x.From, event.MsgEmote, x.Name, "")
		return
	}
	if x.Kind == msnbridge.File && x.Transfer != nil {
		x.Keep() // carried as m.image or m.file
		c.fileFromMSN(cl, x)
		return
	}
	if x.Object != nil && (x.Kind == msnbridge.Wink || x.Kind == msnbridge.VoiceClip) {
		c.clipFromMSN(cl, x)
		return
	}
	name := c.contactName(cl, x.From, x.FriendlyName)
	c.queueText(cl, x.Conversation, x.From, event.MsgNotice, x.Describe(name), "")
}

// queue queues a remote event, noting its portal for Disconnect to wait
// for.
func (c *MSNClient) queue(ev bridgev2.RemoteEvent) {
	c.mu.Lock()
	c.touched[ev.GetPortalKey()] = true
	c.mu.Unlock()
	c.login.QueueRemoteEvent(ev)
}

// drain waits, at most d, until every portal the login queued events to
// has handled them. A portal handles its events in order, so a barrier
// queued after them is reached when they are done.
func (c *MSNClient) drain(d time.Duration) {
	c.mu.Lock()
	keys := make([]networkid.PortalKey, 0, len(c.touched))
	for k := range c.touched {
		keys = append(keys, k)
	}
	clear(c.touched)
	c.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, k := range keys {
		b := &barrier{key: k, reached: make(chan struct{})}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.login.QueueRemoteEvent(b)
			<-b.reached
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		c.log.Warn().Dur("waited", d).Msg("Stopping before every MSN message reached Matrix")
	}
}

// barrier is a remote event that does nothing: the portal's event loop
// reaching it (the context of an event is made before it is handled, even
// one the portal drops) means what was queued before is done.
type barrier struct {
	key     networkid.PortalKey
	once    sync.Once
	reached chan struct{}
}

var _ bridgev2.RemoteEventWithContextMutation = (*barrier)(nil)

func (b *barrier) GetType() bridgev2.RemoteEventType                { return bridgev2.RemoteEventUnknown }
func (b *barrier) GetPortalKey() networkid.PortalKey                { return b.key }
func (b *barrier) GetSender() bridgev2.EventSender                  { return bridgev2.EventSender{} }
func (b *barrier) AddLogContext(lc zerolog.Context) zerolog.Context { return lc.Str("barrier", "stop") }
func (b *barrier) MutateContext(ctx context.Context) context.Context {
	b.once.Do(func() { close(b.reached) })
	return ctx
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
func (c *MSNClient) portalOf(cl *client.Client, conv *client.Conversation, from string, create bool) (networkid.PortalKey, bool) {
	if key, ok := c.groupOf(conv); ok {
		return key, true
	}
	if members := c.seeMembers(conv, nil, ""); len(members) > 1 {
		if !create {
			return networkid.PortalKey{}, false
		}
		return c.becomeGroup(cl, conv, members), true
	}
	return dmPortalKey(c.login.ID, from), true
}

// seeMembers notes who is in a conversation as its events tell it — the
// people there at an invitation, then each who joins — and returns them.
// Events come in order, so this is who was there at the event being
// handled, whoever joined since: the group a conversation becomes, and
// so its room, does not depend on how fast the bridge reads.
func (c *MSNClient) seeMembers(conv *client.Conversation, there []string, joined string) []string {
	if conv == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	members := c.members[conv]
	for _, e := range append(there, joined) {
		if e = strings.ToLower(e); e != "" && !slices.Contains(members, e) {
			members = append(members, e)
		}
	}
	c.members[conv] = members
	return slices.Clone(members)
}

// unseeMember notes that someone left a conversation.
func (c *MSNClient) unseeMember(conv *client.Conversation, email string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.members[conv] = slices.DeleteFunc(c.members[conv], func(e string) bool { return strings.EqualFold(e, email) })
}

func (c *MSNClient) groupOf(conv *client.Conversation) (networkid.PortalKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key, ok := c.groups[conv]
	return key, ok
}

// becomeGroup gives a conversation with several contacts its group
// portal — the one of these people, so that they meet in the same room
// each time — and makes or updates the room with everyone in it.
func (c *MSNClient) becomeGroup(cl *client.Client, conv *client.Conversation, members []string) networkid.PortalKey {
	key := groupPortalKey(c.login.ID, members)
	c.mapGroup(conv, key)
	c.log.Info().Str("portal_id", string(key.ID)).Strs("members", members).Msg("Conversation became a group chat")
	c.queue(&simplevent.ChatResync{
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
	delete(c.members, conv)
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
	change := &bridgev2.ChatInfoChange{MemberChanges: &bridgev2.ChatMemberList{MemberMap: bridgev2.ChatMemberMap{member.Sender: member}}}
	if m == event.MembershipJoin {
		member.UserInfo = c.userInfo(email, friendly)
		change.MemberChanges.MemberMap[member.Sender] = member
		email := strings.ToLower(email)
		change.ChatInfo = &bridgev2.ChatInfo{ExtraUpdates: func(_ context.Context, p *bridgev2.Portal) bool {
			return addMember(p, email)
		}}
	}
	c.queue(&simplevent.ChatInfoChange{
		EventMeta: simplevent.EventMeta{
			Type:      bridgev2.RemoteEventChatInfoChange,
			PortalKey: key,
			Sender:    c.sender(email),
			Timestamp: time.Now(),
		},
		ChatInfoChange: change,
	})
}

// addMember keeps a group portal's members: whom to invite when its
// conversation is opened again. Someone who left stays one — MSN cannot
// tell closing the window from leaving for good, and a conversation
// usually ends with everyone closing theirs.
func addMember(p *bridgev2.Portal, email string) bool {
	meta, ok := p.Metadata.(*PortalMetadata)
	if !ok || slices.Contains(meta.Members, email) {
		return false
	}
	meta.Members = append(meta.Members, email)
	return true
}

// incoming is what every message for Matrix from an MSN address starts
// with: the sender's picture shown, the portal found (and made if need
// be), a new message ID, and the event's metadata.
func (c *MSNClient) incoming(cl *client.Client, conv *client.Conversation, from string) (simplevent.EventMeta, networkid.MessageID) {
	c.showPicture(cl, from)
	key, _ := c.portalOf(cl, conv, from, true)
	id := newMessageID()
	return simplevent.EventMeta{
		Type:         bridgev2.RemoteEventMessage,
		PortalKey:    key,
		Sender:       c.sender(from),
		CreatePortal: true,
		Timestamp:    time.Now(),
		LogContext: func(lc zerolog.Context) zerolog.Context {
			return lc.Str("msn_from", from).Str("message_id", string(id))
		},
	}, id
}

// queueText queues a message for Matrix from an MSN address.
func (c *MSNClient) queueText(cl *client.Client, conv *client.Conversation, from string, msgType event.MessageType, body, html string) {
	c.queueTextAt(cl, conv, from, msgType, body, html, time.Time{})
}

// queueTextAt is queueText for a message written at sent (zero: now).
func (c *MSNClient) queueTextAt(cl *client.Client, conv *client.Conversation, from string, msgType event.MessageType, body, html string, sent time.Time) {
	content := &event.MessageEventContent{MsgType: msgType, Body: body}
	if html != "" {
		content.Format, content.FormattedBody = event.FormatHTML, html
	}
	meta, id := c.incoming(cl, conv, from)
	if !sent.IsZero() {
		meta.Timestamp = sent
	}
	c.queue(&simplevent.PreConvertedMessage{
		EventMeta: meta,
		ID:        id,
		Data: &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{
			Type:       event.EventMessage,
			Content:    content,
			DBMetadata: &MessageMetadata{Snippet: format.Snippet(body)},
		}}},
	})
}

// handleRaw shows the MSN messages that are neither text nor one of the
// extras msnbridge names (handleExtra) as a notice, so that nothing a
// person sent disappears, and drops the protocol's plumbing.
func (c *MSNClient) handleRaw(cl *client.Client, ev *client.RawMessage) {
	m := ev.Message
	if m == nil {
		c.log.Debug().Str("from", ev.From).Msg("Dropped a message that is not MIME")
		return
	}
	switch kind := m.Kind(); kind {
	case message.KindP2P, message.KindEmoticon, message.KindProfile, message.KindSystem, message.KindTyping,
		message.KindInvite, message.KindDatacast:
		// Transfers in progress, custom emoticon definitions, the rest of
		// an invitation and the like: plumbing, not messages.
		c.log.Trace().Str("from", ev.From).Stringer("kind", kind).Msg("Dropped a protocol message")
		return
	}
	ct, _ := m.ContentType()
	switch ct {
	case "text/x-clientcaps", "text/x-keepalive", "text/x-msmsgscontrol":
		return
	}
	name := c.contactName(cl, ev.From, ev.FriendlyName)
	c.queueText(cl, ev.Conversation, ev.From, event.MsgNotice, fmt.Sprintf("%s sent something the bridge cannot show (%s).", name, ct), "")
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
			changed := false
			for _, m := range members {
				changed = addMember(p, m) || changed
			}
			return changed
		},
	}
	if withName {
		name := strings.Join(names, ", ") + " (MSN)"
		info.Name = &name
	}
	return info
}
