//go:build goolm

package matrix

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"

	"github.com/nudge-im/nudge/bridges/format"
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
		if err := c.sendTo(ctx, msg.Portal, func(conv *client.Conversation) error { return conv.SendNudge(ctx) }); err != nil {
			return nil, err
		}
		return c.response("(nudge)"), nil
	}
	text, f := c.matrixText(ctx, content)
	if msg.ReplyTo != nil {
		if meta, ok := msg.ReplyTo.Metadata.(*MessageMetadata); ok && meta.Snippet != "" {
			text = "> " + meta.Snippet + "\n" + text
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
		Metadata:  &MessageMetadata{Snippet: snippet(text)},
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
	return c.sendTo(ctx, portal, func(conv *client.Conversation) error { return conv.SendText(ctx, text, f) })
}

// sendTo runs send on the portal's conversation, opening it if needed, and
// turns failures into errors a person understands.
func (c *MSNClient) sendTo(ctx context.Context, portal *bridgev2.Portal, send func(*client.Conversation) error) error {
	conv, err := c.conversationFor(ctx, portal)
	if err == nil {
		err = send(conv)
	}
	if err != nil {
		return c.sendError(portal, err)
	}
	return nil
}

// sendError makes the message status of a failed send: certain, shown as
// a notice, in one line that says what happened.
func (c *MSNClient) sendError(portal *bridgev2.Portal, err error) error {
	who := string(portal.ID)
	if isGroup(portal.ID) {
		who = "the group chat"
	}
	var msg error
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
	default:
		msg = fmt.Errorf("not delivered to %s: %s", who, oneLine(err))
	}
	c.log.Warn().Err(err).Str("portal_id", string(portal.ID)).Msg("Could not send to MSN")
	return bridgev2.WrapErrorInStatus(msg).WithIsCertain(true).WithErrorAsMessage().WithSendNotice(true).WithErrorReason(reason)
}

// conversationFor returns the MSN conversation of a portal. A DM uses the
// conversation with its contact (msnp/client opens one if there is none);
// a group chat whose conversation has ended is opened again with its
// members.
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
	var members []string
	if meta, ok := portal.Metadata.(*PortalMetadata); ok {
		members = meta.Members
	}
	if len(members) == 0 {
		return nil, errors.New("nobody is left in this group chat")
	}
	conv, _, err = c.openGroup(ctx, members)
	if err != nil {
		return nil, err
	}
	c.mapGroup(conv, portal.PortalKey)
	return conv, nil
}

// HandleMatrixEdit sends the new text of an edited message: MSN has no
// edits, so the correction follows as a message of its own.
func (c *MSNClient) HandleMatrixEdit(ctx context.Context, msg *bridgev2.MatrixEdit) error {
	text, f := c.matrixText(ctx, msg.Content)
	if err := c.sendText(ctx, msg.Portal, "(edited) "+text, f); err != nil {
		return err
	}
	if meta, ok := msg.EditTarget.Metadata.(*MessageMetadata); ok {
		meta.Snippet = snippet(text)
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
	text := fmt.Sprintf("(reacted %s to %s)", msg.Content.RelatesTo.Key, quoted(msg.TargetMessage))
	return nil, c.sendText(ctx, msg.Portal, text, nil)
}

// HandleMatrixReactionRemove tells the conversation a reaction was taken
// back.
func (c *MSNClient) HandleMatrixReactionRemove(ctx context.Context, msg *bridgev2.MatrixReactionRemove) error {
	target := "a message"
	if msg.TargetReaction != nil {
		if m, err := c.mc.Bridge.DB.Message.GetFirstPartByID(ctx, msg.Portal.Receiver, msg.TargetReaction.MessageID); err == nil && m != nil {
			target = quoted(m)
		}
		return c.sendText(ctx, msg.Portal, fmt.Sprintf("(took back the %s reaction to %s)", msg.TargetReaction.Emoji, target), nil)
	}
	return nil
}

// HandleMatrixMessageRemove tells the conversation a message was deleted;
// MSN cannot take it back.
func (c *MSNClient) HandleMatrixMessageRemove(ctx context.Context, msg *bridgev2.MatrixMessageRemove) error {
	return c.sendText(ctx, msg.Portal, fmt.Sprintf("(deleted the message %s)", quoted(msg.TargetMessage)), nil)
}

func quoted(m *database.Message) string {
	if m != nil {
		if meta, ok := m.Metadata.(*MessageMetadata); ok && meta.Snippet != "" {
			return "“" + meta.Snippet + "”"
		}
	}
	return "a message"
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
			return nil, errors.New("a direct chat stays between two people: make a new room, invite the contacts and use create-group")
		}
		conv, err := c.conversationFor(ctx, portal)
		if err != nil {
			return nil, c.sendError(portal, err)
		}
		if err := conv.Invite(ctx, string(ghost.ID)); err != nil {
			return nil, c.sendError(portal, err)
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
