package message

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrNoHeaderEnd is returned by [Parse] for a payload whose header block is
// not ended by an empty line.
var ErrNoHeaderEnd = errors.New("message: header block not terminated by an empty line")

// Common header names.
const (
	HeaderMIMEVersion = "MIME-Version"
	HeaderContentType = "Content-Type"
	HeaderFormat      = "X-MMS-IM-Format"
	HeaderTypingUser  = "TypingUser"
	HeaderP2PDest     = "P2P-Dest"
	HeaderP2PSrc      = "P2P-Src"
)

// Media types of the known kinds of message.
const (
	TypeText          = "text/plain"
	TypeControl       = "text/x-msmsgscontrol"
	TypeDatacast      = "text/x-msnmsgr-datacast"
	TypeProfile       = "text/x-msmsgsprofile"
	TypeInvite        = "text/x-msmsgsinvite"
	TypeSystemMessage = "application/x-msmsgssystemmessage"
	TypeP2P           = "application/x-msnmsgrp2p"
	TypeEmoticon      = "text/x-mms-emoticon"
	TypeAnimEmoticon  = "text/x-mms-animemoticon"
)

// A Message is a MIME message as carried by MSG: an ordered list of header
// fields and a body.
//
// A Message returned by [Parse] remembers the exact bytes of its header
// block; until a header is changed through Set, Add or Del, [Message.Bytes]
// writes those bytes back unchanged. Body may be read, replaced or modified
// freely; it is always written as is.
//
// The zero Message is empty and ready to use.
type Message struct {
	fields Fields
	head   []byte // exact header block incl. its empty line; nil once changed

	// Body is everything after the empty line that ends the header block.
	Body []byte
}

// New returns a message with the headers "MIME-Version: 1.0" and
// "Content-Type: <contentType>" and the given body.
func New(contentType string, body []byte) *Message {
	return &Message{
		fields: Fields{{HeaderMIMEVersion, "1.0"}, {HeaderContentType, contentType}},
		Body:   body,
	}
}

// Parse parses the payload of a MSG command. The header block ends at the
// first empty line; lines may end in CRLF or in LF alone. Header lines must
// have the form "Name: Value", where Name has no spaces or control
// characters; lines that start with white space continue the previous value.
//
// Parse copies payload; the Message does not refer to it afterwards. For any
// payload that Parse accepts, Bytes on the result returns payload exactly.
func Parse(payload []byte) (*Message, error) {
	end := headerEnd(payload)
	if end < 0 {
		return nil, ErrNoHeaderEnd
	}
	// One copy holds the header block and the body; header names and values
	// are substrings of one string made from the header block.
	raw := make([]byte, len(payload))
	copy(raw, payload)
	fields, _, err := parseFields(string(raw[:end]), true)
	if err != nil {
		return nil, err
	}
	return &Message{fields: fields, head: raw[:end:end], Body: raw[end:]}, nil
}

// headerEnd returns the offset just after the empty line that ends the header
// block of p, or -1.
func headerEnd(p []byte) int {
	pos := 0
	for pos < len(p) {
		i := indexByte(p[pos:], '\n')
		if i < 0 {
			return -1
		}
		line := p[pos : pos+i]
		if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
			return pos + i + 1
		}
		pos += i + 1
	}
	return -1
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// Bytes returns the wire form of the message: the header block, an empty
// line and the body.
func (m *Message) Bytes() []byte {
	n := len(m.head) + len(m.Body)
	if m.head == nil {
		n = m.headerLen() + len(m.Body)
	}
	return m.AppendTo(make([]byte, 0, n))
}

// Len returns the length in bytes of the wire form, the length a MSG command
// announces.
func (m *Message) Len() int {
	if m.head != nil {
		return len(m.head) + len(m.Body)
	}
	return m.headerLen() + len(m.Body)
}

func (m *Message) headerLen() int {
	n := 2
	for _, f := range m.fields {
		n += len(f.Name) + len(f.Value) + 4
	}
	return n
}

// AppendTo appends the wire form of the message to dst and returns the
// extended slice. A header block that was changed, or built by a
// constructor, is written with CRLF line endings.
func (m *Message) AppendTo(dst []byte) []byte {
	if m.head != nil {
		dst = append(dst, m.head...)
	} else {
		dst = m.fields.AppendTo(dst)
		dst = append(dst, '\r', '\n')
	}
	return append(dst, m.Body...)
}

// String returns the wire form as a string.
func (m *Message) String() string { return string(m.Bytes()) }

// Fields returns a copy of the header fields in order.
func (m *Message) Fields() Fields {
	return append(Fields(nil), m.fields...)
}

// Get returns the value of the first header named name (case-insensitive),
// or "".
func (m *Message) Get(name string) string { return m.fields.Get(name) }

// Lookup returns the value of the first header named name and reports
// whether it is present.
func (m *Message) Lookup(name string) (string, bool) { return m.fields.Lookup(name) }

// Values returns the values of every header named name, in order.
func (m *Message) Values(name string) []string { return m.fields.Values(name) }

// Set sets a header: the first header named name keeps its position and the
// case of its name and takes value; later headers with that name are
// removed. If there is none, the header is added at the end. Changing a
// header makes Bytes rebuild the header block.
func (m *Message) Set(name, value string) {
	m.fields.Set(name, value)
	m.head = nil
}

// Add appends a header.
func (m *Message) Add(name, value string) {
	m.fields.Add(name, value)
	m.head = nil
}

// Del removes every header named name.
func (m *Message) Del(name string) {
	if _, ok := m.fields.Lookup(name); !ok {
		return
	}
	m.fields.Del(name)
	m.head = nil
}

// ContentType returns the media type of the Content-Type header without its
// parameters, in lower case, and the value of its charset parameter as sent
// ("" if there is none). "text/plain; charset=UTF-8" gives "text/plain" and
// "UTF-8".
func (m *Message) ContentType() (mediaType, charset string) {
	return parseContentType(m.Get(HeaderContentType))
}

func parseContentType(v string) (mediaType, charset string) {
	mt, params, _ := strings.Cut(v, ";")
	mediaType = strings.ToLower(trimSpace(mt))
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, val, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(trimSpace(k), "charset") {
			continue
		}
		val = trimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		return mediaType, val
	}
	return mediaType, ""
}

// Text returns the body of a text message as a UTF-8 string. A body whose
// charset is UTF-8 (or any charset other than ISO-8859-1) is returned as is;
// a body without a charset, or in ISO-8859-1, is decoded from ISO-8859-1,
// which is what the official clients assume.
func (m *Message) Text() string {
	_, cs := m.ContentType()
	if cs == "" || strings.EqualFold(cs, "ISO-8859-1") || strings.EqualFold(cs, "latin1") {
		return latin1(m.Body)
	}
	return string(m.Body)
}

func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return string(out)
}

// Kind is the kind of a message, as far as this package knows it.
type Kind int

// The kinds of message.
const (
	KindOther    Kind = iota // any other content type; relay untouched
	KindText                 // text/plain
	KindTyping               // text/x-msmsgscontrol with a TypingUser header
	KindNudge                // text/x-msnmsgr-datacast with ID 1
	KindDatacast             // text/x-msnmsgr-datacast with another ID (wink, voice clip, action…)
	KindP2P                  // application/x-msnmsgrp2p
	KindInvite               // text/x-msmsgsinvite
	KindProfile              // text/x-msmsgsprofile
	KindSystem               // application/x-msmsgssystemmessage
	KindEmoticon             // text/x-mms-emoticon, text/x-mms-animemoticon
)

var kindNames = [...]string{"Other", "Text", "Typing", "Nudge", "Datacast", "P2P", "Invite", "Profile", "System", "Emoticon"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + itoa(int64(k)) + ")"
}

// Kind classifies the message by its content type. A control message is
// KindTyping only if it names a TypingUser (others, such as RecordingUser,
// are KindOther); a datacast is KindNudge only if its body says "ID: 1".
func (m *Message) Kind() Kind {
	mt, _ := m.ContentType()
	switch mt {
	case TypeText:
		return KindText
	case TypeControl:
		if _, ok := m.Lookup(HeaderTypingUser); ok {
			return KindTyping
		}
	case TypeDatacast:
		if id, ok := m.DatacastID(); ok && id == DatacastNudge {
			return KindNudge
		}
		return KindDatacast
	case TypeP2P:
		return KindP2P
	case TypeInvite:
		return KindInvite
	case TypeProfile:
		return KindProfile
	case TypeSystemMessage:
		return KindSystem
	case TypeEmoticon, TypeAnimEmoticon:
		return KindEmoticon
	}
	return KindOther
}
