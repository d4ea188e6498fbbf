package msnbridge

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// Kind says what an Extra is.
type Kind int

// The kinds of Extra.
const (
	// File: someone offers a file (an MSNFTP invitation from MSN Messenger
	// 4–5, or an MSNSLP one, over P2P, from MSN Messenger 6 on).
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
// (yet), so that it can say so where the conversation is. A bridge that
// learns to carry files takes them here, in one place for every bridge.
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
}

// fileTransferGUID is the EUF-GUID of an MSNSLP file transfer (MSN 6+).
const fileTransferGUID = "{5D3E02AB-6190-11D3-BBBB-00C04F795683}"

// ParseExtra returns what a raw message is, or nil when it is plumbing (P2P
// data and acknowledgements, custom emoticon definitions, display picture
// requests, client capabilities) or nothing a person sent.
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
	case message.KindP2P:
		name, size, ok := p2pFileOffer(m.Body)
		if !ok {
			return nil
		}
		x.Kind, x.Name, x.Size = File, name, size
		return x
	}
	return nil
}

// p2pFileOffer recognises the MSNSLP INVITE of a file transfer in the body
// of a P2P message (its first chunk) and reads the file's name and size
// from its Context when they are there.
func p2pFileOffer(body []byte) (name string, size int64, ok bool) {
	p, err := message.ParseP2P(body)
	if err != nil {
		return "", 0, false
	}
	slp := string(p.Data)
	if !strings.HasPrefix(slp, "INVITE MSNMSGR:") || !strings.Contains(strings.ToUpper(slp), fileTransferGUID) {
		return "", 0, false
	}
	size = -1
	for _, line := range strings.Split(slp, "\r\n") {
		v, found := strings.CutPrefix(line, "Context: ")
		if !found {
			continue
		}
		name, size = fileContext(strings.TrimRight(v, "\x00"))
		break
	}
	return name, size, true
}

// fileContext reads a file transfer's Context (base64, little-endian): the
// size at offset 8 and the name, UTF-16LE, in the 520 bytes from offset 20.
// A context cut short (the rest in a later chunk) gives what it holds.
func fileContext(b64 string) (name string, size int64) {
	size = -1
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// A context split over chunks ends mid-quantum: read what decodes.
		raw, _ = base64.StdEncoding.DecodeString(b64[:len(b64)/4*4])
	}
	if len(raw) >= 16 {
		if n := binary.LittleEndian.Uint64(raw[8:16]); n < 1<<53 {
			size = int64(n)
		}
	}
	if len(raw) > 20 {
		field := raw[20:min(len(raw), 540)]
		u := make([]uint16, 0, len(field)/2)
		for i := 0; i+1 < len(field); i += 2 {
			c := binary.LittleEndian.Uint16(field[i:])
			if c == 0 {
				break
			}
			u = append(u, c)
		}
		name = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f || r == 0xfffd {
				return -1
			}
			return r
		}, string(utf16.Decode(u))))
	}
	return name, size
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
