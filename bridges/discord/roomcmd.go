package discord

import (
	"context"
	"fmt"
	"slices"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
)

// /msn bridge and /msn unbridge: linking a channel with an MSN account
// that MSN users add to join. The account belongs to the channel (keyed by
// its ID), so bridging it again gets the same address and its members
// back, and no member can sign in as it.

// isAdmin reports whether a member may link rooms: the interaction's
// member permissions are theirs in the channel, overwrites included.
func (b *Bridge) isAdmin(user *discordgo.User, member *discordgo.Member) bool {
	if slices.Contains(b.cfg.Admins, user.ID) {
		return true
	}
	return member != nil && member.Permissions&(discordgo.PermissionManageChannels|discordgo.PermissionAdministrator) != 0
}

func (b *Bridge) bridgeRoom(i *discordgo.Interaction, user *discordgo.User, member *discordgo.Member, handle string) string {
	if !b.isAdmin(user, member) {
		return "Only members who can manage channels may bridge a channel."
	}
	if b.hosted == nil {
		return "This bridge makes no accounts, and a room needs one: give the bridge the admin API of a Nudge server."
	}
	ch, err := b.dg.Channel(i.ChannelID)
	if err != nil {
		return "⚠️ " + permissionHint(err)
	}
	if ch.Type != discordgo.ChannelTypeGuildText {
		return "Run `/msn bridge` in a text channel (not a thread)."
	}
	b.mu.Lock()
	r := b.rooms[ch.ID]
	_, personal := b.byChannel[ch.ID]
	b.mu.Unlock()
	if r != nil {
		return fmt.Sprintf("This channel is already bridged to MSN as **%s**.", format.EscapeDiscord(r.rec().Email))
	}
	if personal {
		return "This is someone's private MSN channel; bridge a public channel instead."
	}
	want := msnbridge.Want{Local: handle, Exact: handle != "", FriendlyName: "#" + ch.Name + " (Discord)"}
	if want.Local == "" {
		want.Local = ch.Name
	}
	if msnbridge.LocalPart(want.Local) == "" {
		if want.Exact {
			return fmt.Sprintf("%q cannot be an MSN handle: use letters, digits, dots and dashes.", handle)
		}
		want.Local = "room" + ch.ID
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
	defer cancel()
	acct, _, err := b.hosted.Account(ctx, roomOwner(ch.ID), want)
	if err != nil {
		return "⚠️ Cannot make the room's MSN account: " + format.EscapeDiscord(msnbridge.OneLine(err))
	}
	rec := RoomRecord{ChannelID: ch.ID, GuildID: ch.GuildID, Email: acct.Email, Password: acct.Password, CreatedBy: user.ID}
	w, err := b.dg.WebhookCreate(ch.ID, "MSN", "")
	if err != nil {
		return "⚠️ Cannot make the channel's webhook: " + permissionHint(err)
	}
	b.addWebhook(w.ID)
	rec.WebhookID, rec.WebhookToken = w.ID, w.Token
	r = b.newRoom(rec)
	cl, err := r.sess.Dial(ctx)
	if err != nil {
		b.dg.WebhookDelete(w.ID)
		return "⚠️ The room cannot sign in to MSN: " + format.EscapeDiscord(msnbridge.Explain(err, acct.Email)) + "."
	}
	cl.SetFriendlyName(ctx, want.FriendlyName)
	if err := b.store.PutRoom(ctx, rec); err != nil {
		cl.Close()
		return "⚠️ " + err.Error()
	}
	// Only what is said from now on is carried.
	b.setCheckpoint(ch.ID, i.ID)
	b.mu.Lock()
	b.rooms[ch.ID] = r
	b.mu.Unlock()
	r.start(cl)
	return fmt.Sprintf("This channel is now bridged to MSN. MSN users join by adding **%s** to their contacts; "+
		"they see messages from here as \"Name: text\", and theirs appear here under their names.", format.EscapeDiscord(acct.Email))
}

func (b *Bridge) unbridgeRoom(i *discordgo.Interaction, user *discordgo.User, member *discordgo.Member) string {
	if !b.isAdmin(user, member) {
		return "Only members who can manage channels may unbridge a channel."
	}
	b.mu.Lock()
	r := b.rooms[i.ChannelID]
	b.mu.Unlock()
	if r == nil {
		return "This channel is not bridged to MSN."
	}
	b.unbridge(r, user.ID)
	return "This channel is no longer bridged to MSN."
}

// unbridge ends a room. Its MSN account stays, so bridging the channel
// again gets its members back.
func (b *Bridge) unbridge(r *room, by string) {
	rec := r.rec()
	r.sess.Stop()
	b.mu.Lock()
	delete(b.rooms, rec.ChannelID)
	b.mu.Unlock()
	if err := b.store.DeleteRoom(b.ctx, rec.ChannelID); err != nil {
		b.log.Error().Err(err).Msg("database")
	}
	if by != "" {
		b.dg.WebhookDelete(rec.WebhookID)
	}
	b.log.Info().Str("channel", rec.ChannelID).Str("by", by).Msg("room unbridged")
}
