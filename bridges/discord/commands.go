package discord

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/msnp/client"
)

// The custom ID of the sign-in modal.
const loginModal = "msn-login"

func contactOption(required bool, what string) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "contact", Description: what, Required: required}
}

func sub(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: desc, Options: opts}
}

// commands are the bridge's slash commands: /msn and its subcommands.
func commands() []*discordgo.ApplicationCommand {
	no := false
	return []*discordgo.ApplicationCommand{{
		Name: "msn", Description: "MSN Messenger", DMPermission: &no,
		Options: []*discordgo.ApplicationCommandOption{
			sub("login", "Sign in to MSN Messenger", &discordgo.ApplicationCommandOption{
				Type: discordgo.ApplicationCommandOptionString, Name: "account", Description: "Which account (default: one made for you on this server)",
				Choices: []*discordgo.ApplicationCommandOptionChoice{
					{Name: "an account made for me on this server", Value: KindHosted},
					{Name: "my own MSN account (handle and password)", Value: KindOwn},
				},
			}),
			sub("logout", "Sign out of MSN Messenger"),
			sub("contacts", "List your MSN contacts and who is online"),
			sub("chat", "Start a conversation with a contact (opens its thread)", contactOption(true, "The contact's e-mail address")),
			sub("add", "Add a contact", contactOption(true, "The contact's e-mail address")),
			sub("remove", "Remove a contact", contactOption(true, "The contact's e-mail address")),
			sub("block", "Block someone: they no longer see you online or reach you", contactOption(true, "Their e-mail address")),
			sub("unblock", "Unblock someone", contactOption(true, "Their e-mail address")),
			sub("status", "Set your status, personal message or name",
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "status", Description: "Your status", Required: true,
					Choices: []*discordgo.ApplicationCommandOptionChoice{
						{Name: "online", Value: "online"}, {Name: "busy", Value: "busy"}, {Name: "away", Value: "away"},
						{Name: "be right back", Value: "brb"}, {Name: "on the phone", Value: "phone"}, {Name: "out to lunch", Value: "lunch"},
						{Name: "appear offline", Value: "invisible"},
					}},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "message", Description: "Personal message (shown under your name)"},
				&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "Your friendly name"},
			),
			sub("nudge", "Nudge the contact of this thread (or the one you name)", contactOption(false, "The contact's e-mail address (default: this thread's)")),
			sub("bridge", "Admins: link this channel with an MSN room that MSN users can add", &discordgo.ApplicationCommandOption{
				Type: discordgo.ApplicationCommandOptionString, Name: "handle", Description: "The room's MSN handle, before the @ (default: the channel's name)"}),
			sub("unbridge", "Admins: unlink this channel from MSN"),
		},
	}}
}

func (b *Bridge) registerCommands() error {
	b.mu.Lock()
	app := b.appID
	b.mu.Unlock()
	guilds := b.cfg.Guilds
	if len(guilds) == 0 {
		guilds = []string{""}
	}
	for _, g := range guilds {
		if _, err := b.dg.ApplicationCommandBulkOverwrite(app, g, commands()); err != nil {
			where := "globally"
			if g != "" {
				where = "in guild " + g
			}
			return fmt.Errorf("discord: cannot register the slash commands %s: %s (invite the bot with the applications.commands scope)", where, permissionHint(err))
		}
	}
	return nil
}

// ---- interactions ----

func interactionUser(i *discordgo.Interaction) (*discordgo.User, *discordgo.Member) {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User, i.Member
	}
	return i.User, nil
}

func (b *Bridge) onInteraction(i *discordgo.Interaction) {
	if b.isClosing() {
		return
	}
	user, member := interactionUser(i)
	if user == nil {
		return
	}
	switch i.Type {
	case discordgo.InteractionApplicationCommand:
		data := i.ApplicationCommandData()
		if data.Name != "msn" || len(data.Options) == 0 {
			return
		}
		sub := data.Options[0]
		opts := map[string]string{}
		for _, o := range sub.Options {
			if o != nil {
				opts[o.Name] = strings.TrimSpace(fmt.Sprint(o.Value))
			}
		}
		if sub.Name == "login" && (opts["account"] == KindOwn || (opts["account"] == "" && !b.cfg.hosted())) {
			go b.openLoginModal(i)
			return
		}
		public := sub.Name == "bridge" || sub.Name == "unbridge"
		b.answer(i, !public, func() string { return b.command(i, sub.Name, opts, user, member) })
	case discordgo.InteractionModalSubmit:
		d := i.ModalSubmitData()
		if d.CustomID != loginModal {
			return
		}
		vals := map[string]string{}
		for _, row := range d.Components {
			if r, ok := row.(*discordgo.ActionsRow); ok {
				for _, c := range r.Components {
					if t, ok := c.(*discordgo.TextInput); ok {
						vals[t.CustomID] = strings.TrimSpace(t.Value)
					}
				}
			}
		}
		b.answer(i, true, func() string { return b.loginOwn(i, user, member, vals) })
	}
}

// answer acknowledges an interaction at once (Discord wants an answer
// within three seconds) and edits in the reply when work is done. Work
// for one user runs in order.
func (b *Bridge) answer(i *discordgo.Interaction, ephemeral bool, work func() string) {
	user, _ := interactionUser(i)
	acked := make(chan error, 1)
	go func() {
		var flags discordgo.MessageFlags
		if ephemeral {
			flags = discordgo.MessageFlagsEphemeral
		}
		acked <- b.dg.InteractionRespond(i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource, Data: &discordgo.InteractionResponseData{Flags: flags},
		})
	}()
	b.q.Do("user:"+user.ID, func() {
		text := work()
		if err := <-acked; err != nil {
			b.log.Warn().Err(err).Msg("cannot answer an interaction")
			return
		}
		text = truncate(text, maxContent)
		if _, err := b.dg.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &text, AllowedMentions: noMentions}); err != nil {
			b.log.Warn().Err(err).Msg("cannot answer an interaction")
		}
	})
}

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
			row(discordgo.TextInput{CustomID: "email", Label: "Handle (e-mail address)", Style: discordgo.TextInputShort, Required: true, MinLength: 3, MaxLength: 129, Placeholder: "you@example.com"}),
			row(discordgo.TextInput{CustomID: "password", Label: "Password", Style: discordgo.TextInputShort, Required: true, MinLength: 1, MaxLength: 128}),
			row(discordgo.TextInput{CustomID: "server", Label: "Server (host:port; empty for this bridge's)", Style: discordgo.TextInputShort, Required: false, MaxLength: 255, Placeholder: b.cfg.MSN.Server}),
		},
	}})
	if err != nil {
		b.log.Warn().Err(err).Msg("cannot open the sign-in modal")
	}
}

// command runs a subcommand and returns the reply.
func (b *Bridge) command(i *discordgo.Interaction, name string, opts map[string]string, user *discordgo.User, member *discordgo.Member) string {
	switch name {
	case "login":
		return b.loginHosted(i, user, member)
	case "bridge":
		return b.bridgeRoom(i, user, member, opts["handle"])
	case "unbridge":
		return b.unbridgeRoom(i, user, member)
	}
	b.mu.Lock()
	u := b.users[user.ID]
	b.mu.Unlock()
	if u == nil || !u.rec().SignedIn {
		return "You are not signed in to MSN: use `/msn login` first."
	}
	if name == "logout" {
		return b.logout(u)
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
	defer cancel()
	cl, err := u.account().client(ctx)
	if err != nil {
		return "MSN is not reachable right now (" + msnError(err, "") + "); try again in a moment."
	}
	contact := strings.ToLower(opts["contact"])
	if name != "contacts" && name != "status" && !(name == "nudge" && contact == "") && !validHandle(contact) {
		return fmt.Sprintf("%q is not an MSN handle: write the contact's e-mail address.", opts["contact"])
	}
	done := func(err error, ok string) string {
		if err != nil {
			return "⚠️ " + format.EscapeDiscord(msnError(err, contact)) + "."
		}
		return ok
	}
	switch name {
	case "contacts":
		return contactList(cl)
	case "chat":
		th, err := u.ensureThread(cl, contact)
		if err != nil {
			return "⚠️ " + err.Error()
		}
		return fmt.Sprintf("Your conversation with %s is in <#%s>.", format.EscapeDiscord(u.contactName(cl, contact)), th)
	case "add":
		return done(cl.AddContact(ctx, contact), "Added "+format.EscapeDiscord(contact)+" to your contacts.")
	case "remove":
		return done(cl.RemoveContact(ctx, contact), "Removed "+format.EscapeDiscord(contact)+" from your contacts.")
	case "block":
		return done(cl.Block(ctx, contact), "Blocked "+format.EscapeDiscord(contact)+": they no longer see you online or reach you.")
	case "unblock":
		return done(cl.Allow(ctx, contact), "Unblocked "+format.EscapeDiscord(contact)+".")
	case "status":
		return b.setStatus(ctx, cl, opts)
	case "nudge":
		return b.nudge(ctx, u, cl, i.ChannelID, contact)
	}
	return "Unknown command."
}

func validHandle(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Contains(s[at:], ".") && !strings.ContainsAny(s, " \t<>,")
}

// contactList shows the contact list with presence.
func contactList(cl *client.Client) string {
	self := cl.Self()
	var b strings.Builder
	fmt.Fprintf(&b, "**MSN contacts of %s** (you are %s)\n", format.EscapeDiscord(self.Email), statusWord(self.Status))
	var online, offline, waiting, blocked []string
	cs := cl.Contacts()
	sort.SliceStable(cs, func(i, j int) bool {
		return strings.ToLower(nameOr(cs[i].FriendlyName, cs[i].Email)) < strings.ToLower(nameOr(cs[j].FriendlyName, cs[j].Email))
	})
	for _, c := range cs {
		line := fmt.Sprintf("%s — **%s** (%s)", statusWord(c.Status), format.EscapeDiscord(nameOr(c.FriendlyName, c.Email)), format.EscapeDiscord(c.Email))
		if pm := format.PlainName(c.PersonalMessage); pm != "" {
			line += " — _" + format.EscapeDiscord(pm) + "_"
		}
		switch {
		case c.Lists.Has(client.Block):
			blocked = append(blocked, format.EscapeDiscord(c.Email))
		case c.Lists.Has(client.Forward) && c.Status != client.Offline && c.Status != "":
			online = append(online, line)
		case c.Lists.Has(client.Forward):
			offline = append(offline, line)
		case c.Lists.Has(client.Reverse):
			waiting = append(waiting, format.EscapeDiscord(c.Email))
		}
	}
	for _, l := range append(online, offline...) {
		b.WriteString(l + "\n")
	}
	if len(online)+len(offline) == 0 {
		b.WriteString("No contacts yet: add one with `/msn add`.\n")
	}
	if len(waiting) > 0 {
		b.WriteString("Added you, not on your list (`/msn add` them back): " + strings.Join(waiting, ", ") + "\n")
	}
	if len(blocked) > 0 {
		b.WriteString("Blocked: " + strings.Join(blocked, ", ") + "\n")
	}
	return strings.TrimSpace(b.String())
}

func (b *Bridge) setStatus(ctx context.Context, cl *client.Client, opts map[string]string) string {
	st, ok := client.ParseStatus(opts["status"])
	if !ok || st == client.Offline {
		return fmt.Sprintf("%q is not a status.", opts["status"])
	}
	if err := cl.SetStatus(ctx, st); err != nil {
		return "⚠️ " + msnError(err, "")
	}
	reply := "You are " + statusWord(st) + " on MSN."
	if pm, ok := opts["message"]; ok {
		if err := cl.SetPersonalMessage(ctx, pm); err != nil {
			reply += " Personal message not set: " + msnError(err, "") + "."
		} else {
			reply += " Personal message: " + format.EscapeDiscord(pm)
		}
	}
	if name, ok := opts["name"]; ok && name != "" {
		if err := cl.SetFriendlyName(ctx, name); err != nil {
			reply += " Name not changed: " + msnError(err, "") + "."
		} else {
			reply += " Name: " + format.EscapeDiscord(name)
		}
	}
	return reply
}

func (b *Bridge) nudge(ctx context.Context, u *userSession, cl *client.Client, channelID, contact string) string {
	key := contact
	if key == "" {
		b.mu.Lock()
		ref, ok := b.byThread[channelID]
		b.mu.Unlock()
		if !ok || ref.u != u {
			return "Run `/msn nudge` in a contact's thread, or name the contact."
		}
		key = ref.key
	}
	cv, err := u.conversation(ctx, key)
	if err == nil {
		err = cv.SendNudge(ctx)
	}
	if err != nil {
		return "⚠️ Nudge not sent: " + format.EscapeDiscord(msnError(err, u.who(key))) + "."
	}
	if th, err := u.ensureThread(cl, key); err == nil {
		b.notice(th, "📳 You sent a nudge.")
	}
	return "Nudged " + format.EscapeDiscord(u.who(key)) + "."
}

// ---- signing in and out ----

func randomPassword() string {
	p := make([]byte, 18)
	rand.Read(p)
	return base64.RawURLEncoding.EncodeToString(p)
}

func (b *Bridge) loginHosted(i *discordgo.Interaction, user *discordgo.User, member *discordgo.Member) string {
	if !b.cfg.hosted() {
		return "This bridge makes no accounts: use `/msn login account:own` with your MSN handle and password."
	}
	b.mu.Lock()
	u := b.users[user.ID]
	b.mu.Unlock()
	rec := UserRecord{UserID: user.ID, GuildID: i.GuildID}
	if u != nil {
		rec = u.rec()
		if rec.SignedIn {
			return fmt.Sprintf("You are already signed in as **%s**; `/msn logout` first.", format.EscapeDiscord(rec.Email))
		}
	}
	if rec.Kind != KindHosted || rec.Email == "" {
		lp := localPart(user.Username)
		if lp == "" {
			lp = "user" + user.ID
		}
		rec.Kind, rec.Email, rec.Password, rec.Server = KindHosted, lp+"@"+b.cfg.Hosted.Domain, randomPassword(), ""
	}
	rec.Name = displayName(user, member)
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
	defer cancel()
	if _, err := b.admin.EnsureAccount(ctx, adminapi.NewAccount{Email: rec.Email, Password: rec.Password, FriendlyName: rec.Name}); err != nil {
		b.log.Warn().Err(err).Msg("cannot make a hosted account")
		return "⚠️ Cannot make your MSN account: " + format.EscapeDiscord(err.Error())
	}
	return b.signIn(i, rec)
}

func (b *Bridge) loginOwn(i *discordgo.Interaction, user *discordgo.User, member *discordgo.Member, vals map[string]string) string {
	email, password, server := strings.ToLower(vals["email"]), vals["password"], vals["server"]
	if !validHandle(email) {
		return fmt.Sprintf("%q is not an MSN handle: it looks like an e-mail address.", vals["email"])
	}
	if server == b.cfg.MSN.Server {
		server = ""
	}
	if server != "" {
		if _, _, err := net.SplitHostPort(server); err != nil {
			server = net.JoinHostPort(server, "1863")
		}
	}
	b.mu.Lock()
	u := b.users[user.ID]
	b.mu.Unlock()
	rec := UserRecord{UserID: user.ID, GuildID: i.GuildID}
	if u != nil {
		rec = u.rec()
		if rec.SignedIn {
			return fmt.Sprintf("You are already signed in as **%s**; `/msn logout` first.", format.EscapeDiscord(rec.Email))
		}
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
	acct := newAccount(u.log, b.clientConfig(rec.Email, rec.Password, rec.Server, u.log), b.cfg.RequestTimeout)
	cl, err := acct.dial(b.ctx)
	if err != nil {
		b.log.Info().Err(err).Str("email", rec.Email).Msg("sign-in failed")
		return "⚠️ Cannot sign in to MSN: " + format.EscapeDiscord(msnError(err, rec.Email)) + "."
	}
	if rec.Kind == KindHosted {
		ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
		cl.SetFriendlyName(ctx, rec.Name)
		cancel()
	}
	rec.SignedIn = true
	u.mu.Lock()
	old := u.acct
	u.record = rec
	u.acct = acct
	u.convs = map[string]*client.Conversation{}
	u.keys = map[*client.Conversation]string{}
	u.mu.Unlock()
	old.stop()
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
	u.account().stop()
	email := u.rec().Email
	u.save(func(r *UserRecord) {
		r.SignedIn = false
		if r.Kind == KindOwn {
			r.Password = "" // the bridge keeps no password it does not need
		}
	})
	return fmt.Sprintf("Signed out of MSN (%s). Your channel and threads stay; `/msn login` signs you in again.", format.EscapeDiscord(email))
}

// ---- rooms ----

// isAdmin reports whether a member may link rooms.
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
	if !b.cfg.hosted() {
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
	lp := localPart(handle)
	if lp == "" {
		lp = localPart(ch.Name)
	}
	if lp == "" {
		lp = "room" + ch.ID
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
	defer cancel()
	email, err := b.freeHandle(ctx, lp, handle != "")
	if err != nil {
		return "⚠️ " + format.EscapeDiscord(err.Error())
	}
	rec := RoomRecord{ChannelID: ch.ID, GuildID: ch.GuildID, Email: email, Password: randomPassword(), CreatedBy: user.ID}
	friendly := "#" + ch.Name + " (Discord)"
	if _, err := b.admin.EnsureAccount(ctx, adminapi.NewAccount{Email: email, Password: rec.Password, FriendlyName: friendly}); err != nil {
		return "⚠️ Cannot make the room's MSN account: " + format.EscapeDiscord(err.Error())
	}
	w, err := b.dg.WebhookCreate(ch.ID, "MSN", "")
	if err != nil {
		return "⚠️ Cannot make the channel's webhook: " + permissionHint(err)
	}
	b.addWebhook(w.ID)
	rec.WebhookID, rec.WebhookToken = w.ID, w.Token
	r = b.newRoom(rec)
	cl, err := r.acct.dial(ctx)
	if err != nil {
		b.dg.WebhookDelete(w.ID)
		return "⚠️ The room cannot sign in to MSN: " + format.EscapeDiscord(msnError(err, email)) + "."
	}
	cl.SetFriendlyName(ctx, friendly)
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
		"they see messages from here as \"Name: text\", and theirs appear here under their names.", format.EscapeDiscord(email))
}

// freeHandle finds an address for a room that no account has: the handle
// asked for, or it with a number after it.
func (b *Bridge) freeHandle(ctx context.Context, lp string, exact bool) (string, error) {
	users, err := b.store.Users(ctx)
	if err != nil {
		return "", err
	}
	for n := 1; n < 100; n++ {
		email := lp + "@" + b.cfg.Hosted.Domain
		if n > 1 {
			email = fmt.Sprintf("%s-%d@%s", lp, n, b.cfg.Hosted.Domain)
		}
		taken := slices.ContainsFunc(users, func(u UserRecord) bool { return u.Email == email })
		if !taken {
			if _, ok, err := b.store.RoomByEmail(ctx, email); err != nil {
				return "", err
			} else if ok {
				taken = true
			}
		}
		if !taken {
			_, err := b.admin.Account(ctx, email)
			switch {
			case errors.Is(err, adminapi.ErrNotFound):
			case err != nil:
				return "", fmt.Errorf("cannot reach the admin API: %w", err)
			default:
				taken = true
			}
		}
		if !taken {
			return email, nil
		}
		if exact {
			return "", fmt.Errorf("%s is taken: choose another handle", email)
		}
	}
	return "", errors.New("no free handle for this room: give one with the handle option")
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
	r.acct.stop()
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
