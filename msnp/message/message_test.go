package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	typingPayload = "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: example@passport.com\r\n\r\n\r\n"
	textPayload   = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=I; CO=0; CS=0; PF=22\r\n\r\nHello! How are you?"
	nudgePayload  = "MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n"
	invitePayload = "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n" +
		"Application-Name: File Transfer\r\nApplication-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\n" +
		"Invitation-Command: INVITE\r\nInvitation-Cookie: 12345\r\nApplication-File: notes.txt\r\nApplication-FileSize: 1024\r\n\r\n"
	systemPayload = "MIME-Version: 1.0\r\nContent-Type: application/x-msmsgssystemmessage\r\n\r\nType: 1\r\nArg1: 10\r\n"
)

func p2pPayload(data []byte, appID uint32) []byte {
	b := []byte("MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: bob@example.com\r\n\r\n")
	h := make([]byte, P2PHeaderLen)
	le := binary.LittleEndian
	le.PutUint32(h[0:], 0)
	le.PutUint32(h[4:], 0x0B4F5A1C)
	le.PutUint64(h[8:], 0)
	le.PutUint64(h[16:], uint64(len(data)))
	le.PutUint32(h[24:], uint32(len(data)))
	le.PutUint32(h[28:], 0)
	le.PutUint32(h[32:], 0x00EA2C1D)
	le.PutUint32(h[36:], 0)
	le.PutUint64(h[40:], 0)
	b = append(b, h...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, appID)
}

func TestParseRealPayloads(t *testing.T) {
	tests := []struct {
		name      string
		payload   string
		kind      Kind
		mediaType string
		charset   string
		nfields   int
		body      string
	}{
		{"typing", typingPayload, KindTyping, TypeControl, "", 3, "\r\n"},
		{"text", textPayload, KindText, TypeText, "UTF-8", 3, "Hello! How are you?"},
		{"nudge", nudgePayload, KindNudge, TypeDatacast, "", 2, "ID: 1\r\n\r\n"},
		{"wink", strings.Replace(nudgePayload, "ID: 1", "ID: 2", 1), KindDatacast, TypeDatacast, "", 2, "ID: 2\r\n\r\n"},
		{"invite", invitePayload, KindInvite, TypeInvite, "UTF-8", 2, invitePayload[strings.Index(invitePayload, "\r\n\r\n")+4:]},
		{"system", systemPayload, KindSystem, TypeSystemMessage, "", 2, "Type: 1\r\nArg1: 10\r\n"},
		{"p2p", string(p2pPayload([]byte("INVITE MSNMSGR:bob@example.com MSNSLP/1.0\r\n"), AppIDNegotiation)), KindP2P, TypeP2P, "", 3, ""},
		{"no charset", "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi", KindText, TypeText, "", 2, "hi"},
		{"quoted charset, odd spacing", "Content-Type:TEXT/Plain ;CharSet=\"utf-8\"\r\n\r\nx", KindText, TypeText, "utf-8", 1, "x"},
		{"unknown type", "MIME-Version: 1.0\r\nContent-Type: text/x-keepalive\r\n\r\n", KindOther, "text/x-keepalive", "", 2, ""},
		{"recording", "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nRecordingUser: a@b.c\r\n\r\n\r\n", KindOther, TypeControl, "", 3, "\r\n"},
		{"emoticon", "MIME-Version: 1.0\r\nContent-Type: text/x-mms-emoticon\r\n\r\n:)\t<msnobj/>\t", KindEmoticon, TypeEmoticon, "", 2, ":)\t<msnobj/>\t"},
		{"lone LF", "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\nhi\n\nthere", KindText, TypeText, "UTF-8", 2, "hi\n\nthere"},
		{"no headers", "\r\nbody", KindOther, "", "", 0, "body"},
		{"folded", "Content-Type: text/plain;\r\n charset=UTF-8\r\n\r\n", KindText, TypeText, "UTF-8", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Bytes(); string(got) != tt.payload {
				t.Errorf("Bytes() = %q, want %q", got, tt.payload)
			}
			if m.Len() != len(tt.payload) {
				t.Errorf("Len() = %d, want %d", m.Len(), len(tt.payload))
			}
			if k := m.Kind(); k != tt.kind {
				t.Errorf("Kind() = %v, want %v", k, tt.kind)
			}
			mt, cs := m.ContentType()
			if mt != tt.mediaType || cs != tt.charset {
				t.Errorf("ContentType() = %q, %q; want %q, %q", mt, cs, tt.mediaType, tt.charset)
			}
			if n := len(m.Fields()); n != tt.nfields {
				t.Errorf("%d fields, want %d: %q", n, tt.nfields, m.Fields())
			}
			if tt.body != "" && string(m.Body) != tt.body {
				t.Errorf("Body = %q, want %q", m.Body, tt.body)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in  string
		err error
	}{
		{"", ErrNoHeaderEnd},
		{"MIME-Version: 1.0", ErrNoHeaderEnd},
		{"MIME-Version: 1.0\r\n", ErrNoHeaderEnd},
		{"MIME-Version: 1.0\r\nContent-Type: text/plain\r\nhello", ErrNoHeaderEnd},
		{"no colon here\r\n\r\n", ErrMalformedHeader},
		{": empty name\r\n\r\n", ErrMalformedHeader},
		{" leading: space\r\n\r\n", ErrMalformedHeader},
	}
	for _, tt := range tests {
		if _, err := Parse([]byte(tt.in)); !errors.Is(err, tt.err) {
			t.Errorf("Parse(%q) error = %v, want %v", tt.in, err, tt.err)
		}
	}
}

func TestParseCopiesPayload(t *testing.T) {
	buf := []byte(textPayload)
	m, err := Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'x'
	}
	if string(m.Bytes()) != textPayload || m.Get("content-type") != "text/plain; charset=UTF-8" {
		t.Fatalf("message changed with the input buffer: %q", m.Bytes())
	}
}

func TestHeaders(t *testing.T) {
	m, err := Parse([]byte("MIME-Version: 1.0\r\ncontent-type: text/plain\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Get("Content-Type") != "text/plain" || m.Get("CONTENT-TYPE") != "text/plain" {
		t.Errorf("case-insensitive Get failed")
	}
	if got := m.Values("X-A"); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("Values = %q", got)
	}
	if _, ok := m.Lookup("Missing"); ok {
		t.Error("Lookup found a missing header")
	}
	m.Del("Missing") // no change: keeps raw bytes
	if m.String() != "MIME-Version: 1.0\r\ncontent-type: text/plain\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody" {
		t.Errorf("Del of a missing header changed the message")
	}
	m.Set("Content-Type", "text/plain; charset=UTF-8")
	m.Set("x-A", "3")
	m.Add("TypingUser", "a@b.c")
	want := "MIME-Version: 1.0\r\ncontent-type: text/plain; charset=UTF-8\r\nX-A: 3\r\nTypingUser: a@b.c\r\n\r\nbody"
	if got := m.String(); got != want {
		t.Errorf("after Set/Add:\n%q\nwant\n%q", got, want)
	}
	if m.Len() != len(want) {
		t.Errorf("Len = %d, want %d", m.Len(), len(want))
	}
	m.Del("x-a")
	m.Set("Evil", "a\r\nInjected: 1\r\n\r\n")
	got := m.String()
	if strings.Count(got, "\r\n\r\n") != 1 || strings.Contains(got, "\r\nInjected") {
		t.Errorf("header injection: %q", got)
	}
	// Re-serialised headers use CRLF even when the input used LF.
	m, _ = Parse([]byte("A: 1\nB: 2\n\nbody"))
	m.Set("B", "3")
	if got := m.String(); got != "A: 1\r\nB: 3\r\n\r\nbody" {
		t.Errorf("LF input rebuilt as %q", got)
	}
}

func TestZeroMessage(t *testing.T) {
	var m Message
	if got := m.String(); got != "\r\n" {
		t.Errorf("zero message = %q", got)
	}
	if m.Kind() != KindOther {
		t.Error("zero message kind")
	}
	m.Set("Content-Type", "text/plain")
	m.Body = []byte("x")
	if got := m.String(); got != "Content-Type: text/plain\r\n\r\nx" {
		t.Errorf("got %q", got)
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		str  string
		err  bool
	}{
		{"FN=Arial; EF=I; CO=0; CS=0; PF=22", Format{Font: "Arial", Italic: true, PitchFamily: 0x22}, "FN=Arial; EF=I; CO=0; CS=0; PF=22", false},
		{"FN=MS%20Sans%20Serif; EF=; CO=0; CS=0; PF=0", Format{Font: "MS Sans Serif"}, "FN=MS%20Sans%20Serif; EF=; CO=0; CS=0; PF=0", false},
		// Red: BGR 0x0000ff, leading zeros dropped.
		{"FN=Times%20New%20Roman; EF=BU; CO=ff; CS=0; PF=12", Format{Font: "Times New Roman", Bold: true, Underline: true, Color: Color{R: 255}, PitchFamily: 0x12}, "FN=Times%20New%20Roman; EF=BU; CO=ff; CS=0; PF=12", false},
		// Blue and a mixed colour.
		{"FN=Arial; EF=; CO=ff0000; CS=0; PF=22", Format{Font: "Arial", Color: Color{B: 255}, PitchFamily: 0x22}, "FN=Arial; EF=; CO=ff0000; CS=0; PF=22", false},
		{"FN=Arial; EF=SUIB; CO=8000; CS=86; PF=22; RL=1", Format{Font: "Arial", Bold: true, Italic: true, Underline: true, Strikethrough: true, Color: Color{G: 0x80}, Charset: 0x86, PitchFamily: 0x22, RightToLeft: true}, "FN=Arial; EF=BIUS; CO=8000; CS=86; PF=22; RL=1", false},
		{"CO=123456", Format{Color: Color{R: 0x56, G: 0x34, B: 0x12}}, "FN=; EF=; CO=123456; CS=0; PF=0", false},
		{"fn=Comic%20Sans%20MS;ef=b;co=FF;x=y;junk", Format{Font: "Comic Sans MS", Bold: true, Color: Color{R: 255}}, "FN=Comic%20Sans%20MS; EF=B; CO=ff; CS=0; PF=0", false},
		{"FN=100%; CO=zz; CS=0", Format{Font: "100%"}, "FN=100%25; EF=; CO=0; CS=0; PF=0", true},
		{"CO=1000000", Format{}, "", true},
		{"PF=100", Format{}, "", true},
		{"", Format{}, "FN=; EF=; CO=0; CS=0; PF=0", false},
	}
	for _, tt := range tests {
		got, err := ParseFormat(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseFormat(%q) = %+v, %v; want %+v, err=%v", tt.in, got, err, tt.want, tt.err)
		}
		if tt.str != "" && got.String() != tt.str {
			t.Errorf("ParseFormat(%q).String() = %q, want %q", tt.in, got.String(), tt.str)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	f := Format{Font: "ＭＳ Ｐゴシック; x=y", Bold: true, Strikethrough: true, Color: Color{1, 2, 3}, Charset: 0x80, PitchFamily: 0x31, RightToLeft: true}
	got, err := ParseFormat(f.String())
	if err != nil || got != f {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, f)
	}
}

func TestNewText(t *testing.T) {
	f := &Format{Font: "Arial", Italic: true, PitchFamily: 0x22}
	m := NewText("Hello! How are you?", f)
	if got := m.String(); got != textPayload {
		t.Errorf("NewText =\n%q\nwant\n%q", got, textPayload)
	}
	if got, ok := m.Format(); !ok || got != *f {
		t.Errorf("Format() = %+v, %v", got, ok)
	}
	m = NewText("x", nil)
	if _, ok := m.Lookup(HeaderFormat); ok {
		t.Error("nil format wrote a header")
	}
	if m.Text() != "x" || m.Kind() != KindText {
		t.Error("Text/Kind")
	}
}

func TestText(t *testing.T) {
	m, _ := Parse([]byte("Content-Type: text/plain\r\n\r\ncaf\xe9"))
	if got := m.Text(); got != "café" {
		t.Errorf("latin-1 Text() = %q", got)
	}
	m, _ = Parse([]byte("Content-Type: text/plain; charset=UTF-8\r\n\r\ncafé"))
	if got := m.Text(); got != "café" {
		t.Errorf("UTF-8 Text() = %q", got)
	}
}

func TestTyping(t *testing.T) {
	m := NewTyping("example@passport.com")
	if got := m.String(); got != typingPayload {
		t.Errorf("NewTyping = %q", got)
	}
	if m.TypingUser() != "example@passport.com" || m.Kind() != KindTyping {
		t.Error("TypingUser/Kind")
	}
}

func TestDatacast(t *testing.T) {
	m := NewNudge()
	if got := m.String(); got != nudgePayload {
		t.Errorf("NewNudge = %q", got)
	}
	if id, ok := m.DatacastID(); !ok || id != DatacastNudge || m.Kind() != KindNudge {
		t.Errorf("DatacastID = %d, %v", id, ok)
	}
	m = NewDatacast(DatacastAction, Field{"Data", "waves"})
	if string(m.Body) != "ID: 4\r\nData: waves\r\n\r\n" || m.Kind() != KindDatacast {
		t.Errorf("NewDatacast body %q", m.Body)
	}
	m, _ = Parse([]byte("Content-Type: text/x-msnmsgr-datacast\r\n\r\nID: x\r\n"))
	if _, ok := m.DatacastID(); ok || m.Kind() != KindDatacast {
		t.Error("bad ID accepted")
	}
}

func TestInvite(t *testing.T) {
	m, err := Parse([]byte(invitePayload))
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Invite()
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 6 || f.Get("invitation-command") != "INVITE" || f.Get("Invitation-Cookie") != "12345" {
		t.Errorf("Invite() = %q", f)
	}
	if got := NewInvite(f).String(); got != invitePayload {
		t.Errorf("NewInvite =\n%q\nwant\n%q", got, invitePayload)
	}
}

func TestFieldsEdit(t *testing.T) {
	f := Fields{{"A", "1"}, {"B", "2"}, {"a", "3"}, {"C", "4"}}
	f.Set("a", "x")
	if want := (Fields{{"A", "x"}, {"B", "2"}, {"C", "4"}}); !reflect.DeepEqual(f, want) {
		t.Errorf("Set = %q", f)
	}
	f.Set("D", "5")
	f.Add("b", "6")
	f.Del("B")
	if want := (Fields{{"A", "x"}, {"C", "4"}, {"D", "5"}}); !reflect.DeepEqual(f, want) {
		t.Errorf("after Add/Del = %q", f)
	}
	if got := f.String(); got != "A: x\r\nC: 4\r\nD: 5\r\n" {
		t.Errorf("String = %q", got)
	}
	g, err := ParseFields([]byte("A: x\nC:4\r\nD:   5  \r\n\r\nignored: yes"))
	if err != nil || !reflect.DeepEqual(g, f) {
		t.Errorf("ParseFields = %q, %v", g, err)
	}
}

func TestSystemMessage(t *testing.T) {
	m := NewSystemMessage(SystemMessage{Type: SystemMaintenance, Args: []string{"10"}})
	if got := m.String(); got != systemPayload {
		t.Errorf("NewSystemMessage = %q", got)
	}
	s, err := m.SystemMessage()
	if err != nil || s.Type != 1 || !reflect.DeepEqual(s.Args, []string{"10"}) {
		t.Errorf("SystemMessage() = %+v, %v", s, err)
	}
	m, _ = Parse([]byte("Content-Type: application/x-msmsgssystemmessage\r\n\r\nArg1: 5\r\n"))
	if _, err := m.SystemMessage(); err == nil {
		t.Error("system message without Type accepted")
	}
}

func TestProfile(t *testing.T) {
	p := Profile{
		LoginTime: time.Unix(1062764231, 0), EmailEnabled: true, MemberIDHigh: 84736, MemberIDLow: -1602975862,
		LangPreference: 1033, Kid: 0, Flags: 1027, SID: 507, KV: "2", MSPAuth: "2AAAAAAAADU0p4uxxxJtDJozJSlUTS0i7YpwnC9PUHRv56YKxxxCTWmg$$",
		ClientIP: "203.0.113.7", ClientPort: 12345, ABCHMigrated: true, MPOPEnabled: true,
	}
	const msnp8 = "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n" +
		"LoginTime: 1062764231\r\nEmailEnabled: 1\r\nMemberIdHigh: 84736\r\nMemberIdLow: -1602975862\r\n" +
		"lang_preference: 1033\r\npreferredEmail: \r\ncountry: \r\nPostalCode: \r\nGender: \r\nKid: 0\r\nAge: \r\n" +
		"BDayPre: \r\nBirthday: \r\nWallet: \r\nFlags: 1027\r\nsid: 507\r\nkv: 2\r\n" +
		"MSPAuth: 2AAAAAAAADU0p4uxxxJtDJozJSlUTS0i7YpwnC9PUHRv56YKxxxCTWmg$$\r\nClientIP: 203.0.113.7\r\nClientPort: 12345\r\n\r\n"
	if got := NewProfile(p, 8).String(); got != msnp8 {
		t.Errorf("NewProfile(8) =\n%q\nwant\n%q", got, msnp8)
	}
	const msnp2 = "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nLoginTime: 1062764231\r\n\r\n"
	if got := NewProfile(p, 2).String(); got != msnp2 {
		t.Errorf("NewProfile(2) = %q", got)
	}
	for v, want := range map[int][]string{
		2: {"LoginTime"}, 3: {"MSPAuth"}, 7: {"sid"}, 8: {"ClientPort"}, 10: {"ABCHMigrated"}, 16: {"MPOPEnabled"},
	} {
		m := NewProfile(p, v)
		for _, name := range want {
			if _, ok := m.Lookup(name); !ok {
				t.Errorf("MSNP%d profile lacks %s", v, name)
			}
		}
	}
	if _, ok := NewProfile(p, 7).Lookup("ClientIP"); ok {
		t.Error("MSNP7 profile has ClientIP")
	}
	if _, ok := NewProfile(p, 15).Lookup("MPOPEnabled"); ok {
		t.Error("MSNP15 profile has MPOPEnabled")
	}

	m, err := Parse(NewProfile(p, 18).Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != KindProfile {
		t.Errorf("Kind = %v", m.Kind())
	}
	back, err := m.Profile()
	if err != nil || back != p {
		t.Errorf("Profile() =\n%+v, %v\nwant\n%+v", back, err, p)
	}
	m.Set("Kid", "x")
	if _, err := m.Profile(); err == nil {
		t.Error("bad number accepted")
	}
	if NewProfile(Profile{}, 2).Get("LoginTime") != "0" {
		t.Error("zero LoginTime")
	}
}

func TestP2P(t *testing.T) {
	data := []byte("INVITE MSNMSGR:bob@example.com MSNSLP/1.0\r\n")
	payload := p2pPayload(data, AppIDDisplayPicture)
	m, err := Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Bytes(), payload) {
		t.Fatal("P2P payload not reproduced")
	}
	p, err := m.P2P()
	if err != nil {
		t.Fatal(err)
	}
	want := P2PHeader{Identifier: 0x0B4F5A1C, TotalSize: uint64(len(data)), Length: uint32(len(data)), AckID: 0x00EA2C1D}
	if p.Header != want || !bytes.Equal(p.Data, data) || p.AppID != AppIDDisplayPicture {
		t.Errorf("P2P() = %+v", p)
	}
	if m.P2PDest() != "bob@example.com" {
		t.Errorf("P2PDest = %q", m.P2PDest())
	}
	if _, err := NewText("x", nil).P2P(); !errors.Is(err, ErrNotP2P) {
		t.Errorf("P2P on text: %v", err)
	}
	m.Body = m.Body[:P2PHeaderLen+3]
	if _, err := m.P2P(); !errors.Is(err, ErrShortP2P) {
		t.Errorf("short P2P: %v", err)
	}
}

func TestParseP2PHeader(t *testing.T) {
	b := make([]byte, P2PHeaderLen)
	for i := range b {
		b[i] = byte(i + 1)
	}
	h, err := ParseP2PHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := P2PHeader{
		SessionID: 0x04030201, Identifier: 0x08070605,
		DataOffset: 0x100f0e0d0c0b0a09, TotalSize: 0x1817161514131211,
		Length: 0x1c1b1a19, Flags: 0x201f1e1d, AckID: 0x24232221, AckUID: 0x28272625,
		AckDataSize: 0x302f2e2d2c2b2a29,
	}
	if h != want {
		t.Errorf("ParseP2PHeader = %+v\nwant %+v", h, want)
	}
	if _, err := ParseP2PHeader(b[:47]); !errors.Is(err, ErrShortP2P) {
		t.Errorf("47 bytes: %v", err)
	}
}

func TestKindString(t *testing.T) {
	if KindNudge.String() != "Nudge" || Kind(99).String() != "Kind(99)" {
		t.Error("Kind.String")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{typingPayload, textPayload, nudgePayload, invitePayload, systemPayload,
		"A: 1\nB: 2\n\nbody", "Content-Type: text/plain;\r\n charset=UTF-8\r\n\r\n", "\r\n"} {
		f.Add([]byte(s))
	}
	f.Add(p2pPayload([]byte("data"), 1))
	f.Add(NewProfile(Profile{LoginTime: time.Unix(1, 0)}, 18).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if got := m.Bytes(); !bytes.Equal(got, b) {
			t.Fatalf("Bytes() = %q, want %q", got, b)
		}
		if m.Len() != len(b) {
			t.Fatalf("Len() = %d, want %d", m.Len(), len(b))
		}
		// Exercise every accessor; none may panic.
		m.ContentType()
		m.Kind()
		m.Text()
		m.Format()
		m.DatacastID()
		m.Invite()
		m.SystemMessage()
		m.Profile()
		m.P2P()

		// A rebuilt header block parses back to the same fields and body.
		fields := m.Fields()
		m.Set("X-Fuzz", "1")
		m.Del("X-Fuzz")
		m2, err := Parse(m.Bytes())
		if err != nil {
			t.Fatalf("rebuilt message %q does not parse: %v", m.Bytes(), err)
		}
		if !bytes.Equal(m2.Body, m.Body) || len(m2.Fields()) != len(fields) {
			t.Fatalf("rebuild changed the message: %q -> %q", b, m.Bytes())
		}
	})
}

func FuzzParseP2PHeader(f *testing.F) {
	f.Add(make([]byte, P2PHeaderLen))
	f.Add(p2pPayload([]byte("x"), 2)[90:])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseP2PHeader(b)
		if (err != nil) != (len(b) < P2PHeaderLen) {
			t.Fatalf("len %d: err %v", len(b), err)
		}
		if err == nil && h.Length != binary.LittleEndian.Uint32(b[24:]) {
			t.Fatal("Length mismatch")
		}
		p, err := ParseP2P(b)
		if err == nil && len(p.Data) != len(b)-P2PHeaderLen-4 {
			t.Fatal("Data length mismatch")
		}
	})
}

func FuzzParseFormat(f *testing.F) {
	f.Add("FN=Arial; EF=I; CO=0; CS=0; PF=22")
	f.Add("FN=MS%20Sans%20Serif; EF=BIUS; CO=ff0000; CS=86; PF=12; RL=1")
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := ParseFormat(s)
		if err != nil {
			return
		}
		back, err := ParseFormat(fm.String())
		if err != nil || back != fm {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", s, back, err, fm)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	p := []byte(textPayload)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		m, err := Parse(p)
		if err != nil {
			b.Fatal(err)
		}
		m.Kind()
	}
}

func BenchmarkNewText(b *testing.B) {
	f := &Format{Font: "Arial", Italic: true, PitchFamily: 0x22}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = NewText("Hello! How are you?", f).AppendTo(buf[:0])
	}
}
