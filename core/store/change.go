package store

import (
	"context"
	"time"
)

// Every change to an account's lists, groups, annotations or settings goes
// the same way: lock the account row (lockAccount, lockPair), change its
// rows (changeBits and the like), which notes how its list sizes move, and
// finish: one UPDATE that moves the sizes, raises the list version and
// sets the change time. On PostgreSQL the lock is a row lock held until
// commit, so each change sees the account as it is and no other change
// can slip in between its checks (limits, duplicates) and its writes; on
// SQLite the single writer gives the same.

// acct is an account row locked for a change, and the change.
type acct struct {
	id      int64
	email   string
	name    string
	version int64
	sizes   ListSizes // as locked

	// stamp is this change's time (unix milliseconds): now, or just after
	// the account's last change if the clock says otherwise, so that
	// address book deltas never miss a change.
	stamp int64
	// delta is how the change moves the list sizes.
	delta ListSizes
}

const acctCols = `id, email, friendly_name, list_version, changed, fl_count, al_count, bl_count, rl_count, pl_count`

func scanAcct(row scanner) (*acct, error) {
	a := &acct{}
	var changed int64
	err := row.Scan(&a.id, &a.email, &a.name, &a.version, &changed,
		&a.sizes.Forward, &a.sizes.Allow, &a.sizes.Block, &a.sizes.Reverse, &a.sizes.Pending)
	a.stamp = max(time.Now().UnixMilli(), changed+1)
	return a, err
}

// lockAccount returns email's account row, locked for the rest of the
// transaction.
func lockAccount(ctx context.Context, t txn, email string) (*acct, error) {
	a, err := scanAcct(t.row(ctx, `SELECT `+acctCols+` FROM accounts WHERE email = $1 {FOR UPDATE}`, email))
	if errNoRows(err) {
		return nil, ErrNotFound
	}
	return a, err
}

// lockPair locks the account rows of a and b in id order, so that two
// transactions locking the same two accounts queue instead of
// deadlocking. A nil result is an account that does not exist; when a and
// b are the same handle both results are the same *acct.
func lockPair(ctx context.Context, t txn, a, b string) (ra, rb *acct, err error) {
	rows, err := t.query(ctx, `SELECT `+acctCols+` FROM accounts WHERE email = $1 OR email = $2 ORDER BY id {FOR UPDATE}`, a, b)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAcct(rows)
		if err != nil {
			return nil, nil, err
		}
		if r.email == a {
			ra = r
		}
		if r.email == b {
			rb = r
		}
	}
	return ra, rb, rows.Err()
}

// finish ends a's change: its sizes move by the delta, its list version
// goes up by one and its change time becomes the stamp. It returns the
// new list version.
func finish(ctx context.Context, t txn, a *acct) (int64, error) {
	var v int64
	d := a.delta
	err := t.row(ctx, `
		UPDATE accounts SET list_version = list_version + 1, changed = $2,
			fl_count = fl_count + $3, al_count = al_count + $4, bl_count = bl_count + $5,
			rl_count = rl_count + $6, pl_count = pl_count + $7
		WHERE id = $1 RETURNING list_version`,
		a.id, a.stamp, d.Forward, d.Allow, d.Block, d.Reverse, d.Pending).Scan(&v)
	a.version, a.delta = v, ListSizes{}
	return v, err
}

// move notes in d how a row going from lists before to after changes the
// sizes.
func (d *ListSizes) move(before, after List) {
	step := func(n *int, bit List) {
		switch {
		case before&bit == 0 && after&bit != 0:
			*n++
		case before&bit != 0 && after&bit == 0:
			*n--
		}
	}
	step(&d.Forward, Forward)
	step(&d.Allow, Allow)
	step(&d.Block, Block)
	step(&d.Reverse, Reverse)
	step(&d.Pending, Pending)
}

// changeBits sets and clears lists of a's row for handle, which is e
// (found says whether it exists), creating the row with a new GUID and the
// given name if needed. An existing row keeps its name unless rename is
// set. Taking a row off FL takes it out of every group; a row left on no
// list is deleted and remembered as removed. It returns the row id (0
// when there is no row left) and the lists after.
func changeBits(ctx context.Context, t txn, a *acct, handle string, e entry, found bool, set, clear List, name string, rename bool) (int64, List, error) {
	before := List(0)
	if found {
		before = e.lists
	}
	after := (before | set) &^ clear
	a.delta.move(before, after)
	switch {
	case !found && after == 0:
		return 0, 0, nil
	case !found:
		var id int64
		err := t.row(ctx, `
			INSERT INTO contacts (owner, email, guid, friendly_name, lists, changed) VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING id`, a.id, handle, newGUID(), name, int64(after), a.stamp).Scan(&id)
		return id, after, err
	case after == 0:
		// Memberships and annotations go by ON DELETE CASCADE.
		if _, err := t.exec(ctx, `DELETE FROM contacts WHERE id = $1`, e.id); err != nil {
			return 0, 0, err
		}
		return 0, 0, remember(ctx, t, a, e.guid, e.email, before)
	case after == before && (!rename || name == e.name):
		return e.id, after, nil
	}
	if !rename {
		name = e.name
	}
	if _, err := t.exec(ctx, `UPDATE contacts SET lists = $1, friendly_name = $2, changed = $3 WHERE id = $4`,
		int64(after), name, a.stamp, e.id); err != nil {
		return 0, 0, err
	}
	if before&Forward != 0 && after&Forward == 0 {
		if _, err := t.exec(ctx, `DELETE FROM group_members WHERE contact = $1`, e.id); err != nil {
			return 0, 0, err
		}
	}
	return e.id, after, nil
}

// touchEntry marks a row as changed now (its groups, name, type or
// annotations changed).
func touchEntry(ctx context.Context, t txn, a *acct, id int64) error {
	_, err := t.exec(ctx, `UPDATE contacts SET changed = $1 WHERE id = $2`, a.stamp, id)
	return err
}

// remember notes that an entry (email set) or a group (email "") left a's
// address book, and forgets what is older than RemovalMemory.
func remember(ctx context.Context, t txn, a *acct, guid, email string, lists List) error {
	if _, err := t.exec(ctx, `INSERT INTO removed (owner, guid, email, lists, at) VALUES ($1, $2, $3, $4, $5)`,
		a.id, guid, email, int64(lists), a.stamp); err != nil {
		return err
	}
	_, err := t.exec(ctx, `DELETE FROM removed WHERE owner = $1 AND at < $2`,
		a.id, a.stamp-RemovalMemory.Milliseconds())
	return err
}
