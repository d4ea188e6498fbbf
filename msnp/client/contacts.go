package client

import (
	"slices"
	"strings"

	"github.com/nudge-im/nudge/msnp/p2p"
)

// Status is a presence status, as the protocol names it.
type Status string

// The statuses. Hidden is "appear offline": others see Offline. Offline is
// never a status one can set.
const (
	Online      Status = "NLN"
	Busy        Status = "BSY"
	Idle        Status = "IDL"
	BeRightBack Status = "BRB"
	Away        Status = "AWY"
	OnThePhone  Status = "PHN"
	OutToLunch  Status = "LUN"
	Hidden      Status = "HDN"
	Offline     Status = "FLN"
)

var statusNames = map[Status]string{
	Online: "online", Busy: "busy", Idle: "idle", BeRightBack: "be right back", Away: "away",
	OnThePhone: "on the phone", OutToLunch: "out to lunch", Hidden: "appear offline", Offline: "offline",
}

// String returns the status in words, such as "be right back".
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return string(s)
}

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool {
	_, ok := statusNames[s]
	return ok
}

// ParseStatus accepts a protocol code ("AWY") or a word ("away", "brb",
// "busy", "invisible", "lunch", "phone", "idle", "online", "offline").
func ParseStatus(s string) (Status, bool) {
	if st := Status(strings.ToUpper(s)); st.Valid() {
		return st, true
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "online", "available":
		return Online, true
	case "busy", "dnd":
		return Busy, true
	case "idle":
		return Idle, true
	case "brb", "be right back", "berightback":
		return BeRightBack, true
	case "away":
		return Away, true
	case "phone", "on the phone", "onthephone":
		return OnThePhone, true
	case "lunch", "out to lunch", "outtolunch":
		return OutToLunch, true
	case "hidden", "invisible", "appear offline":
		return Hidden, true
	case "offline":
		return Offline, true
	}
	return "", false
}

// List is a set of the protocol's contact lists.
type List uint8

// The lists. Forward is your contact list; Allow and Block say who may see
// you and talk to you; Reverse is who has you on their contact list.
const (
	Forward List = 1 << iota // FL
	Allow                    // AL
	Block                    // BL
	Reverse                  // RL
	Pending                  // PL (MSNP10+: asked to be added, not yet answered)
)

// Has reports whether every list in m is in l.
func (l List) Has(m List) bool { return l&m == m }

func (l List) String() string {
	var b []string
	for i, n := range []string{"FL", "AL", "BL", "RL", "PL"} {
		if l&(1<<i) != 0 {
			b = append(b, n)
		}
	}
	return strings.Join(b, ",")
}

func listByName(s string) (List, bool) {
	switch s {
	case "FL":
		return Forward, true
	case "AL":
		return Allow, true
	case "BL":
		return Block, true
	case "RL":
		return Reverse, true
	case "PL":
		return Pending, true
	}
	return 0, false
}

// Contact is a contact on one of your lists, or yourself (Client.Self).
type Contact struct {
	Email           string
	FriendlyName    string
	PersonalMessage string
	Status          Status // Offline unless the server said otherwise
	Lists           List
	Groups          []string // ids of the groups the contact is in (MSNP7+)
	GUID            string   // contact id (MSNP10+)
	// Capabilities are the client capability flags of the contact's
	// client while online (MSNP8+), such as msnp.CapWebClient.
	Capabilities uint32
	// DisplayPicture is the MSNObject of the picture the contact shows
	// (MSNP9+), as last announced; nil when none. Client.FetchObject
	// gets its data. The object is shared: do not change it.
	DisplayPicture *p2p.Object
}

// Group is a contact group (MSNP7+). ID is a number before MSNP10 and a
// GUID from MSNP10 on.
type Group struct {
	ID   string
	Name string
}

// contactList is the client's view of the lists, guarded by Client.mu.
type contactList struct {
	contacts map[string]*Contact // by lower-case e-mail
	groups   map[string]*Group   // by id
	order    []string            // group ids in the order the server listed them
}

func newContactList() contactList {
	return contactList{contacts: map[string]*Contact{}, groups: map[string]*Group{}}
}

func key(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// get returns the contact, creating an entry when there is none.
func (l *contactList) get(email string) *Contact {
	k := key(email)
	ct := l.contacts[k]
	if ct == nil {
		ct = &Contact{Email: email, Status: Offline}
		l.contacts[k] = ct
	}
	return ct
}

func (l *contactList) byGUID(guid string) *Contact {
	for _, ct := range l.contacts {
		if ct.GUID == guid {
			return ct
		}
	}
	return nil
}

func (l *contactList) addGroup(id, name string) {
	if g, ok := l.groups[id]; ok {
		g.Name = name
		return
	}
	l.groups[id] = &Group{ID: id, Name: name}
	l.order = append(l.order, id)
}

func (l *contactList) removeGroup(id string) {
	delete(l.groups, id)
	l.order = slices.DeleteFunc(l.order, func(s string) bool { return s == id })
	for _, ct := range l.contacts {
		ct.Groups = slices.DeleteFunc(ct.Groups, func(s string) bool { return s == id })
	}
}

func (ct *Contact) clone() Contact {
	c := *ct
	c.Groups = slices.Clone(ct.Groups)
	return c
}

func (ct *Contact) presence() *Presence {
	return &Presence{Email: ct.Email, Status: ct.Status, FriendlyName: ct.FriendlyName, PersonalMessage: ct.PersonalMessage, Capabilities: ct.Capabilities}
}

// splitGroups parses a comma-separated group list ("0,3").
func splitGroups(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for g := range strings.SplitSeq(s, ",") {
		if g != "" {
			out = append(out, g)
		}
	}
	return out
}
