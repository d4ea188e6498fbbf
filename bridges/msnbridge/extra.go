package msnbridge

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// Kind says what an Extra is.
type Kind int

// The kinds of Extra.
const (
	// File: someone offers a file (MSNFTP from MSN Messenger 4–5, P2P from
	// 6 on; msnp/client speaks both).
	File Kind = iota + 1
	// Invitation: an invitation to something else (NetMeeting, a game,
	// voice, webcam); Name is the application's name.
	Invitation
	// Wink: an animation (MSN Messenger 7).
	Wink
	// VoiceClip: a recorded voice message (Windows Live Messenger 8).
	VoiceClip
	// Action: an action message ("/me waves"); Name is its text.
	Action
)

// Extra is something MSN sends besides text that a bridge cannot carry
// (yet), so that it can say so where the conversation is. Carrying files
// and pictures is added here, once, for every bridge: a file offer comes
// with its Transfer, which the session declines after the bridge heard of
// it unless the bridge kept it (Keep) to accept it.
type Extra struct {
	Kind         Kind
	Conversation *client.Conversation
	From         string
	FriendlyName string
	// Name is the file's name (File), the application's (Invitation), or
	// the text (Action); it may be empty when the sender gave none.
	Name string
	// Size is the file's size in bytes, or -1 when unknown.
	Size int64
	// Transfer is a File's transfer, to accept or decline.
	Transfer *client.Transfer
	// Object is a Wink's or VoiceClip's file, for FetchClip (nil when it
	// came as a bare datacast).
	Object *p2p.Object

	kept bool
}

// Keep tells the session the bridge answers the file offer itself.
func (x *Extra) Keep() { x.kept = true }

// extraOf returns what a client event is as an Extra, or nil for an event
// that is no Extra: a file offer, a wink or voice clip (as their objects,
// or as bare datacasts), an invitation the client does not run, an action.
// Protocol plumbing and other raw messages give nil.
func extraOf(ev client.Event) *Extra {
	x := extraKind(ev)
	if x != nil && x.FriendlyName == "" && x.Conversation != nil {
		// The P2P events do not carry the sender's name; the
		// conversation knows it.
		for _, p := range x.Conversation.Participants() {
			if strings.EqualFold(p.Email, x.From) {
				x.FriendlyName = p.FriendlyName
			}
		}
	}
	return x
}

func extraKind(ev client.Event) *Extra {
	switch ev := ev.(type) {
	case *client.FileOffer:
		x := &Extra{Kind: File, Conversation: ev.Conversation, From: ev.From, Size: -1, Transfer: ev.Transfer}
		if t := ev.Transfer; t != nil {
			x.Name, x.Size = t.Name, t.Size
		}
		return x
	case *client.Wink:
		return &Extra{Kind: Wink, Conversation: ev.Conversation, From: ev.From, Size: -1, Object: ev.Object}
	case *client.VoiceClip:
		return &Extra{Kind: VoiceClip, Conversation: ev.Conversation, From: ev.From, Size: -1, Object: ev.Object}
	case *client.RawMessage:
		return ParseExtra(ev)
	}
	return nil
}

// ParseExtra returns what a raw message is, or nil when it is plumbing
// (custom emoticon definitions, client capabilities, the rest of an
// invitation) or nothing a person sent.
func ParseExtra(ev *client.RawMessage) *Extra {
	m := ev.Message
	if m == nil {
		return nil
	}
	x := &Extra{Conversation: ev.Conversation, From: ev.From, FriendlyName: ev.FriendlyName, Size: -1}
	switch m.Kind() {
	case message.KindInvite:
		f, err := m.Invite()
		if err != nil || !strings.EqualFold(f.Get("Invitation-Command"), "INVITE") {
			return nil // ACCEPT, CANCEL: the rest of an invitation
		}
		if name := f.Get("Application-File"); name != "" {
			x.Kind, x.Name = File, name
			if n, err := strconv.ParseInt(f.Get("Application-FileSize"), 10, 64); err == nil && n >= 0 {
				x.Size = n
			}
			return x
		}
		x.Kind, x.Name = Invitation, f.Get("Application-Name")
		return x
	case message.KindDatacast:
		switch id, _ := m.DatacastID(); id {
		case message.DatacastWink:
			x.Kind = Wink
		case message.DatacastVoiceClip:
			x.Kind = VoiceClip
		case message.DatacastAction:
			f, _ := message.ParseFields(m.Body)
			text := strings.TrimSpace(f.Get("Data"))
			if text == "" {
				return nil
			}
			x.Kind, x.Name = Action, text
		default:
			return nil
		}
		return x
	}
	return nil
}

// Describe says what an Extra is, as a line for the conversation:
// "Bob wants to send you a file, cat.png (12 KB), which the bridge cannot
// carry yet: ask for a link instead." name is how the sender is called.
func (x *Extra) Describe(name string) string {
	switch x.Kind {
	case File:
		what := "a file"
		if x.Name != "" {
			what += ", " + x.Name
			if x.Size >= 0 {
				what += " (" + HumanSize(x.Size) + ")"
			}
		}
		return name + " wants to send you " + what + ", which the bridge cannot carry yet: ask for a link instead."
	case Invitation:
		app := x.Name
		if app == "" {
			app = "an activity"
		}
		return fmt.Sprintf("%s invited you to %s, which the bridge cannot answer.", name, app)
	case Wink:
		return name + " sent a wink, which the bridge cannot show."
	case VoiceClip:
		return name + " sent a voice clip, which the bridge cannot play."
	case Action:
		return name + " " + x.Name
	}
	return name + " sent something the bridge cannot show."
}

// HumanSize writes a size in bytes the way a person reads it.
func HumanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
