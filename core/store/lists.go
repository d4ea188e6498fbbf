package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
)

// The list flows, the same on both engines; each change goes as change.go
// describes.

// entry is one contacts row.
type entry struct {
	id    int64
	email string
	name  string
	guid  string
	lists List
}

const entryCols = `id, email, friendly_name, guid, lists`

func scanEntry(row scanner) (entry, error) {
	var e entry
	var lists int64 // scanning into List directly would go through reflection
	err := row.Scan(&e.id, &e.email, &e.name, &e.guid, &lists)
	e.lists = List(lists)
	return e, err
}

// getEntry returns owner's row for handle; ok is false when there is none.
func getEntry(ctx context.Context, t txn, owner int64, handle string) (e entry, ok bool, err error) {
	e, err = scanEntry(t.row(ctx, `SELECT `+entryCols+` FROM contacts WHERE owner = $1 AND email = $2`, owner, handle))
	if errNoRows(err) {
		return entry{}, false, nil
	}
	return e, err == nil, err
}

// loadContact returns the Contact for a row id with its groups, or the
// zero Contact if the row is gone. One query: the groups come joined by
// commas (GUIDs have none).
func loadContact(ctx context.Context, t txn, id int64) (Contact, error) {
	var c Contact
	var lists int64
	var groups sql.NullString
	err := t.row(ctx, `
		SELECT c.email, c.friendly_name, c.guid, c.lists, c.contact_type,
		       (SELECT string_agg(g.guid, ',' ORDER BY g.number)
		        FROM group_members m JOIN contact_groups g ON g.id = m.grp WHERE m.contact = c.id)
		FROM contacts c WHERE c.id = $1`, id).Scan(&c.Email, &c.FriendlyName, &c.GUID, &lists, &c.Type, &groups)
	if errNoRows(err) {
		return Contact{}, nil
	}
	if err != nil {
		return Contact{}, err
	}
	c.Lists = List(lists)
	c.Groups = splitGUIDs(groups)
	return c, nil
}

// splitGUIDs undoes string_agg(guid, ','); no groups is a nil slice.
func splitGUIDs(s sql.NullString) []string {
	if !s.Valid || s.String == "" {
		return nil
	}
	return strings.Split(s.String, ",")
}

// groupID finds one of owner's groups by GUID.
func groupID(ctx context.Context, t txn, owner int64, guid string) (int64, error) {
	var id int64
	err := t.row(ctx, `SELECT id FROM contact_groups WHERE owner = $1 AND guid = $2`, owner, lookup(guid)).Scan(&id)
	if errNoRows(err) {
		return 0, ErrNoSuchGroup
	}
	return id, err
}

// addMember puts a row into a group, or returns ErrAlreadyInGroup.
func addMember(ctx context.Context, t txn, contact, group int64) error {
	n, err := t.affected(ctx,
		`INSERT INTO group_members (contact, grp) VALUES ($1, $2) ON CONFLICT DO NOTHING`, contact, group)
	if err == nil && n == 0 {
		return ErrAlreadyInGroup
	}
	return err
}

// clientList reports whether a client may change l itself.
func clientList(l List) bool { return l == Forward || l == Allow || l == Block }

// removable reports whether a client may take an entry off l: one of its
// own lists, or PL (declining someone who added it).
func removable(l List) bool { return clientList(l) || l == Pending }

// AddToList puts contact on owner's FL, AL or BL. See Store.
//
// A non-empty friendlyName also replaces the name stored for an existing
// entry; an empty one keeps it (or, for a new entry, uses the handle).
// Adding to FL when the contact is already there but a group is given adds
// it to that group (MSNP7+ "ADD FL x name group").
func (s *sqlStore) AddToList(ctx context.Context, owner, contact string, l List, friendlyName, group string) (Change, error) {
	if !clientList(l) || (group != "" && l != Forward) {
		return Change{}, ErrInvalidList
	}
	contact, err := NormalizeEmail(contact)
	if err != nil {
		return Change{}, err
	}
	if friendlyName != "" {
		if err := validName(friendlyName, MaxFriendly); err != nil {
			return Change{}, err
		}
	}
	owner = lookup(owner)
	var ch Change
	err = s.write(ctx, func(t txn) error {
		ch = Change{}
		if l == Forward {
			// FL and the contact's RL change together: lock both.
			me, them, err := lockPair(ctx, t, owner, contact)
			switch {
			case err != nil:
				return err
			case me == nil, them == nil:
				return ErrNotFound
			}
			ch, err = addForward(ctx, t, me, them, contact, friendlyName, group, s.maxReverse)
			return err
		}
		me, err := lockAccount(ctx, t, owner)
		if err != nil {
			return err
		}
		e, found, err := getEntry(ctx, t, me.id, contact)
		switch {
		case err != nil:
			return err
		case found && e.lists&l != 0:
			return ErrAlreadyOnList
		case found && e.lists&(Allow|Block) != 0:
			return ErrOppositeList
		}
		var exists bool
		if err := t.row(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1)`, contact).Scan(&exists); err != nil {
			return err
		}
		n := me.sizes.Allow
		if l == Block {
			n = me.sizes.Block
		}
		switch {
		case !exists:
			return ErrNotFound
		case n >= maxAllowBlock(s.maxReverse):
			return ErrListFull
		}
		// Putting someone on AL or BL answers their add: off PL.
		id, _, err := changeBits(ctx, t, me, contact, e, found, l, Pending, cmp.Or(friendlyName, contact), friendlyName != "")
		if err != nil {
			return err
		}
		if ch.Version, err = finish(ctx, t, me); err != nil {
			return err
		}
		ch.Contact, err = loadContact(ctx, t, id)
		return err
	})
	if err != nil {
		return Change{}, err
	}
	return ch, nil
}

// addForward is AddToList for FL, with both accounts locked: it also
// puts owner on the contact's RL (and PL, unless the contact has already
// put owner on AL or BL).
func addForward(ctx context.Context, t txn, me, them *acct, contact, name, group string, maxReverse int) (Change, error) {
	e, found, err := getEntry(ctx, t, me.id, contact)
	if err != nil {
		return Change{}, err
	}
	var gid int64
	if group != "" {
		if gid, err = groupID(ctx, t, me.id, group); err != nil {
			return Change{}, err
		}
	}

	if found && e.lists&Forward != 0 {
		if gid == 0 {
			return Change{}, ErrAlreadyOnList
		}
		// Already watched: this only adds another group.
		if err := addMember(ctx, t, e.id, gid); err != nil {
			return Change{}, err
		}
		if err := touchEntry(ctx, t, me, e.id); err != nil {
			return Change{}, err
		}
		v, err := finish(ctx, t, me)
		if err != nil {
			return Change{}, err
		}
		c, err := loadContact(ctx, t, e.id)
		return Change{Version: v, Contact: c}, err
	}

	if me.sizes.Forward >= MaxForward || them.sizes.Reverse >= maxReverse {
		return Change{}, ErrListFull
	}
	id, _, err := changeBits(ctx, t, me, contact, e, found, Forward, 0, cmp.Or(name, contact), name != "")
	if err != nil {
		return Change{}, err
	}
	if gid != 0 {
		if err := addMember(ctx, t, id, gid); err != nil {
			return Change{}, err
		}
	}
	// The other side: owner goes on the contact's RL, under the name owner
	// has now. (For someone adding themselves this is the same row, read
	// again after the change above; nobody is pending their own answer.)
	r, found, err := getEntry(ctx, t, them.id, me.email)
	if err != nil {
		return Change{}, err
	}
	set := Reverse
	if them != me && (!found || r.lists&(Allow|Block) == 0) {
		set |= Pending
	}
	if _, _, err := changeBits(ctx, t, them, me.email, r, found, set, 0, me.name, false); err != nil {
		return Change{}, err
	}
	return finishForward(ctx, t, me, them, id)
}

// finishForward finishes both accounts of an FL change (once when owner
// and contact are the same account) and describes it.
func finishForward(ctx context.Context, t txn, me, them *acct, id int64) (Change, error) {
	ch := Change{Reverse: true}
	var err error
	if ch.Version, err = finish(ctx, t, me); err != nil {
		return Change{}, err
	}
	ch.ReverseVersion = ch.Version
	if them != me {
		if ch.ReverseVersion, err = finish(ctx, t, them); err != nil {
			return Change{}, err
		}
	}
	ch.Contact, err = loadContact(ctx, t, id)
	return ch, err
}

// RemoveFromList takes contact off owner's FL, AL, BL or PL. See Store.
// Removing from FL without a group also takes owner off the contact's RL
// (and PL); with a group it only leaves that group (the entry stays on FL,
// in group 0 for MSNP7–9 clients, even when it was its last group).
func (s *sqlStore) RemoveFromList(ctx context.Context, owner, contact string, l List, group string) (Change, error) {
	if !removable(l) || (group != "" && l != Forward) {
		return Change{}, ErrInvalidList
	}
	owner, contact = lookup(owner), lookup(contact)
	var ch Change
	err := s.write(ctx, func(t txn) error {
		ch = Change{}
		var me, them *acct
		var err error
		if l == Forward && group == "" {
			// The contact's RL changes too (when it has an account).
			me, them, err = lockPair(ctx, t, owner, contact)
			if err == nil && me == nil {
				err = ErrNotFound
			}
		} else {
			me, err = lockAccount(ctx, t, owner)
		}
		if err != nil {
			return err
		}
		e, found, err := getEntry(ctx, t, me.id, contact)
		if err != nil {
			return err
		}
		if !found || e.lists&l == 0 {
			return ErrNotOnList
		}

		if group != "" {
			gid, err := groupID(ctx, t, me.id, group)
			if err != nil {
				return err
			}
			n, err := t.affected(ctx, `DELETE FROM group_members WHERE contact = $1 AND grp = $2`, e.id, gid)
			if err != nil {
				return err
			}
			if n == 0 {
				return ErrNotInGroup
			}
			if err := touchEntry(ctx, t, me, e.id); err != nil {
				return err
			}
			if ch.Version, err = finish(ctx, t, me); err != nil {
				return err
			}
			ch.Contact, err = loadContact(ctx, t, e.id)
			return err
		}

		id, _, err := changeBits(ctx, t, me, contact, e, found, 0, l, "", false)
		if err != nil {
			return err
		}
		// An FL entry without an account cannot happen while DeleteAccount
		// cleans up, but it must still be removable.
		if l == Forward && them != nil {
			r, hadRow, err := getEntry(ctx, t, them.id, owner)
			if err != nil {
				return err
			}
			if hadRow && r.lists&Reverse != 0 {
				if _, _, err := changeBits(ctx, t, them, owner, r, true, 0, Reverse|Pending, "", false); err != nil {
					return err
				}
				ch, err = finishForward(ctx, t, me, them, id)
				return err
			}
		}
		if ch.Version, err = finish(ctx, t, me); err != nil {
			return err
		}
		ch.Contact, err = loadContact(ctx, t, id)
		return err
	})
	if err != nil {
		return Change{}, err
	}
	return ch, nil
}

// ContactByGUID finds an entry of owner's list by its GUID. An unknown GUID
// returns ErrNotOnList, an unknown owner ErrNotFound.
func (s *sqlStore) ContactByGUID(ctx context.Context, owner, guid string) (Contact, error) {
	var c Contact
	err := s.read(ctx, func(t txn) error {
		// The LEFT JOIN tells an unknown owner from an unknown GUID.
		var id sql.NullInt64
		err := t.row(ctx, `
			SELECT c.id FROM accounts a LEFT JOIN contacts c ON c.owner = a.id AND c.guid = $2
			WHERE a.email = $1`, lookup(owner), lookup(guid)).Scan(&id)
		switch {
		case errNoRows(err):
			return ErrNotFound
		case err != nil:
			return err
		case !id.Valid:
			return ErrNotOnList
		}
		c, err = loadContact(ctx, t, id.Int64)
		return err
	})
	return c, err
}

// SetContactName stores the name owner sees for contact. Setting the name it
// already has changes nothing and returns the current version.
func (s *sqlStore) SetContactName(ctx context.Context, owner, contact, name string) (int64, error) {
	if err := validName(name, MaxFriendly); err != nil {
		return 0, err
	}
	var v int64
	err := s.write(ctx, func(t txn) error {
		me, err := lockAccount(ctx, t, lookup(owner))
		if err != nil {
			return err
		}
		e, found, err := getEntry(ctx, t, me.id, lookup(contact))
		switch {
		case err != nil:
			return err
		case !found:
			return ErrNotOnList
		case e.name == name:
			v = me.version
			return nil
		}
		if _, _, err := changeBits(ctx, t, me, e.email, e, true, 0, 0, name, true); err != nil {
			return err
		}
		v, err = finish(ctx, t, me)
		return err
	})
	return v, err
}

// listedQuery finds owner by handle, then the (owner, handle) row: two
// indexed lookups.
const listedQuery = `
	SELECT c.lists FROM accounts a LEFT JOIN contacts c ON c.owner = a.id AND c.email = $2
	WHERE a.email = $1`

// Listed reports which of owner's lists contact is on.
func (s *sqlStore) Listed(ctx context.Context, owner, contact string) (List, error) {
	var l sql.NullInt64
	err := s.reader().row(ctx, listedQuery, lookup(owner), lookup(contact)).Scan(&l)
	if errNoRows(err) {
		return 0, ErrNotFound
	}
	return List(l.Int64), wrap(err)
}

// watchersQuery finds the FL entries naming $1 through contacts_by_email,
// then for each watcher its account and $1's own entry for it.
const watchersQuery = `
	SELECT w.email, w.friendly_name, coalesce(r.guid, ''), coalesce(r.lists, 0)
	FROM contacts f
	JOIN accounts w ON w.id = f.owner
	LEFT JOIN accounts x ON x.email = f.email
	LEFT JOIN contacts r ON r.owner = x.id AND r.email = w.email
	WHERE f.email = $1 AND f.lists & CAST($2 AS smallint) <> 0
	ORDER BY w.email`

// Watchers returns the accounts that have email on their FL, ordered by
// handle; none (not an error) for a handle nobody watches.
//
// Each Contact describes a watcher: its handle, its own current friendly
// name, and the GUID and lists of the watcher's entry on email's own list
// (so Lists has Reverse, plus Allow or Block if email put it there), which
// is what deciding whether to show it email's presence needs.
func (s *sqlStore) Watchers(ctx context.Context, email string) ([]Contact, error) {
	rows, err := s.reader().query(ctx, watchersQuery, lookup(email), int64(Forward))
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		var c Contact
		var lists int64
		if err := rows.Scan(&c.Email, &c.FriendlyName, &c.GUID, &lists); err != nil {
			return nil, wrap(err)
		}
		c.Lists = List(lists) | Reverse
		out = append(out, c)
	}
	return out, wrap(rows.Err())
}

// contactsQuery reads an account's groups, entries and group memberships
// in one statement (so on one snapshot, in one round trip): a row of kind
// 0 when the account exists, then its groups (kind 1: number, GUID,
// name), its entries (kind 2: id, handle, name, GUID, type, lists) and
// which group each entry is in (kind 3: entry id, group GUID, group
// number). Every part is a plain index lookup: no aggregate, no sort, no
// table the engine builds for the statement (Contacts orders the rows),
// which is what makes it cheap enough to run at every sign-in. The
// account's id is a subquery in each part rather than one shared WITH:
// SQLite builds a table for a WITH that is used more than once, every
// time the statement runs, which cost more than the rest of the query.
const contactsQuery = `
	SELECT 0 AS kind, CAST(0 AS bigint) AS n, '' AS a, '' AS b, '' AS c, '' AS d, CAST(0 AS bigint) AS m
	FROM accounts WHERE email = $1
	UNION ALL
	SELECT 1, g.number, g.guid, g.name, '', '', 0
	FROM contact_groups g WHERE g.owner = (SELECT id FROM accounts WHERE email = $1)
	UNION ALL
	SELECT 2, c.id, c.email, c.friendly_name, c.guid, c.contact_type, c.lists
	FROM contacts c WHERE c.owner = (SELECT id FROM accounts WHERE email = $1)
	UNION ALL
	SELECT 3, m.contact, g.guid, '', '', '', g.number
	FROM contact_groups g JOIN group_members m ON m.grp = g.id
	WHERE g.owner = (SELECT id FROM accounts WHERE email = $1)`

// Contacts returns owner's whole list in the order entries were added, and
// its groups by number.
func (s *sqlStore) Contacts(ctx context.Context, owner string) ([]Contact, []Group, error) {
	rows, err := s.reader().query(ctx, contactsQuery, lookup(owner))
	if err != nil {
		return nil, nil, wrap(err)
	}
	defer rows.Close()
	type listed struct {
		id int64
		Contact
	}
	type membership struct {
		entry, number int64
		guid          string
	}
	var (
		es    []listed
		gs    []Group
		ms    []membership
		found bool
	)
	for rows.Next() {
		var kind int
		var n, m int64
		var a, b, c, d string
		if err := rows.Scan(&kind, &n, &a, &b, &c, &d, &m); err != nil {
			return nil, nil, wrap(err)
		}
		switch kind {
		case 0:
			found = true
		case 1:
			gs = append(gs, Group{Number: int(n), GUID: a, Name: b})
		case 2:
			es = append(es, listed{n, Contact{Email: a, FriendlyName: b, GUID: c, Type: d, Lists: List(m)}})
		default:
			ms = append(ms, membership{entry: n, number: m, guid: a})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, wrap(err)
	}
	if !found {
		return nil, nil, ErrNotFound
	}
	slices.SortFunc(gs, func(x, y Group) int { return cmp.Compare(x.Number, y.Number) })
	slices.SortFunc(es, func(x, y listed) int { return cmp.Compare(x.id, y.id) })
	slices.SortFunc(ms, func(x, y membership) int {
		return cmp.Or(cmp.Compare(x.entry, y.entry), cmp.Compare(x.number, y.number))
	})
	cs := make([]Contact, len(es))
	for i, e := range es {
		cs[i] = e.Contact
		// Memberships and entries are both in entry order: walk them together.
		for len(ms) > 0 && ms[0].entry < e.id {
			ms = ms[1:]
		}
		for len(ms) > 0 && ms[0].entry == e.id {
			cs[i].Groups = append(cs[i].Groups, ms[0].guid)
			ms = ms[1:]
		}
	}
	return cs, gs, nil
}
