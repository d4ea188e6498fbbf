package message

import (
	"errors"
	"strconv"
	"time"
)

// NewTyping returns the typing notification a client sends while its user
// types:
//
//	MIME-Version: 1.0
//	Content-Type: text/x-msmsgscontrol
//	TypingUser: <handle>
//
// with the body "\r\n".
func NewTyping(handle string) *Message {
	return &Message{
		fields: Fields{
			{HeaderMIMEVersion, "1.0"},
			{HeaderContentType, TypeControl},
			{HeaderTypingUser, handle},
		},
		Body: []byte("\r\n"),
	}
}

// TypingUser returns the TypingUser header: the handle of the user who is
// typing.
func (m *Message) TypingUser() string { return m.Get(HeaderTypingUser) }

// Datacast IDs (the "ID" line of a text/x-msnmsgr-datacast body).
const (
	DatacastNudge     = 1
	DatacastWink      = 2
	DatacastVoiceClip = 3
	DatacastAction    = 4
)

// NewDatacast returns a text/x-msnmsgr-datacast message with the body
// "ID: <id>\r\n" followed by any extra fields and an empty line.
func NewDatacast(id int, extra ...Field) *Message {
	body := make(Fields, 0, 1+len(extra))
	body = append(body, Field{"ID", strconv.Itoa(id)})
	body = append(body, extra...)
	return &Message{
		fields: Fields{{HeaderMIMEVersion, "1.0"}, {HeaderContentType, TypeDatacast}},
		Body:   append(body.AppendTo(nil), '\r', '\n'),
	}
}

// NewNudge returns a nudge (MSN Messenger 7 and later): a datacast with the
// body "ID: 1\r\n\r\n".
func NewNudge() *Message { return NewDatacast(DatacastNudge) }

// DatacastID returns the ID of a datacast body. It reports false if the body
// has no valid ID line.
func (m *Message) DatacastID() (int, bool) {
	f, err := ParseFields(m.Body)
	if err != nil {
		return 0, false
	}
	v, ok := f.Lookup("ID")
	if !ok {
		return 0, false
	}
	id, err := strconv.Atoi(v)
	return id, err == nil
}

// NewInvite returns an MSNC0 invitation (file transfer, NetMeeting, …) of
// type text/x-msmsgsinvite; charset=UTF-8 whose body is the given fields
// followed by an empty line, for example:
//
//	Invitation-Command: INVITE
//	Application-Name: File Transfer
//	Application-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}
//	Invitation-Cookie: 12345
func NewInvite(body Fields) *Message {
	return &Message{
		fields: Fields{{HeaderMIMEVersion, "1.0"}, {HeaderContentType, TypeInvite + "; charset=UTF-8"}},
		Body:   append(body.AppendTo(nil), '\r', '\n'),
	}
}

// Invite parses the body of an invitation into its fields.
func (m *Message) Invite() (Fields, error) { return ParseFields(m.Body) }

// SystemMessage is the body of an application/x-msmsgssystemmessage the
// notification server sends. Type 1 with Args[0] = minutes announces that
// the server goes down for maintenance in that many minutes.
type SystemMessage struct {
	Type int
	Args []string // Arg1, Arg2, …
}

// SystemMaintenance is the system message type that announces maintenance.
const SystemMaintenance = 1

// NewSystemMessage returns a system message with the body
// "Type: <t>\r\nArg1: <a1>\r\n…".
func NewSystemMessage(s SystemMessage) *Message {
	body := make(Fields, 0, 1+len(s.Args))
	body = append(body, Field{"Type", strconv.Itoa(s.Type)})
	for i, a := range s.Args {
		body = append(body, Field{"Arg" + strconv.Itoa(i+1), a})
	}
	return &Message{
		fields: Fields{{HeaderMIMEVersion, "1.0"}, {HeaderContentType, TypeSystemMessage}},
		Body:   body.AppendTo(nil),
	}
}

// SystemMessage parses the body of a system message.
func (m *Message) SystemMessage() (SystemMessage, error) {
	f, err := ParseFields(m.Body)
	if err != nil {
		return SystemMessage{}, err
	}
	var s SystemMessage
	if s.Type, err = strconv.Atoi(f.Get("Type")); err != nil {
		return SystemMessage{}, errors.New("message: system message without a valid Type")
	}
	for i := 1; i <= len(f); i++ {
		v, ok := f.Lookup("Arg" + strconv.Itoa(i))
		if !ok {
			break
		}
		s.Args = append(s.Args, v)
	}
	return s, nil
}

// Profile is the initial profile the notification server sends in
// "MSG Hotmail Hotmail" right after "USR … OK", as text/x-msmsgsprofile.
// Which fields are written depends on the protocol version; see [NewProfile].
type Profile struct {
	LoginTime      time.Time // LoginTime, as Unix seconds
	EmailEnabled   bool      // EmailEnabled: 0 makes clients use a local mail program
	MemberIDHigh   int64     // MemberIdHigh
	MemberIDLow    int64     // MemberIdLow (negative values occur)
	LangPreference int       // lang_preference, e.g. 1033
	PreferredEmail string    // preferredEmail
	Country        string    // country
	PostalCode     string    // PostalCode
	Gender         string    // Gender
	Kid            int       // Kid
	Age            string    // Age
	BDayPre        string    // BDayPre
	Birthday       string    // Birthday
	Wallet         string    // Wallet
	Flags          int64     // Flags
	SID            int       // sid, e.g. 507
	KV             string    // kv
	MSPAuth        string    // MSPAuth
	ClientIP       string    // ClientIP (MSNP8 and later)
	ClientPort     int       // ClientPort (MSNP8 and later); 0 over the HTTP gateway
	ABCHMigrated   bool      // ABCHMigrated (MSNP10 and later)
	MPOPEnabled    bool      // MPOPEnabled (MSNP16 and later)
}

// NewProfile returns the initial profile message for protocol version v
// (2..18). MSNP2 profiles carry only LoginTime; from MSNP3 the Passport fields
// follow (EmailEnabled … MSPAuth); ClientIP and ClientPort are added from
// MSNP8, ABCHMigrated from MSNP10 and MPOPEnabled from MSNP16. ClientPort is
// written as a plain decimal port number.
func NewProfile(p Profile, v int) *Message {
	f := make(Fields, 0, 24)
	f = append(f,
		Field{HeaderMIMEVersion, "1.0"},
		Field{HeaderContentType, TypeProfile + "; charset=UTF-8"},
		Field{"LoginTime", unixString(p.LoginTime)})
	if v >= 3 {
		f = append(f,
			Field{"EmailEnabled", boolDigit(p.EmailEnabled)},
			Field{"MemberIdHigh", strconv.FormatInt(p.MemberIDHigh, 10)},
			Field{"MemberIdLow", strconv.FormatInt(p.MemberIDLow, 10)},
			Field{"lang_preference", strconv.Itoa(p.LangPreference)},
			Field{"preferredEmail", p.PreferredEmail},
			Field{"country", p.Country},
			Field{"PostalCode", p.PostalCode},
			Field{"Gender", p.Gender},
			Field{"Kid", strconv.Itoa(p.Kid)},
			Field{"Age", p.Age},
			Field{"BDayPre", p.BDayPre},
			Field{"Birthday", p.Birthday},
			Field{"Wallet", p.Wallet},
			Field{"Flags", strconv.FormatInt(p.Flags, 10)},
			Field{"sid", strconv.Itoa(p.SID)},
			Field{"kv", p.KV},
			Field{"MSPAuth", p.MSPAuth})
	}
	if v >= 8 {
		f = append(f,
			Field{"ClientIP", p.ClientIP},
			Field{"ClientPort", strconv.Itoa(p.ClientPort)})
	}
	if v >= 10 {
		f = append(f, Field{"ABCHMigrated", boolDigit(p.ABCHMigrated)})
	}
	if v >= 16 {
		f = append(f, Field{"MPOPEnabled", boolDigit(p.MPOPEnabled)})
	}
	return &Message{fields: f, Body: []byte{}}
}

func unixString(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.Unix(), 10)
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Profile parses the headers of an initial profile message. Missing fields
// are left zero. A malformed number is reported as an error, but the other
// fields are still filled in.
func (m *Message) Profile() (Profile, error) {
	var p Profile
	var err error
	num := func(name string, bits int) int64 {
		v := m.Get(name)
		if v == "" {
			return 0
		}
		n, e := strconv.ParseInt(v, 10, bits)
		if e != nil && err == nil {
			err = errors.New("message: profile field " + name + ": bad number " + strconv.Quote(v))
		}
		return n
	}
	if m.Get("LoginTime") != "" {
		p.LoginTime = time.Unix(num("LoginTime", 64), 0)
	}
	p.EmailEnabled = m.Get("EmailEnabled") == "1"
	p.MemberIDHigh = num("MemberIdHigh", 64)
	p.MemberIDLow = num("MemberIdLow", 64)
	p.LangPreference = int(num("lang_preference", 32))
	p.PreferredEmail = m.Get("preferredEmail")
	p.Country = m.Get("country")
	p.PostalCode = m.Get("PostalCode")
	p.Gender = m.Get("Gender")
	p.Kid = int(num("Kid", 32))
	p.Age = m.Get("Age")
	p.BDayPre = m.Get("BDayPre")
	p.Birthday = m.Get("Birthday")
	p.Wallet = m.Get("Wallet")
	p.Flags = num("Flags", 64)
	p.SID = int(num("sid", 32))
	p.KV = m.Get("kv")
	p.MSPAuth = m.Get("MSPAuth")
	p.ClientIP = m.Get("ClientIP")
	p.ClientPort = int(num("ClientPort", 32))
	p.ABCHMigrated = m.Get("ABCHMigrated") == "1"
	p.MPOPEnabled = m.Get("MPOPEnabled") == "1"
	return p, err
}
