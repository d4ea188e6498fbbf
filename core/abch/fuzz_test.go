package abch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/store"
)

type oneTicket struct{ email string }

func (o oneTicket) Check(token, domain string) (string, bool) {
	return o.email, strings.Contains(token, "good")
}

// FuzzHandler feeds arbitrary bodies to every method with a good ticket:
// whatever arrives, the answer is a SOAP document or an HTTP error, never
// a panic.
func FuzzHandler(f *testing.F) {
	st, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"), store.Options{BcryptCost: 4})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	for _, u := range []string{"alice@example.com", "bob@example.com"} {
		if _, err := st.CreateAccount(context.Background(), u, "pw", u); err != nil {
			f.Fatal(err)
		}
	}
	h := Handler(Config{Store: st, Grants: oneTicket{"alice@example.com"}})
	head := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><ABAuthHeader><TicketToken>good</TicketToken></ABAuthHeader></soap:Header><soap:Body>`
	for _, body := range []string{
		`<ABFindAll><abId>00000000-0000-0000-0000-000000000000</abId><deltasOnly>true</deltasOnly><lastChange>2030-01-01T00:00:00Z</lastChange></ABFindAll>`,
		`<ABContactAdd><contacts><Contact><contactInfo><passportName>bob@example.com</passportName><annotations><Annotation><Name>AB.NickName</Name><Value>x</Value></Annotation></annotations></contactInfo></Contact></contacts></ABContactAdd>`,
		`<AddMember><memberships><Membership><MemberRole>Block</MemberRole><Members><Member><MembershipId>Allow/x</MembershipId></Member></Members></Membership></memberships></AddMember>`,
		`<ABGroupContactAdd><groupFilter><groupIds><guid>x</guid></groupIds></groupFilter><contacts><Contact><contactId>y</contactId></Contact></contacts></ABGroupContactAdd>`,
		`<ABContactUpdate><contacts><Contact><contactInfo><contactType>Me</contactType><displayName>n</displayName><annotations><Annotation><Name>MSN.IM.BLP</Name><Value>1</Value></Annotation></annotations></contactInfo><propertiesChanged>DisplayName</propertiesChanged></Contact></contacts></ABContactUpdate>`,
		`<FindMembership/>`, `<ABGroupAdd><groupInfo><GroupInfo><name>g</name></GroupInfo></groupInfo></ABGroupAdd>`,
	} {
		f.Add(head + body + `</soap:Body></soap:Envelope>`)
	}
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/abservice/abservice.asmx", strings.NewReader(body)))
		if w.Code == http.StatusOK && !strings.Contains(w.Body.String(), "Response xmlns=") {
			t.Fatalf("200 without a response element: %s", w.Body.String())
		}
	})
}
