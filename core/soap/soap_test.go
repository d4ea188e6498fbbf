package soap

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	env, err := Parse([]byte(`<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
 <soap:Header><ABAuthHeader xmlns="http://www.msn.com/webservices/AddressBook"><TicketToken>t=abc&amp;p=</TicketToken></ABAuthHeader></soap:Header>
 <soap:Body><ABFindAll xmlns="http://www.msn.com/webservices/AddressBook"><abView>Full</abView><deltasOnly>true</deltasOnly>
  <x:Member xmlns:x="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="PassportMember"/></ABFindAll></soap:Body>
</soap:Envelope>`))
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Header().Value("abauthheader", "TicketToken"); got != "t=abc&p=" {
		t.Errorf("TicketToken %q", got)
	}
	a := env.Action()
	if a.Name != "ABFindAll" || !a.Bool("DeltasOnly") || a.Value("abView") != "Full" {
		t.Errorf("action %+v", a)
	}
	if m := a.Child("Member"); m.Attr("type") != "PassportMember" {
		t.Errorf("xsi:type %q", m.Attr("type"))
	}
	if len(env.Find("Member")) != 1 || a.Child("nope", "deeper") != nil || a.Value("nope") != "" {
		t.Error("Find/Child of what is missing")
	}
}

func TestParseRefuses(t *testing.T) {
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Envelope>&lol2;</Envelope>`
	external := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Envelope>&xxe;</Envelope>`
	for name, in := range map[string]string{
		"entity bomb":       bomb,
		"external entity":   external,
		"undefined entity":  `<Envelope>&xxe;</Envelope>`,
		"not an envelope":   `<Body/>`,
		"two roots":         `<Envelope/><Envelope/>`,
		"unclosed":          `<Envelope><Body>`,
		"empty":             ``,
		"too deep":          "<Envelope>" + strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1) + "</Envelope>",
		"too many elements": "<Envelope>" + strings.Repeat("<a/>", maxNodes+1) + "</Envelope>",
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFault(t *testing.T) {
	f := string(Fault("q0:AuthenticationFailed", "http://messenger.msn.com/ws/2004/09/oim/", "a < b", "", "<x>1</x>"))
	for _, want := range []string{`<soap:Fault><faultcode xmlns:q0="http://messenger.msn.com/ws/2004/09/oim/">q0:AuthenticationFailed</faultcode>`,
		`<faultstring>a &lt; b</faultstring>`, `<detail><x>1</x></detail>`} {
		if !strings.Contains(f, want) {
			t.Errorf("fault lacks %s:\n%s", want, f)
		}
	}
	if _, err := Parse([]byte(f)); err != nil {
		t.Errorf("fault does not parse: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ABFindAll><abId>0</abId></ABFindAll></soap:Body></soap:Envelope>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Envelope>&a;</Envelope>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := Parse(body)
		if err != nil {
			return
		}
		_ = env.Action()
		_ = env.Find("Member")
		_ = env.Header().Value("ABAuthHeader", "TicketToken")
	})
}
