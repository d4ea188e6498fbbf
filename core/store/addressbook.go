package store

import (
	"context"
	"database/sql"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The address book: what MSNP13+ clients read their lists through (the
// ABCH web service). It is the same store as FL/AL/BL/RL and groups, with
// a few more things per entry (contactType, annotations) and the times
// things changed, so that a client can ask only for what changed.

// AddressBook returns owner's whole book (since zero), or the entries and
// groups changed after since and what was removed after it.
func (s *sqlStore) AddressBook(ctx context.Context, owner string, since time.Time) (AddressBook, error) {
	after := int64(math.MinInt64)
	if !since.IsZero() {
		if time.Since(since) > RemovalMemory {
			return AddressBook{}, ErrFullSync
		}
		after = since.UnixMilli()
	}
	var b AddressBook
	err := s.read(ctx, func(t txn) error {
		b = AddressBook{}
		var id int64
		var err error
		b.Owner, err = scanAccount(t.row(ctx, `SELECT `+accountCols+`, id FROM accounts WHERE email = $1`, lookup(owner)), &id)
		if err != nil {
			return err
		}
		if b.Annotations, err = accountAnnotations(ctx, t, id); err != nil {
			return err
		}
		if b.Groups, err = changedGroups(ctx, t, id, after); err != nil {
			return err
		}
		if b.Entries, err = changedEntries(ctx, t, id, after); err != nil {
			return err
		}
		if after != math.MinInt64 {
			b.Removed, err = removals(ctx, t, id, after)
		}
		return err
	})
	return b, err
}

func accountAnnotations(ctx context.Context, t txn, id int64) (map[string]string, error) {
	rows, err := t.query(ctx, `SELECT name, value FROM account_annotations WHERE account = $1`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			return nil, err
		}
		m[n] = v
	}
	return m, rows.Err()
}

func changedGroups(ctx context.Context, t txn, owner, after int64) ([]GroupInfo, error) {
	rows, err := t.query(ctx, `
		SELECT number, guid, name, changed FROM contact_groups WHERE owner = $1 AND changed > $2 ORDER BY number`,
		owner, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var gs []GroupInfo
	for rows.Next() {
		var g GroupInfo
		var changed storedTime
		if err := rows.Scan(&g.Number, &g.GUID, &g.Name, &changed); err != nil {
			return nil, err
		}
		g.Changed = changed.t
		gs = append(gs, g)
	}
	return gs, rows.Err()
}

// changedEntries reads the entries changed after after, each with its
// groups, its contact's CID and its annotations (the last in a second
// query, merged by entry id).
func changedEntries(ctx context.Context, t txn, owner, after int64) ([]Entry, error) {
	rows, err := t.query(ctx, `
		SELECT c.id, c.email, c.friendly_name, c.guid, c.contact_type, c.lists, c.changed, coalesce(x.cid, 0),
		       (SELECT string_agg(g.guid, ',' ORDER BY g.number)
		        FROM group_members m JOIN contact_groups g ON g.id = m.grp WHERE m.contact = c.id)
		FROM contacts c LEFT JOIN accounts x ON x.email = c.email
		WHERE c.owner = $1 AND c.changed > $2 ORDER BY c.id`, owner, after)
	if err != nil {
		return nil, err
	}
	var es []Entry
	index := map[int64]int{}
	for rows.Next() {
		var e Entry
		var id, lists int64
		var changed storedTime
		var groups sql.NullString
		if err := rows.Scan(&id, &e.Email, &e.FriendlyName, &e.GUID, &e.Type, &lists, &changed, &e.CID, &groups); err != nil {
			rows.Close()
			return nil, err
		}
		e.Lists, e.Changed, e.Groups = List(lists), changed.t, splitGUIDs(groups)
		index[id] = len(es)
		es = append(es, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(es) == 0 {
		return es, err
	}
	rows, err = t.query(ctx, `
		SELECT a.contact, a.name, a.value FROM contact_annotations a JOIN contacts c ON c.id = a.contact
		WHERE c.owner = $1 AND c.changed > $2`, owner, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n, v string
		if err := rows.Scan(&id, &n, &v); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			if es[i].Annotations == nil {
				es[i].Annotations = map[string]string{}
			}
			es[i].Annotations[n] = v
		}
	}
	return es, rows.Err()
}

func removals(ctx context.Context, t txn, owner, after int64) ([]Removal, error) {
	rows, err := t.query(ctx, `SELECT guid, email, lists, at FROM removed WHERE owner = $1 AND at > $2 ORDER BY at`, owner, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []Removal
	for rows.Next() {
		var r Removal
		var lists int64
		var at storedTime
		if err := rows.Scan(&r.GUID, &r.Email, &lists, &at); err != nil {
			return nil, err
		}
		r.Lists, r.At = List(lists), at.t
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// validAnnotation checks a name and value: a name of printable text, a
// value of any text without NUL (it may be empty: that removes it).
func validAnnotation(name, value string) bool {
	return validName(name, MaxAnnotationName) == nil &&
		len(value) <= MaxAnnotationValue && utf8.ValidString(value) && strings.IndexByte(value, 0) < 0
}

// Annotate sets annotations of owner's entry for contact, or of owner
// itself when contact is "". See Store.
func (s *sqlStore) Annotate(ctx context.Context, owner, contact string, annotations map[string]string) (int64, error) {
	for n, v := range annotations {
		if !validAnnotation(n, v) {
			return 0, ErrInvalidAnnotation
		}
	}
	var v int64
	err := s.write(ctx, func(t txn) error {
		me, err := lockAccount(ctx, t, lookup(owner))
		if err != nil {
			return err
		}
		// The target: the account's own annotations or an entry's.
		table, col, target := "account_annotations", "account", me.id
		if contact != "" {
			e, found, err := getEntry(ctx, t, me.id, lookup(contact))
			if err != nil {
				return err
			}
			if !found {
				return ErrNotOnList
			}
			table, col, target = "contact_annotations", "contact", e.id
		}
		rows, err := t.query(ctx, `SELECT name, value FROM `+table+` WHERE `+col+` = $1`, target)
		if err != nil {
			return err
		}
		have := map[string]string{}
		for rows.Next() {
			var n, v string
			if err := rows.Scan(&n, &v); err != nil {
				rows.Close()
				return err
			}
			have[n] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		changed := false
		for _, n := range slices.Sorted(maps.Keys(annotations)) {
			val := annotations[n]
			old, ok := have[n]
			switch {
			case val == "" && ok:
				_, err = t.exec(ctx, `DELETE FROM `+table+` WHERE `+col+` = $1 AND name = $2`, target, n)
				delete(have, n)
			case val != "" && (!ok || old != val):
				_, err = t.exec(ctx, `
					INSERT INTO `+table+` (`+col+`, name, value) VALUES ($1, $2, $3)
					ON CONFLICT (`+col+`, name) DO UPDATE SET value = excluded.value`, target, n, val)
				have[n] = val
			default:
				continue
			}
			if err != nil {
				return err
			}
			changed = true
		}
		switch {
		case len(have) > MaxAnnotations:
			return ErrInvalidAnnotation
		case !changed:
			v = me.version
			return nil
		case contact != "":
			if err := touchEntry(ctx, t, me, target); err != nil {
				return err
			}
		}
		v, err = finish(ctx, t, me)
		return err
	})
	return v, err
}

// SetContactType sets the address book's contactType of owner's entry for
// contact. Setting the type it has changes nothing and returns the current
// version.
func (s *sqlStore) SetContactType(ctx context.Context, owner, contact, contactType string) (int64, error) {
	if validName(contactType, MaxContactType) != nil {
		return 0, ErrInvalidName
	}
	var v int64
	err := s.write(ctx, func(t txn) error {
		me, err := lockAccount(ctx, t, lookup(owner))
		if err != nil {
			return err
		}
		var id int64
		var old string
		err = t.row(ctx, `SELECT id, contact_type FROM contacts WHERE owner = $1 AND email = $2`,
			me.id, lookup(contact)).Scan(&id, &old)
		switch {
		case errNoRows(err):
			return ErrNotOnList
		case err != nil:
			return err
		case old == contactType:
			v = me.version
			return nil
		}
		if _, err := t.exec(ctx, `UPDATE contacts SET contact_type = $1, changed = $2 WHERE id = $3`,
			contactType, me.stamp, id); err != nil {
			return err
		}
		v, err = finish(ctx, t, me)
		return err
	})
	return v, err
}

// AccountByCID finds an account by its CID.
func (s *sqlStore) AccountByCID(ctx context.Context, cid int64) (Account, error) {
	a, err := scanAccount(s.reader().row(ctx, `SELECT `+accountCols+` FROM accounts WHERE cid = $1`, cid))
	return a, wrap(err)
}
