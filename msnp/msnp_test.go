package msnp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// The transcripts below are the client (C:) and server (S:) lines of the
// reference sessions for each version. Reading each line in its direction
// and writing it back must give the same bytes.
var transcripts = []struct {
	name    string
	version Version
	lines   []string
}{
	{"MSNP2 login", 2, []string{
		"C: VER 1 MSNP2",
		"S: VER 1 MSNP2",
		"C: INF 2",
		"S: INF 2 MD5",
		"C: USR 3 MD5 I user@example.com",
		"S: XFR 3 NS 10.0.0.5:1863",
	}},
	{"MSNP7 login and list", 7, []string{
		"C: VER 1 MSNP7 MSNP6 MSNP5 MSNP4 CVR0",
		"S: VER 1 MSNP7",
		"C: USR 6 MD5 I user@example.com",
		"S: USR 6 MD5 S 1013928519.693957190",
		"C: USR 7 MD5 S 6f3963009fc8a9d2b2ff137da0905c55",
		"S: USR 7 OK user@example.com Some%20Name 1",
		"C: SYN 8 0",
		"S: SYN 8 5",
		"S: GTC 8 5 A",
		"S: BLP 8 5 AL",
		"S: LSG 8 5 1 1 0 Other%20Contacts 0",
		"S: LST 8 FL 5 1 1 bob@example.com Bob 0",
		"S: LST 8 RL 5 0 0",
		"C: CHG 9 NLN",
		"S: CHG 9 NLN",
		"S: ILN 9 NLN bob@example.com Bob",
		"S: CHL 0 11111111111111111111",
		"S: ADD 0 RL 6 carol@example.com Carol",
		"S: NLN AWY bob@example.com Bob",
		"S: FLN bob@example.com",
	}},
	{"MSNP8 login and list", 8, []string{
		"C: VER 1 MSNP8 CVR0",
		"S: VER 1 MSNP8 CVR0",
		"C: CVR 2 0x0409 win 4.10 i386 MSNMSGR 5.0.0544 MSMSGS user@passport.com",
		"S: CVR 2 6.0.0602 6.0.0602 1.0.0000 http://download.example/ http://messenger.msn.com",
		"C: USR 3 TWN I user@passport.com",
		"S: XFR 3 NS 207.46.106.35:1863 0 207.46.104.20:1863",
		"S: USR 3 TWN S lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1062764229,kpp=1,kv=5,ver=2.1.0173.1",
		"C: USR 4 TWN S t=abc&p=def",
		"S: USR 4 OK user@passport.com Friendly 1 0",
		"C: SYN 5 0",
		"S: SYN 5 12 1 1",
		"S: GTC A",
		"S: BLP AL",
		"S: PRP PHH 555",
		"S: LSG 0 Other%20Contacts 0",
		"S: LST bob@example.com Bob 11 0",
		"S: BPR PHH 123",
		"C: CHG 6 NLN 268435492",
		"S: CHG 6 NLN 268435492",
		"C: PNG",
		"S: QNG",
		"C: OUT",
	}},
	{"MSNP12 list", 12, []string{
		"C: SYN 5 0 0",
		"S: SYN 5 2005-04-23T18:57:44.8130000-07:00 2005-04-23T18:57:54.2070000-07:00 1 1",
		"S: PRP MFN Me",
		"S: LSG Friends 4c2b8c39-5a2f-4ea5-8f7e-6aa7e1ffa44d",
		"S: LST N=bob@example.com F=Bob C=2f9c4e3a-1b9e-4b68-9a29-6d7ec9f3e5a1 11 1 4c2b8c39-5a2f-4ea5-8f7e-6aa7e1ffa44d",
		"C: ADC 6 FL N=carol@example.com F=carol@example.com",
		"S: ADC 6 FL N=carol@example.com F=carol@example.com C=9a7f3e2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
		"S: ADC 0 RL N=dave@example.com F=Dave",
		"S: SBS 0 null",
		"S: QNG 60",
		"S: 201 6",
		"S: 540 9",
	}},
	{"switchboard", 8, []string{
		"C: XFR 10 SB",
		"S: XFR 10 SB 10.0.1.200:1865 CKI 123456789.123456789.123456789",
		"C: USR 1 me@x.com 123456789.123456789.123456789",
		"S: USR 1 OK me@x.com My%20Name",
		"C: CAL 2 bob@x.com",
		"S: CAL 2 RINGING 11752013",
		"S: RNG 11752013 10.0.1.200:1865 CKI 849102291.520491113 me@x.com My%20Name",
		"C: ANS 1 bob@x.com 849102291.520491113 11752013",
		"S: IRO 1 1 1 me@x.com My%20Name",
		"S: ANS 1 OK",
		"S: JOI bob@x.com Bob",
		"S: ACK 4",
		"S: NAK 5",
		"S: BYE bob@x.com",
		"S: BYE bob@x.com 1",
	}},
}

func TestTranscripts(t *testing.T) {
	for _, tc := range transcripts {
		t.Run(tc.name, func(t *testing.T) {
			for _, l := range tc.lines {
				dir := FromClient
				if strings.HasPrefix(l, "S: ") {
					dir = FromServer
				}
				wire := l[3:] + "\r\n"
				r := NewReader(strings.NewReader(wire), dir)
				r.Version = tc.version
				c, err := r.ReadCommand()
				if err != nil {
					t.Fatalf("%q: %v", l, err)
				}
				if got := string(AppendCommand(nil, c)); got != wire {
					t.Errorf("%q: round trip gave %q", l, got)
				}
			}
		})
	}
}

func TestTrIDs(t *testing.T) {
	tests := []struct {
		dir     Direction
		version Version
		line    string
		trid    uint32
		hasTrID bool
		params  []string
	}{
		{FromClient, 0, "VER 1 MSNP8 CVR0", 1, true, []string{"MSNP8", "CVR0"}},
		{FromClient, 0, "PNG", 0, false, nil},
		{FromClient, 0, "OUT", 0, false, nil},
		{FromClient, 0, "CHG 4294967295 NLN", 4294967295, true, []string{"NLN"}},
		{FromServer, 0, "CHL 0 123", 0, true, []string{"123"}},
		{FromServer, 0, "NLN NLN bob@x.com Bob", 0, false, []string{"NLN", "bob@x.com", "Bob"}},
		{FromServer, 0, "201 7", 7, true, nil},
		{FromServer, 7, "LSG 8 5 1 1 0 Other 0", 8, true, []string{"5", "1", "1", "0", "Other", "0"}},
		{FromServer, 8, "LSG 0 Other 0", 0, false, []string{"0", "Other", "0"}},
		{FromServer, 9, "BLP 5 7 BL", 5, true, []string{"7", "BL"}},
		{FromServer, 9, "BLP BL", 0, false, []string{"BL"}},
		{FromServer, 0, "QNG 60", 0, false, []string{"60"}},
		{FromClient, 0, "VER  2   MSNP7\tCVR0", 2, true, []string{"MSNP7", "CVR0"}},
	}
	for _, tc := range tests {
		r := NewReader(strings.NewReader(tc.line+"\r\n"), tc.dir)
		r.Version = tc.version
		c, err := r.ReadCommand()
		if err != nil {
			t.Fatalf("%q: %v", tc.line, err)
		}
		if c.TrID != tc.trid || c.HasTrID != tc.hasTrID {
			t.Errorf("%q: TrID %d/%v, want %d/%v", tc.line, c.TrID, c.HasTrID, tc.trid, tc.hasTrID)
		}
		if strings.Join(c.Params, "|") != strings.Join(tc.params, "|") {
			t.Errorf("%q: params %q, want %q", tc.line, c.Params, tc.params)
		}
	}
}

func TestPayloads(t *testing.T) {
	msg := "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: a@b.c\r\n\r\n\r\n"
	stream := "MSG 4 U " + itoa(len(msg)) + "\r\n" + msg + "PNG\r\nQRY 5 msmsgs@msnmsgr.com 32\r\n3b6666b60157322b6fc6e41a115968f5UUX 6 0\r\n"
	r := NewReader(strings.NewReader(stream), FromClient)
	c, err := r.ReadCommand()
	if err != nil || c.Name != "MSG" || c.TrID != 4 || c.Param(0) != "U" || string(c.Payload) != msg {
		t.Fatalf("MSG: %v %+v", err, c)
	}
	if c, err = r.ReadCommand(); err != nil || c.Name != "PNG" {
		t.Fatalf("PNG: %v %+v", err, c)
	}
	if c, err = r.ReadCommand(); err != nil || c.Name != "QRY" || string(c.Payload) != "3b6666b60157322b6fc6e41a115968f5" || c.Param(0) != "msmsgs@msnmsgr.com" {
		t.Fatalf("QRY: %v %+v", err, c)
	}
	if c, err = r.ReadCommand(); err != nil || c.Name != "UUX" || c.Payload == nil || len(c.Payload) != 0 {
		t.Fatalf("UUX: %v %+v", err, c)
	}
	if _, err = r.ReadCommand(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}

	// Server side: the same names may come without a payload.
	r = NewReader(strings.NewReader("ADL 5 OK\r\nMSG Hotmail Hotmail 3\r\nabcUBX bob@x.com 0\r\n"), FromServer)
	if c, _ = r.ReadCommand(); c.Payload != nil || c.Param(0) != "OK" {
		t.Fatalf("ADL OK: %+v", c)
	}
	if c, _ = r.ReadCommand(); string(c.Payload) != "abc" || c.HasTrID || c.Param(1) != "Hotmail" {
		t.Fatalf("MSG: %+v", c)
	}
	if c, _ = r.ReadCommand(); c.Payload == nil || len(c.Payload) != 0 || c.Param(0) != "bob@x.com" {
		t.Fatalf("UBX: %+v", c)
	}
}

func TestReadErrors(t *testing.T) {
	long := "VER 1 " + strings.Repeat("x", DefaultMaxLine) + "\r\n"
	tests := []struct {
		name   string
		input  string
		err    error
		inSync bool
		code   ErrorCode
	}{
		{"long line", long, ErrLineTooLong, false, ErrInvalidParameter},
		{"missing TrID", "VER\r\n", ErrBadTrID, true, ErrSyntax},
		{"TrID too big", "VER 4294967296 MSNP8\r\n", ErrBadTrID, true, ErrSyntax},
		{"negative TrID", "CHG -1 NLN\r\n", ErrBadTrID, true, ErrSyntax},
		{"bad TrID on payload", "MSG x U 3\r\nabc", ErrBadTrID, false, ErrSyntax},
		{"no length", "MSG 1 U\r\n", ErrBadLength, false, ErrSyntax},
		{"bad length", "MSG 1 U -5\r\n", ErrBadLength, false, ErrSyntax},
		{"oversized, skipped", "MSG 1 U 8000\r\n" + strings.Repeat("a", 8000), ErrPayloadTooLarge, true, ErrInvalidParameter},
		{"huge", "MSG 1 U 999999999\r\n", ErrPayloadTooLarge, false, ErrInvalidParameter},
		{"short name", "VE 1\r\n", ErrMalformed, true, ErrSyntax},
		{"empty", "\r\n", ErrMalformed, true, ErrSyntax},
		{"nul", "VER 1 MS\x00NP8\r\n", ErrMalformed, true, ErrSyntax},
	}
	for _, tc := range tests {
		r := NewReader(strings.NewReader(tc.input), FromClient)
		_, err := r.ReadCommand()
		var re *ReadError
		if !errors.As(err, &re) || !errors.Is(err, tc.err) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.err)
			continue
		}
		if re.InSync != tc.inSync || re.Code() != tc.code {
			t.Errorf("%s: in sync %v code %v, want %v %v", tc.name, re.InSync, re.Code(), tc.inSync, tc.code)
		}
	}

	// A truncated payload is an unexpected EOF, not a short command.
	r := NewReader(strings.NewReader("MSG 1 U 10\r\nabc"), FromClient)
	if _, err := r.ReadCommand(); err != io.ErrUnexpectedEOF {
		t.Errorf("truncated payload: %v", err)
	}
}

func TestStreamContinuesAfterRecoverableError(t *testing.T) {
	r := NewReader(strings.NewReader("MSG 1 U 1700\r\n"+strings.Repeat("z", 1700)+"PNG\r\n"), FromClient)
	r.MaxPayload = MaxMessagePayload
	_, err := r.ReadCommand()
	var re *ReadError
	if !errors.As(err, &re) || !re.InSync || re.TrID != 1 || !re.HasTrID {
		t.Fatalf("oversized MSG: %v", err)
	}
	if c, err := r.ReadCommand(); err != nil || c.Name != "PNG" {
		t.Fatalf("next command: %v %v", c, err)
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	cmds := []*Command{
		New("VER", 1, "MSNP8", "CVR0"),
		Notice("QNG", "60"),
		Error(ErrAuthFailed, 3),
		New("MSG", 4, "A").WithPayload([]byte("hi")),
		New("UUX", 5).WithPayload([]byte{}),
		Notice("NLN", "NLN", "bob@x.com", EncodeParam("Bob Smith 100%")),
	}
	for _, c := range cmds {
		if err := w.WriteCommand(c); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() != 0 {
		t.Fatal("writer did not buffer")
	}
	w.Flush()
	want := "VER 1 MSNP8 CVR0\r\nQNG 60\r\n911 3\r\nMSG 4 A 2\r\nhiUUX 5 0\r\nNLN NLN bob@x.com Bob%20Smith%20100%25\r\n"
	if buf.String() != want {
		t.Fatalf("got %q\nwant %q", buf.String(), want)
	}
	for _, bad := range []*Command{New("VER", 1, "a b"), New("VER", 1, ""), New("ver", 1), New("VERB", 1), New("VER", 1, "a\r\nOUT")} {
		if err := w.WriteCommand(bad); err == nil {
			t.Errorf("%q accepted", bad.String())
		}
	}
}

func TestParams(t *testing.T) {
	for _, s := range []string{"Bob Smith", "100% sure", "tab\there", "plain", "ünïcode ✓", ""} {
		e := EncodeParam(s)
		if strings.ContainsAny(e, " \t\r\n") {
			t.Errorf("EncodeParam(%q) = %q has white space", s, e)
		}
		if d := DecodeParam(e); d != s {
			t.Errorf("DecodeParam(EncodeParam(%q)) = %q", s, d)
		}
	}
	// Names are URL-encoded UTF-8 on the wire, as the official servers
	// sent them; ASCII other than '%' and white space stays readable.
	for in, want := range map[string]string{
		"Carol Café":     "Carol%20Caf%C3%A9",
		"♥ Dävé ♥":       "%E2%99%A5%20D%C3%A4v%C3%A9%20%E2%99%A5",
		"100% (sure)!":   "100%25%20(sure)!",
		"del\x7f":        "del%7F",
		"raw \xe9 latin": "raw%20%E9%20latin",
	} {
		if got := EncodeParam(in); got != want {
			t.Errorf("EncodeParam(%q) = %q, want %q", in, got, want)
		}
	}
	if d := DecodeParam("http%3A%2F%2Fmessenger%2Emsn%2Ecom"); d != "http://messenger.msn.com" {
		t.Errorf("decode: %q", d)
	}
	if d := DecodeParam("100%zz"); d != "100%zz" {
		t.Errorf("malformed escape changed: %q", d)
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		offered []string
		want    Version
		cvr0    bool
	}{
		{[]string{"MSNP7", "MSNP6", "MSNP5", "MSNP4", "CVR0"}, 7, true},
		{[]string{"MSNP12", "MSNP11", "MSNP10", "CVR0"}, 12, true},
		{[]string{"MSNP18", "MSNP17", "MSNP16", "CVR0"}, 18, true},
		{[]string{"MSNP15", "MSNP12"}, 15, false},
		{[]string{"MSNP21", "CVR0"}, 0, true},
		{[]string{"MSNP2"}, 2, false},
		{[]string{"MSNPX", "MSNP1", "FOO"}, 0, false},
	}
	for _, tc := range tests {
		v, cvr0 := Negotiate(tc.offered, MinVersion, MaxVersion)
		if v != tc.want || cvr0 != tc.cvr0 {
			t.Errorf("%v: got %v %v, want %v %v", tc.offered, v, cvr0, tc.want, tc.cvr0)
		}
	}
}

func TestDialects(t *testing.T) {
	for v := MinVersion; v <= LatestVersion; v++ {
		d := v.Dialect()
		if d.Version != v {
			t.Fatalf("%v: dialect of %v", v, d.Version)
		}
		if (d.Auth == AuthMD5) != (v <= 7) || (d.Auth == AuthSSO) != (v >= 15) {
			t.Errorf("%v: auth %v", v, d.Auth)
		}
		if d.ContactGUIDs != (v >= 10) || d.PersonalMsg != (v >= 11) || d.Groups != (v >= 7) {
			t.Errorf("%v: list features wrong: %+v", v, d)
		}
	}
	if Version(5).Dialect().Challenge != ChallengeNone || Version(6).Dialect().Challenge != ChallengeMD5 || Version(11).Dialect().Challenge != ChallengeMSNP11 {
		t.Error("challenge algorithms wrong")
	}
	if Version(21).Dialect().Version != LatestVersion || Version(0).Dialect().Version != MinVersion {
		t.Error("out-of-range versions must clamp")
	}
}

// TestLiveDialects: the differences between MSNP12 and the Windows Live
// Messenger versions, as msnp13-18.md §1.2 tabulates them.
func TestLiveDialects(t *testing.T) {
	type row struct {
		list      ListForm
		auth      Auth
		handle    []string
		capsEx    bool
		xfrSB     string
		gcfPush   bool
		fqy, guid bool
		ilnGone   bool
	}
	want := map[Version]row{
		12: {ListGUID, AuthTWN, []string{"a@b.c"}, false, "", false, false, false, false},
		13: {ListAddressBook, AuthTWN, []string{"a@b.c"}, false, "U messenger.msn.com", true, false, false, false},
		14: {ListAddressBook, AuthTWN, []string{"a@b.c", "1"}, false, "U messenger.msn.com 1", true, true, false, false},
		15: {ListAddressBook, AuthSSO, []string{"a@b.c", "1"}, false, "U messenger.msn.com 1", true, true, false, false},
		16: {ListAddressBook, AuthSSO, []string{"a@b.c", "1"}, true, "U messenger.msn.com 1", true, true, true, false},
		17: {ListAddressBook, AuthSSO, []string{"a@b.c", "1"}, true, "U messenger.msn.com 1", true, true, true, false},
		18: {ListAddressBook, AuthSSO, []string{"1:a@b.c"}, true, "U messenger.msn.com 1", true, true, true, true},
	}
	for v, w := range want {
		d := v.Dialect()
		got := row{d.ListForm, d.Auth, d.Handle("a@b.c"), d.CapsEx, strings.Join(d.XFRSBTail, " "), d.GCFPush, d.FQY, d.MachineGUID, d.InitialNLN}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%v: %+v, want %+v", v, got, w)
		}
		if d.GCF != (v == 12) || (v >= 13) != (d.XFRNSFields == 3) {
			t.Errorf("%v: GCF %v, XFR NS fields %d", v, d.GCF, d.XFRNSFields)
		}
	}
	if Version(12).Dialect().ClientCaps != CapMSNC4 || Version(18).Dialect().ClientCaps != CapMSNC10 {
		t.Error("client capabilities per generation wrong")
	}
}

func TestParseHandle(t *testing.T) {
	for in, want := range map[string][3]string{
		"bob@x.com":                 {"bob@x.com", "1", ""},
		"1:bob@x.com":               {"bob@x.com", "1", ""},
		"32:bob@yahoo.com":          {"bob@yahoo.com", "32", ""},
		"bob@x.com;{AB-CD}":         {"bob@x.com", "1", "{AB-CD}"},
		"1:bob@x.com;{ab}":          {"bob@x.com", "1", "{ab}"},
		"x:bob@x.com":               {"x:bob@x.com", "1", ""},
		"123:bob@x.com":             {"123:bob@x.com", "1", ""},
		"00000000-0000-0000-0009-1": {"00000000-0000-0000-0009-1", "1", ""},
	} {
		e, n, ep := ParseHandle(in)
		if got := [3]string{e, strconv.Itoa(n), ep}; got != want {
			t.Errorf("ParseHandle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCaps(t *testing.T) {
	for in, want := range map[string][2]uint32{
		"": {0, 0}, "1074004004": {1074004004, 0}, "2416181284:00": {2416181284, 0}, "2788999212:48": {2788999212, 48},
	} {
		c, x, ok := ParseCaps(in)
		if !ok || c != want[0] || x != want[1] {
			t.Errorf("ParseCaps(%q) = %d %d %v", in, c, x, ok)
		}
	}
	for _, bad := range []string{"x", "1:x", "99999999999", "-1", "1:2:3"} {
		if _, _, ok := ParseCaps(bad); ok {
			t.Errorf("ParseCaps(%q) accepted", bad)
		}
	}
	if s := FormatCaps(5, 48, Version(16).Dialect()); s != "5:48" {
		t.Error(s)
	}
	if s := FormatCaps(5, 48, Version(15).Dialect()); s != "5" {
		t.Error(s)
	}
}

func TestErrorCodes(t *testing.T) {
	c := Error(ErrAuthFailed, 9)
	if !c.IsError() || c.ErrorCode() != ErrAuthFailed || c.String() != "911 9" {
		t.Fatalf("%+v", c)
	}
	if ErrAuthFailed.String() != "911 authentication failed" {
		t.Error(ErrAuthFailed.String())
	}
	if New("VER", 1).IsError() || ErrorCode(999).String() != "999 unknown error" {
		t.Error("non-error classified as error")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func FuzzReader(f *testing.F) {
	for _, tc := range transcripts {
		var b strings.Builder
		for _, l := range tc.lines {
			b.WriteString(l[3:] + "\r\n")
		}
		f.Add([]byte(b.String()), false)
	}
	f.Add([]byte("MSG 1 U 5\r\nhelloPNG\r\nQRY 2 x 3\r\nabc"), false)
	f.Add([]byte("MSG Hotmail Hotmail 2\r\nhiADL 3 OK\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, server bool) {
		dir := FromClient
		if server {
			dir = FromServer
		}
		r := NewReader(bytes.NewReader(data), dir)
		r.MaxPayload = MaxMessagePayload
		for i := 0; i < 1000; i++ {
			c, err := r.ReadCommand()
			if err != nil {
				var re *ReadError
				if errors.As(err, &re) && re.InSync {
					continue
				}
				return
			}
			if len(c.Payload) > r.MaxPayload {
				t.Fatalf("payload %d over the limit", len(c.Payload))
			}
			// What was read must read back the same after writing.
			wire := AppendCommand(nil, c)
			r2 := NewReader(bytes.NewReader(wire), dir)
			r2.Version = r.Version
			c2, err := r2.ReadCommand()
			if err != nil {
				t.Fatalf("re-read of %q: %v", wire, err)
			}
			if !bytes.Equal(AppendCommand(nil, c2), wire) {
				t.Fatalf("unstable: %q", wire)
			}
		}
	})
}

// FuzzReaderChunks: input that arrives a byte at a time reads exactly as
// input that arrives at once, errors included.
func FuzzReaderChunks(f *testing.F) {
	f.Add([]byte("MSG 1 U 5\r\nhelloPNG\r\nQRY 2 x 3\r\nabc"), false)
	f.Add([]byte("MSG 1 U 8000\r\n"+strings.Repeat("a", 8000)+"PNG\r\nVER 1 "+strings.Repeat("x", 5000)+"\r\n"), false)
	f.Add([]byte("MSG Hotmail Hotmail 2\r\nhiADL 3 OK\r\nCHG 4"), true)
	f.Fuzz(func(t *testing.T, data []byte, server bool) {
		dir := FromClient
		if server {
			dir = FromServer
		}
		whole := readLog(NewReader(bytes.NewReader(data), dir))
		bytewise := readLog(NewReader(iotest.OneByteReader(bytes.NewReader(data)), dir))
		if !slices.Equal(whole, bytewise) {
			t.Fatalf("read at once:\n%q\nread a byte at a time:\n%q", whole, bytewise)
		}
	})
}

// readLog reads r to its end and describes each command or error.
func readLog(r *Reader) []string {
	var log []string
	for range 1000 {
		c, err := r.ReadCommand()
		if err != nil {
			log = append(log, err.Error())
			var re *ReadError
			if errors.As(err, &re) && re.InSync {
				continue
			}
			return log
		}
		log = append(log, string(AppendCommand(nil, c)))
	}
	return log
}

func BenchmarkReadCommand(b *testing.B) {
	msg := "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nHello there, how are you?"
	one := "MSG 12 A " + itoa(len(msg)) + "\r\n" + msg
	data := []byte(strings.Repeat(one, 1000))
	b.SetBytes(int64(len(one)))
	b.ReportAllocs()
	var c Command
	rd := bytes.NewReader(data)
	br := bufio.NewReaderSize(rd, 64<<10)
	r := NewReader(br, FromClient)
	for i := 0; i < b.N; i++ {
		if i%1000 == 0 {
			rd.Reset(data)
			br.Reset(rd)
		}
		if err := r.ReadInto(&c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteCommand(b *testing.B) {
	payload := []byte("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHello there")
	c := Notice("MSG", "alice@example.com", "Alice", "")
	c.Params = c.Params[:2]
	c.Payload = payload
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := w.WriteCommand(c); err != nil {
			b.Fatal(err)
		}
	}
	w.Flush()
}

func TestWireSize(t *testing.T) {
	for _, c := range []*Command{
		New("VER", 0, "MSNP8", "CVR0"),
		New("ACK", 4294967295),
		Notice("NLN", "NLN", "bob@example.com", "Bob", "268435456"),
		Notice("MSG", "Hotmail", "Hotmail").WithPayload(make([]byte, 1234)),
		Notice("NOT").WithPayload([]byte{}),
		Error(ErrorCode(217), 9),
		Notice("OUT"),
	} {
		if got, want := c.WireSize(), len(AppendCommand(nil, c)); got != want {
			t.Errorf("%v: WireSize %d, wire form %d bytes", c, got, want)
		}
	}
}
