package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"
)

func pgScanAccount(row scanner, extra ...any) (Account, error) {
	var a Account
	var privacy string
	var created time.Time
	dest := append([]any{&a.Email, &a.FriendlyName, &privacy, &a.PromptOnAdd, &a.ListVersion, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Account{}, ErrNotFound
		}
		return Account{}, err
	}
	a.Privacy = Privacy(privacy)
	// Stored to the millisecond (CreateAccount truncates), returned in UTC
	// like SQLite's, whatever the session's time zone.
	a.Created = time.UnixMilli(created.UnixMilli()).UTC()
	return a, nil
}

// CreateAccount makes a new account. The friendly name defaults to the
// handle; privacy starts as AL and GTC as A, as on MSN.
func (s *Postgres) CreateAccount(ctx context.Context, email, password, friendlyName string) (Account, error) {
	a, hash, md5s, err := newAccount(email, password, friendlyName, s.cost)
	if err != nil {
		return Account{}, err
	}
	// One statement, its own transaction: a concurrent insert of the same
	// handle waits for this one and then does nothing.
	err = s.retry(ctx, func() error {
		res, err := s.db.ExecContext(ctx, `
			INSERT INTO accounts (email, friendly_name, password_hash, md5_salt, md5_digest, privacy, prompt_on_add, list_version, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (email) DO NOTHING`,
			a.Email, a.FriendlyName, hash, md5s.Salt, md5s.Digest, string(a.Privacy), a.PromptOnAdd, a.ListVersion, a.Created)
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
func (s *Postgres) Account(ctx context.Context, email string) (Account, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE email = $1`, pgKey(email))
	a, err := pgScanAccount(row)
	return a, wrap(err)
}

// Accounts returns every account, ordered by handle.
func (s *Postgres) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY email`)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := pgScanAccount(rows)
		if err != nil {
			return nil, wrap(err)
		}
		out = append(out, a)
	}
	return out, wrap(rows.Err())
}

// DeleteAccount removes an account with its lists and groups, and takes it
// off every list of everyone else (whose list versions go up), as in SQLite
// (see there).
func (s *Postgres) DeleteAccount(ctx context.Context, email string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		n, err := pgDeleteAccounts(ctx, tx, []string{pgKey(email)})
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
}

// pgDeleteAccounts deletes the accounts with these handles (normalised)
// inside tx, as DeleteAccount describes, in a fixed number of statements
// however many there are. It returns how many existed.
func pgDeleteAccounts(ctx context.Context, tx *sql.Tx, emails []string) (int, error) {
	// Lock the accounts and everyone who lists one of them, in id order:
	// those are all the rows this changes.
	locked, err := pgIDs(ctx, tx, `
		SELECT id FROM accounts
		WHERE email = ANY($1) OR id IN (SELECT owner FROM contacts WHERE email = ANY($1))
		ORDER BY id FOR UPDATE`, pq.StringArray(emails))
	if err != nil {
		return 0, err
	}
	// That set was read before the locks were taken. Someone who put one
	// of these accounts on their FL (or RL) since then held its lock, so
	// now that this transaction holds it the set can only have shrunk —
	// except for those who got in just before, or who changed only their
	// own AL or BL: lock them too.
	if _, err := pgIDs(ctx, tx, `
		SELECT id FROM accounts
		WHERE id IN (SELECT owner FROM contacts WHERE email = ANY($1))
		  AND id <> ALL($2)
		ORDER BY id FOR UPDATE`, pq.StringArray(emails), pq.Int64Array(locked)); err != nil {
		return 0, err
	}

	// The accounts themselves, as they are under the lock.
	var gone []string
	var ids []int64
	rows, err := tx.QueryContext(ctx, `SELECT id, email FROM accounts WHERE email = ANY($1)`, pq.StringArray(emails))
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id int64
		var e string
		if err := rows.Scan(&id, &e); err != nil {
			rows.Close()
			return 0, err
		}
		ids, gone = append(ids, id), append(gone, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}

	g, i := pq.StringArray(gone), pq.Int64Array(ids)
	steps := []struct {
		q    string
		args []any
	}{
		// Everyone else's version goes up once per deleted account they
		// listed, as deleting them one by one would.
		{`UPDATE accounts a SET list_version = a.list_version + c.n
		  FROM (SELECT owner, count(*) AS n FROM contacts
		        WHERE email = ANY($1) GROUP BY owner) c
		  WHERE a.id = c.owner AND a.id <> ALL($2)`,
			[]any{g, i}},
		// Group memberships go with the entries by ON DELETE CASCADE.
		{`DELETE FROM contacts WHERE email = ANY($1)`, []any{g}},
		// Their own contacts, groups and memberships go by ON DELETE CASCADE.
		{`DELETE FROM accounts WHERE id = ANY($1)`, []any{i}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// pgIDs runs a query that returns one bigint column.
func pgIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SetPassword replaces the password, with a new MD5 salt.
func (s *Postgres) SetPassword(ctx context.Context, email, password string) error {
	hash, md5s, err := hashPassword(password, s.cost)
	if err != nil {
		return wrap(err)
	}
	return s.retry(ctx, func() error {
		res, err := s.db.ExecContext(ctx,
			`UPDATE accounts SET password_hash = $1, md5_salt = $2, md5_digest = $3 WHERE email = $4`,
			hash, md5s.Salt, md5s.Digest, pgKey(email))
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
func (s *Postgres) CheckPassword(ctx context.Context, email, password string) (Account, error) {
	var hash []byte
	row := s.db.QueryRowContext(ctx,
		`SELECT `+accountCols+`, password_hash FROM accounts WHERE email = $1`, pgKey(email))
	a, err := pgScanAccount(row, &hash)
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
func (s *Postgres) MD5Secret(ctx context.Context, email string) (MD5Secret, error) {
	var m MD5Secret
	err := s.db.QueryRowContext(ctx, `SELECT md5_salt, md5_digest FROM accounts WHERE email = $1`, pgKey(email)).
		Scan(&m.Salt, &m.Digest)
	if errors.Is(err, sql.ErrNoRows) {
		return MD5Secret{}, ErrNotFound
	}
	return m, wrap(err)
}

// SetFriendlyName changes the account's own friendly name (REA self,
// PRP MFN).
func (s *Postgres) SetFriendlyName(ctx context.Context, email, name string) (int64, error) {
	if err := validName(name, MaxFriendly); err != nil {
		return 0, err
	}
	return s.setSetting(ctx, email, "friendly_name", name)
}

// SetPrivacy sets BLP.
func (s *Postgres) SetPrivacy(ctx context.Context, email string, p Privacy) (int64, error) {
	if p != AllowByDefault && p != BlockByDefault {
		return 0, ErrInvalidPrivacy
	}
	return s.setSetting(ctx, email, "privacy", string(p))
}

// SetPromptOnAdd sets GTC.
func (s *Postgres) SetPromptOnAdd(ctx context.Context, email string, prompt bool) (int64, error) {
	return s.setSetting(ctx, email, "prompt_on_add", prompt)
}

// setSetting stores one account column and bumps the list version, or
// returns ErrSameValue if it already has that value. column is always one
// of the constants above, never input. One UPDATE: it takes the row lock,
// and a concurrent change of the same row makes it re-check its condition
// on the row as that change left it.
func (s *Postgres) setSetting(ctx context.Context, email, column string, value any) (int64, error) {
	email = pgKey(email)
	var v int64
	err := s.retry(ctx, func() error {
		err := s.db.QueryRowContext(ctx, `
			UPDATE accounts SET `+column+` = $1, list_version = list_version + 1
			WHERE email = $2 AND `+column+` IS DISTINCT FROM $1
			RETURNING list_version`, value, email).Scan(&v)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var exists bool
		if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1)`, email).
			Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return ErrNotFound
		}
		return ErrSameValue
	})
	return v, err
}

// pgLock locks owner's account row for the rest of the transaction and
// returns it. Every change to an account's lists, groups or version holds
// this lock.
func pgLock(ctx context.Context, tx *sql.Tx, email string) (acct, error) {
	var a acct
	err := tx.QueryRowContext(ctx,
		`SELECT id, friendly_name, list_version FROM accounts WHERE email = $1 FOR UPDATE`, email).
		Scan(&a.id, &a.name, &a.version)
	if errors.Is(err, sql.ErrNoRows) {
		return acct{}, ErrNotFound
	}
	return a, err
}

// pgLockPair locks the account rows of a and b (which may be the same
// handle) in id order, so that two transactions locking the same two
// accounts queue instead of deadlocking. okA and okB say which exist.
func pgLockPair(ctx context.Context, tx *sql.Tx, a, b string) (ra, rb acct, okA, okB bool, err error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT id, email, friendly_name, list_version FROM accounts
		WHERE email = $1 OR email = $2 ORDER BY id FOR UPDATE`, a, b)
	if err != nil {
		return acct{}, acct{}, false, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var r acct
		var e string
		if err := rows.Scan(&r.id, &e, &r.name, &r.version); err != nil {
			return acct{}, acct{}, false, false, err
		}
		if e == a {
			ra, okA = r, true
		}
		if e == b {
			rb, okB = r, true
		}
	}
	return ra, rb, okA, okB, rows.Err()
}

// pgBump increases an account's list version and returns the new one.
func pgBump(ctx context.Context, q querier, id int64) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx,
		`UPDATE accounts SET list_version = list_version + 1 WHERE id = $1 RETURNING list_version`, id).Scan(&v)
	return v, err
}
