package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const accountCols = `email, friendly_name, privacy, prompt_on_add, list_version, created`

type scanner interface{ Scan(dest ...any) error }

func scanAccount(row scanner, extra ...any) (Account, error) {
	var a Account
	var privacy string
	var created int64
	dest := append([]any{&a.Email, &a.FriendlyName, &privacy, &a.PromptOnAdd, &a.ListVersion, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Account{}, ErrNotFound
		}
		return Account{}, err
	}
	a.Privacy = Privacy(privacy)
	a.Created = time.UnixMilli(created).UTC()
	return a, nil
}

// CreateAccount makes a new account. The friendly name defaults to the
// handle; privacy starts as AL and GTC as A, as on MSN.
func (s *SQLite) CreateAccount(ctx context.Context, email, password, friendlyName string) (Account, error) {
	a, hash, md5s, err := newAccount(email, password, friendlyName, s.cost)
	if err != nil {
		return Account{}, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO accounts (email, friendly_name, password_hash, md5_salt, md5_digest, privacy, prompt_on_add, list_version, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (email) DO NOTHING`,
			a.Email, a.FriendlyName, hash, md5s.Salt, md5s.Digest, string(a.Privacy), a.PromptOnAdd, a.ListVersion, a.Created.UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrExists
		}
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// Account returns one account.
func (s *SQLite) Account(ctx context.Context, email string) (Account, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE email = ?`, lower(email))
	a, err := scanAccount(row)
	return a, wrap(err)
}

// Accounts returns every account, ordered by handle.
func (s *SQLite) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY email`)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, wrap(err)
		}
		out = append(out, a)
	}
	return out, wrap(rows.Err())
}

// DeleteAccount removes an account with its lists and groups, and takes it
// off every list of everyone else (whose list versions go up): FL and RL,
// and AL and BL too. The account is gone; if the handle is registered again
// it is a new account, which must not inherit what others allowed the old
// one (seeing them in BL mode) nor what they held against it.
func (s *SQLite) DeleteAccount(ctx context.Context, email string) error {
	return s.write(ctx, func(tx *sql.Tx) error { return deleteAccount(ctx, tx, lower(email)) })
}

// deleteAccount is DeleteAccount inside a write transaction.
func deleteAccount(ctx context.Context, tx *sql.Tx, email string) error {
	me, err := accountRef(ctx, tx, email)
	if err != nil {
		return err
	}
	steps := []struct {
		q    string
		args []any
	}{
		{`UPDATE accounts SET list_version = list_version + 1
		  WHERE id IN (SELECT owner FROM contacts WHERE email = ?1 AND owner != ?2)`,
			[]any{email, me.id}},
		// Group memberships go with the entries by ON DELETE CASCADE.
		{`DELETE FROM contacts WHERE email = ?1`, []any{email}},
		// Its own contacts, groups and memberships go by ON DELETE CASCADE.
		{`DELETE FROM accounts WHERE id = ?1`, []any{me.id}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return err
		}
	}
	return nil
}

// SetPassword replaces the password, with a new MD5 salt.
func (s *SQLite) SetPassword(ctx context.Context, email, password string) error {
	hash, md5s, err := hashPassword(password, s.cost)
	if err != nil {
		return wrap(err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE accounts SET password_hash = ?, md5_salt = ?, md5_digest = ? WHERE email = ?`,
			hash, md5s.Salt, md5s.Digest, lower(email))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// CheckPassword verifies password against the account's bcrypt hash. For an
// unknown account it still runs one bcrypt comparison, so that the time
// taken does not tell whether the account exists.
func (s *SQLite) CheckPassword(ctx context.Context, email, password string) (Account, error) {
	var hash []byte
	row := s.r.QueryRowContext(ctx,
		`SELECT `+accountCols+`, password_hash FROM accounts WHERE email = ?`, lower(email))
	a, err := scanAccount(row, &hash)
	if errors.Is(err, ErrNotFound) {
		bcrypt.CompareHashAndPassword(s.dummy(), []byte(password))
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, wrap(err)
	}
	err = bcrypt.CompareHashAndPassword(hash, []byte(password))
	switch {
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), len(password) > MaxPassword:
		// bcrypt only reads the first 72 bytes; a longer password was
		// never set, so it cannot be the right one.
		return Account{}, ErrBadPassword
	case err != nil:
		return Account{}, wrap(err)
	}
	return a, nil
}

// MD5Secret returns the salt and digest for an MSNP2–7 MD5 login.
func (s *SQLite) MD5Secret(ctx context.Context, email string) (MD5Secret, error) {
	var m MD5Secret
	err := s.r.QueryRowContext(ctx, `SELECT md5_salt, md5_digest FROM accounts WHERE email = ?`, lower(email)).
		Scan(&m.Salt, &m.Digest)
	if errors.Is(err, sql.ErrNoRows) {
		return MD5Secret{}, ErrNotFound
	}
	return m, wrap(err)
}

// SetFriendlyName changes the account's own friendly name (REA self,
// PRP MFN).
func (s *SQLite) SetFriendlyName(ctx context.Context, email, name string) (int64, error) {
	if err := validName(name, MaxFriendly); err != nil {
		return 0, err
	}
	return s.setSetting(ctx, email, "friendly_name", name)
}

// SetPrivacy sets BLP.
func (s *SQLite) SetPrivacy(ctx context.Context, email string, p Privacy) (int64, error) {
	if p != AllowByDefault && p != BlockByDefault {
		return 0, ErrInvalidPrivacy
	}
	return s.setSetting(ctx, email, "privacy", string(p))
}

// SetPromptOnAdd sets GTC.
func (s *SQLite) SetPromptOnAdd(ctx context.Context, email string, prompt bool) (int64, error) {
	return s.setSetting(ctx, email, "prompt_on_add", prompt)
}

// setSetting stores one account column and bumps the list version, or
// returns ErrSameValue if it already has that value. column is always one
// of the constants above, never input.
func (s *SQLite) setSetting(ctx context.Context, email, column string, value any) (int64, error) {
	var v int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			UPDATE accounts SET `+column+` = ?1, list_version = list_version + 1
			WHERE email = ?2 AND `+column+` IS NOT ?1
			RETURNING list_version`, value, lower(email)).Scan(&v)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := accountRef(ctx, tx, lower(email)); err != nil {
			return err
		}
		return ErrSameValue
	})
	return v, err
}

// acct is what list changes need to know about an account.
type acct struct {
	id      int64
	name    string
	version int64
}

func accountRef(ctx context.Context, q querier, email string) (acct, error) {
	var a acct
	err := q.QueryRowContext(ctx, `SELECT id, friendly_name, list_version FROM accounts WHERE email = ?`, email).
		Scan(&a.id, &a.name, &a.version)
	if errors.Is(err, sql.ErrNoRows) {
		return acct{}, ErrNotFound
	}
	return a, err
}

// bump increases an account's list version and returns the new one.
func bump(ctx context.Context, q querier, id int64) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx,
		`UPDATE accounts SET list_version = list_version + 1 WHERE id = ? RETURNING list_version`, id).Scan(&v)
	return v, err
}
