package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"

	"github.com/lib/pq"
)

// The list rules are SQLite's (sqlite_lists.go), statement for statement;
// what differs is that each change first locks the account rows it changes
// (pgLock, pgLockPair): see Postgres.

// pgGetEntry returns owner's row for handle; ok is false when there is none.
func pgGetEntry(ctx context.Context, q querier, owner int64, handle string) (e entry, ok bool, err error) {
	e, err = scanEntry(q.QueryRowContext(ctx,
		`SELECT `+entryCols+` FROM contacts WHERE owner = $1 AND email = $2`, owner, handle))
	if errors.Is(err, sql.ErrNoRows) {
		return entry{}, false, nil
	}
	return e, err == nil, err
}

// pgLoadContact returns the Contact for a row id with its groups, or the
// zero Contact if the row is gone. One query: the groups come as an array.
func pgLoadContact(ctx context.Context, q querier, id int64) (Contact, error) {
	var c Contact
	var lists int64
	var groups pgStrings
	err := q.QueryRowContext(ctx, `
		SELECT c.email, c.friendly_name, c.guid, c.lists,
		       array(SELECT g.guid FROM group_members m JOIN contact_groups g ON g.id = m.grp
		             WHERE m.contact = c.id ORDER BY g.number)
		FROM contacts c WHERE c.id = $1`, id).Scan(&c.Email, &c.FriendlyName, &c.GUID, &lists, &groups)
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, nil
	}
	if err != nil {
		return Contact{}, err
	}
	c.Lists = List(lists)
	c.Groups = []string(groups)
	return c, nil
}

// pgSetBits puts handle on lists of owner's list, creating the row (with a
// new GUID and the given name) if needed. An existing row keeps its name
// unless rename is set. It returns the row id.
func pgSetBits(ctx context.Context, q querier, owner int64, handle string, lists List, name string, rename bool) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `
		INSERT INTO contacts AS c (owner, email, guid, friendly_name, lists) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (owner, email) DO UPDATE SET
			lists = c.lists | excluded.lists,
			friendly_name = CASE WHEN $6::boolean THEN excluded.friendly_name ELSE c.friendly_name END
		RETURNING id`,
		owner, handle, newGUID(), name, int64(lists), rename).Scan(&id)
	return id, err
}

// pgClearBits takes handle off lists of owner's list. Taking it off FL
// also takes it out of every group; a row left on no list is deleted. ok
// is false when owner had no row for handle.
func pgClearBits(ctx context.Context, q querier, owner int64, handle string, lists List) (ok bool, err error) {
	var id, left int64
	err = q.QueryRowContext(ctx, `
		UPDATE contacts SET lists = lists & ~$1::smallint WHERE owner = $2 AND email = $3 RETURNING id, lists`,
		int64(lists), owner, handle).Scan(&id, &left)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if left == 0 {
		_, err = q.ExecContext(ctx, `DELETE FROM contacts WHERE id = $1`, id) // memberships cascade
	} else if lists&Forward != 0 {
		_, err = q.ExecContext(ctx, `DELETE FROM group_members WHERE contact = $1`, id)
	}
	return true, err
}

// pgGroupID finds one of owner's groups by GUID.
func pgGroupID(ctx context.Context, q querier, owner int64, guid string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM contact_groups WHERE owner = $1 AND guid = $2`,
		owner, pgKey(guid)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoSuchGroup
	}
	return id, err
}

// pgAddMember puts a row into a group, or returns ErrAlreadyInGroup.
func pgAddMember(ctx context.Context, q querier, contact, group int64) error {
	res, err := q.ExecContext(ctx,
		`INSERT INTO group_members (contact, grp) VALUES ($1, $2) ON CONFLICT DO NOTHING`, contact, group)
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

// AddToList puts contact on owner's FL, AL or BL. See Store, and SQLite's
// AddToList for the details of names and groups.
func (s *Postgres) AddToList(ctx context.Context, owner, contact string, l List, friendlyName, group string) (Change, error) {
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
	owner = pgKey(owner)
	var ch Change
	err = s.write(ctx, func(tx *sql.Tx) error {
		ch = Change{}
		var me acct
		if l == Forward {
			// FL and the contact's RL change together: lock both.
			var them acct
			var okMe, okThem bool
			me, them, okMe, okThem, err = pgLockPair(ctx, tx, owner, contact)
			switch {
			case err != nil:
				return err
			case !okMe, !okThem:
				return ErrNotFound
			}
			e, found, err := pgGetEntry(ctx, tx, me.id, contact)
			if err != nil {
				return err
			}
			ch, err = pgAddForward(ctx, tx, me, them, owner, contact, e, found, friendlyName, group, s.maxReverse)
			return err
		}
		if me, err = pgLock(ctx, tx, owner); err != nil {
			return err
		}
		e, found, err := pgGetEntry(ctx, tx, me.id, contact)
		switch {
		case err != nil:
			return err
		case found && e.lists&l != 0:
			return ErrAlreadyOnList
		case found && e.lists&(Allow|Block) != 0:
			return ErrOppositeList
		}
		var exists bool
		var n int
		if err := tx.QueryRowContext(ctx, `
			SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1),
			       (SELECT count(*) FROM contacts WHERE owner = $2 AND lists & $3::smallint <> 0)`,
			contact, me.id, int64(l)).Scan(&exists, &n); err != nil {
			return err
		}
		switch {
		case !exists:
			return ErrNotFound
		case n >= maxAllowBlock(s.maxReverse):
			return ErrListFull
		}
		id, err := pgSetBits(ctx, tx, me.id, contact, l, cmp.Or(friendlyName, contact), friendlyName != "")
		if err != nil {
			return err
		}
		if ch.Version, err = pgBump(ctx, tx, me.id); err != nil {
			return err
		}
		ch.Contact, err = pgLoadContact(ctx, tx, id)
		return err
	})
	if err != nil {
		return Change{}, err
	}
	return ch, nil
}

// pgAddForward is AddToList for FL, with both accounts locked: it also
// puts owner on the contact's RL.
func pgAddForward(ctx context.Context, tx *sql.Tx, me, them acct, owner, contact string, e entry, found bool, name, group string, maxReverse int) (Change, error) {
	var gid int64
	var err error
	if group != "" {
		if gid, err = pgGroupID(ctx, tx, me.id, group); err != nil {
			return Change{}, err
		}
	}

	if found && e.lists&Forward != 0 {
		if gid == 0 {
			return Change{}, ErrAlreadyOnList
		}
		// Already watched: this only adds another group.
		if err := pgAddMember(ctx, tx, e.id, gid); err != nil {
			return Change{}, err
		}
		v, err := pgBump(ctx, tx, me.id)
		if err != nil {
			return Change{}, err
		}
		c, err := pgLoadContact(ctx, tx, e.id)
		return Change{Version: v, Contact: c}, err
	}

	// Both limits in one round trip: the locks are held until commit, so
	// every statement here is time the two accounts wait.
	var fl, rl int
	if err := tx.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM contacts WHERE owner = $1 AND lists & $3::smallint <> 0),
		       (SELECT count(*) FROM contacts WHERE owner = $2 AND lists & $4::smallint <> 0)`,
		me.id, them.id, int64(Forward), int64(Reverse)).Scan(&fl, &rl); err != nil {
		return Change{}, err
	}
	if fl >= MaxForward || rl >= maxReverse {
		return Change{}, ErrListFull
	}

	id, err := pgSetBits(ctx, tx, me.id, contact, Forward, cmp.Or(name, contact), name != "")
	if err != nil {
		return Change{}, err
	}
	if gid != 0 {
		if err := pgAddMember(ctx, tx, id, gid); err != nil {
			return Change{}, err
		}
	}
	// The other side: owner goes on the contact's RL, under the name owner
	// has now. (For someone adding themselves this is the same row.)
	if _, err := pgSetBits(ctx, tx, them.id, owner, Reverse, me.name, false); err != nil {
		return Change{}, err
	}
	return pgFinishForward(ctx, tx, me, them, id)
}

// pgFinishForward bumps both versions of an FL change (once when owner and
// contact are the same account) and describes it.
func pgFinishForward(ctx context.Context, tx *sql.Tx, me, them acct, id int64) (Change, error) {
	ch := Change{Reverse: true}
	rows, err := tx.QueryContext(ctx, `
		UPDATE accounts SET list_version = list_version + 1 WHERE id = $1 OR id = $2
		RETURNING id, list_version`, me.id, them.id)
	if err != nil {
		return Change{}, err
	}
	for rows.Next() {
		var id, v int64
		if err := rows.Scan(&id, &v); err != nil {
			rows.Close()
			return Change{}, err
		}
		if id == me.id {
			ch.Version = v
		}
		if id == them.id {
			ch.ReverseVersion = v
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Change{}, err
	}
	ch.Contact, err = pgLoadContact(ctx, tx, id)
	return ch, err
}

// RemoveFromList takes contact off owner's FL, AL or BL. See Store and
// SQLite's RemoveFromList.
func (s *Postgres) RemoveFromList(ctx context.Context, owner, contact string, l List, group string) (Change, error) {
	if !clientList(l) || (group != "" && l != Forward) {
		return Change{}, ErrInvalidList
	}
	owner, contact = pgKey(owner), pgKey(contact)
	var ch Change
	err := s.write(ctx, func(tx *sql.Tx) error {
		ch = Change{}
		var me, them acct
		var haveThem bool
		var err error
		if l == Forward && group == "" {
			// The contact's RL changes too (when it has an account).
			var okMe bool
			me, them, okMe, haveThem, err = pgLockPair(ctx, tx, owner, contact)
			if err == nil && !okMe {
				err = ErrNotFound
			}
		} else {
			me, err = pgLock(ctx, tx, owner)
		}
		if err != nil {
			return err
		}
		e, found, err := pgGetEntry(ctx, tx, me.id, contact)
		if err != nil {
			return err
		}
		if !found || e.lists&l == 0 {
			return ErrNotOnList
		}

		if group != "" {
			gid, err := pgGroupID(ctx, tx, me.id, group)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE contact = $1 AND grp = $2`, e.id, gid)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return ErrNotInGroup
			}
			if ch.Version, err = pgBump(ctx, tx, me.id); err != nil {
				return err
			}
			ch.Contact, err = pgLoadContact(ctx, tx, e.id)
			return err
		}

		if _, err := pgClearBits(ctx, tx, me.id, contact, l); err != nil {
			return err
		}
		// An FL entry without an account cannot happen while DeleteAccount
		// cleans up, but it must still be removable.
		if l == Forward && haveThem {
			hadRL, err := pgClearBits(ctx, tx, them.id, owner, Reverse)
			if err != nil {
				return err
			}
			if hadRL {
				ch, err = pgFinishForward(ctx, tx, me, them, e.id)
				return err
			}
		}
		if ch.Version, err = pgBump(ctx, tx, me.id); err != nil {
			return err
		}
		ch.Contact, err = pgLoadContact(ctx, tx, e.id)
		return err
	})
	if err != nil {
		return Change{}, err
	}
	return ch, nil
}

// ContactByGUID finds an entry of owner's list by its GUID. An unknown GUID
// returns ErrNotOnList, an unknown owner ErrNotFound.
func (s *Postgres) ContactByGUID(ctx context.Context, owner, guid string) (Contact, error) {
	// One statement sees one snapshot: no transaction needed. The LEFT
	// JOIN tells an unknown owner from an unknown GUID.
	var id sql.NullInt64
	err := s.db.QueryRowContext(ctx, `
		SELECT c.id FROM accounts a LEFT JOIN contacts c ON c.owner = a.id AND c.guid = $2
		WHERE a.email = $1`, pgKey(owner), pgKey(guid)).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Contact{}, ErrNotFound
	case err != nil:
		return Contact{}, wrap(err)
	case !id.Valid:
		return Contact{}, ErrNotOnList
	}
	c, err := pgLoadContact(ctx, s.db, id.Int64)
	if err == nil && c.Email == "" {
		// Removed between the two statements: it is not on the list now.
		return Contact{}, ErrNotOnList
	}
	return c, wrap(err)
}

// SetContactName stores the name owner sees for contact. Setting the name it
// already has changes nothing and returns the current version.
func (s *Postgres) SetContactName(ctx context.Context, owner, contact, name string) (int64, error) {
	if err := validName(name, MaxFriendly); err != nil {
		return 0, err
	}
	var v int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		me, err := pgLock(ctx, tx, pgKey(owner))
		if err != nil {
			return err
		}
		e, found, err := pgGetEntry(ctx, tx, me.id, pgKey(contact))
		switch {
		case err != nil:
			return err
		case !found:
			return ErrNotOnList
		case e.name == name:
			v = me.version
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET friendly_name = $1 WHERE id = $2`, name, e.id); err != nil {
			return err
		}
		v, err = pgBump(ctx, tx, me.id)
		return err
	})
	return v, err
}

const pgListedQuery = `
	SELECT c.lists FROM accounts a LEFT JOIN contacts c ON c.owner = a.id AND c.email = $2
	WHERE a.email = $1`

// Listed reports which of owner's lists contact is on: one indexed lookup
// of owner by handle and one of the (owner, handle) row.
func (s *Postgres) Listed(ctx context.Context, owner, contact string) (List, error) {
	var l sql.NullInt64
	err := s.db.QueryRowContext(ctx, pgListedQuery, pgKey(owner), pgKey(contact)).Scan(&l)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return List(l.Int64), wrap(err)
}

// pgWatchersQuery finds the FL entries naming $1 through contacts_by_email,
// then for each watcher its account and $1's own entry for it.
const pgWatchersQuery = `
	SELECT w.email, w.friendly_name, coalesce(r.guid, ''), coalesce(r.lists, 0)
	FROM contacts f
	JOIN accounts w ON w.id = f.owner
	LEFT JOIN accounts x ON x.email = f.email
	LEFT JOIN contacts r ON r.owner = x.id AND r.email = w.email
	WHERE f.email = $1 AND f.lists & $2::smallint <> 0
	ORDER BY w.email`

// Watchers returns the accounts that have email on their FL, ordered by
// handle; see SQLite's Watchers for what each Contact holds.
func (s *Postgres) Watchers(ctx context.Context, email string) ([]Contact, error) {
	rows, err := s.db.QueryContext(ctx, pgWatchersQuery, pgKey(email), int64(Forward))
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

// pgContactsQuery reads an account's groups and entries in one statement
// (so on one snapshot, in one round trip): a row of kind 0 when the
// account exists, then its groups (kind 1) by number, then its entries
// (kind 2) in the order they were added, each with the GUIDs of its groups.
const pgContactsQuery = `
	WITH me AS (SELECT id FROM accounts WHERE email = $1)
	SELECT 0 AS kind, 0::bigint AS n, '' AS a, '' AS b, '' AS c, 0::smallint AS lists, NULL::text[] AS groups
	FROM me
	UNION ALL
	SELECT 1, g.number, g.guid, g.name, '', 0, NULL
	FROM contact_groups g JOIN me ON g.owner = me.id
	UNION ALL
	SELECT 2, c.id, c.email, c.friendly_name, c.guid, c.lists, mg.guids
	FROM contacts c JOIN me ON c.owner = me.id
	LEFT JOIN (
		-- Every membership of the account's groups, gathered once, not a
		-- lookup per entry.
		SELECT m.contact, array_agg(g.guid ORDER BY g.number) AS guids
		FROM contact_groups g JOIN me ON g.owner = me.id JOIN group_members m ON m.grp = g.id
		GROUP BY m.contact
	) mg ON mg.contact = c.id
	ORDER BY kind, n`

// Contacts returns owner's whole list in the order entries were added, and
// its groups by number.
func (s *Postgres) Contacts(ctx context.Context, owner string) ([]Contact, []Group, error) {
	rows, err := s.db.QueryContext(ctx, pgContactsQuery, pgKey(owner))
	if err != nil {
		return nil, nil, wrap(err)
	}
	defer rows.Close()
	var cs []Contact
	var gs []Group
	found := false
	for rows.Next() {
		var kind int
		var n, lists int64
		var a, b, c string
		var groups pgStrings
		if err := rows.Scan(&kind, &n, &a, &b, &c, &lists, &groups); err != nil {
			return nil, nil, wrap(err)
		}
		switch kind {
		case 0:
			found = true
		case 1:
			gs = append(gs, Group{Number: int(n), GUID: a, Name: b})
		default:
			cs = append(cs, Contact{Email: a, FriendlyName: b, GUID: c, Lists: List(lists), Groups: []string(groups)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, wrap(err)
	}
	if !found {
		return nil, nil, ErrNotFound
	}
	return cs, gs, nil
}

// pgStrings scans a text[] column; an empty array or NULL is a nil slice,
// as SQLite's Contacts gives for an entry in no group.
type pgStrings []string

// Scan implements sql.Scanner.
func (p *pgStrings) Scan(src any) error {
	var a pq.StringArray
	if err := a.Scan(src); err != nil {
		return err
	}
	*p = nil
	if len(a) > 0 {
		*p = pgStrings(a)
	}
	return nil
}
