package abch

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nudge-im/nudge/core/soap"
	"github.com/nudge-im/nudge/core/store"
)

// The SharingService: who may see and talk to the owner (Allow, Block),
// who has the owner on their list (Reverse) and who added the owner and
// awaits an answer (Pending).

// roles are the memberships, in the order FindMembership lists them.
var roles = []struct {
	name string
	list store.List
}{{"Allow", store.Allow}, {"Block", store.Block}, {"Reverse", store.Reverse}, {"Pending", store.Pending}}

func roleList(name string) (store.List, bool) {
	for _, r := range roles {
		if strings.EqualFold(r.name, strings.TrimSpace(name)) {
			return r.list, true
		}
	}
	return 0, false
}

// findMembership lists the owner's AL, BL, RL and PL. With deltasOnly and
// a lastChange it lists only the entries changed since, each in the roles
// it is in now and marked Deleted in the others, and the entries removed
// since as Deleted.
func (rq *request) findMembership() error {
	var since time.Time
	if rq.body.Bool("deltasOnly") {
		since = parseSince(rq.body.Value("lastChange"))
	}
	book, err := rq.h.cfg.Store.AddressBook(rq.ctx, rq.owner, since)
	if err != nil {
		return err
	}
	delta := !since.IsZero()
	type member struct {
		email, guid, name string
		cid               int64
		deleted           bool
		changed           time.Time
	}
	byRole := make([][]member, len(roles))
	for _, e := range book.Entries {
		for i, r := range roles {
			on := e.Lists&r.list != 0
			if on || delta {
				byRole[i] = append(byRole[i], member{e.Email, e.GUID, e.FriendlyName, e.CID, !on, e.Changed})
			}
		}
	}
	for _, rm := range book.Removed {
		if rm.Email == "" {
			continue // a group
		}
		for i, r := range roles {
			if rm.Lists&r.list != 0 {
				byRole[i] = append(byRole[i], member{rm.Email, rm.GUID, "", 0, true, rm.At})
			}
		}
	}
	rq.reply(func(b *soap.Builder) {
		b.Raw("<FindMembershipResult><Services><Service><Memberships>")
		for i, r := range roles {
			if len(byRole[i]) == 0 {
				continue
			}
			b.Raw("<Membership><MemberRole>", r.name, "</MemberRole><Members>")
			for _, m := range byRole[i] {
				b.Raw(`<Member xsi:type="PassportMember"><MembershipId>`)
				if r.list == store.Pending && m.cid != 0 {
					// Pidgin reads a pending membership's id as a number.
					b.Raw(strconv.FormatInt(pendingID(m.cid), 10))
				} else {
					b.Raw(r.name, "/")
					b.Esc(m.guid)
				}
				b.Raw("</MembershipId><Type>Passport</Type>")
				if r.list == store.Pending {
					b.Raw("<State>Pending</State>")
				} else {
					b.Raw("<State>Accepted</State>")
				}
				b.Raw("<Deleted>", strconv.FormatBool(m.deleted), "</Deleted>",
					"<LastChanged>", formatTime(m.changed), "</LastChanged>",
					"<JoinedDate>", formatTime(m.changed), "</JoinedDate>",
					"<ExpirationDate>0001-01-01T00:00:00</ExpirationDate><Changes/>")
				if m.name != "" && m.name != m.email {
					b.Elem("DisplayName", m.name)
				}
				b.Elem("PassportName", m.email)
				b.Raw("<IsPassportNameHidden>false</IsPassportNameHidden><PassportId>0</PassportId>",
					"<CID>", strconv.FormatInt(m.cid, 10), "</CID><PassportChanges/><LookedupByCID>false</LookedupByCID></Member>")
			}
			b.Raw("</Members><MembershipIsComplete>true</MembershipIsComplete></Membership>")
		}
		b.Raw("</Memberships><Info><Handle><Id>1</Id><Type>Messenger</Type><ForeignId></ForeignId></Handle>",
			"<InverseRequired>false</InverseRequired><AuthorizationCriteria>Everyone</AuthorizationCriteria>",
			"<IsBot>false</IsBot></Info><Changes/><LastChange>", formatTime(book.Owner.Changed), "</LastChange>",
			"<Deleted>false</Deleted></Service></Services>",
			"<OwnerNamespace><Info><Handle><Id>00000000-0000-0000-0000-000000000000</Id><IsPassportNameHidden>false</IsPassportNameHidden>",
			"<CID>0</CID></Handle><CreatorPuid>0</CreatorPuid><CreatorCID>", strconv.FormatInt(book.Owner.CID, 10),
			"</CreatorCID><CreatorPassportName>")
		b.Esc(book.Owner.Email)
		b.Raw("</CreatorPassportName><CircleAttributes><IsPresenceEnabled>false</IsPresenceEnabled>",
			"<Domain>WindowsLive</Domain></CircleAttributes><MessengerApplicationServiceCreated>false</MessengerApplicationServiceCreated>",
			"</Info><Changes/><CreateDate>", formatTime(book.Owner.Created), "</CreateDate><LastChange>",
			formatTime(book.Owner.Changed), "</LastChange></OwnerNamespace></FindMembershipResult>")
	})
	return nil
}

// members yields the role and handle of every Member of a memberships
// element; a member named only by MembershipId ("Allow/{guid}", or a CID)
// is looked up in the owner's list.
func (rq *request) members(fn func(list store.List, email string) error) error {
	for _, ms := range rq.body.Child("memberships").All("Membership") {
		list, ok := roleList(ms.Value("MemberRole"))
		if !ok {
			rq.fault(http.StatusInternalServerError, "soap:Client", "BadArgument", "Unknown MemberRole.")
			return errFaulted
		}
		for _, m := range ms.Child("Members").All("Member") {
			email := strings.ToLower(strings.TrimSpace(m.Value("PassportName")))
			if email == "" {
				email = strings.ToLower(strings.TrimSpace(m.Value("Email")))
			}
			if email == "" {
				var err error
				if email, err = rq.memberByID(m.Value("MembershipId")); err != nil {
					rq.fault(http.StatusInternalServerError, "soap:Client", "MemberDoesNotExist", "Member does not exist.")
					return errFaulted
				}
			}
			if err := fn(list, email); err != nil {
				return err
			}
		}
	}
	return nil
}

func (rq *request) memberByID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if _, guid, ok := strings.Cut(id, "/"); ok {
		c, err := rq.h.cfg.Store.ContactByGUID(rq.ctx, rq.owner, guid)
		return c.Email, err
	}
	if cid, err := strconv.ParseInt(id, 10, 64); err == nil && cid > 0 {
		a, err := rq.h.cfg.Store.AccountByCID(rq.ctx, cid)
		if !errors.Is(err, store.ErrNotFound) || cid > maxPendingID {
			return a.Email, err
		}
		// A pending membership's short id: one of the owner's entries,
		// pending or (after an ADL the NS had first) no longer.
		book, err := rq.h.cfg.Store.AddressBook(rq.ctx, rq.owner, time.Time{})
		if err != nil {
			return "", err
		}
		found := ""
		for _, e := range book.Entries {
			if e.CID != 0 && pendingID(e.CID) == cid && (found == "" || e.Lists&store.Pending != 0) {
				found = e.Email
			}
		}
		if found != "" {
			return found, nil
		}
	}
	return "", store.ErrNotFound
}

// maxPendingID is the largest id a C int holds: Pidgin keeps a pending
// membership's id with atoi and writes it back with %u.
const maxPendingID = 1<<31 - 1

// pendingID is the MembershipId of a pending member: the low 31 bits of
// its CID (never 0), found again among the owner's pending entries.
func pendingID(cid int64) int64 {
	if id := cid & maxPendingID; id != 0 {
		return id
	}
	return 1
}

// addMember puts people on AL or BL. Putting someone on one takes them off
// the other: that is what a client's "block" and "unblock" mean. Reverse
// and Pending are kept by the service; asking to add to them changes
// nothing.
func (rq *request) addMember() error {
	st := rq.h.cfg.Store
	err := rq.members(func(list store.List, email string) error {
		if list != store.Allow && list != store.Block {
			return nil
		}
		_, err := st.AddToList(rq.ctx, rq.owner, email, list, "", "")
		if errors.Is(err, store.ErrOppositeList) {
			if _, err = st.RemoveFromList(rq.ctx, rq.owner, email, (store.Allow|store.Block)&^list, ""); err == nil {
				_, err = st.AddToList(rq.ctx, rq.owner, email, list, "", "")
			}
		}
		switch {
		case errors.Is(err, store.ErrAlreadyOnList):
		case errors.Is(err, store.ErrNotFound):
			rq.fault(http.StatusInternalServerError, "soap:Client", "UserDoesNotExist", "There is no such user.")
			return errFaulted
		case err != nil:
			return err
		}
		rq.h.changed(rq.owner, email)
		return nil
	})
	if err != nil {
		return err
	}
	return rq.empty()
}

// deleteMember takes people off AL or BL, or answers a pending addition
// with "no" (Pending). The reverse list is the other side's to change.
func (rq *request) deleteMember() error {
	err := rq.members(func(list store.List, email string) error {
		if list == store.Reverse {
			return nil
		}
		_, err := rq.h.cfg.Store.RemoveFromList(rq.ctx, rq.owner, email, list, "")
		switch {
		case errors.Is(err, store.ErrNotOnList):
			// Already as asked: Pidgin and bitlbee send RML (or an ADL
			// that clears PL) over the NS before this, and Pidgin takes a
			// fault here as the end of its block, unblock or accept.
			return nil
		case errors.Is(err, store.ErrNotFound):
			rq.fault(http.StatusInternalServerError, "soap:Client", "MemberDoesNotExist", "Member does not exist.")
			return errFaulted
		case err != nil:
			return err
		}
		rq.h.changed(rq.owner, email)
		return nil
	})
	if err != nil {
		return err
	}
	return rq.empty()
}

// changed tells the owner's endpoints about a change of an entry ("":
// groups or settings).
func (h *handler) changed(owner, contact string) {
	if h.cfg.Directory == nil {
		return
	}
	if p := h.cfg.Directory.Lookup(owner); p != nil {
		p.BookChanged(contact)
	}
}

// reverse tells contact, if signed in, that owner put them on (added) or
// took them off their FL, as the Notification server does for ADD/REM.
func (rq *request) reverse(contact string, ch store.Change, added bool) {
	d := rq.h.cfg.Directory
	if d == nil || !ch.Reverse {
		return
	}
	peer := d.Lookup(contact)
	if peer == nil {
		return
	}
	if !added {
		peer.ReverseRemoved(rq.owner, ch.ReverseVersion)
		return
	}
	name := rq.owner
	if me := d.Lookup(rq.owner); me != nil {
		p, _ := me.Self()
		name = p.FriendlyName
	} else if a, err := rq.h.cfg.Store.Account(rq.ctx, rq.owner); err == nil {
		name = a.FriendlyName
	}
	peer.ReverseAdded(rq.owner, name, ch.ReverseVersion)
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
