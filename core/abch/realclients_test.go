package abch_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/store"
)

// pidginFindMembership is the request of Pidgin 2.10.9 (contact.c,
// MSN_GET_CONTACT_TEMPLATE) as its soap.c writes it: HTTP/1.1 on a kept
// connection, a path with a doubled slash, the SOAPAction unquoted, every
// element with its own xmlns.
const pidginFindMembership = `<?xml version='1.0' encoding='utf-8'?>` +
	`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` +
	`<soap:Header xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` +
	`<ABApplicationHeader xmlns="http://www.msn.com/webservices/AddressBook">` +
	`<ApplicationId xmlns="http://www.msn.com/webservices/AddressBook">CFE80F9D-180F-4399-82AB-413F33A1FA11</ApplicationId>` +
	`<IsMigration xmlns="http://www.msn.com/webservices/AddressBook">false</IsMigration>` +
	`<PartnerScenario xmlns="http://www.msn.com/webservices/AddressBook">Initial</PartnerScenario>` +
	`</ABApplicationHeader>` +
	`<ABAuthHeader xmlns="http://www.msn.com/webservices/AddressBook">` +
	`<ManagedGroupRequest xmlns="http://www.msn.com/webservices/AddressBook">false</ManagedGroupRequest>` +
	`<TicketToken>%s</TicketToken>` +
	`</ABAuthHeader></soap:Header>` +
	`<soap:Body xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` +
	`<FindMembership xmlns="http://www.msn.com/webservices/AddressBook">` +
	`<serviceFilter xmlns="http://www.msn.com/webservices/AddressBook">` +
	`<Types xmlns="http://www.msn.com/webservices/AddressBook">` +
	`<ServiceType xmlns="http://www.msn.com/webservices/AddressBook">Messenger</ServiceType>` +
	`<ServiceType xmlns="http://www.msn.com/webservices/AddressBook">Invitation</ServiceType>` +
	`<ServiceType xmlns="http://www.msn.com/webservices/AddressBook">SocialNetwork</ServiceType>` +
	`<ServiceType xmlns="http://www.msn.com/webservices/AddressBook">Space</ServiceType>` +
	`<ServiceType xmlns="http://www.msn.com/webservices/AddressBook">Profile</ServiceType>` +
	`</Types></serviceFilter></FindMembership></soap:Body></soap:Envelope>`

// TestPidginReadsByContentLength: Pidgin 2.5–2.10's soap.c reads a body
// of the Content-Length it was given and knows nothing of chunks, so an
// answer longer than the HTTP server buffers before it chunks (a list of
// a few contacts) must still say its length, on the connection Pidgin
// keeps for the next request.
func TestPidginReadsByContentLength(t *testing.T) {
	srv, st := setup(t)
	ctx := context.Background()
	for _, who := range []string{"bob", "carol", "dave"} {
		for _, l := range []store.List{store.Forward, store.Allow} {
			if _, err := st.AddToList(ctx, "alice@example.com", who+"@example.com", l, "", ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := signIn(t, srv, "alice@example.com", "pw-alice")
	u, _ := url.Parse(srv.HTTPSURL)
	c, err := tls.Dial("tcp", u.Host, insecureTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ { // twice: the connection is kept
		body := fmt.Sprintf(pidginFindMembership, b.ticket)
		fmt.Fprintf(c, "POST //abservice/SharingService.asmx HTTP/1.1\r\n"+
			"SOAPAction: http://www.msn.com/webservices/AddressBook/FindMembership\r\n"+
			"Content-Type:text/xml; charset=utf-8\r\n"+
			"User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\n"+
			"Accept: */*\r\n"+
			"Host: local-bay.contacts.msn.com\r\n"+
			"Content-Length: %d\r\n"+
			"Connection: Keep-Alive\r\n"+
			"Cache-Control: no-cache\r\n\r\n%s", len(body), body)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(resp.TransferEncoding) != 0 ||
			resp.Header.Get("Content-Length") != strconv.Itoa(len(out)) {
			t.Fatalf("HTTP %d, Transfer-Encoding %v, Content-Length %q for %d bytes",
				resp.StatusCode, resp.TransferEncoding, resp.Header.Get("Content-Length"), len(out))
		}
		if len(out) < 2048 || !strings.Contains(string(out), "<PassportName>dave@example.com</PassportName>") {
			t.Fatalf("the answer (%d bytes) is not the list asked for:\n%s", len(out), out)
		}
	}
}

// TestPidginAcceptsPendingByMembershipId: Pidgin 2.5–2.10 keeps a pending
// membership's id with atoi and writes it back with %u (contact.c), so the
// id must survive a trip through a C int; it then accepts with
// DeleteMember(Pending) by MembershipId and, on success only, AddMember
// (Reverse). A fault left it there, as it did when the ADL that Pidgin
// sends the NS first had already taken the contact off the pending list.
func TestPidginAcceptsPendingByMembershipId(t *testing.T) {
	srv, st := setup(t)
	ctx := context.Background()
	if _, err := st.AddToList(ctx, "dave@example.com", "alice@example.com", store.Forward, "Alice", ""); err != nil {
		t.Fatal(err)
	}
	a := signIn(t, srv, "alice@example.com", "pw-alice")
	out := a.ok(sharing, "FindMembership", "Initial", findMembership)
	i := strings.Index(out, "<MemberRole>Pending</MemberRole>")
	if i < 0 {
		t.Fatalf("no pending membership:\n%s", out)
	}
	id := between(out[i:], "<MembershipId>", "</MembershipId>")
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatalf("pending MembershipId %q is not a number", id)
	}
	asC := strconv.FormatUint(uint64(uint32(int32(n))), 10) // atoi, then %u
	memberByID := func(method, role string) string {
		return `<` + method + ` xmlns="http://www.msn.com/webservices/AddressBook"><serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>` + role + `</MemberRole><Members>` +
			`<Member xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="PassportMember"><Type>Passport</Type><MembershipId>` + asC + `</MembershipId><State>Accepted</State></Member>` +
			`</Members></Membership></memberships></` + method + `>`
	}
	// Pidgin's ADL of AL reaches the NS first and already clears PL.
	if _, err := st.AddToList(ctx, "alice@example.com", "dave@example.com", store.Allow, "", ""); err != nil {
		t.Fatal(err)
	}
	a.ok(sharing, "DeleteMember", "ContactMsgrAPI", memberByID("DeleteMember", "Pending"))
	if l, _ := st.Listed(ctx, "alice@example.com", "dave@example.com"); l&store.Pending != 0 {
		t.Errorf("dave still pending: %v", l)
	}
}

// between is the text of s between the first open and the close after it.
func between(s, open, close string) string {
	_, s, _ = strings.Cut(s, open)
	s, _, _ = strings.Cut(s, close)
	return s
}
