package msnp

import (
	"errors"
	"strings"
	"testing"
)

func TestParseML(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ML
	}{
		// libpurple: single quotes, self-closing (Pidgin 2.6).
		{`<ml l='1'/>`, ML{Initial: true}},
		{`<ml l='1'><d n='example.com'><c n='bob' l='3' t='1'/></d></ml>`,
			ML{Initial: true, Contacts: []MLContact{{Email: "bob@example.com", Lists: 3, Network: 1}}}},
		// bitlbee, Escargot's WLM transcript.
		{`<ml l="1"><d n="Example.COM"><c n="Bob" l="1" t="1" /><c n="carol" l="5" t="1"/></d><d n="x.org"><c n="dave" l="2" t="1"/></d></ml>`,
			ML{Initial: true, Contacts: []MLContact{{"bob@example.com", 1, 1, ""}, {"carol@example.com", 5, 1, ""}, {"dave@x.org", 2, 1, ""}}}},
		{`<ml l="1"></ml>`, ML{Initial: true}},
		// FQY: no lists, no network.
		{`<ml><d n="example.com"><c n="bob"/></d></ml>`, ML{Contacts: []MLContact{{Email: "bob@example.com"}}}},
		// The server's notice of someone adding you.
		{`<ml><d n="x.com"><c n="al" t="1" l="8" f="Al%20%E2%98%BA"/></d></ml>`,
			ML{Contacts: []MLContact{{"al@x.com", 8, 1, "Al ☺"}}}},
	} {
		got, err := ParseML([]byte(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got.Initial != tc.want.Initial || len(got.Contacts) != len(tc.want.Contacts) {
			t.Errorf("%s: %+v", tc.in, got)
			continue
		}
		for i := range got.Contacts {
			if got.Contacts[i] != tc.want.Contacts[i] {
				t.Errorf("%s: contact %d = %+v, want %+v", tc.in, i, got.Contacts[i], tc.want.Contacts[i])
			}
		}
		// What Marshal writes reads back the same.
		again, err := ParseML(got.Marshal())
		if err != nil || len(again.Contacts) != len(got.Contacts) || again.Initial != got.Initial {
			t.Errorf("%s: round trip %s: %+v, %v", tc.in, got.Marshal(), again, err)
		}
	}
	for in, code := range map[string]ErrorCode{
		`<ml><d><c n="bob"/></d></ml>`:                ErrEmptyDomain,
		`<ml><d n=" "><c n="bob"/></d></ml>`:          ErrEmptyDomain,
		`<ml><d n="x.com"><c n="bob"></d></ml>`:       ErrInvalidXML,
		`<ml><d n="x.com"><c/></d></ml>`:              ErrInvalidXML,
		`<ml><d n="x.com"><c n="a@b"/></d></ml>`:      ErrInvalidXML,
		`<ml><d n="x.com"><c n="b" l="x"/></d></ml>`:  ErrInvalidXML,
		`<ml><d n="x.com"><c n="b" l="-1"/></d></ml>`: ErrInvalidXML,
		`<ml><x/></ml>`:      ErrInvalidXML,
		`<foo/>`:             ErrInvalidXML,
		``:                   ErrInvalidXML,
		`<ml></ml><ml></ml>`: ErrInvalidXML,
		`<ml><d n="x.com"><c n="b"><c n="c"/></c></d></ml>`: ErrInvalidXML,
		`<ml>text</ml>`:                          ErrInvalidXML,
		`<ml><d n="a@x.com"><c n="b"/></d></ml>`: ErrInvalidXML,
	} {
		_, err := ParseML([]byte(in))
		var me *MLError
		if !errors.As(err, &me) || me.Code != code || !errors.Is(err, ErrML) {
			t.Errorf("ParseML(%q) = %v, want code %d", in, err, code)
		}
	}
	var b strings.Builder
	b.WriteString(`<ml><d n="x.com">`)
	for range MaxMLContacts + 1 {
		b.WriteString(`<c n="a"/>`)
	}
	b.WriteString(`</d></ml>`)
	if _, err := ParseML([]byte(b.String())); err == nil {
		t.Error("too many contacts accepted")
	}
}

func TestMarshalML(t *testing.T) {
	m := ML{Contacts: []MLContact{{"bob@x.com", 8, 1, "Bob & <Co>"}, {"al@y.org", 3, 1, ""}, {"cy@x.com", 1, 1, ""}}}
	want := `<ml><d n="x.com"><c n="bob" l="8" t="1" f="Bob%20&amp;%20&lt;Co&gt;"/><c n="cy" l="1" t="1"/></d><d n="y.org"><c n="al" l="3" t="1"/></d></ml>`
	if got := string(m.Marshal()); got != want {
		t.Fatalf("Marshal:\n got %s\nwant %s", got, want)
	}
	if got := string((ML{Initial: true}).Marshal()); got != `<ml l="1"></ml>` {
		t.Fatal(got)
	}
}

func FuzzParseML(f *testing.F) {
	for _, s := range []string{`<ml l='1'/>`, `<ml><d n="x.com"><c n="b" l="3" t="1" f="a%20b"/></d></ml>`, `<ml><d><c/></d></ml>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseML(b)
		if err != nil {
			return
		}
		// Whatever parses survives a round trip.
		again, err := ParseML(m.Marshal())
		if err != nil || len(again.Contacts) != len(m.Contacts) {
			t.Fatalf("%q → %s → %v %v", b, m.Marshal(), again, err)
		}
	})
}

func TestParseUUX(t *testing.T) {
	u, err := ParseUUX([]byte(`<Data><PSM>hi &amp; bye</PSM><CurrentMedia></CurrentMedia><MachineGuid>{F26D1F07-95E2-403C-BC18-D4BFED493428}</MachineGuid><DDP></DDP></Data>`))
	if err != nil || u.Kind != UUXData || u.PSM != "hi & bye" || u.MachineGUID != "{F26D1F07-95E2-403C-BC18-D4BFED493428}" {
		t.Fatalf("%+v, %v", u, err)
	}
	u, err = ParseUUX([]byte(`<EndpointData><Capabilities>2788999228:48</Capabilities></EndpointData>`))
	if err != nil || u.Kind != UUXEndpoint || u.Capabilities != "2788999228:48" {
		t.Fatalf("%+v, %v", u, err)
	}
	u, err = ParseUUX([]byte(`<PrivateEndpointData><EpName>DESK</EpName><Idle>false</Idle><ClientType>1</ClientType><State>NLN</State></PrivateEndpointData>`))
	if err != nil || u.Kind != UUXPrivateEndpoint || u.Private != (EndpointPrivate{"DESK", false, 1, "NLN"}) {
		t.Fatalf("%+v, %v", u, err)
	}
	for _, bad := range []string{"", "<Data>", "<Foo/>", "<Data/><Data/>", "not xml", "<Data><PSM>x</Data>"} {
		if _, err := ParseUUX([]byte(bad)); err == nil {
			t.Errorf("ParseUUX(%q) accepted", bad)
		}
	}
}

func TestUBXPayload(t *testing.T) {
	eps := []Endpoint{
		{ID: "{a}", Capabilities: "1:2", Private: EndpointPrivate{"Home", false, 1, "NLN"}},
		{ID: "{b}", Capabilities: "3:4", Private: EndpointPrivate{"W<rk>", true, 1, "IDL"}},
	}
	data := []byte("<Data><PSM>x</PSM><CurrentMedia></CurrentMedia></Data>")
	pub := UBXPayload(data, eps, false)
	if string(pub) != `<Data><PSM>x</PSM><CurrentMedia></CurrentMedia><EndpointData id="{a}"><Capabilities>1:2</Capabilities></EndpointData><EndpointData id="{b}"><Capabilities>3:4</Capabilities></EndpointData></Data>` {
		t.Fatal(string(pub))
	}
	priv := UBXPayload(nil, eps, true)
	got, err := Endpoints(priv)
	if err != nil || len(got) != 2 || got[0] != eps[0] || got[1] != eps[1] {
		t.Fatalf("Endpoints(%s) = %+v, %v", priv, got, err)
	}
	if u, err := ParseUUX(priv); err != nil || u.Kind != UUXData {
		t.Fatalf("the payload is not a <Data>: %v", err)
	}
	if string(UBXPayload(data, nil, true)) != string(data) {
		t.Fatal("no endpoints changed the data")
	}
}

func TestNormalizeGUID(t *testing.T) {
	for in, want := range map[string]string{
		"{F26D1F07-95E2-403C-BC18-D4BFED493428}": "{f26d1f07-95e2-403c-bc18-d4bfed493428}",
		"F26D1F07-95E2-403C-BC18-D4BFED493428":   "{f26d1f07-95e2-403c-bc18-d4bfed493428}",
		"b171be3e-0000-0000-0000-000000000001":   "{b171be3e-0000-0000-0000-000000000001}",
	} {
		if got, ok := NormalizeGUID(in); !ok || got != want {
			t.Errorf("NormalizeGUID(%q) = %q %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "{}", "F26D1F07-95E2-403C-BC18-D4BFED49342", "G26D1F07-95E2-403C-BC18-D4BFED493428", "F26D1F0795E2-403C-BC18-D4BFED4934288"} {
		if _, ok := NormalizeGUID(bad); ok {
			t.Errorf("NormalizeGUID(%q) accepted", bad)
		}
	}
}

func FuzzParseUUX(f *testing.F) {
	f.Add([]byte(`<Data><PSM>a</PSM><MachineGuid>{x}</MachineGuid></Data>`))
	f.Add([]byte(`<PrivateEndpointData><EpName>a</EpName><Idle>true</Idle><ClientType>1</ClientType></PrivateEndpointData>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseUUX(b)
		Endpoints(b)
	})
}
