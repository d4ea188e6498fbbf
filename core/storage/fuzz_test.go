package storage

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
// a panic, and a picture is kept only if it is an image.
func FuzzHandler(f *testing.F) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), store.Options{BcryptCost: 4})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	var cid string
	for _, u := range []string{"alice@example.com", "bob@example.com"} {
		a, err := st.CreateAccount(ctx, u, "pw", u)
		if err != nil {
			f.Fatal(err)
		}
		cid = hexCID(a.CID)
	}
	h := Handler(Config{Store: st, Grants: oneTicket{"alice@example.com"}})
	head := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><StorageUserHeader><TicketToken>good</TicketToken></StorageUserHeader></soap:Header><soap:Body>`
	for _, body := range []string{
		`<GetProfile xmlns="http://www.msn.com/webservices/storage/w10"><profileHandle><Alias><Name>` + cid + `</Name><NameSpace>MyCidStuff</NameSpace></Alias></profileHandle></GetProfile>`,
		`<GetProfile><profileHandle><ResourceID>` + cid + `!106</ResourceID></profileHandle></GetProfile>`,
		`<UpdateProfile><profile><ResourceID>x!106</ResourceID><ExpressionProfile><DisplayName>n</DisplayName><PersonalStatus>p</PersonalStatus></ExpressionProfile></profile><profileAttributesToDelete><ExpressionProfileAttributes><PersonalStatus>true</PersonalStatus></ExpressionProfileAttributes></profileAttributesToDelete></UpdateProfile>`,
		`<CreateDocument><parentHandle><Alias><Name>1</Name></Alias></parentHandle><document><DocumentStreams><DocumentStream><DocumentStreamType>UserTileStatic</DocumentStreamType><Data>R0lGODlhAQABAAAAACw=</Data></DocumentStream></DocumentStreams></document></CreateDocument>`,
		`<UpdateDocument><document><ResourceID>` + cid + `!205</ResourceID></document></UpdateDocument>`,
		`<DeleteRelationships><sourceHandle><ResourceID>` + cid + `!106</ResourceID></sourceHandle><targetHandles><ObjectHandle><ResourceID>` + cid + `!205</ResourceID></ObjectHandle></targetHandles></DeleteRelationships>`,
		`<CreateRelationships><relationships><Relationship><SourceID>a!1</SourceID><TargetID>b!2</TargetID></Relationship></relationships></CreateRelationships>`,
		`<FindDocuments><objectHandle><Alias><Name>-5</Name></Alias></objectHandle></FindDocuments>`,
		`<ShareItem><resourceID>` + cid + `!118</resourceID></ShareItem>`, `<CreateProfile/>`, `<GetItemVersion/>`,
	} {
		f.Add(head + body + `</soap:Body></soap:Envelope>`)
	}
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body)))
		if w.Code == http.StatusOK && !strings.Contains(w.Body.String(), "Response xmlns=") {
			t.Fatalf("200 without a response element: %s", w.Body.String())
		}
		p, err := st.Profile(ctx, "alice@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if p.Picture.ID != "" {
			pic, err := st.PictureByID(ctx, p.Picture.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := pictureType(pic.Data); !ok {
				t.Fatalf("kept a picture that is not an image: %q", pic.Data)
			}
		}
	})
}

// FuzzResourceID: whatever a client names, an id that parses prints as an
// id that parses to the same item.
func FuzzResourceID(f *testing.F) {
	for _, s := range []string{"0102030405060708!106", "ffffffffffffffff!205", "!", "a!b", "0102030405060708!-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cid, n, ok := parseResourceID(s)
		if !ok {
			return
		}
		if c2, n2, ok2 := parseResourceID(resourceID(cid, n)); !ok2 || c2 != cid || n2 != n {
			t.Fatalf("%q parsed as %d, %d; printed as %q, which parses as %d, %d, %v", s, cid, n, resourceID(cid, n), c2, n2, ok2)
		}
	})
}
