package client

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/nudge-im/nudge/msnp"
)

// The address book of MSNP13+: the lists and groups live in the address
// book web service (ABCH). The client reads them at sign-in and again
// whenever the server says they changed (NOT ABCHInternal, sent to every
// endpoint after an edit anywhere), and edits them the way Windows Live
// Messenger and Pidgin do: the SOAP call first, then the ADL or RML that
// tells the notification server, which decides who sees whom.

// Services and scenarios of the address book, as the clients name them.
const (
	abService      = "/abservice/abservice.asmx"
	sharingService = "/abservice/SharingService.asmx"

	scenarioInitial     = "Initial"
	scenarioNotify      = "ABChangeNotifyAlert" // re-reading after a NOT
	scenarioContactSave = "ContactSave"
	scenarioTimer       = "Timer" // deleting a contact
	scenarioBlock       = "BlockUnblock"
	scenarioGroupSave   = "GroupSave"

	// abID is the user's own address book.
	abID = "00000000-0000-0000-0000-000000000000"
	// groupTypeID is the type of every group a user makes.
	groupTypeID = "C8529CE2-6EAD-434d-881F-341E17DB3FF8"
)

// abHeader is the SOAP envelope of an address book request, as bitlbee and
// Pidgin send it: scenario, ticket, body.
const abHeader = `<?xml version="1.0" encoding="utf-8"?>` +
	`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/">` +
	`<soap:Header><ABApplicationHeader xmlns="http://www.msn.com/webservices/AddressBook"><ApplicationId>CFE80F9D-180F-4399-82AB-413F33A1FA11</ApplicationId>` +
	`<IsMigration>false</IsMigration><PartnerScenario>%s</PartnerScenario></ABApplicationHeader>` +
	`<ABAuthHeader xmlns="http://www.msn.com/webservices/AddressBook"><ManagedGroupRequest>false</ManagedGroupRequest><TicketToken>%s</TicketToken></ABAuthHeader>` +
	`</soap:Header><soap:Body>%s</soap:Body></soap:Envelope>`

const (
	findMembership = `<FindMembership xmlns="http://www.msn.com/webservices/AddressBook"><serviceFilter><Types>` +
		`<ServiceType>Messenger</ServiceType><ServiceType>Invitation</ServiceType><ServiceType>SocialNetwork</ServiceType>` +
		`<ServiceType>Space</ServiceType><ServiceType>Profile</ServiceType></Types></serviceFilter></FindMembership>`
	abFindAll = `<ABFindAll xmlns="http://www.msn.com/webservices/AddressBook"><abId>` + abID + `</abId>` +
		`<abView>Full</abView><deltasOnly>false</deltasOnly><lastChange>0001-01-01T00:00:00.0000000-08:00</lastChange></ABFindAll>`
)

// faultErrors are the address book's fault codes that mean what a
// notification server's error code means; a refusal comes back wrapping
// it, as from the older versions.
var faultErrors = map[string]msnp.ErrorCode{
	"InvalidPassportUser":  msnp.ErrInvalidPrincipal,
	"UserDoesNotExist":     msnp.ErrInvalidPrincipal,
	"EmailMissingAtSign":   msnp.ErrInvalidParameter,
	"EmailMissingDot":      msnp.ErrInvalidParameter,
	"ContactDoesNotExist":  msnp.ErrNotOnList,
	"MemberDoesNotExist":   msnp.ErrNotOnList,
	"MemberAlreadyExists":  msnp.ErrAlreadyThere,
	"ContactAlreadyExists": msnp.ErrAlreadyThere,
	"GroupDoesNotExist":    msnp.ErrInvalidGroup,
	"GroupAlreadyExists":   msnp.ErrGroupExists,
	"GroupNameTooLong":     msnp.ErrGroupNameTooLong,
	"QuotaLimitReached":    msnp.ErrListFull,
}

// abCall posts one address book method and returns the answer. A fault
// comes back as an error wrapping the matching msnp.ErrorCode when there
// is one.
func (cl *Client) abCall(ctx context.Context, path, method, scenario, body string) ([]byte, error) {
	ticket := xmlEscape(cl.Tokens()[TokenContacts])
	if ticket == "" {
		return nil, fmt.Errorf("client: no %s token for the address book: %w", TokenContacts, ErrProtocol)
	}
	u := cl.cfg.Passport.addressBookURL() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(fmt.Sprintf(abHeader, scenario, ticket, body)))
	if err != nil {
		return nil, fmt.Errorf("client: address book URL %q: %w", u, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "http://www.msn.com/webservices/AddressBook/"+method)
	resp, err := cl.passportClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: address book %s: %w", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("client: address book %s: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		if err := abFault(method, data); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("client: address book %s at %s answered %s", method, u, resp.Status)
	}
	return data, nil
}

// abFault reads an address book fault; nil when data is none.
func abFault(method string, data []byte) error {
	var f struct {
		Code   string `xml:"Body>Fault>detail>errorcode"`
		String string `xml:"Body>Fault>faultstring"`
	}
	if xml.Unmarshal(data, &f) != nil || f.Code == "" {
		return nil
	}
	if code, ok := faultErrors[f.Code]; ok {
		return fmt.Errorf("client: address book %s: %s: %w", method, f.Code, code)
	}
	return fmt.Errorf("client: address book %s refused: %s (%s)", method, f.Code, strings.TrimSpace(f.String))
}

// abResultGUID posts a method whose answer is <MethodResult><guid>.
func (cl *Client) abResultGUID(ctx context.Context, method, scenario, body string) (string, error) {
	data, err := cl.abCall(ctx, abService, method, scenario, body)
	if err != nil {
		return "", err
	}
	guid, ok := resultGUID(data)
	if !ok {
		return "", fmt.Errorf("client: address book %s answered no id: %w", method, ErrProtocol)
	}
	return guid, nil
}

// resultGUID finds the first guid element of an answer: the id the
// address book gave what was added.
func resultGUID(data []byte) (string, bool) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", false
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "guid" {
			var guid string
			if d.DecodeElement(&guid, &se) != nil {
				return "", false
			}
			guid = strings.Trim(strings.TrimSpace(guid), "{}")
			return guid, guid != ""
		}
	}
}

// --- reading ---

// book is the address book as read: the lists of everyone on them, the
// groups in the order the service lists them, and the user's own name.
type book struct {
	me      string
	entries map[string]*bookEntry // by lower-case e-mail
	groups  []Group
}

// bookEntry is one person in the address book.
type bookEntry struct {
	email, name, guid string
	lists             List
	groups            []string
}

// readAddressBook reads the user's lists from the address book service:
// the memberships (AL, BL, RL, PL) and the contacts (FL) with their ids
// and groups. The user's own entry ("Me") has their friendly name.
func (cl *Client) readAddressBook(ctx context.Context, scenario string) (*book, error) {
	b := &book{entries: map[string]*bookEntry{}}
	data, err := cl.abCall(ctx, sharingService, "FindMembership", scenario, findMembership)
	if err != nil {
		return nil, err
	}
	if err := b.readMemberships(data); err != nil {
		return nil, err
	}
	if data, err = cl.abCall(ctx, abService, "ABFindAll", scenario, abFindAll); err != nil {
		return nil, err
	}
	if err := b.readContacts(data); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *book) entry(email string) *bookEntry {
	k := key(email)
	if b.entries[k] == nil {
		b.entries[k] = &bookEntry{email: email}
	}
	return b.entries[k]
}

// readMemberships reads FindMembership's answer: AL, BL, RL and PL.
func (b *book) readMemberships(data []byte) error {
	var ms struct {
		M []struct {
			Role    string `xml:"MemberRole"`
			Members []struct {
				Name    string `xml:"PassportName"`
				Deleted bool   `xml:"Deleted"`
			} `xml:"Members>Member"`
		} `xml:"Body>FindMembershipResponse>FindMembershipResult>Services>Service>Memberships>Membership"`
	}
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&ms); err != nil {
		return fmt.Errorf("client: address book FindMembership: %w: %w", ErrProtocol, err)
	}
	roles := map[string]List{"Allow": Allow, "Block": Block, "Reverse": Reverse, "Pending": Pending}
	for _, m := range ms.M {
		l, ok := roles[m.Role]
		if !ok {
			continue
		}
		for _, x := range m.Members {
			if x.Name != "" && !x.Deleted {
				b.entry(x.Name).lists |= l
			}
		}
	}
	return nil
}

// readContacts reads ABFindAll's answer: the groups, the FL with each
// contact's id and groups, and the user's own name.
func (b *book) readContacts(data []byte) error {
	var ab struct {
		G []struct {
			ID      string `xml:"groupId"`
			Name    string `xml:"groupInfo>name"`
			Deleted bool   `xml:"fDeleted"`
		} `xml:"Body>ABFindAllResponse>ABFindAllResult>groups>Group"`
		C []struct {
			ID        string   `xml:"contactId"`
			Type      string   `xml:"contactInfo>contactType"`
			Passport  string   `xml:"contactInfo>passportName"`
			Name      string   `xml:"contactInfo>displayName"`
			Messenger bool     `xml:"contactInfo>isMessengerUser"`
			Groups    []string `xml:"contactInfo>groupIds>guid"`
			Deleted   bool     `xml:"fDeleted"`
		} `xml:"Body>ABFindAllResponse>ABFindAllResult>contacts>Contact"`
	}
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&ab); err != nil {
		return fmt.Errorf("client: address book ABFindAll: %w: %w", ErrProtocol, err)
	}
	for _, g := range ab.G {
		if g.ID != "" && !g.Deleted {
			b.groups = append(b.groups, Group{ID: g.ID, Name: g.Name})
		}
	}
	for _, c := range ab.C {
		if strings.EqualFold(c.Type, "Me") {
			b.me = c.Name
			continue
		}
		if c.Passport == "" || c.Deleted || !c.Messenger {
			continue
		}
		e := b.entry(c.Passport)
		e.lists |= Forward
		e.name, e.guid, e.groups = c.Name, strings.Trim(c.ID, "{}"), c.Groups
	}
	return nil
}

// apply makes the client's lists the book's. After sign-in (initial) the
// book is all there is; later the reverse list stays as the server's ADL
// and RML notices left it, since those (not the book) say who added or
// removed the user, and one may arrive before the book is read again.
func (cl *Client) apply(b *book, initial bool) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if b.me != "" {
		cl.self.FriendlyName = b.me
	}
	cl.list.groups, cl.list.order = map[string]*Group{}, nil
	for _, g := range b.groups {
		cl.list.addGroup(g.ID, g.Name)
	}
	for k, ct := range cl.list.contacts {
		if b.entries[k] != nil {
			continue
		}
		if initial || !ct.Lists.Has(Reverse) {
			delete(cl.list.contacts, k)
			continue
		}
		ct.Lists, ct.Groups = Reverse, nil
		ct.Status, ct.PersonalMessage = Offline, ""
	}
	for _, e := range b.entries {
		ct := cl.list.get(e.email)
		lists := e.lists
		if !initial {
			lists = lists&^Reverse | ct.Lists&Reverse
		}
		if ct.Lists.Has(Forward) && !lists.Has(Forward) {
			ct.Status, ct.PersonalMessage = Offline, ""
		}
		ct.Lists = lists
		// A contact signed in is called what their presence says; the
		// book's name (often just the address) is for the others.
		if e.name != "" && (ct.Status == Offline || ct.Status == "") {
			ct.FriendlyName = e.name
		}
		ct.GUID = e.guid
		ct.Groups = nil
		for _, g := range e.groups {
			if cl.list.groups[g] != nil {
				ct.Groups = append(ct.Groups, g)
			}
		}
		if ct.Lists == 0 {
			delete(cl.list.contacts, key(e.email))
		}
	}
}

// syncAddressBook replaces the client's list with the address book and
// sends it to the server (the initial ADL, l="1"), as a SYN would have
// in older versions.
func (s *nsSession) syncAddressBook(ctx context.Context) error {
	cl := s.cl
	b, err := cl.readAddressBook(ctx, scenarioInitial)
	if err != nil {
		return err
	}
	cl.apply(b, true)
	ml := msnp.ML{Initial: true}
	for _, e := range b.entries {
		if l := e.lists & (Forward | Allow | Block); l != 0 {
			ml.Contacts = append(ml.Contacts, msnp.MLContact{Email: e.email, Lists: int(l), Network: msnp.NetworkMessenger})
		}
	}
	// The server reads at most MaxMLContacts a time; the first part is
	// the initial one, as Pidgin sends it in pieces of 150.
	for first := true; first || len(ml.Contacts) > 0; first = false {
		part := ml
		part.Contacts = ml.Contacts[:min(len(ml.Contacts), 150)]
		ml.Contacts = ml.Contacts[len(part.Contacts):]
		if _, err := s.c.call(ctx, msnp.New("ADL", 0).WithPayload(part.Marshal()), nil); err != nil {
			return fmt.Errorf("client: sending the list (ADL): %w", err)
		}
	}
	return nil
}

// onNOT reads a notification: ABCHInternal says the address book changed
// (an edit from this endpoint, another of the user's, or the service), so
// the client reads it again. Other notifications are passed on.
func (s *nsSession) onNOT(cmd *msnp.Command) bool {
	if s.d.ListForm != msnp.ListAddressBook || !bytes.Contains(cmd.Payload, []byte("ABCHInternal")) {
		return false
	}
	cl := s.cl
	cl.mu.Lock()
	queued := cl.bookStale
	cl.bookStale = true
	cl.mu.Unlock()
	if !queued {
		cl.wg.Add(1)
		go func() {
			defer cl.wg.Done()
			cl.refreshBook(s)
		}()
	}
	return true
}

// refreshBook reads the address book again after a NOT. It waits for an
// edit of this client's own to finish, so that it reads what the edit
// left; notices arriving while it waits are answered by the same read.
func (cl *Client) refreshBook(s *nsSession) {
	cl.bookMu.Lock()
	defer cl.bookMu.Unlock()
	cl.mu.Lock()
	cl.bookStale = false
	cl.mu.Unlock()
	ctx, cancel := context.WithTimeout(cl.ctx, cl.cfg.RequestTimeout)
	defer cancel()
	b, err := cl.readAddressBook(ctx, scenarioNotify)
	if err != nil {
		if cl.ctx.Err() == nil && s.c.Err() == nil {
			cl.log.Warn().Err(err).Msg("reading the changed address book failed")
		}
		return
	}
	if s.c.Err() != nil {
		return // signed out meanwhile; the next sign-in reads it
	}
	cl.apply(b, false)
}

// --- editing ---

// inBook runs an edit of the address book when the session is MSNP13+,
// one edit (or re-reading) at a time, and reports whether it did.
func (cl *Client) inBook(ctx context.Context, edit func(ctx context.Context, s *nsSession) error) (bool, error) {
	ctx, cancel := cl.withTimeout(ctx)
	defer cancel()
	s, err := cl.session(ctx)
	if err != nil {
		return true, err
	}
	if s.d.ListForm != msnp.ListAddressBook {
		return false, nil
	}
	cl.bookMu.Lock()
	defer cl.bookMu.Unlock()
	return true, edit(ctx, s)
}

// tellServer sends the ADL or RML that follows an address book edit. The
// notification server may already have the change from the address book:
// then it answers OK all the same.
//
// The change is recorded before the answer: the server tells the presence
// of a contact put on the FL before it answers OK, and the client keeps it
// only for contacts on its list. A refusal restores what was.
func (s *nsSession) tellServer(ctx context.Context, name string, list List, email string) error {
	cl := s.cl
	before, _ := cl.Contact(email)
	s.applyML(name, list, email)
	_, err := s.c.call(ctx, mlCommand(name, list, email), nil)
	if errors.Is(err, msnp.ErrAlreadyThere) || errors.Is(err, msnp.ErrNotOnList) {
		err = nil
	}
	if err != nil {
		cl.undoML(email, list, before)
		return fmt.Errorf("client: %s %s %s: %w", name, email, list, err)
	}
	return nil
}

// undoML puts email back on the lists of list it was on before.
func (cl *Client) undoML(email string, list List, before Contact) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if ct := cl.list.contacts[key(email)]; ct != nil {
		ct.Lists = ct.Lists&^list | before.Lists&list
		if ct.Lists == 0 {
			delete(cl.list.contacts, key(email))
		}
	}
}

// contactID is the address book id of a contact on the FL, reading the
// book again when the client has none yet (a contact another endpoint
// just added).
func (cl *Client) contactID(ctx context.Context, email string) (string, error) {
	if ct, ok := cl.Contact(email); ok && ct.Lists.Has(Forward) && ct.GUID != "" {
		return ct.GUID, nil
	}
	b, err := cl.readAddressBook(ctx, scenarioNotify)
	if err != nil {
		return "", err
	}
	cl.apply(b, false)
	if e := b.entries[key(email)]; e != nil && e.lists.Has(Forward) && e.guid != "" {
		return e.guid, nil
	}
	return "", fmt.Errorf("client: %s is not on your contact list: %w", email, ErrUnknownContact)
}

// member is the body of AddMember or DeleteMember for one passport.
func member(method string, list List, email string) string {
	role := map[List]string{Allow: "Allow", Block: "Block"}[list]
	return `<` + method + ` xmlns="http://www.msn.com/webservices/AddressBook"><serviceHandle><Id>0</Id><Type>Messenger</Type><ForeignId></ForeignId></serviceHandle>` +
		`<memberships><Membership><MemberRole>` + role + `</MemberRole><Members>` +
		`<Member xsi:type="PassportMember" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Type>Passport</Type><State>Accepted</State>` +
		`<PassportName>` + xmlEscape(email) + `</PassportName></Member></Members></Membership></memberships></` + method + `>`
}

// setMember puts email on AL or BL (AddMember, then ADL), or takes them
// off (DeleteMember, then RML).
func (s *nsSession) setMember(ctx context.Context, list List, email string, on bool) error {
	method, ml := "DeleteMember", "RML"
	if on {
		method, ml = "AddMember", "ADL"
	}
	_, err := s.cl.abCall(ctx, sharingService, method, scenarioBlock, member(method, list, email))
	switch {
	case !on && errors.Is(err, msnp.ErrNotOnList), on && errors.Is(err, msnp.ErrAlreadyThere):
	case err != nil:
		return err
	}
	return s.tellServer(ctx, ml, list, email)
}

// bookAddContact: ABContactAdd (which allows the contact too, unless
// blocked), then ADL to the FL (and AL); or, for a contact already on the
// FL, AddMember Allow and ADL to the AL.
func (s *nsSession) bookAddContact(ctx context.Context, email string) error {
	cl := s.cl
	l := cl.lists(email)
	if l.Has(Forward) {
		if l.Has(Allow) || l.Has(Block) {
			return nil
		}
		return s.setMember(ctx, Allow, email, true)
	}
	allow := !l.Has(Allow) && !l.Has(Block)
	body := `<ABContactAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>` + abID + `</abId><contacts><Contact>` +
		`<contactInfo><contactType>LivePending</contactType><passportName>` + xmlEscape(email) + `</passportName>` +
		`<isMessengerUser>true</isMessengerUser><MessengerMemberInfo><DisplayName>` + xmlEscape(email) + `</DisplayName></MessengerMemberInfo>` +
		`</contactInfo></Contact></contacts><options><EnableAllowListManagement>` + fmt.Sprint(allow) +
		`</EnableAllowListManagement></options></ABContactAdd>`
	list := Forward
	if allow {
		list |= Allow
	}
	// On the list before the server hears of it: the server shows the
	// contact's presence as soon as the address book has them, which may
	// be before the ADL below.
	before, _ := cl.Contact(email)
	s.applyML("ADL", list, email)
	guid, err := cl.abResultGUID(ctx, "ABContactAdd", scenarioContactSave, body)
	if err != nil {
		cl.undoML(email, list, before)
		return err
	}
	if err := s.tellServer(ctx, "ADL", list, email); err != nil {
		return err
	}
	cl.mu.Lock()
	if ct := cl.list.contacts[key(email)]; ct != nil {
		ct.GUID = guid
	}
	cl.mu.Unlock()
	return nil
}

// bookRemoveContact: ABContactDelete, then RML from the FL.
func (s *nsSession) bookRemoveContact(ctx context.Context, email string) error {
	cl := s.cl
	if !cl.lists(email).Has(Forward) {
		return nil
	}
	guid, err := cl.contactID(ctx, email)
	if errors.Is(err, ErrUnknownContact) {
		return nil // gone already
	}
	if err != nil {
		return err
	}
	body := `<ABContactDelete xmlns="http://www.msn.com/webservices/AddressBook"><abId>` + abID + `</abId>` +
		`<contacts><Contact><contactId>` + xmlEscape(guid) + `</contactId></Contact></contacts></ABContactDelete>`
	if _, err := cl.abCall(ctx, abService, "ABContactDelete", scenarioTimer, body); err != nil && !errors.Is(err, msnp.ErrNotOnList) {
		return err
	}
	return s.tellServer(ctx, "RML", Forward, email)
}

// bookMove puts email on list (AL or BL) and off the other one: first
// DeleteMember and RML from the other, then AddMember and ADL, as Pidgin
// blocks and unblocks.
func (s *nsSession) bookMove(ctx context.Context, list List, email string) error {
	other := (Allow | Block) &^ list
	if s.cl.lists(email).Has(other) {
		if err := s.setMember(ctx, other, email, false); err != nil {
			return err
		}
	}
	if s.cl.lists(email).Has(list) {
		return nil
	}
	return s.setMember(ctx, list, email, true)
}

// bookAddGroup: ABGroupAdd; the group's id is the GUID the service gives.
func (s *nsSession) bookAddGroup(ctx context.Context, name string) (Group, error) {
	body := `<ABGroupAdd xmlns="http://www.msn.com/webservices/AddressBook"><abId>` + abID + `</abId>` +
		`<groupAddOptions><fRenameOnMsgrConflict>false</fRenameOnMsgrConflict></groupAddOptions><groupInfo><GroupInfo>` +
		`<name>` + xmlEscape(name) + `</name><groupType>` + groupTypeID + `</groupType><fMessenger>false</fMessenger>` +
		`<annotations><Annotation><Name>MSN.IM.Display</Name><Value>1</Value></Annotation></annotations>` +
		`</GroupInfo></groupInfo></ABGroupAdd>`
	id, err := s.cl.abResultGUID(ctx, "ABGroupAdd", scenarioGroupSave, body)
	if err != nil {
		return Group{}, err
	}
	s.cl.mu.Lock()
	s.cl.list.addGroup(id, name)
	s.cl.mu.Unlock()
	return Group{ID: id, Name: name}, nil
}

func (s *nsSession) bookRenameGroup(ctx context.Context, id, name string) error {
	body := `<ABGroupUpdate xmlns="http://www.msn.com/webservices/AddressBook"><abId>` + abID + `</abId><groups><Group>` +
		`<groupId>` + xmlEscape(id) + `</groupId><groupInfo><name>` + xmlEscape(name) + `</name></groupInfo>` +
		`<propertiesChanged>GroupName</propertiesChanged></Group></groups></ABGroupUpdate>`
	_, err := s.cl.abCall(ctx, abService, "ABGroupUpdate", scenarioGroupSave, body)
	return err
}

func (s *nsSession) bookRemoveGroup(ctx context.Context, id string) error {
	body := `<ABGroupDelete xmlns="http://www.msn.com/webservices/AddressBook"><abId>` + abID + `</abId>` +
		`<groupFilter><groupIds><guid>` + xmlEscape(id) + `</guid></groupIds></groupFilter></ABGroupDelete>`
	_, err := s.cl.abCall(ctx, abService, "ABGroupDelete", scenarioTimer, body)
	return err
}

// bookGroupContact puts a contact of the FL into a group
// (ABGroupContactAdd) or takes it out (ABGroupContactDelete).
func (s *nsSession) bookGroupContact(ctx context.Context, email, group string, in bool) error {
	guid, err := s.cl.contactID(ctx, email)
	if err != nil {
		return err
	}
	method := "ABGroupContactDelete"
	if in {
		method = "ABGroupContactAdd"
	}
	body := `<` + method + ` xmlns="http://www.msn.com/webservices/AddressBook"><abId>` + abID + `</abId>` +
		`<groupFilter><groupIds><guid>` + xmlEscape(group) + `</guid></groupIds></groupFilter>` +
		`<contacts><Contact><contactId>` + xmlEscape(guid) + `</contactId></Contact></contacts></` + method + `>`
	_, err = s.cl.abCall(ctx, abService, method, scenarioGroupSave, body)
	return err
}
