//go:build goolm

package matrix

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/util/jsontime"
	"go.mau.fi/util/ptr"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// GetChatInfo describes a portal: a DM with one contact, or a group chat
// with the members of its conversation.
func (c *MSNClient) GetChatInfo(ctx context.Context, portal *bridgev2.Portal) (*bridgev2.ChatInfo, error) {
	if !isGroup(portal.ID) {
		return c.dmInfo(string(portal.ID)), nil
	}
	var members []string
	c.mu.Lock()
	conv := c.convs[portal.ID]
	c.mu.Unlock()
	if conv != nil {
		members = participantEmails(conv)
	}
	if len(members) == 0 {
		if meta, ok := portal.Metadata.(*PortalMetadata); ok {
			members = meta.Members
		}
	}
	return c.groupInfo(c.current(), members, portal.Name == ""), nil
}

func (c *MSNClient) dmInfo(contact string) *bridgev2.ChatInfo {
	roomType := database.RoomTypeDM
	other := userID(contact)
	return &bridgev2.ChatInfo{
		Type: &roomType,
		Members: &bridgev2.ChatMemberList{
			IsFull:      true,
			OtherUserID: other,
			MemberMap: bridgev2.ChatMemberMap{}.
				Set(bridgev2.ChatMember{EventSender: c.sender(c.meta.Email), Membership: event.MembershipJoin}).
				Set(bridgev2.ChatMember{EventSender: c.sender(contact), Membership: event.MembershipJoin, UserInfo: c.userInfo(contact, "")}),
		},
	}
}

// GetUserInfo describes a contact's ghost: its name follows the contact's
// friendly name.
func (c *MSNClient) GetUserInfo(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.UserInfo, error) {
	return c.userInfo(string(ghost.ID), ""), nil
}

// userInfo is what Matrix shows of a contact — or of the user's own MSN
// account, named by her friendly name too. friendly is used when the
// contact list does not know a name.
func (c *MSNClient) userInfo(email, friendly string) *bridgev2.UserInfo {
	email = strings.ToLower(email)
	if cl := c.current(); cl != nil {
		if self := cl.Self(); userID(email) == c.selfID() && self.FriendlyName != "" {
			friendly = self.FriendlyName
		} else if ct, ok := cl.Contact(email); ok && ct.FriendlyName != "" {
			friendly = ct.FriendlyName
		}
	}
	name := format.PlainName(friendly)
	if name == "" {
		name = email
	}
	name = c.mc.Config.formatDisplayname(email, name)
	return &bridgev2.UserInfo{
		Name:        &name,
		Identifiers: []string{"mailto:" + email},
		IsBot:       ptr.Ptr(false),
		Avatar:      c.avatar(email),
	}
}

// roomFeatures is what MSN rooms support. Media, edits, reactions and
// deletions cross as text (a link, "(edited) …", "(reacted …)").
var roomFeatures = func() *event.RoomFeatures {
	file := &event.FileFeatures{
		MimeTypes: map[string]event.CapabilitySupportLevel{"*/*": event.CapLevelPartialSupport},
		Caption:   event.CapLevelPartialSupport,
	}
	return &event.RoomFeatures{
		ID: "fi.nudge.msn.capabilities.2026_11",
		Formatting: event.FormattingFeatureMap{
			event.FmtBold:                event.CapLevelPartialSupport,
			event.FmtItalic:              event.CapLevelPartialSupport,
			event.FmtUnderline:           event.CapLevelPartialSupport,
			event.FmtStrikethrough:       event.CapLevelPartialSupport,
			event.FmtTextForegroundColor: event.CapLevelPartialSupport,
			event.FmtInlineLink:          event.CapLevelPartialSupport,
			event.FmtInlineCode:          event.CapLevelPartialSupport,
			event.FmtCodeBlock:           event.CapLevelPartialSupport,
			event.FmtBlockquote:          event.CapLevelPartialSupport,
			event.FmtUnorderedList:       event.CapLevelPartialSupport,
			event.FmtOrderedList:         event.CapLevelPartialSupport,
		},
		File: event.FileFeatureMap{
			event.MsgImage:      file,
			event.MsgVideo:      file,
			event.MsgAudio:      file,
			event.MsgFile:       file,
			event.CapMsgSticker: file,
			event.CapMsgVoice:   file,
			event.CapMsgGIF:     file,
		},
		MaxTextLength:       8000,
		LocationMessage:     event.CapLevelPartialSupport,
		Reply:               event.CapLevelPartialSupport,
		Edit:                event.CapLevelPartialSupport,
		EditMaxAge:          &jsontime.Seconds{Duration: 24 * time.Hour},
		Delete:              event.CapLevelPartialSupport,
		Reaction:            event.CapLevelPartialSupport,
		ReactionCount:       1,
		TypingNotifications: true,
	}
}()

// GetCapabilities returns what a portal supports.
func (c *MSNClient) GetCapabilities(ctx context.Context, portal *bridgev2.Portal) *event.RoomFeatures {
	return roomFeatures
}

// ResolveIdentifier turns an MSN address into a ghost and, when asked, a
// DM portal. MSN cannot tell whether an address exists without adding it
// as a contact, so any well-formed address resolves.
func (c *MSNClient) ResolveIdentifier(ctx context.Context, identifier string, createChat bool) (*bridgev2.ResolveIdentifierResponse, error) {
	email, ok := msnbridge.NormalizeHandle(identifier)
	if !ok {
		return nil, fmt.Errorf("%q is not an MSN address (name@example.com)", identifier)
	}
	if userID(email) == c.selfID() {
		return nil, errors.New("that is your own MSN address")
	}
	ghost, err := c.mc.Bridge.GetGhostByID(ctx, userID(email))
	if err != nil {
		return nil, fmt.Errorf("getting the ghost of %s: %w", email, err)
	}
	resp := &bridgev2.ResolveIdentifierResponse{Ghost: ghost, UserID: userID(email), UserInfo: c.userInfo(email, "")}
	if createChat {
		resp.Chat = &bridgev2.CreateChatResponse{PortalKey: dmPortalKey(c.login.ID, email), PortalInfo: c.dmInfo(email)}
	}
	return resp, nil
}

// CreateChatWithGhost opens the DM portal with a contact.
func (c *MSNClient) CreateChatWithGhost(ctx context.Context, ghost *bridgev2.Ghost) (*bridgev2.CreateChatResponse, error) {
	return &bridgev2.CreateChatResponse{PortalKey: dmPortalKey(c.login.ID, string(ghost.ID)), PortalInfo: c.dmInfo(string(ghost.ID))}, nil
}

// GetContactList returns the contacts on the MSN contact list.
func (c *MSNClient) GetContactList(ctx context.Context) ([]*bridgev2.ResolveIdentifierResponse, error) {
	cl, err := c.client(ctx)
	if err != nil {
		return nil, err
	}
	var out []*bridgev2.ResolveIdentifierResponse
	for _, ct := range cl.Contacts() {
		if !ct.Lists.Has(client.Forward) {
			continue
		}
		resp, err := c.ResolveIdentifier(ctx, ct.Email, false)
		if err != nil {
			continue
		}
		out = append(out, resp)
	}
	return out, nil
}

// CreateGroup starts an MSN conversation with several contacts: one
// switchboard, everyone invited at once. Its portal is that of these
// people, the room they already have if they met before.
func (c *MSNClient) CreateGroup(ctx context.Context, params *bridgev2.GroupCreateParams) (*bridgev2.CreateChatResponse, error) {
	if len(params.Participants) == 0 {
		return nil, errors.New("a group chat needs at least one MSN contact")
	}
	var emails []string
	for _, p := range params.Participants {
		if p != c.selfID() {
			emails = append(emails, string(p))
		}
	}
	conv, err := c.openGroup(ctx, emails)
	if err != nil {
		return nil, err
	}
	key := groupPortalKey(c.login.ID, emails)
	c.mapGroup(conv, key)
	info := c.groupInfo(c.current(), msnbridge.KeyMembers(msnbridge.ConversationKey(emails)), params.Name == nil)
	resp := &bridgev2.CreateChatResponse{PortalKey: key, PortalInfo: info}
	// Those not there yet may still join; those the contact list shows
	// offline will not.
	cl := c.current()
	for _, email := range msnbridge.Offline(cl, msnbridge.Missing(conv, emails, c.meta.Email)) {
		if resp.FailedParticipants == nil {
			resp.FailedParticipants = map[networkid.UserID]*bridgev2.CreateChatFailedParticipant{}
		}
		resp.FailedParticipants[userID(email)] = &bridgev2.CreateChatFailedParticipant{Reason: "offline"}
	}
	return resp, nil
}

// openGroup opens a conversation with several contacts: everyone is
// invited at once, and it is there as soon as the first has joined — a
// contact slow to answer, or offline, holds nobody up.
func (c *MSNClient) openGroup(ctx context.Context, emails []string) (*client.Conversation, error) {
	cl, err := c.client(ctx)
	if err != nil {
		return nil, err
	}
	return msnbridge.OpenGroup(ctx, cl, emails)
}
