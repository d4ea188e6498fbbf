package passport

import (
	"encoding/xml"
	"net/http/httptest"
	"testing"
	"time"
)

func TestGrantsCheck(t *testing.T) {
	g := NewGrants(time.Hour, 0)
	now := time.Now()
	g.now = func() time.Time { return now }
	tk := g.Issue("Alice@Example.com", []string{"contacts.msn.com", "https://Storage.MSN.com/storageservice"})
	for _, c := range []struct {
		token, domain string
		ok            bool
	}{
		{"t=" + tk + "&p=", "contacts.msn.com", true},
		{"t=" + tk + "&amp;p=", "http://contacts.msn.com", true},
		{tk, "storage.msn.com", true},
		{tk, "messengersecure.live.com", false},
		{tk + "x", "contacts.msn.com", false},
		{"", "contacts.msn.com", false},
	} {
		email, ok := g.Check(c.token, c.domain)
		if ok != c.ok || (ok && email != "alice@example.com") {
			t.Errorf("Check(%q, %q) = %q, %v; want ok %v", c.token, c.domain, email, ok, c.ok)
		}
	}
	// Shown many times, until it expires.
	if _, ok := g.Check(tk, "contacts.msn.com"); !ok {
		t.Fatal("second use refused")
	}
	now = now.Add(time.Hour)
	if _, ok := g.Check(tk, "contacts.msn.com"); ok {
		t.Fatal("expired ticket accepted")
	}
}

func TestGrantsEvictOldest(t *testing.T) {
	g := NewGrants(time.Hour, 3)
	var ts []string
	for range 5 {
		ts = append(ts, g.Issue("a@b.c", []string{"contacts.msn.com"}))
	}
	for i, tk := range ts {
		if _, ok := g.Check(tk, "contacts.msn.com"); ok != (i >= 2) {
			t.Errorf("ticket %d: kept %v", i, ok)
		}
	}
}

// The RST answer gives the web services a ticket of their own: the
// sign-in ticket stays single use at the Notification server, and the
// service ticket opens only the domains it was asked for.
func TestRSTServiceTickets(t *testing.T) {
	tk := NewTickets(time.Minute)
	g := NewGrants(time.Hour, 0)
	srv := httptest.NewServer(Handler(Config{Auth: testAuth, Tickets: tk, Grants: g}))
	t.Cleanup(srv.Close)
	_, body := postRST(t, srv.URL+"/RST.srf", rstBody(testEmail, testPassword, msnAddresses...))
	var res rstResult
	if err := xml.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, r := range res.Responses {
		tokens[r.Address] = r.Token.Value
	}
	signIn, contacts, sso := tokens["messenger.msn.com"], tokens["contacts.msn.com"], tokens["messengerclear.live.com"]
	if signIn == "" || contacts == "" || TicketFromUSR(signIn) == TicketFromUSR(contacts) {
		t.Fatalf("sign-in token %q, contacts token %q", signIn, contacts)
	}
	// The SSO ticket is a sign-in ticket of its own, for no web service.
	if sso == "" || sso == signIn || sso == contacts {
		t.Errorf("messengerclear.live.com token %q", sso)
	}
	for _, d := range []string{"contacts.msn.com", "messenger.msn.com", "messengerclear.live.com"} {
		if _, ok := g.Check(sso, d); ok {
			t.Errorf("the SSO ticket opened %s", d)
		}
	}
	if tk.Redeem(TicketFromUSR(contacts), testEmail) {
		t.Error("a service ticket signed in to the Notification server")
	}
	if _, ok := g.Check(signIn, "contacts.msn.com"); ok {
		t.Error("the sign-in ticket opened the address book")
	}
	if email, ok := g.Check(contacts, "contacts.msn.com"); !ok || email != testEmail {
		t.Errorf("contacts token: %q %v", email, ok)
	}
	if _, ok := g.Check(contacts, "messenger.msn.com"); ok {
		t.Error("the contacts token opened messenger.msn.com")
	}
	// Offline messages are read with the messenger.msn.com token after it
	// was used to sign in.
	if !tk.Redeem(TicketFromUSR(signIn), testEmail) {
		t.Fatal("sign-in ticket refused")
	}
	if email, ok := g.Check(signIn, "messenger.msn.com"); !ok || email != testEmail {
		t.Errorf("messenger.msn.com after sign-in: %q %v", email, ok)
	}
}
