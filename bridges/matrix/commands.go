//go:build goolm

package matrix

import (
	"context"
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/commands"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// helpSection groups the MSN commands in the bot's help.
var helpSection = commands.HelpSection{Name: "MSN contacts and status", Order: 25}

// commands are the bridge bot's MSN commands. Each works on the user's MSN
// login (their only one, or the portal's in a portal room).
func (mc *Connector) commands() []commands.CommandHandler {
	cmd := func(name string, aliases []string, args, desc string, fn func(*commands.Event, *MSNClient, *client.Client)) *commands.FullHandler {
		return &commands.FullHandler{
			Name:          name,
			Aliases:       aliases,
			Help:          commands.HelpMeta{Section: helpSection, Description: desc, Args: args},
			RequiresLogin: true,
			Func: func(ce *commands.Event) {
				c := loginClient(ce)
				if c == nil {
					ce.Reply("You are not logged in to MSN: use `login`.")
					return
				}
				cl, err := c.client(ce.Ctx)
				if err != nil {
					ce.Reply("Not connected to MSN right now; try again in a moment.")
					return
				}
				fn(ce, c, cl)
			},
		}
	}
	contactCmd := func(name string, aliases []string, desc, done string, do func(ctx context.Context, cl *client.Client, email string) error) *commands.FullHandler {
		return cmd(name, aliases, "<_address_>", desc, func(ce *commands.Event, c *MSNClient, cl *client.Client) {
			email, ok := addressArg(ce)
			if !ok {
				return
			}
			if err := do(ce.Ctx, cl, email); err != nil {
				ce.Reply("Could not %s %s: %s", name, email, msnError(err))
				return
			}
			ce.Reply(done, email)
		})
	}
	return []commands.CommandHandler{
		cmd("contacts", []string{"list-contacts"}, "", "List your MSN contacts with their status, and who is waiting for an answer.", cmdContacts),
		contactCmd("add-contact", []string{"add"}, "Add someone to your MSN contact list.",
			"Added %s to your contact list. They see your status once they add you back.", func(ctx context.Context, cl *client.Client, e string) error { return cl.AddContact(ctx, e) }),
		contactCmd("remove-contact", []string{"remove"}, "Take someone off your MSN contact list (they are not blocked).",
			"Took %s off your contact list.", func(ctx context.Context, cl *client.Client, e string) error { return cl.RemoveContact(ctx, e) }),
		contactCmd("block", nil, "Block someone: they no longer see your status or reach you.",
			"Blocked %s.", func(ctx context.Context, cl *client.Client, e string) error { return cl.Block(ctx, e) }),
		contactCmd("unblock", nil, "Unblock someone.",
			"Unblocked %s.", func(ctx context.Context, cl *client.Client, e string) error { return cl.Allow(ctx, e) }),
		contactCmd("accept", nil, "Accept a contact request: add back someone who added you.",
			"Added %s back: you are now each other's contacts.", func(ctx context.Context, cl *client.Client, e string) error { return cl.AddContact(ctx, e) }),
		cmd("status", nil, "<online|busy|away|brb|phone|lunch|idle|hidden|auto>",
			"Set your MSN status. \"auto\" makes a hosted account follow your Matrix presence again.", cmdStatus),
		cmd("personal-message", []string{"psm"}, "[_text_]", "Set the personal message shown under your name (empty to clear; MSNP11+).", cmdPSM),
		cmd("set-name", []string{"nick"}, "<_name_>", "Set your MSN friendly name.", cmdName),
		cmd("nudge", nil, "[_address_]", "Nudge someone: the contact of this DM, or the address given.", cmdNudge),
		&commands.FullHandler{
			Name:          "reconnect",
			Help:          commands.HelpMeta{Section: helpSection, Description: "Sign in to MSN again (after the account signed in somewhere else, for example)."},
			RequiresLogin: true,
			Func:          cmdReconnect,
		},
	}
}

// loginClient is the MSN login a command works on.
func loginClient(ce *commands.Event) *MSNClient {
	var login *bridgev2.UserLogin
	if ce.Portal != nil && ce.Portal.Receiver != "" {
		if l := ce.Bridge.GetCachedUserLoginByID(ce.Portal.Receiver); l != nil && l.UserMXID == ce.User.MXID {
			login = l
		}
	}
	if login == nil {
		login = ce.User.GetDefaultLogin()
	}
	if login == nil {
		return nil
	}
	c, _ := login.Client.(*MSNClient)
	return c
}

func addressArg(ce *commands.Event) (string, bool) {
	email, ok := "", len(ce.Args) == 1
	if ok {
		email, ok = msnbridge.NormalizeHandle(ce.Args[0])
	}
	if !ok {
		ce.Reply("Usage: `%s <address>`, such as `%s bob@example.com`", ce.Command, ce.Command)
	}
	return email, ok
}

// msnError says in a few words why MSN refused a request.
func msnError(err error) string { return msnbridge.Explain(err, "") }

func cmdContacts(ce *commands.Event, c *MSNClient, cl *client.Client) {
	var list, waiting, blocked []string
	for _, ct := range cl.Contacts() {
		name := format.PlainName(ct.FriendlyName)
		if name == "" || strings.EqualFold(name, ct.Email) {
			name = ""
		} else {
			name = " (" + name + ")"
		}
		switch {
		case ct.Lists.Has(client.Forward):
			line := fmt.Sprintf("* **%s**%s — %s", ct.Email, name, ct.Status.String())
			if ct.Lists.Has(client.Block) {
				line += ", blocked"
			}
			if ct.PersonalMessage != "" {
				line += ": _" + ct.PersonalMessage + "_"
			}
			list = append(list, line)
		case ct.Lists.Has(client.Block):
			blocked = append(blocked, "* "+ct.Email+name)
		case ct.Lists.Has(client.Reverse) && !ct.Lists.Has(client.Allow):
			waiting = append(waiting, "* "+ct.Email+name+" — `accept "+ct.Email+"`")
		}
	}
	var b strings.Builder
	self := cl.Self()
	fmt.Fprintf(&b, "You are **%s** (%s), %s.\n\n", self.Email, format.PlainName(self.FriendlyName), self.Status.String())
	if len(list) == 0 {
		b.WriteString("Your contact list is empty: add someone with `add-contact <address>`.\n")
	} else {
		fmt.Fprintf(&b, "Contacts (%d):\n\n%s\n", len(list), strings.Join(list, "\n"))
	}
	if len(waiting) > 0 {
		fmt.Fprintf(&b, "\nWaiting for an answer:\n\n%s\n", strings.Join(waiting, "\n"))
	}
	if len(blocked) > 0 {
		fmt.Fprintf(&b, "\nBlocked:\n\n%s\n", strings.Join(blocked, "\n"))
	}
	ce.Reply("%s", b.String())
}

func cmdStatus(ce *commands.Event, c *MSNClient, cl *client.Client) {
	if len(ce.Args) != 1 {
		ce.Reply("Usage: `status <online|busy|away|brb|phone|lunch|idle|hidden|auto>`. You are %s.", cl.Self().Status.String())
		return
	}
	arg := strings.ToLower(ce.Args[0])
	if arg == "auto" {
		if !c.meta.Hosted {
			ce.Reply("Only hosted accounts follow your Matrix presence; choose a status instead.")
			return
		}
		if err := c.setChosenStatus(ce.Ctx, ""); err != nil {
			ce.Reply("Could not save the setting: %v", err)
			return
		}
		c.presence.signedIn(ce.Ctx, cl)
		ce.Reply("Your MSN status follows your Matrix presence again.")
		return
	}
	st, ok := client.ParseStatus(arg)
	if !ok || st == client.Offline {
		ce.Reply("Unknown status %q: choose online, busy, away, brb, phone, lunch, idle, hidden or auto.", arg)
		return
	}
	ctx, cancel := context.WithTimeout(ce.Ctx, 20*time.Second)
	defer cancel()
	if err := cl.SetStatus(ctx, st); err != nil {
		ce.Reply("Could not set your status: %s", msnError(err))
		return
	}
	if err := c.setChosenStatus(ce.Ctx, string(st)); err != nil {
		c.log.Err(err).Msg("Could not save the login")
	}
	ce.Reply("Your MSN status is now %s.", st.String())
}

func cmdPSM(ce *commands.Event, c *MSNClient, cl *client.Client) {
	text := strings.TrimSpace(ce.RawArgs)
	if err := cl.SetPersonalMessage(ce.Ctx, text); err != nil {
		ce.Reply("Could not set your personal message: %s", msnError(err))
		return
	}
	if text == "" {
		ce.Reply("Cleared your personal message.")
		return
	}
	ce.Reply("Your personal message is now: %s", text)
}

func cmdName(ce *commands.Event, c *MSNClient, cl *client.Client) {
	name := strings.TrimSpace(ce.RawArgs)
	if name == "" {
		ce.Reply("Usage: `set-name <name>`")
		return
	}
	if err := cl.SetFriendlyName(ce.Ctx, name); err != nil {
		ce.Reply("Could not set your name: %s", msnError(err))
		return
	}
	ce.Reply("Your MSN friendly name is now %s.", name)
}

func cmdNudge(ce *commands.Event, c *MSNClient, cl *client.Client) {
	var portal *bridgev2.Portal
	switch {
	case len(ce.Args) == 1:
		email, ok := addressArg(ce)
		if !ok {
			return
		}
		p, err := ce.Bridge.GetPortalByKey(ce.Ctx, dmPortalKey(c.login.ID, email))
		if err != nil {
			ce.Reply("Could not find the chat: %v", err)
			return
		}
		portal = p
	case ce.Portal != nil && ce.Portal.Receiver == c.login.ID:
		portal = ce.Portal
	default:
		ce.Reply("Usage: `nudge <address>`, or `nudge` alone in a chat")
		return
	}
	err := c.sendTo(ce.Ctx, portal, "", func(conv *client.Conversation) error { return conv.SendNudge(ce.Ctx) })
	if err != nil {
		ce.Reply("Could not nudge: %v", err)
		return
	}
	ce.React("✅")
}

func cmdReconnect(ce *commands.Event) {
	c := loginClient(ce)
	if c == nil {
		ce.Reply("You are not logged in to MSN: use `login`.")
		return
	}
	c.Disconnect()
	c.Connect(ce.Ctx)
	ce.Reply("Signing in to MSN again.")
}
