package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// MaxBatch is the most accounts one batch call takes.
const MaxBatch = 100_000

// CreateAccounts makes many accounts that share one password, hashing it
// once. Load tests need thousands of accounts; hashing each on its own
// would measure bcrypt, not the service. cost 0 means the store's cost.
// Handles that exist already are an error (ErrExists) and nothing is made.
func (s *SQLite) CreateAccounts(ctx context.Context, emails []string, password string, cost int) error {
	norm, hash, md5s, err := newAccounts(emails, password, cost, s.cost)
	if err != nil {
		return err
	}
	created := time.Now().UnixMilli()
	return s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `
			INSERT INTO accounts (email, friendly_name, password_hash, md5_salt, md5_digest, privacy, prompt_on_add, list_version, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (email) DO NOTHING`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range norm {
			res, err := stmt.ExecContext(ctx, e, e, hash, md5s.Salt, md5s.Digest, string(AllowByDefault), true, FirstListVersion, created)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrExists
			}
		}
		return nil
	})
}

// DeleteAccounts deletes many accounts in one transaction, each as
// DeleteAccount does. Handles with no account are skipped.
func (s *SQLite) DeleteAccounts(ctx context.Context, emails []string) error {
	if len(emails) > MaxBatch {
		return ErrBatchTooLarge
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		for _, e := range emails {
			if err := deleteAccount(ctx, tx, lower(e)); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		return nil
	})
}
