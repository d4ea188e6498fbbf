package client

import (
	"bufio"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/msnp"
	"github.com/rs/zerolog"
)

func TestParseRSTResponse(t *testing.T) {
	for _, tc := range []struct {
		name, body, ticket, fault string
	}{
		{"messenger token", `<S:Envelope><S:Body><wst:RequestSecurityTokenResponseCollection>` +
			`<wst:RequestSecurityTokenResponse><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>contacts.msn.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
			`<wst:RequestedSecurityToken><wsse:BinarySecurityToken Id="Compact1">t=contacts&amp;p=</wsse:BinarySecurityToken></wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse>` +
			`<wst:RequestSecurityTokenResponse><wsp:AppliesTo><wsa:EndpointReference><wsa:Address>messenger.msn.com</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
			`<wst:RequestedSecurityToken><wsse:BinarySecurityToken Id="Compact2">t=msgr&amp;p=prof</wsse:BinarySecurityToken></wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse>` +
			`</wst:RequestSecurityTokenResponseCollection></S:Body></S:Envelope>`, "t=msgr&p=prof", ""},
		{"any compact token", `<Envelope><Body><RequestSecurityTokenResponse><RequestedSecurityToken>` +
			`<BinarySecurityToken>t=only&amp;p=</BinarySecurityToken></RequestedSecurityToken></RequestSecurityTokenResponse></Body></Envelope>`, "t=only&p=", ""},
		{"SOAP 1.1 fault", `<S:Envelope><S:Body><S:Fault><faultcode>wsse:FailedAuthentication</faultcode>` +
			`<faultstring>Authentication Failure</faultstring></S:Fault></S:Body></S:Envelope>`, "", "wsse:FailedAuthentication"},
		{"SOAP 1.2 fault", `<S:Envelope><S:Body><S:Fault><S:Code><S:Value>S:Sender</S:Value><S:Subcode><S:Value>wst:FailedAuthentication</S:Value>` +
			`</S:Subcode></S:Code></S:Fault></S:Body></S:Envelope>`, "", "S:Senderwst:FailedAuthentication"},
	} {
		ticket, fault, err := parseRSTResponse([]byte(tc.body))
		if ticket != tc.ticket || fault != tc.fault {
			t.Errorf("%s: got %q %q %v", tc.name, ticket, fault, err)
		}
	}
	if _, _, err := parseRSTResponse([]byte("<a><b>")); err == nil {
		t.Error("no error for a truncated body")
	}
}

func TestLoginURLFrom(t *testing.T) {
	for _, tc := range []struct{ nexus, da, want string }{
		{"https://nexus.passport.com/rdr/pprdr.asp", "login.passport.com/login2.srf", "https://login.passport.com/login2.srf"},
		{"http://127.0.0.1:8080/rdr/pprdr.asp", "127.0.0.1:8080/login2.srf", "http://127.0.0.1:8080/login2.srf"},
		{"http://127.0.0.1:8080/rdr/pprdr.asp", "127.0.0.1:8443/login2.srf", "https://127.0.0.1:8443/login2.srf"},
		{"http://x/rdr/pprdr.asp", "https://y/login", "https://y/login"},
	} {
		if got := loginURLFrom(tc.nexus, tc.da); got != tc.want {
			t.Errorf("loginURLFrom(%q, %q) = %q, want %q", tc.nexus, tc.da, got, tc.want)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]Status{"AWY": Away, "away": Away, "brb": BeRightBack, "invisible": Hidden,
		"Busy": Busy, "lunch": OutToLunch, "phone": OnThePhone, "nln": Online, "online": Online} {
		if got, ok := ParseStatus(in); !ok || got != want {
			t.Errorf("ParseStatus(%q) = %v %v", in, got, ok)
		}
	}
	if _, ok := ParseStatus("sleepy"); ok {
		t.Error("sleepy is a status")
	}
	if Away.String() != "away" || Status("XYZ").String() != "XYZ" {
		t.Error("String")
	}
}

func TestParsePSM(t *testing.T) {
	for in, want := range map[string]string{
		"<Data><PSM>hi &amp; bye</PSM><CurrentMedia></CurrentMedia></Data>": "hi & bye",
		"<Data><PSM></PSM></Data>":   "",
		"<Data><PSM>broken":          "",
		"":                           "",
		string(psmPayload("a<b>&c")): "a<b>&c",
	} {
		if got := parsePSM([]byte(in)); got != want {
			t.Errorf("parsePSM(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestListString(t *testing.T) {
	if s := (Forward | Block | Reverse).String(); s != "FL,BL,RL" {
		t.Error(s)
	}
}

// testSession is a signed-in session whose handler can be fed commands.
func testSession(v msnp.Version) *nsSession {
	cl := &Client{log: zerolog.Nop(), list: newContactList(), convs: map[*Conversation]struct{}{},
		events: newEventQueue(0), done: make(chan struct{}), p2p: newP2PState(NewMemoryCache(0))}
	cl.self = Contact{Email: "me@example.com"}
	s := &nsSession{cl: cl, d: v.Dialect(), seen: map[string]bool{}, c: &conn{}}
	return s
}

// The notification server's handler takes any command in any version
// without panicking. RNG, CHL and OUT, which start work or end the
// connection, are left out.
func FuzzNSHandle(f *testing.F) {
	for _, l := range []string{
		"LST 5 FL 3 1 1 bob@example.com Bob 0,1", "LST bob@example.com Bob 11 0",
		"LST N=bob@example.com F=Bob C=1-2 11 1 g-1", "LSG 5 12 1 2 0 Other 0", "LSG 0 Other 0", "LSG Friends g-1",
		"ADD 0 RL 19 erin@example.com Erin", "ADC 0 RL N=erin@example.com F=Erin", "ADC 3 FL C=1-2 g-1",
		"REM 0 RL 20 erin@example.com", "REM 3 FL 1-2 g-1", "ILN 6 NLN bob@example.com Bob 0 %3Cmsnobj%2F%3E",
		"NLN AWY bob@example.com Bob", "FLN bob@example.com", "SYN 5 7 2 1", "SYN 5 a b 1 1", "PRP MFN Me",
		"PRP 5 12 PHH 555", "REA 3 4 me@example.com New", "CHG 3 BSY 0", "BPR PHH 1", "SBS 0 null", "QNG 60",
	} {
		f.Add(l, 12)
	}
	for _, l := range []string{
		"NLN NLN 1:bob@example.com Bob 2788999228:48 0", "ILN 5 NLN bob@example.com 1 Bob 1342177280 0",
		"FLN bob@example.com 1 0", "FLN 1:bob@example.com 0:0", "ADL 0 0", "RML 0 0",
	} {
		f.Add(l, 16) // MSNP18
	}
	f.Fuzz(func(t *testing.T, line string, v int) {
		ver := msnp.Version(v%17 + 2)
		if v < 0 {
			ver = msnp.Version(-(v % 17) + 2)
		}
		r := msnp.NewReader(bufio.NewReader(strings.NewReader(line+"\r\n")), msnp.FromServer)
		r.Version = ver
		cmd, err := r.ReadCommand()
		if err != nil || cmd.Name == "RNG" || cmd.Name == "CHL" || cmd.Name == "OUT" {
			return
		}
		s := testSession(ver)
		sy := &listSync{contacts: -1, groups: -1, done: make(chan struct{})}
		s.sync = sy
		s.handle(cmd)
		s.cl.events.discard()
	})
}

func FuzzParseRSTResponse(f *testing.F) {
	f.Add([]byte(`<Envelope><Body><RequestSecurityTokenResponse><BinarySecurityToken>t=a&amp;p=</BinarySecurityToken></RequestSecurityTokenResponse></Body></Envelope>`))
	f.Add([]byte(`<Fault><faultcode>x</faultcode></Fault>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseRSTResponse(b)
		parsePSM(b)
	})
}

func FuzzParseOIM(f *testing.F) {
	f.Add("From: =?utf-8?B?Qm9i?= <bob@example.com>\r\nDate: Mon, 07 Dec 2026 20:00:00 +0000\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=",
		`<MD><M><T>11</T><E>bob@example.com</E><I>abc</I></M></MD>`)
	f.Fuzz(func(t *testing.T, raw, md string) {
		parseOIM(raw, "")
		parseMailData(md)
	})
}

func FuzzAddressBook(f *testing.F) {
	f.Add([]byte(`<Envelope><Body><FindMembershipResponse><FindMembershipResult><Services><Service><Memberships><Membership><MemberRole>Allow</MemberRole><Members><Member><PassportName>bob@example.com</PassportName></Member></Members></Membership></Memberships></Service></Services></FindMembershipResult></FindMembershipResponse></Body></Envelope>`))
	f.Add([]byte(`<Envelope><Body><ABFindAllResponse><ABFindAllResult><groups><Group><groupId>g</groupId><groupInfo><name>Friends</name></groupInfo></Group></groups><contacts><Contact><contactId>{c}</contactId><contactInfo><contactType>Regular</contactType><passportName>bob@example.com</passportName><isMessengerUser>true</isMessengerUser><groupIds><guid>g</guid></groupIds></contactInfo></Contact></contacts></ABFindAllResult></ABFindAllResponse></Body></Envelope>`))
	f.Add([]byte(`<Envelope><Body><Fault><faultstring>x</faultstring><detail><errorcode>GroupAlreadyExists</errorcode></detail></Fault></Body></Envelope>`))
	f.Add([]byte(`<Envelope><Body><ABGroupAddResponse><ABGroupAddResult><guid>{g}</guid></ABGroupAddResult></ABGroupAddResponse></Body></Envelope>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &book{entries: map[string]*bookEntry{}}
		b.readMemberships(data)
		b.readContacts(data)
		for _, e := range b.entries {
			if e.email == "" {
				t.Fatalf("entry without an address: %+v", e)
			}
		}
		if guid, ok := resultGUID(data); ok && guid == "" {
			t.Fatal("an empty id reported found")
		}
		abFault("X", data)
	})
}
