//go:build goolm

package matrix

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// nudgeCommand, alone in a message, sends a nudge instead of text.
const nudgeCommand = "!nudge"

// HandleMatrixMessage sends a Matrix message to the portal's MSN
// conversation and returns once the switchboard acknowledged it. A refusal
// (NAK, an offline contact) is returned as an error the bridge shows on
// the event.
func (c *MSNClient) HandleMatrixMessage(ctx context.Context, msg *bridgev2.MatrixMessage) (*bridgev2.MatrixMessageResponse, error) {
	c.presence.activity(ctx)
	c.typing.stop(msg.Portal.PortalKey)
	content := msg.Content
	c.log.Debug().Str("portal_id", string(msg.Portal.ID)).Str("event_id", string(msg.Event.ID)).Str("msgtype", string(content.MsgType)).
		Msg("Sending a Matrix message to MSN")
	if strings.TrimSpace(content.Body) == nudgeCommand && content.MsgType == event.MsgText {
		if err := c.sendTo(ctx, msg.Portal, "", func(conv *client.Conversation) error { return conv.SendNudge(ctx) }); err != nil {
			return nil, err
		}
		return c.response("(nudge)"), nil
	}
	if isFile(content.MsgType) {
		return c.fileToMSN(ctx, msg)
	}
	text, f := c.matrixText(ctx, content)
	if msg.ReplyTo != nil {
		if meta, ok := msg.ReplyTo.Metadata.(*MessageMetadata); ok {
			text = format.Reply(meta.Snippet, text)
		}
	}
	if strings.TrimSpace(text) == "" {
		return nil, bridgev2.WrapErrorInStatus(errors.New("empty message")).WithIsCertain(true).WithErrorAsMessage().
			WithErrorReason(event.MessageStatusUnsupported)
	}
	if err := c.sendText(ctx, msg.Portal, text, f); err != nil {
		return nil, err
	}
	return c.response(text), nil
}

func (c *MSNClient) response(text string) *bridgev2.MatrixMessageResponse {
	return &bridgev2.MatrixMessageResponse{DB: &database.Message{
		ID:        newMessageID(),
		SenderID:  c.selfID(),
		Timestamp: time.Now(),
		Metadata:  &MessageMetadata{Snippet: format.Snippet(text)},
	}}
}

// matrixText is the MSN text of a Matrix message of any type: formatted
// text, or a line with a link for media and locations.
func (c *MSNClient) matrixText(ctx context.Context, content *event.MessageEventContent) (string, *message.Format) {
	switch content.MsgType {
	case event.MsgText, event.MsgNotice, "":
		if content.Format == event.FormatHTML {
			return format.MatrixToMSN(content.Body, content.FormattedBody)
		}
		return content.Body, nil
	case event.MsgEmote:
		text, f := content.Body, (*message.Format)(nil)
		if content.Format == event.FormatHTML {
			text, f = format.MatrixToMSN(content.Body, content.FormattedBody)
		}
		return "* " + c.selfName() + " " + text, f
	case event.MsgLocation:
		return "Location: " + content.Body + " " + geoLink(content.GeoURI), nil
	case event.MsgImage, event.MsgVideo, event.MsgAudio, event.MsgFile, event.CapMsgSticker:
		return c.mediaText(ctx, content), nil
	default:
		return content.Body, nil
	}
}

// mediaText describes a Matrix file with a link to it: a public media
// link when the bridge has public_media on, otherwise its mxc:// address.
func (c *MSNClient) mediaText(ctx context.Context, content *event.MessageEventContent) string {
	kind := map[event.MessageType]string{
		event.MsgImage: "Image", event.MsgVideo: "Video", event.MsgAudio: "Audio", event.CapMsgSticker: "Sticker",
	}[content.MsgType]
	if kind == "" {
		kind = "File"
	}
	name := content.GetFileName()
	var link string
	if pm, ok := c.mc.Bridge.Matrix.(bridgev2.MatrixConnectorWithPublicMedia); ok {
		if l, err := pm.GetPublicMediaAddressForEvent(ctx, content); err == nil {
			link = l
		}
	}
	if link == "" {
		if f := content.File; f != nil && f.URL != "" {
			link = string(f.URL) + " (encrypted)"
		} else {
			link = string(content.URL)
		}
	}
	text := fmt.Sprintf("[%s: %s] %s", kind, name, link)
	if content.FileName != "" && content.Body != "" && content.Body != content.FileName {
		caption := content.Body
		if content.Format == event.FormatHTML {
			caption, _ = format.MatrixToMSN(content.Body, content.FormattedBody)
		}
		text += "\n" + caption
	}
	return text
}

// geoLink turns a geo: URI into an OpenStreetMap link.
func geoLink(geo string) string {
	coords, ok := strings.CutPrefix(geo, "geo:")
	if !ok {
		return geo
	}
	coords, _, _ = strings.Cut(coords, ";")
	lat, lon, ok := strings.Cut(coords, ",")
	if !ok {
		return geo
	}
	q := url.Values{"mlat": {lat}, "mlon": {lon}}
	return "https://www.openstreetmap.org/?" + q.Encode()
}

func (c *MSNClient) selfName() string {
	if cl := c.current(); cl != nil {
		if n := format.PlainName(cl.Self().FriendlyName); n != "" {
			return n
		}
	}
	return c.meta.Email
}

// sendText sends text to the portal's conversation.
func (c *MSNClient) sendText(ctx context.Context, portal *bridgev2.Portal, text string, f *message.Format) error {
	return c.sendTo(ctx, portal, text, func(conv *client.Conversation) error { return conv.SendText(ctx, text, f) })
}

// sendTo runs send on the portal's conversation, opening it if needed, and
// turns failures into errors a person understands. In a group chat, those
// the message did not reach are told in the room. The contact of a DM who
// is offline is left text, when it is not empty, as an offline message
// (MSNP13+).
func (c *MSNClient) sendTo(ctx context.Context, portal *bridgev2.Portal, text string, send func(*client.Conversation) error) error {
	conv, err := c.conversationFor(ctx, portal)
	if err == nil {
		err = send(conv)
	} else if cl := c.current(); cl != nil && text != "" && !isGroup(portal.ID) {
		if err = cl.LeaveIfOffline(ctx, string(portal.ID), text, err); err == nil {
			return nil
		}
	}
	if err != nil {
		return c.sendError(portal, err)
	}
	if isGroup(portal.ID) {
		c.tellMissing(ctx, portal, conv)
	}
	return nil
}

// tellMissing says in a group room who of its members was not in the
// conversation when a message went: offline, or not answering yet. It
// says it when that changes, not after every message.
func (c *MSNClient) tellMissing(ctx context.Context, portal *bridgev2.Portal, conv *client.Conversation) {
	missing := msnbridge.NotReached(conv, groupMembers(portal), c.meta.Email)
	names := make([]string, 0, len(missing))
	cl := c.current()
	for _, e := range missing {
		if n := c.contactName(cl, e, ""); n != e {
			e = n + " (" + e + ")"
		}
		names = append(names, e)
	}
	if notice, ok := c.missing.Notice(string(portal.ID), names); ok {
		c.roomNotice(ctx, portal, notice)
	}
}

// roomNotice sends a notice from the bridge bot to a portal's room.
func (c *MSNClient) roomNotice(ctx context.Context, portal *bridgev2.Portal, text string) {
	if portal.MXID == "" {
		return
	}
	content := &event.MessageEventContent{MsgType: event.MsgNotice, Body: text}
	if _, err := c.mc.Bridge.Bot.SendMessage(ctx, portal.MXID, event.EventMessage, &event.Content{Parsed: content}, nil); err != nil {
		c.log.Warn().Err(err).Str("portal_id", string(portal.ID)).Msg("Could not send a notice to a room")
	}
}

// sendError makes the message status of a failed send: certain, shown as
// a notice, in one line that says what happened.
func (c *MSNClient) sendError(portal *bridgev2.Portal, err error) error {
	who := string(portal.ID)
	if isGroup(portal.ID) {
		who = "the group chat"
	}
	msg := errors.New("not delivered: " + msnbridge.Explain(err, who))
	reason := event.MessageStatusNetworkError
	switch {
	case errors.Is(err, msnp.ErrNotOnline):
		msg = fmt.Errorf("not delivered: %s is offline, or does not accept messages from you", who)
		reason = event.MessageStatusNoPermission
	case errors.Is(err, client.ErrNotDelivered):
		msg = fmt.Errorf("not delivered: the MSN server refused the message for %s (NAK)", who)
		reason = event.MessageStatusGenericError
	case errors.Is(err, errNotConnected):
		msg = errors.New("not sent: the bridge is not connected to MSN right now")
	case errors.Is(err, client.ErrMessageTooLarge):
		msg = errors.New("not sent: too large for MSN")
		reason = event.MessageStatusUnsupported
	}
	c.log.Warn().Err(err).Str("portal_id", string(portal.ID)).Msg("Could not send to MSN")
	return bridgev2.WrapErrorInStatus(msg).WithIsCertain(true).WithErrorAsMessage().WithSendNotice(true).WithErrorReason(reason)
}

// groupMembers is whom a group chat's conversation is with: the people it
// is the room of, and those who joined it since (and did not leave).
func groupMembers(portal *bridgev2.Portal) []string {
	members := msnbridge.KeyMembers(strings.TrimPrefix(string(portal.ID), groupPrefix))
	if meta, ok := portal.Metadata.(*PortalMetadata); ok {
		for _, m := range meta.Members {
			if !slices.Contains(members, m) {
				members = append(members, m)
			}
		}
	}
	return members
}

// conversationFor returns the MSN conversation of a portal. A DM uses the
// conversation with its contact (msnp/client opens one if there is none);
// a group chat whose conversation has ended is opened again with its
// members, all invited at once.
func (c *MSNClient) conversationFor(ctx context.Context, portal *bridgev2.Portal) (*client.Conversation, error) {
	cl, err := c.client(ctx)
	if err != nil {
		return nil, err
	}
	if !isGroup(portal.ID) {
		return cl.Conversation(ctx, string(portal.ID))
	}
	c.mu.Lock()
	conv := c.convs[portal.ID]
	c.mu.Unlock()
	if conv != nil && len(conv.Participants()) > 0 {
		return conv, nil
	}
	members := groupMembers(portal)
	if len(members) == 0 {
		return nil, errors.New("nobody is left in this group chat")
	}
	old := conv
	conv, err = c.openGroup(ctx, members)
	if err != nil {
		return nil, err
	}
	c.mapGroup(conv, portal.PortalKey)
	if old != nil {
		// Everyone had left it: leave it too rather than keep a
		// switchboard open with nobody else in it.
		go old.Close()
	}
	return conv, nil
}

// HandleMatrixEdit sends the new text of an edited message: MSN has no
// edits, so the correction follows as a message of its own.
func (c *MSNClient) HandleMatrixEdit(ctx context.Context, msg *bridgev2.MatrixEdit) error {
	text, f := c.matrixText(ctx, msg.Content)
	if err := c.sendText(ctx, msg.Portal, format.EditNote(text), f); err != nil {
		return err
	}
	if meta, ok := msg.EditTarget.Metadata.(*MessageMetadata); ok {
		meta.Snippet = format.Snippet(text)
	}
	return nil
}

// PreHandleMatrixReaction lets a user have one reaction per message.
func (c *MSNClient) PreHandleMatrixReaction(ctx context.Context, msg *bridgev2.MatrixReaction) (bridgev2.MatrixReactionPreResponse, error) {
	return bridgev2.MatrixReactionPreResponse{
		SenderID:     c.selfID(),
		Emoji:        msg.Content.RelatesTo.Key,
		MaxReactions: 1,
	}, nil
}

// HandleMatrixReaction tells the conversation about a reaction in words.
func (c *MSNClient) HandleMatrixReaction(ctx context.Context, msg *bridgev2.MatrixReaction) (*database.Reaction, error) {
	return nil, c.sendText(ctx, msg.Portal, format.ReactionNote(msg.Content.RelatesTo.Key, snippetOf(msg.TargetMessage)), nil)
}

// HandleMatrixReactionRemove tells the conversation a reaction was taken
// back.
func (c *MSNClient) HandleMatrixReactionRemove(ctx context.Context, msg *bridgev2.MatrixReactionRemove) error {
	if msg.TargetReaction == nil {
		return nil
	}
	var target string
	if m, err := c.mc.Bridge.DB.Message.GetFirstPartByID(ctx, msg.Portal.Receiver, msg.TargetReaction.MessageID); err == nil {
		target = snippetOf(m)
	}
	return c.sendText(ctx, msg.Portal, format.UnreactNote(msg.TargetReaction.Emoji, target), nil)
}

// HandleMatrixMessageRemove tells the conversation a message was deleted;
// MSN cannot take it back.
func (c *MSNClient) HandleMatrixMessageRemove(ctx context.Context, msg *bridgev2.MatrixMessageRemove) error {
	return c.sendText(ctx, msg.Portal, format.DeleteNote(snippetOf(msg.TargetMessage)), nil)
}

// snippetOf is the start of a bridged message, for a note about it.
func snippetOf(m *database.Message) string {
	if m != nil {
		if meta, ok := m.Metadata.(*MessageMetadata); ok {
			return meta.Snippet
		}
	}
	return ""
}

// HandleMatrixTyping keeps telling the conversation that the user types,
// as MSN clients expect, until they stop or send.
func (c *MSNClient) HandleMatrixTyping(ctx context.Context, msg *bridgev2.MatrixTyping) error {
	c.presence.activity(ctx)
	if msg.IsTyping {
		c.typing.start(msg.Portal)
	} else {
		c.typing.stop(msg.Portal.PortalKey)
	}
	return nil
}

// HandleMatrixReadReceipt: MSN has no read receipts, but reading is being
// active, which brings a hosted user's MSN status back from idle or away.
func (c *MSNClient) HandleMatrixReadReceipt(ctx context.Context, msg *bridgev2.MatrixReadReceipt) error {
	c.presence.activity(ctx)
	return nil
}

// HandleMatrixMembership carries invites and leaves of group chats: inviting
// a contact's ghost invites the contact into the conversation, leaving the
// room leaves the conversation.
func (c *MSNClient) HandleMatrixMembership(ctx context.Context, msg *bridgev2.MatrixMembershipChange) (*bridgev2.MatrixMembershipResult, error) {
	portal := msg.Portal
	c.log.Debug().Str("portal_id", string(portal.ID)).Str("from", string(msg.Type.From)).Str("to", string(msg.Type.To)).
		Bool("self", msg.Type.IsSelf).Type("target", msg.Target).Msg("Matrix membership change")
	// Decide on the new membership alone: homeservers do not always send
	// the previous one (Dendrite leaves unsigned.prev_content out of
	// appservice transactions), so the change may read "leave → leave".
	switch to := msg.Type.To; {
	case to == event.MembershipInvite && !msg.Type.IsSelf:
		ghost, ok := msg.Target.(*bridgev2.Ghost)
		if !ok {
			return nil, nil // Matrix users come and go as they like
		}
		if !isGroup(portal.ID) {
			if ghost.ID == userID(string(portal.ID)) {
				return nil, nil
			}
			return nil, c.refuseInvite(ctx, portal, ghost, errors.New("a direct chat stays between two people: make a new room, invite the contacts and use create-group"))
		}
		conv, err := c.conversationFor(ctx, portal)
		if err == nil {
			err = conv.Invite(ctx, string(ghost.ID))
		}
		if err != nil {
			return nil, c.refuseInvite(ctx, portal, ghost, errors.New(msnbridge.Explain(err, string(ghost.ID))))
		}
	case to == event.MembershipLeave && msg.Type.IsSelf:
		if login, ok := msg.Target.(*bridgev2.UserLogin); ok && login.ID == c.login.ID && isGroup(portal.ID) {
			c.mu.Lock()
			conv := c.convs[portal.ID]
			c.mu.Unlock()
			if conv != nil {
				c.forgetGroup(conv)
				_ = conv.Close()
			}
		}
	case (to == event.MembershipLeave || to == event.MembershipBan) && !msg.Type.IsSelf:
		if _, ok := msg.Target.(*bridgev2.Ghost); ok {
			return nil, errors.New("MSN cannot remove someone from a conversation")
		}
	}
	return nil, nil
}

// refuseInvite tells the room why a contact's ghost cannot join it — the
// homeserver shows an invite that failed in the bridge nowhere else — and
// returns the error for the bridge.
func (c *MSNClient) refuseInvite(ctx context.Context, portal *bridgev2.Portal, ghost *bridgev2.Ghost, err error) error {
	c.roomNotice(ctx, portal, fmt.Sprintf("Could not invite %s to MSN: %s.", ghost.ID, err))
	return err
}
