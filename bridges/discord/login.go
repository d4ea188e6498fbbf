package discord

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// Signing in and out: /msn login with a hosted account (made for the
// Discord user, keyed by their user ID — never by their username, which
// can change hands) or with one's own account through a private modal;
// /msn logout.

// The custom ID of the sign-in modal.
const loginModal = "msn-login"

func (b *Bridge) openLoginModal(i *discordgo.Interaction) {
	if !b.cfg.OwnAccounts {
		msg := "This bridge only signs in with accounts it makes: use `/msn login` without options."
		b.dg.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: msg, Flags: discordgo.MessageFlagsEphemeral}})
		return
	}
	row := func(t discordgo.TextInput) discordgo.ActionsRow {
		return discordgo.ActionsRow{Components: []discordgo.MessageComponent{t}}
	}
	err := b.dg.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: loginModal, Title: "Sign in to MSN Messenger",
		Components: []discordgo.MessageComponent{
			row(discordgo.TextInput{CustomID: "email", Label: "Handle (e-mail address)", Style: discordgo.TextInputShort, Required: true, MinLength: 3, MaxLength: msnbridge.MaxHandle, Placeholder: "you@example.com"}),
			row(discordgo.TextInput{CustomID: "password", Label: "Password", Style: discordgo.TextInputShort, Required: true, MinLength: 1, MaxLength: 128}),
			row(discordgo.TextInput{CustomID: "server", Label: "Server (host:port; empty for this bridge's)", Style: discordgo.TextInputShort, Required: false, MaxLength: 255, Placeholder: b.cfg.MSN.Server}),
		},
	}})
	if err != nil {
		b.log.Warn().Err(err).Msg("cannot open the sign-in modal")
	}
}

// existingLogin is the user's record, or a new one; refused is the answer
// when they are signed in already.
func (b *Bridge) existingLogin(i *discordgo.Interaction, user *discordgo.User) (rec UserRecord, refused string) {
	b.mu.Lock()
	u := b.users[user.ID]
	b.mu.Unlock()
	rec = UserRecord{UserID: user.ID, GuildID: i.GuildID}
	if u != nil {
		rec = u.rec()
		if rec.SignedIn {
			return rec, fmt.Sprintf("You are already signed in as **%s**; `/msn logout` first.", format.EscapeDiscord(rec.Email))
		}
	}
	return rec, ""
}

func (b *Bridge) loginHosted(i *discordgo.Interaction, user *discordgo.User, member *discordgo.Member) string {
	if b.hosted == nil {
		return "This bridge makes no accounts: use `/msn login account:own` with your MSN handle and password."
	}
	rec, refused := b.existingLogin(i, user)
	if refused != "" {
		return refused
	}
	rec.Name = displayName(user, member)
	local := user.Username
	if msnbridge.LocalPart(local) == "" {
		local = "user" + user.ID
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
	defer cancel()
	acct, _, err := b.hosted.Account(ctx, userOwner(user.ID), msnbridge.Want{Local: local, FriendlyName: rec.Name})
	if err != nil {
		b.log.Warn().Err(err).Msg("cannot make a hosted account")
		return "⚠️ Cannot make your MSN account: " + format.EscapeDiscord(msnbridge.OneLine(err))
	}
	rec.Kind, rec.Email, rec.Password, rec.Server = KindHosted, acct.Email, acct.Password, ""
	return b.signIn(i, rec)
}

func (b *Bridge) loginOwn(i *discordgo.Interaction, user *discordgo.User, member *discordgo.Member, vals map[string]string) string {
	email, ok := msnbridge.NormalizeHandle(vals["email"])
	if !ok {
		return fmt.Sprintf("%q is not an MSN handle: it looks like an e-mail address.", vals["email"])
	}
	password, server := vals["password"], vals["server"]
	if server == b.cfg.MSN.Server {
		server = ""
	}
	if server != "" {
		if _, _, err := net.SplitHostPort(server); err != nil {
			server = net.JoinHostPort(server, "1863")
		}
	}
	rec, refused := b.existingLogin(i, user)
	if refused != "" {
		return refused
	}
	rec.Kind, rec.Email, rec.Password, rec.Server = KindOwn, email, password, server
	rec.Name = displayName(user, member)
	return b.signIn(i, rec)
}

// signIn signs a user in with rec and starts their bridge.
func (b *Bridge) signIn(i *discordgo.Interaction, rec UserRecord) string {
	if rec.ChannelID == "" {
		rec.GuildID = i.GuildID
	}
	b.mu.Lock()
	u := b.users[rec.UserID]
	if u == nil {
		u = b.newUserSession(rec)
		b.users[rec.UserID] = u
	}
	b.mu.Unlock()
	sess := u.newSession(rec)
	cl, err := sess.Dial(b.ctx)
	if err != nil {
		b.log.Info().Err(err).Str("email", rec.Email).Msg("sign-in failed")
		return "⚠️ Cannot sign in to MSN: " + format.EscapeDiscord(msnbridge.Explain(err, rec.Email)) + "."
	}
	if rec.Kind == KindHosted {
		ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
		cl.SetFriendlyName(ctx, rec.Name)
		cancel()
	}
	rec.SignedIn = true
	u.mu.Lock()
	old := u.sess
	u.record = rec
	u.sess = sess
	u.convs = map[string]*client.Conversation{}
	u.keys = map[*client.Conversation]string{}
	u.mu.Unlock()
	old.Stop()
	u.save(func(*UserRecord) {})
	u.start(cl)
	ch, err := u.ensureChannel()
	if err != nil {
		return fmt.Sprintf("Signed in to MSN as **%s**, but %s.", format.EscapeDiscord(rec.Email), err)
	}
	return fmt.Sprintf("Signed in to MSN as **%s**. Your conversations will appear as threads in <#%s>; MSN users can add you as %s.",
		format.EscapeDiscord(rec.Email), ch, format.EscapeDiscord(rec.Email))
}

func (b *Bridge) logout(u *userSession) string {
	u.session().Stop()
	email := u.rec().Email
	u.save(func(r *UserRecord) {
		r.SignedIn = false
		if r.Kind == KindOwn {
			r.Password = "" // the bridge keeps no password it does not need
		}
	})
	return fmt.Sprintf("Signed out of MSN (%s). Your channel and threads stay; `/msn login` signs you in again.", format.EscapeDiscord(email))
}

// displayName is the name Discord shows for a user: the member's server
// nickname, their display name, or their username.
func displayName(u *discordgo.User, m *discordgo.Member) string {
	if m != nil && m.Nick != "" {
		return m.Nick
	}
	if u == nil {
		return "someone"
	}
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return strings.TrimSpace(u.Username)
}
