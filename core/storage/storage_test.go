package storage_test

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
)

// The requests below are what the clients send, from their sources:
// bitlbee 3.2 (soap.h SOAP_PROFILE_GET_PAYLOAD, SOAP_PROFILE_SET_DN_PAYLOAD),
// aMSN 0.98 and emesene 1.x (roaming.tcl, XmlTemplates: GetProfile,
// UpdateProfile, CreateProfile, ShareItem, FindDocuments, CreateDocument,
// DeleteRelationships, GetItemVersion) and MSNPSharp 3 (the 2008
// namespace: CreateDocument under /MyProfile/ExpressionProfile,
// CreateRelationships, UpdateDocument).

const (
	w10   = "http://www.msn.com/webservices/storage/w10"
	v2008 = "http://www.msn.com/webservices/storage/2008"
)

// envelope wraps body with the headers clients send; scenario and app as
// each client names them.
func envelope(ns, app, scenario, ticket, body string) string {
	return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Header xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` +
		`<StorageApplicationHeader xmlns="` + ns + `"><ApplicationID>` + app + `</ApplicationID><Scenario>` + scenario + `</Scenario></StorageApplicationHeader>` +
		`<StorageUserHeader xmlns="` + ns + `"><Puid>0</Puid><TicketToken>` + ticket + `</TicketToken></StorageUserHeader></soap:Header>` +
		`<soap:Body xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` + body + `</soap:Body></soap:Envelope>`
}

type client struct {
	t      *testing.T
	srv    *coretest.Server
	hc     *http.Client
	url    string // where the storage service is asked
	ticket string // XML-escaped, as clients write it
	cid    string // decimal, from the address book's Me contact
}

func newClient(t *testing.T, srv *coretest.Server, email, password string) *client {
	t.Helper()
	tokens := srv.Tokens(t, email, password, "http://Passport.NET/tb", "messengerclear.live.com", "contacts.msn.com",
		"messengersecure.live.com", "storage.msn.com")
	// Over TLS, trusting the service's CA and checking its certificate
	// for storage.msn.com, as bitlbee's hosts file would have it.
	c := &client{t: t, srv: srv, hc: srv.HTTPSClient(t, "storage.msn.com"), url: srv.HTTPSURL + Path, ticket: strings.ReplaceAll(tokens["storage.msn.com"], "&", "&amp;")}
	if c.ticket == "" {
		t.Fatalf("no storage.msn.com token in %v", tokens)
	}
	c.cid = meCID(t, srv, strings.ReplaceAll(tokens["contacts.msn.com"], "&", "&amp;"))
	return c
}

const Path = "/storageservice/SchematizedStore.asmx"

// meCID reads the Me contact's CID from ABFindAll, as bitlbee does before
// it asks for the profile.
func meCID(t *testing.T, srv *coretest.Server, ticket string) string {
	t.Helper()
	doc := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><ABApplicationHeader xmlns="http://www.msn.com/webservices/AddressBook"><ApplicationId>CFE80F9D-180F-4399-82AB-413F33A1FA11</ApplicationId><IsMigration>false</IsMigration><PartnerScenario>Initial</PartnerScenario></ABApplicationHeader><ABAuthHeader xmlns="http://www.msn.com/webservices/AddressBook"><ManagedGroupRequest>false</ManagedGroupRequest><TicketToken>` + ticket + `</TicketToken></ABAuthHeader></soap:Header><soap:Body><ABFindAll xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><abView>Full</abView><deltasOnly>false</deltasOnly><lastChange>0001-01-01T00:00:00.0000000-08:00</lastChange></ABFindAll></soap:Body></soap:Envelope>`
	_, out := do(t, http.DefaultClient, srv.HTTPURL+"/abservice/abservice.asmx", "http://www.msn.com/webservices/AddressBook/ABFindAll", doc, nil)
	m := regexp.MustCompile(`<contactType>Me</contactType>.*?<CID>(-?\d+)</CID>`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Me CID in\n%s", out)
	}
	return m[1]
}

func do(t *testing.T, hc *http.Client, url, action, doc string, cookie *http.Cookie) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(doc))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+action+`"`)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// call sends a w10 request the way aMSN does and expects success.
func (c *client) call(method, scenario, body string) string {
	c.t.Helper()
	return c.callNS(w10, method, "Messenger Client 8.5", scenario, body)
}

func (c *client) callNS(ns, method, app, scenario, body string) string {
	c.t.Helper()
	status, out := do(c.t, c.hc, c.url, ns+"/"+method, envelope(ns, app, scenario, c.ticket, body), nil)
	if status != http.StatusOK || !strings.Contains(out, "<"+method+`Response xmlns="`+ns+`"`) {
		c.t.Fatalf("%s: HTTP %d\n%s", method, status, out)
	}
	if !strings.Contains(out, `<AffinityCacheHeader xmlns="`+ns+`"><CacheKey>`) {
		c.t.Fatalf("%s: no AffinityCacheHeader\n%s", method, out)
	}
	return out
}

// fault sends a request and expects a fault with errorcode code.
func (c *client) fault(method, body, code string) {
	c.t.Helper()
	status, out := do(c.t, c.hc, c.url, w10+"/"+method, envelope(w10, "Messenger Client 8.5", "RoamingIdentityChanged", c.ticket, body), nil)
	if status != http.StatusInternalServerError || !strings.Contains(out, "<soap:Fault>") ||
		!strings.Contains(out, `<errorcode xmlns="`+w10+`">`+code+`</errorcode>`) {
		c.t.Fatalf("%s: want fault %s, got HTTP %d\n%s", method, code, status, out)
	}
}

func getProfile(cid string) string {
	return `<GetProfile xmlns="http://www.msn.com/webservices/storage/w10"><profileHandle><Alias><Name>` + cid +
		`</Name><NameSpace>MyCidStuff</NameSpace></Alias><RelationshipName>MyProfile</RelationshipName></profileHandle>` +
		`<profileAttributes><ResourceID>true</ResourceID><DateModified>true</DateModified><ExpressionProfileAttributes>` +
		`<ResourceID>true</ResourceID><DateModified>true</DateModified><DisplayName>true</DisplayName><DisplayNameLastModified>true</DisplayNameLastModified>` +
		`<PersonalStatus>true</PersonalStatus><PersonalStatusLastModified>true</PersonalStatusLastModified><StaticUserTilePublicURL>true</StaticUserTilePublicURL>` +
		`<Photo>true</Photo><Flags>true</Flags></ExpressionProfileAttributes></profileAttributes></GetProfile>`
}

// profile is what clients read of a GetProfile answer.
type profile struct {
	ResourceID string `xml:"Body>GetProfileResponse>GetProfileResult>ResourceID"`
	Expression struct {
		ResourceID string `xml:"ResourceID"`
		Name       string `xml:"DisplayName"`
		Message    string `xml:"PersonalStatus"`
		Photo      *struct {
			ResourceID string `xml:"ResourceID"`
			Streams    []struct {
				Name string `xml:"DocumentStreamName"`
				Type string `xml:"DocumentStreamType"`
				Mime string `xml:"MimeType"`
				Size int    `xml:"DataSize"`
				URL  string `xml:"PreAuthURL"`
			} `xml:"DocumentStreams>DocumentStream"`
		} `xml:"Photo"`
		Public string `xml:"StaticUserTilePublicURL"`
	} `xml:"Body>GetProfileResponse>GetProfileResult>ExpressionProfile"`
}

func parseProfile(t *testing.T, out string) profile {
	t.Helper()
	var p profile
	if err := xml.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return p
}

func pngOf(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for i := range 96 * 96 {
		img.Set(i%96, i/96, c)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func fetch(t *testing.T, url string) (int, []byte, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header.Get("Content-Type")
}

// TestBitlbee: bitlbee 3.2 asks for the profile by the Me contact's CID
// over HTTPS and does not finish signing in without the answer; it reads
// GetProfileResult/ResourceID and ExpressionProfile/DisplayName, and
// renames with UpdateProfile on that ResourceID.
func TestBitlbee(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "bee@example.com", "secret1", "Bee")
	c := newClient(t, srv, "bee@example.com", "secret1")

	out := c.callNS(w10, "GetProfile", "Messenger Client 9.0", "Initial", getProfile(c.cid))
	p := parseProfile(t, out)
	if !regexp.MustCompile(`^[0-9a-f]{16}!106$`).MatchString(p.ResourceID) || p.Expression.Name != "Bee" || p.Expression.Photo != nil {
		t.Fatalf("profile %+v\n%s", p, out)
	}
	c.callNS(w10, "UpdateProfile", "Messenger Client 9.0", "Initial",
		`<UpdateProfile xmlns="http://www.msn.com/webservices/storage/w10"><profile><ResourceID>`+p.ResourceID+
			`</ResourceID><ExpressionProfile><FreeText>Update</FreeText><DisplayName>Busy Bee &amp; co</DisplayName><Flags>0</Flags></ExpressionProfile></profile></UpdateProfile>`)
	if a, err := srv.Store.Account(t.Context(), "bee@example.com"); err != nil || a.FriendlyName != "Busy Bee & co" {
		t.Fatalf("account after UpdateProfile: %+v, %v", a, err)
	}
	if p := parseProfile(t, c.call("GetProfile", "Initial", getProfile(c.cid))); p.Expression.Name != "Busy Bee & co" {
		t.Fatalf("display name after UpdateProfile: %q", p.Expression.Name)
	}
}

// TestAMSNRoaming follows aMSN 0.98 (and emesene 1.x, which sends the
// same): the profile, a new personal message, a display picture uploaded
// with CreateDocument under /UserTiles and fetched from its PreAuthURL
// over plain HTTP, then replaced the way aMSN does it (two
// DeleteRelationships, then CreateDocument).
func TestAMSNRoaming(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "amsn@example.com", "secret1", "aMSN user")
	c := newClient(t, srv, "amsn@example.com", "secret1")

	p := parseProfile(t, c.call("GetProfile", "RoamingSeed", getProfile(c.cid)))
	if p.Expression.ResourceID == "" {
		t.Fatal("no ExpressionProfile/ResourceID: aMSN would create a profile")
	}
	c.call("UpdateProfile", "RoamingIdentityChanged", `<UpdateProfile xmlns="http://www.msn.com/webservices/storage/w10"><profile><ResourceID>`+p.ResourceID+
		`</ResourceID><ExpressionProfile><FreeText>Update</FreeText><DisplayName>aMSN user</DisplayName><PersonalStatus>listening to the radio</PersonalStatus><Flags>0</Flags></ExpressionProfile></profile></UpdateProfile>`)

	pic := pngOf(t, color.RGBA{200, 0, 0, 255})
	createDoc := func(data []byte) string {
		out := c.call("CreateDocument", "RoamingSeed", `<CreateDocument xmlns="http://www.msn.com/webservices/storage/w10"><parentHandle><RelationshipName>/UserTiles</RelationshipName><Alias><Name>`+c.cid+
			`</Name><NameSpace>MyCidStuff</NameSpace></Alias></parentHandle><document xsi:type="Photo"><Name>mypicture</Name><DocumentStreams><DocumentStream xsi:type="PhotoStream"><DocumentStreamType>UserTileStatic</DocumentStreamType><MimeType>png</MimeType><Data>`+
			base64.StdEncoding.EncodeToString(data)+`</Data><DataSize>0</DataSize></DocumentStream></DocumentStreams></document><relationshipName>Messenger User Tile</relationshipName></CreateDocument>`)
		m := regexp.MustCompile(`<CreateDocumentResult>([0-9a-f]{16}![0-9]+)</CreateDocumentResult>`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("CreateDocument answer:\n%s", out)
		}
		return m[1]
	}
	dp := createDoc(pic)
	if !strings.HasSuffix(dp, "!205") {
		t.Fatalf("first picture id %s", dp)
	}
	p = parseProfile(t, c.call("GetProfile", "RoamingSeed", getProfile(c.cid)))
	if p.Expression.Message != "listening to the radio" || p.Expression.Photo == nil || p.Expression.Photo.ResourceID != dp ||
		len(p.Expression.Photo.Streams) != 1 || p.Expression.Photo.Streams[0].Type != "UserTileStatic" ||
		p.Expression.Photo.Streams[0].Mime != "image/png" || p.Expression.Photo.Streams[0].Size != len(pic) {
		t.Fatalf("profile with a picture: %+v", p)
	}
	url := p.Expression.Photo.Streams[0].URL
	if !strings.HasPrefix(url, "http://") || url != p.Expression.Public {
		t.Fatalf("PreAuthURL %q (aMSN fetches http:// only), public URL %q", url, p.Expression.Public)
	}
	// The address names the host the client asked and the HTTP port.
	if want := "http://" + strings.TrimPrefix(srv.HTTPURL, "http://") + "/storage/usertile/"; !strings.HasPrefix(url, want) {
		t.Fatalf("PreAuthURL %q, want it under %s", url, want)
	}
	status, got, typ := fetch(t, url)
	if status != http.StatusOK || !bytes.Equal(got, pic) || typ != "image/png" {
		t.Fatalf("GET %s: %d %s, %d bytes", url, status, typ, len(got))
	}
	found := c.call("FindDocuments", "RoamingIdentityChanged", `<FindDocuments xmlns="http://www.msn.com/webservices/storage/w10"><objectHandle><RelationshipName>/UserTiles</RelationshipName><Alias><Name>`+c.cid+
		`</Name><NameSpace>MyCidStuff</NameSpace></Alias></objectHandle><documentAttributes><ResourceID>true</ResourceID><Name>true</Name></documentAttributes><documentFilter><FilterAttributes>None</FilterAttributes></documentFilter><documentSort><SortBy>DateModified</SortBy></documentSort><findContext><FindMethod>Default</FindMethod><ChunkSize>25</ChunkSize></findContext></FindDocuments>`)
	if !strings.Contains(found, "<FindDocumentsResult><Document xsi:type=\"Photo\"><ResourceID>"+dp+"</ResourceID>") {
		t.Fatalf("FindDocuments:\n%s", found)
	}

	// aMSN's picture change: DeleteRelationships from /UserTiles, then
	// from the profile (the picture is already gone: still a success),
	// then CreateDocument.
	c.call("DeleteRelationships", "RoamingSeed", `<DeleteRelationships xmlns="http://www.msn.com/webservices/storage/w10"><sourceHandle><RelationshipName>/UserTiles</RelationshipName><Alias><Name>`+c.cid+
		`</Name><NameSpace>MyCidStuff</NameSpace></Alias></sourceHandle><targetHandles><ObjectHandle><ResourceID>`+dp+`</ResourceID></ObjectHandle></targetHandles></DeleteRelationships>`)
	if status, _, _ := fetch(t, url); status != http.StatusNotFound {
		t.Fatalf("the removed picture is still served: %d", status)
	}
	c.call("DeleteRelationships", "RoamingSeed", `<DeleteRelationships xmlns="http://www.msn.com/webservices/storage/w10"><sourceHandle><ResourceID>`+p.ResourceID+
		`</ResourceID></sourceHandle><targetHandles><ObjectHandle><ResourceID>`+dp+`</ResourceID></ObjectHandle></targetHandles></DeleteRelationships>`)
	if p := parseProfile(t, c.call("GetProfile", "RoamingSeed", getProfile(c.cid))); p.Expression.Photo != nil {
		t.Fatalf("profile still has a picture: %+v", p.Expression.Photo)
	}
	dp2 := createDoc(pngOf(t, color.RGBA{0, 0, 200, 255}))
	if dp2 == dp || !strings.HasSuffix(dp2, "!206") {
		t.Fatalf("second picture id %s after %s", dp2, dp)
	}

	// The personal message is cleared the way WLM clears it.
	c.call("UpdateProfile", "RoamingIdentityChanged", `<UpdateProfile xmlns="http://www.msn.com/webservices/storage/w10"><profile><ResourceID>`+p.ResourceID+
		`</ResourceID><ExpressionProfile><FreeText>Update</FreeText><DisplayName>aMSN user</DisplayName><Flags>0</Flags></ExpressionProfile></profile>`+
		`<profileAttributesToDelete><ExpressionProfileAttributes><PersonalStatus>true</PersonalStatus></ExpressionProfileAttributes></profileAttributesToDelete></UpdateProfile>`)
	if p := parseProfile(t, c.call("GetProfile", "RoamingSeed", getProfile(c.cid))); p.Expression.Message != "" {
		t.Fatalf("personal message after deleting it: %q", p.Expression.Message)
	}

	// CreateProfile and ShareItem (aMSN, after a GetProfile without a
	// profile) are answered with the profile that exists.
	out := c.call("CreateProfile", "RoamingSeed", `<CreateProfile xmlns="http://www.msn.com/webservices/storage/w10"><profile><ExpressionProfile><PersonalStatus/><RoleDefinitionName>ExpressionProfileDefault</RoleDefinitionName></ExpressionProfile></profile></CreateProfile>`)
	if !strings.Contains(out, "<CreateProfileResult>"+p.ResourceID+"</CreateProfileResult>") {
		t.Fatalf("CreateProfile:\n%s", out)
	}
	c.call("ShareItem", "RoamingSeed", `<ShareItem xmlns="http://www.msn.com/webservices/storage/w10"><resourceID>`+p.ResourceID+`</resourceID><displayName>Messenger Roaming Identity</displayName></ShareItem>`)
}

// TestMSNPSharp2008 speaks the 2008 namespace as MSNPSharp 3 (and WLM
// 2009) does: the answer comes in it; the picture is created under the
// expression profile, tied with CreateRelationships and replaced with
// UpdateDocument.
func TestMSNPSharp2008(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "sharp@example.com", "secret1", "Sharp")
	c := newClient(t, srv, "sharp@example.com", "secret1")
	get := strings.ReplaceAll(getProfile(c.cid), w10, v2008)
	p := parseProfile(t, c.callNS(v2008, "GetProfile", "Messenger Client 8.5", "Initial", get))

	out := c.callNS(v2008, "CreateDocument", "Messenger Client 8.5", "LivePlatformSyncChangesToServer0",
		`<CreateDocument xmlns="http://www.msn.com/webservices/storage/2008"><parentHandle><RelationshipName>/MyProfile/ExpressionProfile</RelationshipName><Alias><Name>`+c.cid+
			`</Name><NameSpace>MyCidStuff</NameSpace></Alias></parentHandle><document xsi:type="Photo"><Name>me</Name><DocumentStreams><DocumentStream xsi:type="PhotoStream"><MimeType>image/png</MimeType><Data>`+
			base64.StdEncoding.EncodeToString(pngOf(t, color.White))+`</Data><DataSize>0</DataSize><DocumentStreamType>UserTileStatic</DocumentStreamType></DocumentStream></DocumentStreams></document><relationshipName>ProfilePhoto</relationshipName></CreateDocument>`)
	dp := regexp.MustCompile(`<CreateDocumentResult>([^<]+)</CreateDocumentResult>`).FindStringSubmatch(out)[1]
	c.callNS(v2008, "CreateRelationships", "Messenger Client 8.5", "LivePlatformSyncChangesToServer0",
		`<CreateRelationships xmlns="http://www.msn.com/webservices/storage/2008"><relationships><Relationship><SourceID>`+p.Expression.ResourceID+
			"\n"+`</SourceID><SourceType>SubProfile</SourceType><TargetID>`+dp+`</TargetID><TargetType>Photo</TargetType><RelationshipName>ProfilePhoto</RelationshipName></Relationship></relationships></CreateRelationships>`)
	black := pngOf(t, color.Black)
	c.callNS(v2008, "UpdateDocument", "Messenger Client 8.5", "LivePlatformSyncChangesToServer0",
		`<UpdateDocument xmlns="http://www.msn.com/webservices/storage/2008"><document xsi:type="Photo"><ResourceID>`+dp+`</ResourceID><Name>me</Name><DocumentStreams><DocumentStream xsi:type="PhotoStream"><MimeType>image/png</MimeType><Data>`+
			base64.StdEncoding.EncodeToString(black)+`</Data><DataSize>0</DataSize><DocumentStreamType>UserTileStatic</DocumentStreamType></DocumentStream></DocumentStreams></document></UpdateDocument>`)
	p = parseProfile(t, c.callNS(v2008, "GetProfile", "Messenger Client 8.5", "Initial", get))
	if p.Expression.Photo == nil || !strings.HasSuffix(p.Expression.Photo.ResourceID, "!206") {
		t.Fatalf("after UpdateDocument: %+v", p.Expression.Photo)
	}
	if _, got, _ := fetch(t, p.Expression.Photo.Streams[0].URL); !bytes.Equal(got, black) {
		t.Fatal("UpdateDocument did not replace the picture")
	}
}

// TestOthersProfiles: aMSN asks for its contacts' profiles by their CIDs.
// A profile is shown to whom its owner shows their presence; someone
// blocked gets what a CID of nobody gets.
func TestOthersProfiles(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "secret1", "Alice")
	srv.AddUser(t, "bob@example.com", "secret2", "Bob")
	alice := newClient(t, srv, "alice@example.com", "secret1")
	bob := newClient(t, srv, "bob@example.com", "secret2")
	bob.call("UpdateProfile", "RoamingIdentityChanged", `<UpdateProfile xmlns="http://www.msn.com/webservices/storage/w10"><profile><ExpressionProfile><PersonalStatus>on holiday</PersonalStatus></ExpressionProfile></profile></UpdateProfile>`)

	p := parseProfile(t, alice.call("GetProfile", "RoamingSeed", getProfile(bob.cid)))
	if p.Expression.Name != "Bob" || p.Expression.Message != "on holiday" {
		t.Fatalf("bob's profile as alice sees it: %+v", p)
	}
	// Alice cannot change Bob's profile.
	alice.fault("UpdateProfile", `<UpdateProfile xmlns="http://www.msn.com/webservices/storage/w10"><profile><ResourceID>`+p.ResourceID+
		`</ResourceID><ExpressionProfile><DisplayName>pwned</DisplayName></ExpressionProfile></profile></UpdateProfile>`, "AccessDenied")
	alice.fault("CreateDocument", `<CreateDocument xmlns="http://www.msn.com/webservices/storage/w10"><parentHandle><RelationshipName>/UserTiles</RelationshipName><Alias><Name>`+bob.cid+
		`</Name><NameSpace>MyCidStuff</NameSpace></Alias></parentHandle><document><DocumentStreams><DocumentStream><DocumentStreamType>UserTileStatic</DocumentStreamType><Data>AAAA</Data></DocumentStream></DocumentStreams></document></CreateDocument>`, "AccessDenied")

	if _, err := srv.Store.AddToList(t.Context(), "bob@example.com", "alice@example.com", 4 /* BL */, "", ""); err != nil {
		t.Fatal(err)
	}
	alice.fault("GetProfile", getProfile(bob.cid), "ItemDoesNotExist")
	alice.fault("GetProfile", getProfile("123456789"), "ItemDoesNotExist")
	alice.fault("GetProfile", getProfile("not a cid"), "ItemDoesNotExist")
}

// TestRefusals: without a good ticket nothing is answered; a picture that
// is not an image, or too large, is refused; GetItemVersion (aMSN and
// emesene ask about contacts' Spaces with the Passport cookie) finds none.
func TestRefusals(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "carol@example.com", "secret1", "Carol")
	c := newClient(t, srv, "carol@example.com", "secret1")

	status, out := do(t, c.hc, c.url, w10+"/GetProfile", envelope(w10, "Messenger Client 9.0", "Initial", "t=forged&amp;p=", getProfile(c.cid)), nil)
	if status != http.StatusInternalServerError || !strings.Contains(out, ">PassportAuthFail</errorcode>") {
		t.Fatalf("forged ticket: HTTP %d\n%s", status, out)
	}
	contacts := srv.Tokens(t, "carol@example.com", "secret1", "contacts.msn.com")["contacts.msn.com"]
	status, _ = do(t, c.hc, c.url, w10+"/GetProfile", envelope(w10, "Messenger Client 9.0", "Initial", strings.ReplaceAll(contacts, "&", "&amp;"), getProfile(c.cid)), nil)
	if status != http.StatusInternalServerError {
		t.Fatalf("an address book ticket opened the storage service: HTTP %d", status)
	}

	doc := func(data string) string {
		return `<CreateDocument xmlns="http://www.msn.com/webservices/storage/w10"><parentHandle><RelationshipName>/UserTiles</RelationshipName><Alias><Name>` + c.cid +
			`</Name><NameSpace>MyCidStuff</NameSpace></Alias></parentHandle><document xsi:type="Photo"><Name>x</Name><DocumentStreams><DocumentStream xsi:type="PhotoStream"><DocumentStreamType>UserTileStatic</DocumentStreamType><MimeType>png</MimeType><Data>` +
			data + `</Data><DataSize>0</DataSize></DocumentStream></DocumentStreams></document><relationshipName>Messenger User Tile</relationshipName></CreateDocument>`
	}
	c.fault("CreateDocument", doc(base64.StdEncoding.EncodeToString([]byte("<script>not a picture</script>"))), "InvalidArgument")
	c.fault("CreateDocument", doc("!!! not base64"), "InvalidArgument")
	c.fault("CreateDocument", doc(base64.StdEncoding.EncodeToString(make([]byte, 129<<10))), "InvalidArgument")
	big := image.NewGray(image.Rect(0, 0, 2000, 10))
	var b bytes.Buffer
	_ = png.Encode(&b, big)
	c.fault("CreateDocument", doc(base64.StdEncoding.EncodeToString(b.Bytes())), "InvalidArgument")
	c.fault("Frobnicate", `<Frobnicate xmlns="http://www.msn.com/webservices/storage/w10"/>`, "NotImplemented")

	if status, _, _ := fetch(t, srv.HTTPURL+"/storage/usertile/00000000-0000-4000-8000-000000000000/static"); status != http.StatusNotFound {
		t.Fatalf("an unknown picture: HTTP %d", status)
	}

	nsTicket := srv.Tokens(t, "carol@example.com", "secret1", "messenger.msn.com")["messenger.msn.com"]
	tval := strings.TrimPrefix(strings.SplitN(nsTicket, "&", 2)[0], "t=")
	spaces := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><StorageApplicationHeader xmlns="http://www.msn.com/webservices/storage/w10"><ApplicationID>Messenger Client 7.0</ApplicationID></StorageApplicationHeader><StorageUserHeader xmlns="http://www.msn.com/webservices/storage/w10"><Puid>0</Puid><UserAuthCache></UserAuthCache><IPAddress/></StorageUserHeader></soap:Header><soap:Body><GetItemVersion xmlns="http://www.msn.com/webservices/storage/w10"><spaceVersionRequests><SpaceVersionRequest><SpaceHandle><RelationshipName>MySpace</RelationshipName><Alias><NameSpace>MyStuff</NameSpace><Name>dave@example.com</Name></Alias></SpaceHandle><LastModifiedDate>2004-01-01T00:00:00.0000000-08:00</LastModifiedDate></SpaceVersionRequest></spaceVersionRequests><spaceRequestFilter><SpaceFilterAttributes>Annotation</SpaceFilterAttributes><FilterValue>1</FilterValue></spaceRequestFilter></GetItemVersion></soap:Body></soap:Envelope>`
	status, out = do(t, http.DefaultClient, srv.HTTPURL+"/storageservice/schematizedstore.asmx", w10+"/GetItemVersion", spaces, &http.Cookie{Name: "MSPAuth", Value: tval})
	if status != http.StatusOK || !strings.Contains(out, "<GetItemVersionResult/>") {
		t.Fatalf("GetItemVersion with MSPAuth: HTTP %d\n%s", status, out)
	}
	status, _ = do(t, http.DefaultClient, srv.HTTPURL+"/storageservice/schematizedstore.asmx", w10+"/GetItemVersion", spaces, nil)
	if status != http.StatusInternalServerError {
		t.Fatalf("GetItemVersion without a ticket: HTTP %d", status)
	}
}
