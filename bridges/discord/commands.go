package discord

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

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
			sub("group", "Start a group conversation with several contacts (opens its thread)", &discordgo.ApplicationCommandOption{
				Type: discordgo.ApplicationCommandOptionString, Name: "contacts", Description: "Their e-mail addresses, separated by commas", Required: true}),
			sub("invite", "Invite a contact into this group thread's conversation", contactOption(true, "The contact's e-mail address")),
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
		if sub.Name == "login" && (opts["account"] == KindOwn || (opts["account"] == "" && b.hosted == nil)) {
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
	cl, err := u.session().Client(ctx)
	if err != nil {
		return "MSN is not reachable right now (" + msnbridge.Explain(err, "") + "); try again in a moment."
	}
	contact, valid := msnbridge.NormalizeHandle(opts["contact"])
	if name != "contacts" && name != "status" && name != "group" && !(name == "nudge" && contact == "") && !valid {
		return fmt.Sprintf("%q is not an MSN handle: write the contact's e-mail address.", opts["contact"])
	}
	done := func(err error, ok string) string {
		if err != nil {
			return "⚠️ " + format.EscapeDiscord(msnbridge.Explain(err, contact)) + "."
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
	case "group":
		return b.startGroup(ctx, u, cl, opts["contacts"])
	case "invite":
		return b.inviteToGroup(ctx, u, cl, i.ChannelID, contact)
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
		return "⚠️ " + msnbridge.Explain(err, "")
	}
	reply := "You are " + statusWord(st) + " on MSN."
	if pm, ok := opts["message"]; ok {
		if err := cl.SetPersonalMessage(ctx, pm); err != nil {
			reply += " Personal message not set: " + msnbridge.Explain(err, "") + "."
		} else {
			reply += " Personal message: " + format.EscapeDiscord(pm)
		}
	}
	if name, ok := opts["name"]; ok && name != "" {
		if err := cl.SetFriendlyName(ctx, name); err != nil {
			reply += " Name not changed: " + msnbridge.Explain(err, "") + "."
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
		return "⚠️ Nudge not sent: " + format.EscapeDiscord(msnbridge.Explain(err, u.who(key))) + "."
	}
	if th, err := u.ensureThread(cl, key); err == nil {
		b.notice(th, "📳 You sent a nudge.")
	}
	return "Nudged " + format.EscapeDiscord(u.who(key)) + "."
}
