// Package sdk is what a Go bot for Nudge imports. A bot is a program that
// Nudge's bot host runs; it is signed in to MSN as a contact people add and
// talk to. The bot implements the hooks it cares about and calls Serve:
//
//	type echo struct{}
//
//	func (echo) OnMessage(ctx context.Context, m *sdk.Message) error {
//		return m.Reply(ctx, m.Text)
//	}
//
//	func main() { sdk.Serve(echo{}) }
//
// Hooks are optional interfaces (MessageHandler, NudgeHandler, …); the host
// is told which ones the bot implements and calls only those. Starter
// gives a bot its Env when it starts: its name, its settings from
// nudge.yaml, a logger, and the Host, through which it sends messages,
// changes its presence, manages its contacts and keeps data in a key-value
// store that lives in the service's database.
//
// Hooks for one conversation are called one at a time, in order; hooks for
// different conversations may run at the same time, so a bot guards the
// state it shares between conversations. Every hook has a deadline (the
// host's bots.hook_timeout); work that takes longer belongs in a goroutine.
//
// A bot that panics is restarted by the host, with a backoff; one that
// keeps crashing is disabled. Package sdktest runs a bot against a fake
// Host, so a bot can be unit-tested without a server.
package sdk

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Status is a presence status.
type Status string

// The statuses. Hidden ("appear offline") is only ever the bot's own.
const (
	Online      Status = "online"
	Busy        Status = "busy"
	Idle        Status = "idle"
	BeRightBack Status = "brb"
	Away        Status = "away"
	OnThePhone  Status = "phone"
	OutToLunch  Status = "lunch"
	Hidden      Status = "hidden"
	Offline     Status = "offline"
)

// Contact is a person (or another bot) as the bot sees them.
type Contact struct {
	Email           string
	FriendlyName    string
	Status          Status // set in presence events and contact lists
	PersonalMessage string

	// The lists the contact is on (set by Host.Contacts).
	Forward bool // on the bot's contact list
	Allowed bool // may see the bot and talk to it
	Blocked bool // may not
	Reverse bool // has the bot on their contact list
	Pending bool // added the bot and was not answered yet
}

// Name returns the friendly name, or the e-mail address when there is none.
func (c Contact) Name() string {
	if c.FriendlyName != "" {
		return c.FriendlyName
	}
	return c.Email
}

// Format is MSN text formatting: font, effects and colour.
type Format struct {
	Font          string // e.g. "Courier New"; "" is the reader's default
	Bold          bool
	Italic        bool
	Underline     bool
	Strikethrough bool
	Color         uint32 // 0xRRGGBB
	Charset       uint8  // Windows character set, usually 0
	PitchFamily   uint8  // Windows pitch and family, e.g. 0x22 (0x31 for a fixed-width font)
	RightToLeft   bool
}

// Monospace is the format for text that must line up, such as a game
// board: MSN shows messages in a proportional font unless told otherwise.
var Monospace = &Format{Font: "Courier New", PitchFamily: 0x31}

// Env is what a bot gets when it starts.
type Env struct {
	Name        string            // the bot's name in nudge.yaml
	Self        Contact           // the bot's own MSN account
	Settings    map[string]string // bots[].settings in nudge.yaml
	Permissions []string          // the Host calls it may make (see Host)
	Host        Host
	// Log writes to the host's log under the bot's name.
	Log hclog.Logger
}

// Message is a text message in a conversation.
type Message struct {
	Conversation string // names the conversation, to answer in it
	From         Contact
	Text         string
	Format       *Format   // nil when the message had none
	Participants []Contact // everyone in the conversation but the bot
	// Sent is when an offline message was written: one left for the bot
	// while it was offline (MSNP13+), which has no Conversation (Reply
	// writes to its sender). Zero for a message said in a conversation.
	Sent time.Time

	host Host
}

// Reply answers in the message's conversation (an offline message: to its
// sender).
func (m *Message) Reply(ctx context.Context, text string) error {
	return m.ReplyFormatted(ctx, text, nil)
}

// ReplyFormatted answers with formatting (see Monospace).
func (m *Message) ReplyFormatted(ctx context.Context, text string, f *Format) error {
	if m.Conversation == "" {
		_, err := m.host.SendTo(ctx, m.From.Email, text, f)
		return err
	}
	return m.host.Send(ctx, m.Conversation, text, f)
}

// Group reports whether the conversation has people other than the sender.
func (m *Message) Group() bool { return len(m.Participants) > 1 }

// Typing says someone is typing.
type Typing struct {
	Conversation string
	From         Contact
}

// Nudge says someone nudged the bot.
type Nudge struct {
	Conversation string
	From         Contact

	host Host
}

// Reply answers the nudge in its conversation.
func (n *Nudge) Reply(ctx context.Context, text string) error {
	return n.host.Send(ctx, n.Conversation, text, nil)
}

// NudgeBack nudges the conversation in return.
func (n *Nudge) NudgeBack(ctx context.Context) error {
	return n.host.SendNudge(ctx, n.Conversation)
}

// ContactAdded says someone added the bot to their contact list. Accepted
// is true when the host already added them back (bots[].accept: everyone);
// otherwise the bot may call Host.AcceptContact or Host.BlockContact.
type ContactAdded struct {
	Contact  Contact
	Accepted bool
}

// Join says someone joined a conversation, or (Invited) asked the bot into
// a new one.
type Join struct {
	Conversation string
	Contact      Contact
	Participants []Contact // who is there now, the bot excepted
	Invited      bool
}

// Leave says someone left a conversation.
type Leave struct {
	Conversation string
	Contact      Contact
	Participants []Contact // who is still there
}

// Presence says a contact changed status, name or personal message.
type Presence struct {
	Contact Contact
}

// The hooks. A bot implements those it needs; an error it returns is
// logged by the host under the bot's name.
type (
	// Starter is called once when the bot starts, before any other hook.
	Starter interface {
		Start(ctx context.Context, env *Env) error
	}
	// Stopper is called before the bot is stopped.
	Stopper interface {
		Stop(ctx context.Context) error
	}
	MessageHandler interface {
		OnMessage(ctx context.Context, m *Message) error
	}
	TypingHandler interface {
		OnTyping(ctx context.Context, t *Typing) error
	}
	NudgeHandler interface {
		OnNudge(ctx context.Context, n *Nudge) error
	}
	ContactAddedHandler interface {
		OnContactAdded(ctx context.Context, c *ContactAdded) error
	}
	JoinHandler interface {
		OnJoin(ctx context.Context, j *Join) error
	}
	LeaveHandler interface {
		OnLeave(ctx context.Context, l *Leave) error
	}
	PresenceHandler interface {
		OnPresence(ctx context.Context, p *Presence) error
	}
)

// NewMessage makes a Message whose Reply goes to host; test kits use it.
func NewMessage(host Host, conversation string, from Contact, text string, f *Format, participants []Contact) *Message {
	return &Message{Conversation: conversation, From: from, Text: text, Format: f, Participants: participants, host: host}
}

// NewNudge makes a Nudge whose Reply goes to host; test kits use it.
func NewNudge(host Host, conversation string, from Contact) *Nudge {
	return &Nudge{Conversation: conversation, From: from, host: host}
}
