package abch_test

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// The requests below are shaped as Pidgin 2.6-2.10 and bitlbee 3.x send
// them (reference/msnp13-18.md §3): SOAPAction quoted or not, the ticket
// in ABAuthHeader/TicketToken with "&amp;", single-quoted attributes.

const abHeader = `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/">
<soap:Header><ABApplicationHeader xmlns="http://www.msn.com/webservices/AddressBook"><ApplicationId>CFE80F9D-180F-4399-82AB-413F33A1FA11</ApplicationId><IsMigration>false</IsMigration><PartnerScenario>%SCENARIO%</PartnerScenario></ABApplicationHeader>
<ABAuthHeader xmlns="http://www.msn.com/webservices/AddressBook"><ManagedGroupRequest>false</ManagedGroupRequest><TicketToken>%TICKET%</TicketToken></ABAuthHeader></soap:Header>
<soap:Body>%BODY%</soap:Body></soap:Envelope>`

type book struct {
	t      *testing.T
	srv    *coretest.Server
	email  string
	ticket string // as the client writes it: t=…&amp;p=
}

// signIn asks RST.srf for tokens as Pidgin 2.6 does and keeps the
// contacts.msn.com one.
func signIn(t *testing.T, srv *coretest.Server, email, password string) *book {
	t.Helper()
	tokens := rst(t, srv, email, password)
	tk := tokens["contacts.msn.com"]
	if tk == "" {
		t.Fatalf("no contacts.msn.com token in %v", tokens)
	}
	return &book{t: t, srv: srv, email: email, ticket: xmlEscape(tk)}
}

func rst(t *testing.T, srv *coretest.Server, email, password string) map[string]string {
	return srv.Tokens(t, email, password)
}

func xmlEscape(s string) string { return strings.ReplaceAll(s, "&", "&amp;") }

// call POSTs a method to path and returns the status and answer.
func (b *book) call(path, method, scenario, body string) (int, string) {
	b.t.Helper()
	return post(b.t, b.srv.HTTPURL+path, method, b.ticket, scenario, body)
}

func post(t *testing.T, url, method, ticket, scenario, body string) (int, string) {
	t.Helper()
	doc := strings.NewReplacer("%SCENARIO%", scenario, "%TICKET%", ticket, "%BODY%", body).Replace(abHeader)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(doc))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"http://www.msn.com/webservices/AddressBook/`+method+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (b *book) ok(path, method, scenario, body string) string {
	b.t.Helper()
	status, out := b.call(path, method, scenario, body)
	if status != http.StatusOK {
		b.t.Fatalf("%s: HTTP %d\n%s", method, status, out)
	}
	if !strings.Contains(out, "<"+method+`Response xmlns="http://www.msn.com/webservices/AddressBook">`) {
		b.t.Fatalf("%s: answer is not a %sResponse:\n%s", method, method, out)
	}
	return out
}

// fault expects an address book fault with errorcode code.
func (b *book) fault(path, method, body, code string) {
	b.t.Helper()
	status, out := b.call(path, method, "Timer", body)
	if status != http.StatusInternalServerError || !strings.Contains(out, `<soap:Fault>`) ||
		!strings.Contains(out, `<errorcode xmlns="http://www.msn.com/webservices/AddressBook">`+code+`</errorcode>`) {
		b.t.Fatalf("%s: want fault %s, got HTTP %d\n%s", method, code, status, out)
	}
}

const (
	sharing = "/abservice/SharingService.asmx"
	abPath  = "/abservice/abservice.asmx"
)

// bitlbee 3.2's FindMembership; Pidgin's is the same with more ServiceTypes.
const findMembership = `<FindMembership xmlns="http://www.msn.com/webservices/AddressBook"><serviceFilter><Types><ServiceType>Messenger</ServiceType><ServiceType>Invitation</ServiceType><ServiceType>SocialNetwork</ServiceType><ServiceType>Space</ServiceType><ServiceType>Profile</ServiceType></Types></serviceFilter></FindMembership>`

const abFindAll = `<ABFindAll xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><abView>Full</abView><deltasOnly>false</deltasOnly><lastChange>0001-01-01T00:00:00.0000000-08:00</lastChange></ABFindAll>`

// members returns role → passport names (not deleted) of a FindMembership answer.
func members(t *testing.T, out string) map[string][]string {
	t.Helper()
	var r struct {
		M []struct {
			Role    string `xml:"MemberRole"`
			Members []struct {
				Name    string `xml:"PassportName"`
				Deleted bool   `xml:"Deleted"`
			} `xml:"Members>Member"`
		} `xml:"Body>FindMembershipResponse>FindMembershipResult>Services>Service>Memberships>Membership"`
	}
	if err := xml.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := map[string][]string{}
	for _, ms := range r.M {
		for _, x := range ms.Members {
			if x.Deleted {
				m[ms.Role+"-deleted"] = append(m[ms.Role+"-deleted"], x.Name)
			} else {
				m[ms.Role] = append(m[ms.Role], x.Name)
			}
		}
	}
	return m
}

type abContact struct {
	ID          string   `xml:"contactId"`
	Type        string   `xml:"contactInfo>contactType"`
	Passport    string   `xml:"contactInfo>passportName"`
	DisplayName string   `xml:"contactInfo>displayName"`
	CID         int64    `xml:"contactInfo>CID"`
	Groups      []string `xml:"contactInfo>groupIds>guid"`
	Annotations []struct {
		Name  string `xml:"Name"`
		Value string `xml:"Value"`
	} `xml:"contactInfo>annotations>Annotation"`
	Deleted bool `xml:"fDeleted"`
}

type abResult struct {
	Groups []struct {
		ID      string `xml:"groupId"`
		Name    string `xml:"groupInfo>name"`
		Deleted bool   `xml:"fDeleted"`
	} `xml:"groups>Group"`
	Contacts   []abContact `xml:"contacts>Contact"`
	LastChange string      `xml:"ab>lastChange"`
	OwnerCID   int64       `xml:"ab>abInfo>OwnerCID"`
}

func parseFindAll(t *testing.T, out string) abResult {
	t.Helper()
	var r struct {
		R abResult `xml:"Body>ABFindAllResponse>ABFindAllResult"`
	}
	if err := xml.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r.R
}

func (r abResult) contact(email string) (abContact, bool) {
	for _, c := range r.Contacts {
		if c.Passport == email {
			return c, true
		}
	}
	return abContact{}, false
}

func (c abContact) annotation(name string) string {
	for _, a := range c.Annotations {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

func setup(t *testing.T) (*coretest.Server, store.Store) {
	srv := coretest.Start(t)
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		srv.AddUser(t, u+"@example.com", "pw-"+u, strings.ToUpper(u[:1])+u[1:])
	}
	return srv, srv.Store
}

func TestFindMembershipAndABFindAll(t *testing.T) {
	srv, st := setup(t)
	ctx := context.Background()
	must := func(_ store.Change, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	g, _, err := st.AddGroup(ctx, "alice@example.com", "Friends")
	if err != nil {
		t.Fatal(err)
	}
	must(st.AddToList(ctx, "alice@example.com", "bob@example.com", store.Forward, "Bobby", g.GUID))
	must(st.AddToList(ctx, "alice@example.com", "bob@example.com", store.Allow, "", ""))
	must(st.AddToList(ctx, "alice@example.com", "dave@example.com", store.Block, "", ""))
	must(st.AddToList(ctx, "carol@example.com", "alice@example.com", store.Forward, "Alice", "")) // alice: RL+PL carol
	if _, err := st.Annotate(ctx, "alice@example.com", "bob@example.com", map[string]string{"AB.NickName": "B"}); err != nil {
		t.Fatal(err)
	}

	a := signIn(t, srv, "alice@example.com", "pw-alice")
	out := a.ok(sharing, "FindMembership", "Initial", findMembership)
	m := members(t, out)
	for role, want := range map[string]string{"Allow": "bob@example.com", "Block": "dave@example.com",
		"Reverse": "carol@example.com", "Pending": "carol@example.com"} {
		if len(m[role]) != 1 || m[role][0] != want {
			t.Errorf("%s members %v, want [%s]", role, m[role], want)
		}
	}
	// Pidgin only reads services whose Info/Handle/Type is Messenger.
	if !strings.Contains(out, "<Info><Handle><Id>1</Id><Type>Messenger</Type>") || !strings.Contains(out, `<Member xsi:type="PassportMember">`) {
		t.Errorf("FindMembership shape:\n%s", out)
	}

	out = a.ok(abPath, "ABFindAll", "Initial", abFindAll)
	r := parseFindAll(t, out)
	if len(r.Groups) != 1 || r.Groups[0].Name != "Friends" || r.Groups[0].ID != g.GUID {
		t.Errorf("groups %+v", r.Groups)
	}
	bob, ok := r.contact("bob@example.com")
	if !ok || bob.Type != "Regular" || bob.DisplayName != "Bobby" || len(bob.Groups) != 1 || bob.Groups[0] != g.GUID ||
		bob.CID == 0 || bob.annotation("AB.NickName") != "B" {
		t.Errorf("bob %+v", bob)
	}
	if _, ok := r.contact("dave@example.com"); ok {
		t.Error("a blocked contact not on the FL is in the contacts")
	}
	me, ok := r.contact("alice@example.com")
	acct, _ := st.Account(ctx, "alice@example.com")
	// bitlbee asks for the profile only when Me has a CID; Pidgin takes
	// the display name from it.
	if !ok || me.Type != "Me" || me.CID != acct.CID || me.DisplayName != "Alice" || r.OwnerCID != acct.CID ||
		me.annotation("MSN.IM.BLP") != "1" {
		t.Errorf("Me %+v (CID %d)", me, acct.CID)
	}

	// WLM 2009 and Pidgin 2.10 ask with ABFindContactsPaged: the same book,
	// capitalised containers.
	out = a.ok(abPath, "ABFindContactsPaged", "Initial", `<ABFindContactsPaged xmlns="http://www.msn.com/webservices/AddressBook"><abView>MessengerClient8</abView><extendedContent>AB AllGroups CircleResult</extendedContent><filterOptions><DeltasOnly>false</DeltasOnly><LastChanged>0001-01-01T00:00:00.0000000-08:00</LastChanged><ContactFilter><IncludeHiddenContacts>true</IncludeHiddenContacts></ContactFilter></filterOptions><pageContext><PageSize>1500</PageSize><Direction>Forward</Direction></pageContext></ABFindContactsPaged>`)
	for _, want := range []string{"<ABFindContactsPagedResult><Groups><Group>", "<Contacts><Contact>", "<passportName>bob@example.com</passportName>",
		"<CircleResult>", "<Ab><abId>00000000-0000-0000-0000-000000000000</abId>"} {
		if !strings.Contains(out, want) {
			t.Errorf("ABFindContactsPaged lacks %s", want)
		}
	}
}

func TestDeltas(t *testing.T) {
	srv, st := setup(t)
	ctx := context.Background()
	if _, err := st.AddToList(ctx, "alice@example.com", "bob@example.com", store.Forward, "Bob", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddToList(ctx, "alice@example.com", "carol@example.com", store.Forward, "Carol", ""); err != nil {
		t.Fatal(err)
	}
	a := signIn(t, srv, "alice@example.com", "pw-alice")
	first := parseFindAll(t, a.ok(abPath, "ABFindAll", "Initial", abFindAll))
	if first.LastChange == "" {
		t.Fatal("no lastChange")
	}
	delta := func() abResult {
		return parseFindAll(t, a.ok(abPath, "ABFindAll", "Timer", `<ABFindAll xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><abView>Full</abView><deltasOnly>true</deltasOnly><lastChange>`+first.LastChange+`</lastChange></ABFindAll>`))
	}
	if d := delta(); len(d.Contacts) != 1 || d.Contacts[0].Type != "Me" {
		t.Fatalf("delta without changes: %+v", d.Contacts)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := st.RemoveFromList(ctx, "alice@example.com", "bob@example.com", store.Forward, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddToList(ctx, "alice@example.com", "dave@example.com", store.Forward, "Dave", ""); err != nil {
		t.Fatal(err)
	}
	d := delta()
	bob, okB := d.contact("bob@example.com")
	dave, okD := d.contact("dave@example.com")
	_, okC := d.contact("carol@example.com")
	if !okB || !bob.Deleted || !okD || dave.Deleted || okC {
		t.Errorf("delta contacts %+v", d.Contacts)
	}
	// The same for memberships.
	m := members(t, a.ok(sharing, "FindMembership", "Timer", `<FindMembership xmlns="http://www.msn.com/webservices/AddressBook"><serviceFilter><Types><ServiceType>Messenger</ServiceType></Types></serviceFilter><View>Full</View><deltasOnly>true</deltasOnly><lastChange>`+first.LastChange+`</lastChange></FindMembership>`))
	if len(m["Allow"]) != 0 {
		t.Errorf("delta memberships %v", m)
	}
	// Older than the store remembers: the client must read everything.
	a.fault(abPath, "ABFindAll", `<ABFindAll xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><abView>Full</abView><deltasOnly>true</deltasOnly><lastChange>2001-01-01T00:00:00.0000000-08:00</lastChange></ABFindAll>`, "FullSyncRequired")
}

func TestTickets(t *testing.T) {
	srv, _ := setup(t)
	tokens := rst(t, srv, "alice@example.com", "pw-alice")
	for name, tk := range map[string]string{
		"none":                "",
		"made up":             "t=AAAAAAAAAAAAAAAAAAAAAAAAAA&amp;p=",
		"sign-in ticket":      xmlEscape(tokens["messengerclear.live.com"]),
		"another service's":   xmlEscape(tokens["messenger.msn.com"]),
		"right but truncated": xmlEscape(tokens["contacts.msn.com"])[:10],
	} {
		status, out := post(t, srv.HTTPURL+abPath, "ABFindAll", tk, "Initial", abFindAll)
		if status != http.StatusInternalServerError || !strings.Contains(out, "BadContextToken") {
			t.Errorf("%s: HTTP %d\n%s", name, status, out)
		}
	}
	// The right one, over HTTPS too (Pidgin uses https://omega.contacts.msn.com).
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	doc := strings.NewReplacer("%SCENARIO%", "Initial", "%TICKET%", xmlEscape(tokens["contacts.msn.com"]), "%BODY%", abFindAll).Replace(abHeader)
	resp, err := c.Post(srv.HTTPSURL+"//abservice/abservice.asmx", "text/xml", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HTTPS: %d", resp.StatusCode)
	}
}

// The edits, as Pidgin 2.6 (contact.h) and bitlbee 3.2 (soap.h) send them.
func TestEdits(t *testing.T) {
	srv, st := setup(t)
	ctx := context.Background()
	a := signIn(t, srv, "alice@example.com", "pw-alice")
	guidRE := regexp.MustCompile(`<guid>([0-9a-f-]{36})</guid>`)

	add := `<ABContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact xmlns="http://www.msn.com/webservices/AddressBook"><contactInfo><contactType>LivePending</contactType><passportName>Bob@Example.com</passportName><isMessengerUser>true</isMessengerUser><MessengerMemberInfo><DisplayName>Bob</DisplayName></MessengerMemberInfo></contactInfo></Contact></contacts><options><EnableAllowListManagement>true</EnableAllowListManagement></options></ABContactAdd>`
	out := a.ok(abPath, "ABContactAdd", "ContactSave", add)
	mm := guidRE.FindStringSubmatch(out)
	if mm == nil {
		t.Fatalf("no guid:\n%s", out)
	}
	bobID := mm[1]
	if l, _ := st.Listed(ctx, "alice@example.com", "bob@example.com"); l&(store.Forward|store.Allow) != store.Forward|store.Allow {
		t.Errorf("bob on %v", l)
	}
	if l, _ := st.Listed(ctx, "bob@example.com", "alice@example.com"); l&store.Reverse == 0 {
		t.Errorf("alice on bob's %v", l)
	}
	// WLM adds by ADL and again here: the second add is not an error.
	if out := a.ok(abPath, "ABContactAdd", "ContactSave", add); !strings.Contains(out, bobID) {
		t.Errorf("second add gave another id:\n%s", out)
	}
	a.fault(abPath, "ABContactAdd", strings.Replace(add, "Bob@Example.com", "nobody@example.com", 1), "InvalidPassportUser")
	a.fault(abPath, "ABContactAdd", strings.Replace(add, "Bob@Example.com", "bob", 1), "EmailMissingAtSign")

	// Groups.
	out = a.ok(abPath, "ABGroupAdd", "GroupSave", `<ABGroupAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><groupAddOptions><fRenameOnMsgrConflict>false</fRenameOnMsgrConflict></groupAddOptions><groupInfo><GroupInfo><name>Work</name><groupType>C8529CE2-6EAD-434d-881F-341E17DB3FF8</groupType><fMessenger>false</fMessenger><annotations><Annotation><Name>MSN.IM.Display</Name><Value>1</Value></Annotation></annotations></GroupInfo></groupInfo></ABGroupAdd>`)
	mm = guidRE.FindStringSubmatch(out)
	if mm == nil {
		t.Fatalf("no group guid:\n%s", out)
	}
	work := mm[1]
	a.fault(abPath, "ABGroupAdd", `<ABGroupAdd xmlns="http://www.msn.com/webservices/AddressBook"><groupInfo><GroupInfo><name>Work</name></GroupInfo></groupInfo></ABGroupAdd>`, "GroupAlreadyExists")
	a.ok(abPath, "ABGroupContactAdd", "GroupSave", `<ABGroupContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><groupFilter><groupIds><guid>`+work+`</guid></groupIds></groupFilter><contacts><Contact><contactId>`+bobID+`</contactId></Contact></contacts></ABGroupContactAdd>`)
	// Adding a new contact straight into a group, by passport name.
	out = a.ok(abPath, "ABGroupContactAdd", "GroupSave", `<ABGroupContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><groupFilter><groupIds><guid>`+work+`</guid></groupIds></groupFilter><contacts><Contact><contactInfo><passportName>carol@example.com</passportName><isSmtp>false</isSmtp><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts><groupContactAddOptions><fGenerateMissingQuickName>true</fGenerateMissingQuickName><EnableAllowListManagement>true</EnableAllowListManagement></groupContactAddOptions></ABGroupContactAdd>`)
	a.ok(abPath, "ABGroupUpdate", "GroupSave", `<ABGroupUpdate xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><groups><Group><groupId>`+work+`</groupId><groupInfo><name>Office</name></groupInfo><propertiesChanged>GroupName</propertiesChanged></Group></groups></ABGroupUpdate>`)
	r := parseFindAll(t, a.ok(abPath, "ABFindAll", "Initial", abFindAll))
	bob, _ := r.contact("bob@example.com")
	carol, okC := r.contact("carol@example.com")
	if len(r.Groups) != 1 || r.Groups[0].Name != "Office" || len(bob.Groups) != 1 || !okC || len(carol.Groups) != 1 {
		t.Errorf("after group edits: groups %+v bob %+v carol %+v", r.Groups, bob, carol)
	}
	a.ok(abPath, "ABGroupContactDelete", "GroupSave", `<ABGroupContactDelete xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactId>`+bobID+`</contactId></Contact></contacts><groupFilter><groupIds><guid>`+work+`</guid></groupIds></groupFilter></ABGroupContactDelete>`)
	a.ok(abPath, "ABGroupDelete", "GroupSave", `<ABGroupDelete xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><groupFilter><groupIds><guid>`+work+`</guid></groupIds></groupFilter></ABGroupDelete>`)
	a.fault(abPath, "ABGroupDelete", `<ABGroupDelete xmlns="http://www.msn.com/webservices/AddressBook"><groupFilter><groupIds><guid>`+work+`</guid></groupIds></groupFilter></ABGroupDelete>`, "GroupDoesNotExist")
	if _, gs, _ := st.Contacts(ctx, "alice@example.com"); len(gs) != 0 {
		t.Errorf("groups left %+v", gs)
	}

	// The Me contact: bitlbee's rename, Pidgin's MPOP and privacy annotations.
	a.ok(abPath, "ABContactUpdate", "Timer", `<ABContactUpdate xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact xmlns="http://www.msn.com/webservices/AddressBook"><contactInfo><contactType>Me</contactType><displayName>Alice &amp; co</displayName></contactInfo><propertiesChanged>DisplayName</propertiesChanged></Contact></contacts></ABContactUpdate>`)
	a.ok(abPath, "ABContactUpdate", "PrivacyApply", `<ABContactUpdate xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact xmlns="http://www.msn.com/webservices/AddressBook"><contactInfo><contactType>Me</contactType><annotations><Annotation><Name>MSN.IM.BLP</Name><Value>2</Value></Annotation><Annotation><Name>MSN.IM.MPOP</Name><Value>0</Value></Annotation></annotations></contactInfo><propertiesChanged>Annotation</propertiesChanged></Contact></contacts></ABContactUpdate>`)
	acct, _ := st.Account(ctx, "alice@example.com")
	if acct.FriendlyName != "Alice & co" || acct.Privacy != store.BlockByDefault {
		t.Errorf("account %+v", acct)
	}
	me, _ := parseFindAll(t, a.ok(abPath, "ABFindAll", "Initial", abFindAll)).contact("alice@example.com")
	if me.annotation("MSN.IM.MPOP") != "0" || me.annotation("MSN.IM.BLP") != "2" || me.DisplayName != "Alice & co" {
		t.Errorf("Me %+v", me)
	}
	// A contact's nickname.
	a.ok(abPath, "ABContactUpdate", "Timer", `<ABContactUpdate xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactId>`+bobID+`</contactId><contactInfo><annotations><Annotation><Name>AB.NickName</Name><Value>Bobby</Value></Annotation></annotations></contactInfo><propertiesChanged>Annotation</propertiesChanged></Contact></contacts></ABContactUpdate>`)
	bob, _ = parseFindAll(t, a.ok(abPath, "ABFindAll", "Initial", abFindAll)).contact("bob@example.com")
	if bob.annotation("AB.NickName") != "Bobby" {
		t.Errorf("bob %+v", bob)
	}
	a.fault(abPath, "ABContactUpdate", `<ABContactUpdate xmlns="http://www.msn.com/webservices/AddressBook"><contacts><Contact><contactId>00000000-0000-0000-0000-00000000dead</contactId><contactInfo/></Contact></contacts></ABContactUpdate>`, "ContactDoesNotExist")

	// Block and unblock (bitlbee's memlist edit; Pidgin's BlockUnblock).
	member := func(method, role, who string) string {
		return `<` + method + ` xmlns="http://www.msn.com/webservices/AddressBook"><serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>` + role + `</MemberRole><Members><Member xsi:type="PassportMember" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Type>Passport</Type><State>Accepted</State><PassportName>` + who + `</PassportName></Member></Members></Membership></memberships></` + method + `>`
	}
	a.ok(sharing, "AddMember", "BlockUnblock", member("AddMember", "Block", "bob@example.com"))
	if l, _ := st.Listed(ctx, "alice@example.com", "bob@example.com"); l&store.Block == 0 || l&store.Allow != 0 {
		t.Errorf("blocked bob on %v", l)
	}
	a.ok(sharing, "DeleteMember", "BlockUnblock", member("DeleteMember", "Block", "bob@example.com"))
	a.ok(sharing, "AddMember", "BlockUnblock", member("AddMember", "Allow", "bob@example.com"))
	if l, _ := st.Listed(ctx, "alice@example.com", "bob@example.com"); l&store.Block != 0 || l&store.Allow == 0 {
		t.Errorf("unblocked bob on %v", l)
	}
	a.fault(sharing, "AddMember", member("AddMember", "Allow", "nobody@example.com"), "UserDoesNotExist")
	// Taking off a list someone who is not on it leaves the list as asked
	// (Pidgin and bitlbee send RML over the NS before DeleteMember).
	a.ok(sharing, "DeleteMember", "BlockUnblock", member("DeleteMember", "Block", "dave@example.com"))
	a.ok(sharing, "DeleteMember", "BlockUnblock", member("DeleteMember", "Block", "nobody@example.com"))

	// Declining a pending request (dave added alice).
	if _, err := st.AddToList(ctx, "dave@example.com", "alice@example.com", store.Forward, "Alice", ""); err != nil {
		t.Fatal(err)
	}
	if m := members(t, a.ok(sharing, "FindMembership", "MessengerPendingList", findMembership)); len(m["Pending"]) != 1 {
		t.Errorf("pending %v", m)
	}
	a.ok(sharing, "DeleteMember", "MessengerPendingList", member("DeleteMember", "Pending", "dave@example.com"))
	if l, _ := st.Listed(ctx, "alice@example.com", "dave@example.com"); l != store.Reverse {
		t.Errorf("dave after decline on %v, want RL only", l)
	}

	a.ok(abPath, "ABContactDelete", "Timer", `<ABContactDelete xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactId>`+bobID+`</contactId></Contact></contacts></ABContactDelete>`)
	if l, _ := st.Listed(ctx, "alice@example.com", "bob@example.com"); l&store.Forward != 0 {
		t.Errorf("deleted bob on %v", l)
	}
	// Again (Pidgin deletes after its RML took him off FL): done already;
	// a contact id the book never had is a fault.
	a.ok(abPath, "ABContactDelete", "Timer", `<ABContactDelete xmlns="http://www.msn.com/webservices/AddressBook"><contacts><Contact><contactId>`+bobID+`</contactId></Contact></contacts></ABContactDelete>`)
	a.fault(abPath, "ABContactDelete", `<ABContactDelete xmlns="http://www.msn.com/webservices/AddressBook"><contacts><Contact><contactId>00000000-0000-0000-0000-00000000dead</contactId></Contact></contacts></ABContactDelete>`, "ContactDoesNotExist")

	// ABAdd (Pidgin after ABDoesNotExist): every account has its book.
	out = a.ok(abPath, "ABAdd", "Initial", `<ABAdd xmlns="http://www.msn.com/webservices/AddressBook"><abInfo><name/><ownerPuid>0</ownerPuid><ownerEmail>alice@example.com</ownerEmail><fDefault>true</fDefault></abInfo></ABAdd>`)
	if !strings.Contains(out, "<ABAddResult>00000000-0000-0000-0000-000000000000</ABAddResult>") {
		t.Errorf("ABAdd:\n%s", out)
	}
	a.fault(abPath, "CreateCircle", `<CreateCircle xmlns="http://www.msn.com/webservices/AddressBook"/>`, "NotImplemented")
}

// One list, whatever the version: what WLM changes through the address
// book reaches an MSN 7.5 (MSNP12) client at once, and what the MSNP12
// client changes is in the address book.
func TestSameListAcrossVersions(t *testing.T) {
	srv, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bob, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: "bob@example.com", Password: "pw-bob",
		Version: msnp.Version(12), Passport: client.PassportConfig{URL: srv.HTTPURL}})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()

	a := signIn(t, srv, "alice@example.com", "pw-alice")
	a.ok(abPath, "ABContactAdd", "ContactSave", `<ABContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>00000000-0000-0000-0000-000000000000</abId><contacts><Contact><contactInfo><passportName>bob@example.com</passportName><isMessengerUser>true</isMessengerUser></contactInfo></Contact></contacts><options><EnableAllowListManagement>true</EnableAllowListManagement></options></ABContactAdd>`)
	for added := false; !added; {
		select {
		case ev := <-bob.Events():
			if e, ok := ev.(*client.ContactAdded); ok {
				if e.Email != "alice@example.com" || e.FriendlyName != "Alice" {
					t.Errorf("bob was told %+v", e)
				}
				added = true
			}
		case <-ctx.Done():
			t.Fatal("bob (MSNP12) was not told that alice added him")
		}
	}

	// Bob adds Alice back from MSN 7.5: she sees him in the book.
	if err := bob.AddContact(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	m := members(t, a.ok(sharing, "FindMembership", "Initial", findMembership))
	if len(m["Reverse"]) != 1 || m["Reverse"][0] != "bob@example.com" {
		t.Errorf("alice's memberships %v", m)
	}
}

// A change made through the address book holds at once for the owner's
// signed-in sessions, whatever version they speak: blocking a watcher
// through the web service takes the owner out of their sight, and
// unblocking shows the owner again.
func TestChangeHoldsAtOnce(t *testing.T) {
	srv, st := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := st.AddToList(ctx, "bob@example.com", "alice@example.com", store.Forward, "Alice", ""); err != nil {
		t.Fatal(err)
	}
	dial := func(email, pw string) *client.Client {
		c, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: email, Password: pw,
			Version: msnp.Version(12), Passport: client.PassportConfig{URL: srv.HTTPURL}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial("alice@example.com", "pw-alice") // alice is online, for bob to see her go
	bob := dial("bob@example.com", "pw-bob")
	sees := func(st client.Status) {
		t.Helper()
		if c, ok := bob.Contact("alice@example.com"); ok && c.Status == st {
			return
		}
		for {
			select {
			case ev := <-bob.Events():
				if p, ok := ev.(*client.Presence); ok && p.Email == "alice@example.com" && p.Status == st {
					return
				}
			case <-ctx.Done():
				t.Fatalf("bob never saw alice %s", st)
			}
		}
	}
	sees(client.Online)

	a := signIn(t, srv, "alice@example.com", "pw-alice")
	member := func(method, role, who string) string {
		return `<` + method + ` xmlns="http://www.msn.com/webservices/AddressBook"><serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle><memberships><Membership><MemberRole>` + role + `</MemberRole><Members><Member xsi:type="PassportMember" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Type>Passport</Type><State>Accepted</State><PassportName>` + who + `</PassportName></Member></Members></Membership></memberships></` + method + `>`
	}
	a.ok(sharing, "AddMember", "BlockUnblock", member("AddMember", "Block", "bob@example.com"))
	sees(client.Offline)
	// Bob cannot reach her either, and learns no more than if she were
	// offline: his call gets 217, as a call to someone offline does.
	cv, err := bob.Conversation(ctx, "alice@example.com")
	if err == nil {
		err = cv.Send(ctx, "hello?")
	}
	if !errors.Is(err, msnp.ErrNotOnline) {
		t.Fatalf("bob calling alice, who blocks him: %v, want 217 as for someone offline", err)
	}
	if msgs, _ := st.OfflineMessages(ctx, "alice@example.com"); len(msgs) != 0 {
		t.Errorf("kept for alice: %+v", msgs)
	}
	a.ok(sharing, "DeleteMember", "BlockUnblock", member("DeleteMember", "Block", "bob@example.com"))
	sees(client.Online)
}

func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
