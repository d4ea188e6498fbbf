package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/lib/pq"
)

// CreateAccounts makes many accounts that share one password, hashing it
// once (see SQLite's CreateAccounts). All of them are one INSERT of an
// array of handles, so a batch costs one round trip however large; a
// handle that exists already (or is given twice) is ErrExists and the
// transaction makes nothing.
func (s *Postgres) CreateAccounts(ctx context.Context, emails []string, password string, cost int) error {
	norm, hash, md5s, err := newAccounts(emails, password, cost, s.cost)
	if err != nil {
		return err
	}
	created := time.UnixMilli(time.Now().UnixMilli()).UTC()
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO accounts (email, friendly_name, password_hash, md5_salt, md5_digest, privacy, prompt_on_add, list_version, created)
			SELECT e, e, $2, $3, $4, $5, true, $6, $7 FROM unnest($1::text[]) AS e
			ON CONFLICT (email) DO NOTHING`,
			pq.StringArray(norm), hash, md5s.Salt, md5s.Digest, string(AllowByDefault), FirstListVersion, created)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != int64(len(norm)) {
			return ErrExists // rolled back: nothing is made
		}
		return nil
	})
}

// DeleteAccounts deletes many accounts in one transaction, each as
// DeleteAccount does. Handles with no account are skipped.
func (s *Postgres) DeleteAccounts(ctx context.Context, emails []string) error {
	if len(emails) > MaxBatch {
		return ErrBatchTooLarge
	}
	keys := make([]string, len(emails))
	for i, e := range emails {
		keys[i] = pgKey(e)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := pgDeleteAccounts(ctx, tx, keys)
		return err
	})
}
