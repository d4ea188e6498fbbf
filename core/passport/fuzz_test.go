package passport

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

func wellFormed(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(authHeader(testEmail, testPassword))
	f.Add("Passport1.4 sign-in=a%40b.c,pwd=x")
	f.Add("passport1.4\tSIGN-IN='a@b.c',PWD=\"x\"")
	f.Add("Passport1.4 ,,,=,%%,sign-in,pwd")
	f.Add("Basic abc")
	f.Fuzz(func(t *testing.T, h string) {
		email, password, ok := parseAuthorization(h)
		if !ok {
			if email != "" || password != "" {
				t.Fatalf("not ok but returned %q %q", email, password)
			}
			return
		}
		if email == "" || password == "" || len(email) > maxEmailLen || len(password) > maxPasswordLen {
			t.Fatalf("ok with e-mail %q password %q", email, password)
		}
		if email != strings.TrimSpace(email) {
			t.Fatalf("e-mail %q not trimmed", email)
		}
	})
}

func FuzzParseRST(f *testing.F) {
	f.Add([]byte(rstBody(testEmail, testPassword, msnAddresses...)))
	f.Add([]byte(rstBody("a&b@x", "<pw>", "messenger.msn.com")))
	f.Add([]byte("<Envelope><UsernameToken><Username>a</Username><Password>b</Password></UsernameToken></Envelope>"))
	f.Add([]byte("<a><AppliesTo><EndpointReference><Address>x</Address></EndpointReference></AppliesTo>"))
	f.Add([]byte(""))
	f.Add([]byte(pidginTWNBody))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseRST(body)
		if len(req.addresses) > maxRSTAddresses || len(req.policies) != len(req.addresses) {
			t.Fatalf("%d addresses, %d policies", len(req.addresses), len(req.policies))
		}
		for _, a := range req.addresses {
			if a == "" || len(a) > maxAddressLen {
				t.Fatalf("address %q kept", a)
			}
		}
		if err != nil {
			return
		}
		if req.username == "" || req.password == "" {
			t.Fatal("parsed without credentials")
		}
		// Whatever was parsed must make a well-formed response.
		resp := rstResponse(req, rstTickets{signIn: "TICKET", sso: "SSO", proof: make([]byte, 24), service: "SERVICE"}, time.Unix(1136214245, 0), time.Minute)
		if err := wellFormed(resp); err != nil {
			t.Fatalf("response not well-formed: %v\n%s", err, resp)
		}
	})
}

func FuzzTicketFromUSR(f *testing.F) {
	for _, s := range []string{"t=ABC&p=", "t=ABC&amp;p=", "'t=ABC&p=x'", "ABC", "t%3DA%26p%3D", "&amp;&", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := TicketFromUSR(s)
		if strings.Contains(got, "&") {
			t.Fatalf("TicketFromUSR(%q) = %q contains '&'", s, got)
		}
		if got != strings.TrimSpace(got) {
			t.Fatalf("TicketFromUSR(%q) = %q not trimmed", s, got)
		}
		// Our own tickets always come back whole.
		if tk := "ABCDEFGHIJKLMNOPQRSTUVWXYZ"; TicketFromUSR("t="+tk+"&p="+s) != tk {
			t.Fatalf("ticket lost with profile %q", s)
		}
	})
}
