package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
)

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
func getEntry(ctx context.Context, q querier, owner int64, handle string) (e entry, ok bool, err error) {
	e, err = scanEntry(q.QueryRowContext(ctx,
		`SELECT `+entryCols+` FROM contacts WHERE owner = ? AND email = ?`, owner, handle))
	if errors.Is(err, sql.ErrNoRows) {
		return entry{}, false, nil
	}
	return e, err == nil, err
}

// loadContact returns the Contact for a row id with its groups, or the zero
// Contact if the row is gone.
func loadContact(ctx context.Context, q querier, id int64) (Contact, error) {
	e, err := scanEntry(q.QueryRowContext(ctx, `SELECT `+entryCols+` FROM contacts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, nil
	}
	if err != nil {
		return Contact{}, err
	}
	c := Contact{Email: e.email, FriendlyName: e.name, GUID: e.guid, Lists: e.lists}
	rows, err := q.QueryContext(ctx, `
		SELECT g.guid FROM group_members m JOIN contact_groups g ON g.id = m.grp
		WHERE m.contact = ? ORDER BY g.number`, id)
	if err != nil {
		return Contact{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var guid string
		if err := rows.Scan(&guid); err != nil {
			return Contact{}, err
		}
		c.Groups = append(c.Groups, guid)
	}
	return c, rows.Err()
}

// setBits puts handle on lists of owner's list, creating the row (with a
// new GUID and the given name) if needed. An existing row keeps its name
// unless rename is set. It returns the row id.
func setBits(ctx context.Context, q querier, owner int64, handle string, lists List, name string, rename bool) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `
		INSERT INTO contacts (owner, email, guid, friendly_name, lists) VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT (owner, email) DO UPDATE SET
			lists = lists | excluded.lists,
			friendly_name = CASE WHEN ?6 THEN excluded.friendly_name ELSE friendly_name END
		RETURNING id`,
		owner, handle, newGUID(), name, int64(lists), rename).Scan(&id)
	return id, err
}

// clearBits takes handle off lists of owner's list. Taking it off FL also
// takes it out of every group; a row left on no list is deleted. ok is
// false when owner had no row for handle.
func clearBits(ctx context.Context, q querier, owner int64, handle string, lists List) (ok bool, err error) {
	var id, left int64
	err = q.QueryRowContext(ctx, `
		UPDATE contacts SET lists = lists & ~?1 WHERE owner = ?2 AND email = ?3 RETURNING id, lists`,
		int64(lists), owner, handle).Scan(&id, &left)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if left == 0 {
		_, err = q.ExecContext(ctx, `DELETE FROM contacts WHERE id = ?`, id) // memberships cascade
	} else if lists&Forward != 0 {
		_, err = q.ExecContext(ctx, `DELETE FROM group_members WHERE contact = ?`, id)
	}
	return true, err
}

// countOn counts the entries of owner's list that are on l.
func countOn(ctx context.Context, q querier, owner int64, l List) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM contacts WHERE owner = ? AND lists & ? != 0`,
		owner, int64(l)).Scan(&n)
	return n, err
}

// groupID finds one of owner's groups by GUID.
func groupID(ctx context.Context, q querier, owner int64, guid string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM contact_groups WHERE owner = ? AND guid = ?`,
		owner, lower(guid)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoSuchGroup
	}
	return id, err
}

// addMember puts a row into a group, or returns ErrAlreadyInGroup.
func addMember(ctx context.Context, q querier, contact, group int64) error {
	res, err := q.ExecContext(ctx,
		`INSERT INTO group_members (contact, grp) VALUES (?, ?) ON CONFLICT DO NOTHING`, contact, group)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrAlreadyInGroup
	}
	return nil
}

// clientList reports whether a client may change l itself.
func clientList(l List) bool { return l == Forward || l == Allow || l == Block }

// AddToList puts contact on owner's FL, AL or BL. See Store.
//
// A non-empty friendlyName also replaces the name stored for an existing
// entry; an empty one keeps it (or, for a new entry, uses the handle).
// Adding to FL when the contact is already there but a group is given adds
// it to that group (MSNP7+ "ADD FL x name group").
func (s *SQLite) AddToList(ctx context.Context, owner, contact string, l List, friendlyName, group string) (Change, error) {
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
	owner = lower(owner)
	var ch Change
	err = s.write(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, owner)
		if err != nil {
			return err
		}
		e, found, err := getEntry(ctx, tx, me.id, contact)
		if err != nil {
			return err
		}
		if l == Forward {
			ch, err = addForward(ctx, tx, me, owner, contact, e, found, friendlyName, group, s.maxReverse)
			return err
		}
		switch {
		case found && e.lists&l != 0:
			return ErrAlreadyOnList
		case found && e.lists&(Allow|Block) != 0:
			return ErrOppositeList
		}
		if _, err := accountRef(ctx, tx, contact); err != nil {
			return err
		}
		if n, err := countOn(ctx, tx, me.id, l); err != nil {
			return err
		} else if n >= maxAllowBlock(s.maxReverse) {
			return ErrListFull
		}
		id, err := setBits(ctx, tx, me.id, contact, l, cmp.Or(friendlyName, contact), friendlyName != "")
		if err != nil {
			return err
		}
		if ch.Version, err = bump(ctx, tx, me.id); err != nil {
			return err
		}
		ch.Contact, err = loadContact(ctx, tx, id)
		return err
	})
	if err != nil {
		return Change{}, err
	}
	return ch, nil
}

// addForward is AddToList for FL: it also puts owner on the contact's RL.
func addForward(ctx context.Context, tx *sql.Tx, me acct, owner, contact string, e entry, found bool, name, group string, maxReverse int) (Change, error) {
	them, err := accountRef(ctx, tx, contact)
	if err != nil {
		return Change{}, err
	}
	var gid int64
	if group != "" {
		if gid, err = groupID(ctx, tx, me.id, group); err != nil {
			return Change{}, err
		}
	}

	if found && e.lists&Forward != 0 {
		if gid == 0 {
			return Change{}, ErrAlreadyOnList
		}
		// Already watched: this only adds another group.
		if err := addMember(ctx, tx, e.id, gid); err != nil {
			return Change{}, err
		}
		v, err := bump(ctx, tx, me.id)
		if err != nil {
			return Change{}, err
		}
		c, err := loadContact(ctx, tx, e.id)
		return Change{Version: v, Contact: c}, err
	}

	if n, err := countOn(ctx, tx, me.id, Forward); err != nil {
		return Change{}, err
	} else if n >= MaxForward {
		return Change{}, ErrListFull
	}
	if n, err := countOn(ctx, tx, them.id, Reverse); err != nil {
		return Change{}, err
	} else if n >= maxReverse {
		return Change{}, ErrListFull
	}

	id, err := setBits(ctx, tx, me.id, contact, Forward, cmp.Or(name, contact), name != "")
	if err != nil {
		return Change{}, err
	}
	if gid != 0 {
		if err := addMember(ctx, tx, id, gid); err != nil {
			return Change{}, err
		}
	}
	// The other side: owner goes on the contact's RL, under the name owner
	// has now. (For someone adding themselves this is the same row.)
	if _, err := setBits(ctx, tx, them.id, owner, Reverse, me.name, false); err != nil {
		return Change{}, err
	}
	return finishForward(ctx, tx, me, them, id)
}

// finishForward bumps both versions of an FL change (once when owner and
// contact are the same account) and describes it.
func finishForward(ctx context.Context, tx *sql.Tx, me, them acct, id int64) (Change, error) {
	ch := Change{Reverse: true}
	var err error
	if ch.Version, err = bump(ctx, tx, me.id); err != nil {
		return Change{}, err
	}
	ch.ReverseVersion = ch.Version
	if them.id != me.id {
		if ch.ReverseVersion, err = bump(ctx, tx, them.id); err != nil {
			return Change{}, err
		}
	}
	ch.Contact, err = loadContact(ctx, tx, id)
	return ch, err
}

// RemoveFromList takes contact off owner's FL, AL or BL. See Store.
// Removing from FL without a group also takes owner off the contact's RL;
// with a group it only leaves that group (the entry stays on FL, in group 0
// for MSNP7–9 clients, even when it was its last group).
func (s *SQLite) RemoveFromList(ctx context.Context, owner, contact string, l List, group string) (Change, error) {
	if !clientList(l) || (group != "" && l != Forward) {
		return Change{}, ErrInvalidList
	}
	owner, contact = lower(owner), lower(contact)
	var ch Change
	err := s.write(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, owner)
		if err != nil {
			return err
		}
		e, found, err := getEntry(ctx, tx, me.id, contact)
		if err != nil {
			return err
		}
		if !found || e.lists&l == 0 {
			return ErrNotOnList
		}

		if group != "" {
			gid, err := groupID(ctx, tx, me.id, group)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE contact = ? AND grp = ?`, e.id, gid)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return ErrNotInGroup
			}
			if ch.Version, err = bump(ctx, tx, me.id); err != nil {
				return err
			}
			ch.Contact, err = loadContact(ctx, tx, e.id)
			return err
		}

		if _, err := clearBits(ctx, tx, me.id, contact, l); err != nil {
			return err
		}
		if l == Forward {
			them, err := accountRef(ctx, tx, contact)
			switch {
			case errors.Is(err, ErrNotFound):
				// Cannot happen while DeleteAccount cleans up, but an FL
				// entry without an account must still be removable.
			case err != nil:
				return err
			default:
				hadRL, err := clearBits(ctx, tx, them.id, owner, Reverse)
				if err != nil {
					return err
				}
				if hadRL {
					ch, err = finishForward(ctx, tx, me, them, e.id)
					return err
				}
			}
		}
		if ch.Version, err = bump(ctx, tx, me.id); err != nil {
			return err
		}
		ch.Contact, err = loadContact(ctx, tx, e.id)
		return err
	})
	if err != nil {
		return Change{}, err
	}
	return ch, nil
}

// ContactByGUID finds an entry of owner's list by its GUID. An unknown GUID
// returns ErrNotOnList, an unknown owner ErrNotFound.
func (s *SQLite) ContactByGUID(ctx context.Context, owner, guid string) (Contact, error) {
	var c Contact
	err := s.read(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, lower(owner))
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE owner = ? AND guid = ?`,
			me.id, lower(guid)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotOnList
		}
		if err != nil {
			return err
		}
		c, err = loadContact(ctx, tx, id)
		return err
	})
	return c, err
}

// SetContactName stores the name owner sees for contact. Setting the name it
// already has changes nothing and returns the current version.
func (s *SQLite) SetContactName(ctx context.Context, owner, contact, name string) (int64, error) {
	if err := validName(name, MaxFriendly); err != nil {
		return 0, err
	}
	var v int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, lower(owner))
		if err != nil {
			return err
		}
		e, found, err := getEntry(ctx, tx, me.id, lower(contact))
		switch {
		case err != nil:
			return err
		case !found:
			return ErrNotOnList
		case e.name == name:
			v = me.version
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET friendly_name = ? WHERE id = ?`, name, e.id); err != nil {
			return err
		}
		v, err = bump(ctx, tx, me.id)
		return err
	})
	return v, err
}

const listedQuery = `
	SELECT c.lists FROM accounts a LEFT JOIN contacts c ON c.owner = a.id AND c.email = ?2
	WHERE a.email = ?1`

// Listed reports which of owner's lists contact is on: one indexed lookup
// of owner by handle and one of the (owner, handle) row.
func (s *SQLite) Listed(ctx context.Context, owner, contact string) (List, error) {
	var l sql.NullInt64
	err := s.r.QueryRowContext(ctx, listedQuery, lower(owner), lower(contact)).Scan(&l)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return List(l.Int64), wrap(err)
}

// watchersQuery finds the FL entries naming ?1 through contacts_by_email,
// then for each watcher its account and ?1's own entry for it.
const watchersQuery = `
	SELECT w.email, w.friendly_name, coalesce(r.guid, ''), coalesce(r.lists, 0)
	FROM contacts f
	JOIN accounts w ON w.id = f.owner
	LEFT JOIN accounts x ON x.email = f.email
	LEFT JOIN contacts r ON r.owner = x.id AND r.email = w.email
	WHERE f.email = ?1 AND f.lists & ?2 != 0
	ORDER BY w.email`

// Watchers returns the accounts that have email on their FL, ordered by
// handle; none (not an error) for a handle nobody watches.
//
// Each Contact describes a watcher: its handle, its own current friendly
// name, and the GUID and lists of the watcher's entry on email's own list
// (so Lists has Reverse, plus Allow or Block if email put it there), which
// is what deciding whether to show it email's presence needs.
func (s *SQLite) Watchers(ctx context.Context, email string) ([]Contact, error) {
	rows, err := s.r.QueryContext(ctx, watchersQuery, lower(email), int64(Forward))
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

// Contacts returns owner's whole list in the order entries were added, and
// its groups by number. Three queries on one snapshot: groups, entries, and
// memberships; the last two are both sorted by entry id and merged.
func (s *SQLite) Contacts(ctx context.Context, owner string) ([]Contact, []Group, error) {
	var cs []Contact
	var gs []Group
	err := s.read(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, lower(owner))
		if err != nil {
			return err
		}
		var gids []int64 // parallel to gs
		if gs, gids, err = listGroups(ctx, tx, me.id); err != nil {
			return err
		}
		var ids []int64 // parallel to cs
		if cs, ids, err = listEntries(ctx, tx, me.id); err != nil {
			return err
		}
		return fillGroups(ctx, tx, me.id, cs, ids, gs, gids)
	})
	if err != nil {
		return nil, nil, err
	}
	return cs, gs, nil
}

func listGroups(ctx context.Context, q querier, owner int64) ([]Group, []int64, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT id, number, guid, name FROM contact_groups WHERE owner = ? ORDER BY number`, owner)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var gs []Group
	var ids []int64
	for rows.Next() {
		var g Group
		var id int64
		if err := rows.Scan(&id, &g.Number, &g.GUID, &g.Name); err != nil {
			return nil, nil, err
		}
		gs, ids = append(gs, g), append(ids, id)
	}
	return gs, ids, rows.Err()
}

func listEntries(ctx context.Context, q querier, owner int64) ([]Contact, []int64, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM contacts WHERE owner = ?`, owner).Scan(&n); err != nil {
		return nil, nil, err
	}
	rows, err := q.QueryContext(ctx,
		`SELECT `+entryCols+` FROM contacts WHERE owner = ? ORDER BY id`, owner)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cs := make([]Contact, 0, n)
	ids := make([]int64, 0, n)
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, nil, err
		}
		cs = append(cs, Contact{Email: e.email, FriendlyName: e.name, GUID: e.guid, Lists: e.lists})
		ids = append(ids, e.id)
	}
	return cs, ids, rows.Err()
}

// fillGroups sets Contact.Groups from the memberships, walking them and the
// entries (both ordered by entry id) side by side.
func fillGroups(ctx context.Context, q querier, owner int64, cs []Contact, ids []int64, gs []Group, gids []int64) error {
	rows, err := q.QueryContext(ctx, `
		SELECT m.contact, m.grp FROM group_members m JOIN contact_groups g ON g.id = m.grp
		WHERE g.owner = ? ORDER BY m.contact, g.number`, owner)
	if err != nil {
		return err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var cid, gid int64
		if err := rows.Scan(&cid, &gid); err != nil {
			return err
		}
		for i < len(ids) && ids[i] < cid {
			i++
		}
		if i == len(ids) {
			break
		}
		if ids[i] != cid {
			continue
		}
		for j, id := range gids {
			if id == gid {
				cs[i].Groups = append(cs[i].Groups, gs[j].GUID)
				break
			}
		}
	}
	return rows.Err()
}
