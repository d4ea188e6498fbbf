package store

import (
	"context"
	"errors"
	"time"
)

// MaxBatch is the most accounts one batch call takes.
const MaxBatch = 100_000

// CreateAccounts makes many accounts that share one password, hashing it
// once. Load tests need thousands of accounts; hashing each on its own
// would measure bcrypt, not the service. cost 0 means the store's cost.
// All of them are one INSERT of a table of handles, so a batch costs one
// round trip however large; a handle that exists already (or is given
// twice) is ErrExists and the transaction makes nothing.
func (s *sqlStore) CreateAccounts(ctx context.Context, emails []string, password string, cost int) error {
	norm, hash, md5s, err := newAccounts(emails, password, cost, s.cost)
	if err != nil {
		return err
	}
	now := time.UnixMilli(time.Now().UnixMilli()).UTC()
	rows := make([]newRow, len(norm))
	for i, e := range norm {
		rows[i] = newRow{E: e, C: newCID()}
	}
	return s.write(ctx, func(t txn) error {
		n, err := t.affected(ctx, `
			INSERT INTO accounts (email, friendly_name, password_hash, md5_salt, md5_digest, privacy, prompt_on_add,
				list_version, created, changed, cid)
			SELECT value ->> 'e', value ->> 'e', $2, $3, $4, $5, $6, $7, $8, $9, CAST(value ->> 'c' AS bigint) FROM {rows $1}
			WHERE true -- SQLite's parser needs it before ON CONFLICT
			ON CONFLICT (email) DO NOTHING`,
			jsonRows(rows), hash, md5s.Salt, md5s.Digest, string(AllowByDefault), true, FirstListVersion,
			s.d.timeArg(now), now.UnixMilli())
		if err == nil && n != int64(len(norm)) {
			return ErrExists // rolled back: nothing is made
		}
		return err
	})
}

// newRow is one row of the "{rows $1}" table of CreateAccounts.
type newRow struct {
	E string `json:"e"` // handle
	C int64  `json:"c"` // CID
}

// DeleteAccounts deletes many accounts in one transaction, each as
// DeleteAccount does. Handles with no account are skipped.
func (s *sqlStore) DeleteAccounts(ctx context.Context, emails []string) error {
	if len(emails) > MaxBatch {
		return ErrBatchTooLarge
	}
	keys := make([]string, len(emails))
	for i, e := range emails {
		keys[i] = lookup(e)
	}
	return s.ringAfter(s.write(ctx, func(t txn) error {
		_, err := deleteAccounts(ctx, t, keys)
		return err
	}))
}

// AddContacts makes many FL entries in one transaction, each as AddToList
// does (with the RL side, the counters and the versions), so that a load
// test builds thousands of contact lists in seconds rather than one
// synced commit at a time.
func (s *sqlStore) AddContacts(ctx context.Context, pairs []ContactPair) error {
	if len(pairs) > MaxBatch {
		return ErrBatchTooLarge
	}
	norm := make([]ContactPair, len(pairs))
	for i, p := range pairs {
		contact, err := NormalizeEmail(p.Contact)
		if err != nil {
			return err
		}
		norm[i] = ContactPair{Owner: lookup(p.Owner), Contact: contact}
	}
	return s.write(ctx, func(t txn) error {
		for _, p := range norm {
			me, them, err := lockPair(ctx, t, p.Owner, p.Contact)
			switch {
			case err != nil:
				return err
			case me == nil, them == nil:
				return ErrNotFound
			}
			if _, err := addForward(ctx, t, me, them, p.Contact, "", "", s.maxReverse); err != nil && !errors.Is(err, ErrAlreadyOnList) {
				return err
			}
		}
		return nil
	})
}
