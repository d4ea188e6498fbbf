package abch

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nudge-im/nudge/core/soap"
	"github.com/nudge-im/nudge/core/store"
)

// The ABService: the contacts (FL) with their groups and annotations, and
// the owner's own "Me" contact that carries the settings (BLP, GTC, MPOP).

// groupType is the type of every user-made group.
const groupType = "c8529ce2-6ead-434d-881f-341e17db3ff8"

// defaultAB is the id of a user's own address book.
const defaultAB = "00000000-0000-0000-0000-000000000000"

// Settings kept as annotations of the Me contact; BLP and GTC are the
// account's privacy and prompt-on-add settings, stored as such.
const (
	annBLP = "MSN.IM.BLP"
	annGTC = "MSN.IM.GTC"
)

// paged are the element names of ABFindContactsPaged's answer, which
// differ from ABFindAll's in case and in the Ab element.
type names struct{ groups, contacts, ab string }

var (
	findAllNames = names{"groups", "contacts", "ab"}
	pagedNames   = names{"Groups", "Contacts", "Ab"}
)

func (rq *request) abFindAll() error {
	return rq.findContacts(rq.body.Bool("deltasOnly"), rq.body.Value("lastChange"), findAllNames)
}

// abFindContactsPaged is ABFindAll as WLM 2009 asks it (the filter in
// filterOptions). There are no circles: the CircleResult is empty, so a
// client has no circle ticket to show.
func (rq *request) abFindContactsPaged() error {
	if h := rq.body.Child("abHandle"); h != nil && h.Value("ABId") != "" && h.Value("ABId") != defaultAB {
		rq.fault(http.StatusInternalServerError, "soap:Client", "ABDoesNotExist", "Address book does not exist.")
		return errFaulted
	}
	f := rq.body.Child("filterOptions")
	return rq.findContacts(f.Bool("DeltasOnly"), f.Value("LastChanged")+f.Value("lastChange"), pagedNames)
}

func (rq *request) findContacts(deltas bool, lastChange string, n names) error {
	var since time.Time
	if deltas {
		since = parseSince(lastChange)
	}
	book, err := rq.h.cfg.Store.AddressBook(rq.ctx, rq.owner, since)
	if err != nil {
		return err
	}
	delta := !since.IsZero()
	rq.reply(func(b *soap.Builder) {
		b.Raw("<", rq.method, "Result>")
		b.Raw("<", n.groups, ">")
		for _, g := range book.Groups {
			writeGroup(b, g.GUID, g.Name, g.Changed, false)
		}
		for _, r := range book.Removed {
			if r.Email == "" {
				writeGroup(b, r.GUID, "", r.At, true)
			}
		}
		b.Raw("</", n.groups, ">")
		b.Raw("<", n.contacts, ">")
		for _, e := range book.Entries {
			if e.Lists&store.Forward != 0 {
				writeContact(b, e, false)
			} else if delta {
				writeContact(b, e, true) // left the FL, still on another list
			}
		}
		for _, r := range book.Removed {
			if r.Email != "" && r.Lists&store.Forward != 0 {
				writeContact(b, store.Entry{Contact: store.Contact{Email: r.Email, GUID: r.GUID}, Changed: r.At}, true)
			}
		}
		writeMe(b, book)
		b.Raw("</", n.contacts, ">")
		if n.ab == "Ab" {
			b.Raw("<CircleResult><Circles/></CircleResult>")
		}
		b.Raw("<", n.ab, "><abId>", defaultAB, "</abId><abInfo><ownerPuid>0</ownerPuid><OwnerCID>",
			strconv.FormatInt(book.Owner.CID, 10), "</OwnerCID><ownerEmail>")
		b.Esc(book.Owner.Email)
		b.Raw("</ownerEmail><fDefault>true</fDefault><joinedNamespace>false</joinedNamespace><IsBot>false</IsBot>",
			"<IsParentManaged>false</IsParentManaged><SubscribeExternalPartner>false</SubscribeExternalPartner>",
			"<NotifyExternalPartner>false</NotifyExternalPartner><AddressBookType>Individual</AddressBookType>")
		if n.ab == "Ab" {
			b.Raw("<AccountTierLastChanged>0001-01-01T00:00:00</AccountTierLastChanged><ProfileVersion>0</ProfileVersion>")
		}
		b.Raw("</abInfo><lastChange>", formatTime(book.Owner.Changed), "</lastChange>",
			"<DynamicItemLastChanged>0001-01-01T00:00:00</DynamicItemLastChanged>",
			"<createDate>", formatTime(book.Owner.Created), "</createDate><propertiesChanged/></", n.ab, ">")
		b.Raw("</", rq.method, "Result>")
	})
	return nil
}

func writeGroup(b *soap.Builder, guid, name string, changed time.Time, deleted bool) {
	b.Raw("<Group><groupId>")
	b.Esc(guid)
	b.Raw("</groupId><groupInfo><annotations><Annotation><Name>MSN.IM.Display</Name><Value>1</Value></Annotation></annotations>",
		"<groupType>", groupType, "</groupType>")
	b.Elem("name", name)
	b.Raw("<IsNotMobileVisible>false</IsNotMobileVisible><IsPrivate>false</IsPrivate><IsFavorite>false</IsFavorite></groupInfo>",
		"<propertiesChanged/><fDeleted>", strconv.FormatBool(deleted), "</fDeleted><lastChange>", formatTime(changed), "</lastChange></Group>")
}

func writeAnnotations(b *soap.Builder, m map[string]string) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.Raw("<annotations>")
	for _, k := range keys {
		b.Raw("<Annotation>")
		b.Elem("Name", k)
		b.Elem("Value", m[k])
		b.Raw("</Annotation>")
	}
	b.Raw("</annotations>")
}

func writeContact(b *soap.Builder, e store.Entry, deleted bool) {
	b.Raw("<Contact><contactId>")
	b.Esc(e.GUID)
	b.Raw("</contactId><contactInfo>")
	writeAnnotations(b, e.Annotations)
	b.Elem("contactType", cmpOr(e.Type, "Regular"))
	b.Raw("<quickName/>")
	b.Elem("passportName", e.Email)
	b.Raw("<IsPassportNameHidden>false</IsPassportNameHidden>")
	b.Elem("displayName", cmpOr(e.FriendlyName, e.Email))
	b.Raw("<puid>0</puid>")
	if len(e.Groups) > 0 {
		b.Raw("<groupIds>")
		for _, g := range e.Groups {
			b.Elem("guid", g)
		}
		b.Raw("</groupIds>")
	}
	b.Raw("<CID>", strconv.FormatInt(e.CID, 10), "</CID>",
		"<isMobileIMEnabled>false</isMobileIMEnabled><isMessengerUser>true</isMessengerUser><isFavorite>false</isFavorite>",
		"<isSmtp>false</isSmtp><hasSpace>false</hasSpace><spotWatchState>NoDevice</spotWatchState>",
		"<birthdate>0001-01-01T00:00:00</birthdate><primaryEmailType>ContactEmailPersonal</primaryEmailType>",
		"<PrimaryLocation>ContactLocationPersonal</PrimaryLocation><PrimaryPhone>ContactPhonePersonal</PrimaryPhone>",
		"<IsPrivate>false</IsPrivate><Gender>Unspecified</Gender><TimeZone>None</TimeZone></contactInfo>",
		"<propertiesChanged/><fDeleted>", strconv.FormatBool(deleted), "</fDeleted><lastChange>", formatTime(e.Changed), "</lastChange></Contact>")
}

// writeMe is the owner's own contact: its name, CID (bitlbee asks the
// storage service for the profile only when there is one) and settings.
func writeMe(b *soap.Builder, book store.AddressBook) {
	o := book.Owner
	ann := map[string]string{"MSN.IM.MBEA": "0", annBLP: "2", annGTC: "0"}
	for k, v := range book.Annotations {
		ann[k] = v
	}
	if o.Privacy == store.AllowByDefault {
		ann[annBLP] = "1"
	}
	if o.PromptOnAdd {
		ann[annGTC] = "1"
	}
	b.Raw("<Contact><contactId>", meGUID(o.CID), "</contactId><contactInfo>")
	writeAnnotations(b, ann)
	b.Raw("<contactType>Me</contactType><quickName/>")
	b.Elem("passportName", o.Email)
	b.Raw("<IsPassportNameHidden>false</IsPassportNameHidden>")
	b.Elem("displayName", cmpOr(o.FriendlyName, o.Email))
	b.Raw("<puid>0</puid><CID>", strconv.FormatInt(o.CID, 10), "</CID>",
		"<isMobileIMEnabled>false</isMobileIMEnabled><isMessengerUser>true</isMessengerUser><isFavorite>false</isFavorite>",
		"<isSmtp>false</isSmtp><hasSpace>false</hasSpace><spotWatchState>NoDevice</spotWatchState>",
		"<birthdate>0001-01-01T00:00:00</birthdate><primaryEmailType>ContactEmailPersonal</primaryEmailType>",
		"<PrimaryLocation>ContactLocationPersonal</PrimaryLocation><PrimaryPhone>ContactPhonePersonal</PrimaryPhone>",
		"<IsPrivate>false</IsPrivate><Gender>Unspecified</Gender><TimeZone>None</TimeZone></contactInfo>",
		"<propertiesChanged/><fDeleted>false</fDeleted><lastChange>", formatTime(o.Changed), "</lastChange></Contact>")
}

// meGUID is the Me contact's id: the CID in a GUID's shape, stable.
func meGUID(cid int64) string {
	h := strconv.FormatUint(uint64(cid), 16)
	h = strings.Repeat("0", 12-min(12, len(h))) + h
	return "00000000-0000-0000-0000-" + h[len(h)-12:]
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// abAdd makes a new account's address book. Every account has one from
// the start, so there is nothing to make: the answer is the book's id.
func (rq *request) abAdd() error {
	rq.reply(func(b *soap.Builder) { b.Raw("<ABAddResult>", defaultAB, "</ABAddResult>") })
	return nil
}

// guidOf finds the contact id of an entry of the owner's list.
func (rq *request) guidOf(email string) (string, error) {
	cs, _, err := rq.h.cfg.Store.Contacts(rq.ctx, rq.owner)
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if c.Email == email {
			return c.GUID, nil
		}
	}
	return "", store.ErrNotOnList
}

// annotations reads contactInfo/annotations.
func annotations(info *soap.Node) map[string]string {
	var m map[string]string
	for _, a := range info.Child("annotations").All("Annotation") {
		if m == nil {
			m = map[string]string{}
		}
		m[a.Value("Name")] = a.Value("Value")
	}
	return m
}

// addContact puts email on the owner's FL (in group, if not ""), and on
// the AL too when allow is set, telling both sides. Adding someone already
// there is not an error (WLM adds a contact by ADL and then again here).
func (rq *request) addContact(email, name, group string, allow bool) (string, error) {
	st := rq.h.cfg.Store
	if !strings.Contains(email, "@") {
		rq.fault(http.StatusInternalServerError, "soap:Client", "EmailMissingAtSign", "The contact's e-mail address has no @.")
		return "", errFaulted
	}
	ch, err := st.AddToList(rq.ctx, rq.owner, email, store.Forward, cmpOr(name, email), group)
	var guid string
	switch {
	case errors.Is(err, store.ErrAlreadyOnList):
		if guid, err = rq.guidOf(email); err != nil {
			return "", err
		}
		if group != "" {
			if _, err := st.AddToGroup(rq.ctx, rq.owner, email, group); err != nil && !errors.Is(err, store.ErrAlreadyInGroup) {
				return "", err
			}
		}
	case errors.Is(err, store.ErrNotFound):
		rq.fault(http.StatusInternalServerError, "soap:Client", "InvalidPassportUser", "There is no user "+email+".")
		return "", errFaulted
	case err != nil:
		return "", err
	default:
		guid = ch.Contact.GUID
		rq.reverse(email, ch, true)
	}
	if allow {
		if _, err := st.AddToList(rq.ctx, rq.owner, email, store.Allow, "", ""); err != nil &&
			!errors.Is(err, store.ErrAlreadyOnList) && !errors.Is(err, store.ErrOppositeList) {
			return "", err
		}
	}
	return guid, nil
}

func (rq *request) abContactAdd() error {
	allow := rq.body.Bool("options", "EnableAllowListManagement")
	var guid string
	for _, c := range rq.body.Child("contacts").All("Contact") {
		info := c.Child("contactInfo")
		email := strings.ToLower(info.Value("passportName"))
		name := info.Value("MessengerMemberInfo", "DisplayName")
		if name == "" {
			name = info.Value("displayName")
		}
		g, err := rq.addContact(email, name, "", allow)
		if err != nil {
			return err
		}
		if ann := annotations(info); ann != nil {
			if _, err := rq.h.cfg.Store.Annotate(rq.ctx, rq.owner, email, ann); err != nil {
				return err
			}
		}
		guid = cmpOr(guid, g)
		rq.h.changed(rq.owner, email)
	}
	if guid == "" {
		rq.fault(http.StatusInternalServerError, "soap:Client", "BadArgument", "No contact to add.")
		return errFaulted
	}
	rq.reply(func(b *soap.Builder) { b.Raw("<ABContactAddResult><guid>", guid, "</guid></ABContactAddResult>") })
	return nil
}

// contactByID resolves a contactId of the owner's list to its handle.
func (rq *request) contactByID(id string) (string, error) {
	c, err := rq.h.cfg.Store.ContactByGUID(rq.ctx, rq.owner, strings.Trim(strings.TrimSpace(id), "{}"))
	if errors.Is(err, store.ErrNotFound) {
		err = store.ErrNotOnList
	}
	return c.Email, err
}

func (rq *request) abContactDelete() error {
	for _, c := range rq.body.Child("contacts").All("Contact") {
		email, err := rq.contactByID(c.Value("contactId"))
		if err != nil {
			return err
		}
		ch, err := rq.h.cfg.Store.RemoveFromList(rq.ctx, rq.owner, email, store.Forward, "")
		if errors.Is(err, store.ErrNotOnList) {
			// Off the FL already: Pidgin sends RML first, and keeps a
			// contact whose delete faulted in its list.
			continue
		}
		if err != nil {
			return err
		}
		rq.reverse(email, ch, false)
		rq.h.changed(rq.owner, email)
	}
	return rq.empty()
}

// abContactUpdate changes the Me contact (display name; privacy, prompt
// and other settings as annotations) or another contact's annotations
// (AB.NickName and the like).
func (rq *request) abContactUpdate() error {
	st := rq.h.cfg.Store
	for _, c := range rq.body.Child("contacts").All("Contact") {
		info := c.Child("contactInfo")
		ann := annotations(info)
		if strings.EqualFold(info.Value("contactType"), "Me") || c.Value("contactId") == "" {
			if strings.Contains(strings.ToLower(c.Value("propertiesChanged")), "displayname") {
				if _, err := st.SetFriendlyName(rq.ctx, rq.owner, info.Value("displayName")); err != nil && !errors.Is(err, store.ErrSameValue) {
					return err
				}
			}
			if v, ok := ann[annBLP]; ok {
				p := store.BlockByDefault
				if v == "1" {
					p = store.AllowByDefault
				}
				if _, err := st.SetPrivacy(rq.ctx, rq.owner, p); err != nil && !errors.Is(err, store.ErrSameValue) {
					return err
				}
				delete(ann, annBLP)
			}
			if v, ok := ann[annGTC]; ok {
				if _, err := st.SetPromptOnAdd(rq.ctx, rq.owner, v == "1"); err != nil && !errors.Is(err, store.ErrSameValue) {
					return err
				}
				delete(ann, annGTC)
			}
			if len(ann) > 0 {
				if _, err := st.Annotate(rq.ctx, rq.owner, "", ann); err != nil {
					return err
				}
			}
			rq.h.changed(rq.owner, "")
			continue
		}
		email, err := rq.contactByID(c.Value("contactId"))
		if err != nil {
			return err
		}
		if len(ann) > 0 {
			if _, err := st.Annotate(rq.ctx, rq.owner, email, ann); err != nil {
				return err
			}
		}
		rq.h.changed(rq.owner, email)
	}
	return rq.empty()
}

func (rq *request) abGroupAdd() error {
	name := rq.body.Value("groupInfo", "GroupInfo", "name")
	if name == "" || strings.EqualFold(name, "(No Group)") {
		rq.fault(http.StatusInternalServerError, "soap:Client", "BadArgument", "A group needs a name.")
		return errFaulted
	}
	g, _, err := rq.h.cfg.Store.AddGroup(rq.ctx, rq.owner, name)
	if err != nil {
		return err
	}
	rq.h.changed(rq.owner, "")
	rq.reply(func(b *soap.Builder) { b.Raw("<ABGroupAddResult><guid>", g.GUID, "</guid></ABGroupAddResult>") })
	return nil
}

func (rq *request) abGroupUpdate() error {
	for _, g := range rq.body.Child("groups").All("Group") {
		name := g.Value("groupInfo", "name")
		if name == "" {
			continue
		}
		if _, _, err := rq.h.cfg.Store.RenameGroup(rq.ctx, rq.owner, g.Value("groupId"), name); err != nil {
			return err
		}
	}
	rq.h.changed(rq.owner, "")
	return rq.empty()
}

func (rq *request) abGroupDelete() error {
	for _, id := range rq.body.Child("groupFilter", "groupIds").All("guid") {
		if _, err := rq.h.cfg.Store.RemoveGroup(rq.ctx, rq.owner, id.Text); err != nil {
			return err
		}
	}
	rq.h.changed(rq.owner, "")
	return rq.empty()
}

// abGroupContactAdd puts contacts into a group; a contact named by its
// passportName instead of its id is added to the FL first.
func (rq *request) abGroupContactAdd() error {
	group := rq.body.Value("groupFilter", "groupIds", "guid")
	var guid string
	for _, c := range rq.body.Child("contacts").All("Contact") {
		var email, g string
		var err error
		if id := c.Value("contactId"); id != "" {
			if email, err = rq.contactByID(id); err != nil {
				return err
			}
			if _, err := rq.h.cfg.Store.AddToGroup(rq.ctx, rq.owner, email, group); err != nil && !errors.Is(err, store.ErrAlreadyInGroup) {
				return err
			}
			g = strings.Trim(id, "{} ")
		} else {
			info := c.Child("contactInfo")
			email = strings.ToLower(info.Value("passportName"))
			allow := rq.body.Bool("groupContactAddOptions", "EnableAllowListManagement")
			if g, err = rq.addContact(email, info.Value("displayName"), group, allow); err != nil {
				return err
			}
		}
		guid = cmpOr(guid, g)
		rq.h.changed(rq.owner, email)
	}
	rq.reply(func(b *soap.Builder) {
		b.Raw("<ABGroupContactAddResult><guid>", guid, "</guid></ABGroupContactAddResult>")
	})
	return nil
}

func (rq *request) abGroupContactDelete() error {
	group := rq.body.Value("groupFilter", "groupIds", "guid")
	for _, c := range rq.body.Child("contacts").All("Contact") {
		email, err := rq.contactByID(c.Value("contactId"))
		if err != nil {
			return err
		}
		if _, err := rq.h.cfg.Store.RemoveFromList(rq.ctx, rq.owner, email, store.Forward, group); err != nil {
			return err
		}
		rq.h.changed(rq.owner, email)
	}
	return rq.empty()
}
