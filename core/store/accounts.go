package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// What both engines do before a transaction starts: check the input and
// do the slow hashing, so that no connection or lock is held while bcrypt
// runs.

// hashPassword hashes a password for Passport logins (bcrypt) and makes
// the salt and digest of MSNP2–7 MD5 logins.
func hashPassword(password string, cost int) ([]byte, MD5Secret, error) {
	if err := validPassword(password); err != nil {
		return nil, MD5Secret{}, err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return nil, MD5Secret{}, err
	}
	return h, newMD5Secret(password), nil
}

// FirstListVersion is a new account's list version. It is 1, not 0: a
// client that has never synchronised sends "SYN 0", and a list at version 0
// would be answered "up to date" with nothing in it (Pidgin then reports the
// buddy list unavailable); at 1 the first SYN always gets the whole list.
const FirstListVersion = 1

// newAccount checks what CreateAccount is given and returns the account to
// store with its password hash and MD5 secret. The friendly name defaults
// to the handle; privacy starts as AL and GTC as A, as on MSN. Created is
// kept to the millisecond, as both engines store it.
func newAccount(email, password, friendlyName string, cost int) (Account, []byte, MD5Secret, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return Account{}, nil, MD5Secret{}, err
	}
	if friendlyName == "" {
		friendlyName = email
	} else if err := validName(friendlyName, MaxFriendly); err != nil {
		return Account{}, nil, MD5Secret{}, err
	}
	hash, md5s, err := hashPassword(password, cost)
	if err != nil {
		return Account{}, nil, MD5Secret{}, wrap(err)
	}
	a := Account{
		Email:        email,
		FriendlyName: friendlyName,
		Privacy:      AllowByDefault,
		PromptOnAdd:  true,
		ListVersion:  FirstListVersion,
		Created:      time.UnixMilli(time.Now().UnixMilli()).UTC(),
		CID:          newCID(),
	}
	a.Changed = a.Created
	return a, hash, md5s, nil
}

// newAccounts checks a batch for CreateAccounts and hashes its one shared
// password once, with cost (0: the store's, storeCost).
func newAccounts(emails []string, password string, cost, storeCost int) ([]string, []byte, MD5Secret, error) {
	if len(emails) > MaxBatch {
		return nil, nil, MD5Secret{}, ErrBatchTooLarge
	}
	if cost == 0 {
		cost = storeCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, nil, MD5Secret{}, ErrInvalidPassword
	}
	norm := make([]string, len(emails))
	for i, e := range emails {
		n, err := NormalizeEmail(e)
		if err != nil {
			return nil, nil, MD5Secret{}, err
		}
		norm[i] = n
	}
	hash, md5s, err := hashPassword(password, cost)
	if err != nil {
		return nil, nil, MD5Secret{}, err
	}
	return norm, hash, md5s, nil
}

// The account flows, the same on both engines.

const accountCols = `email, friendly_name, privacy, prompt_on_add, list_version, created, cid, changed,
	fl_count, al_count, bl_count, rl_count, pl_count`

func scanAccount(row scanner, extra ...any) (Account, error) {
	var a Account
	var privacy string
	var created, changed storedTime
	z := &a.Sizes
	dest := append([]any{&a.Email, &a.FriendlyName, &privacy, &a.PromptOnAdd, &a.ListVersion, &created, &a.CID, &changed,
		&z.Forward, &z.Allow, &z.Block, &z.Reverse, &z.Pending}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errNoRows(err) {
			return Account{}, ErrNotFound
		}
		return Account{}, err
	}
	a.Privacy = Privacy(privacy)
	a.Created, a.Changed = created.t, changed.t
	return a, nil
}

// CreateAccount makes a new account. The friendly name defaults to the
// handle; privacy starts as AL and GTC as A, as on MSN.
func (s *sqlStore) CreateAccount(ctx context.Context, email, password, friendlyName string) (Account, error) {
	a, hash, md5s, err := newAccount(email, password, friendlyName, s.cost)
	if err != nil {
		return Account{}, err
	}
	// One statement: a concurrent insert of the same handle waits for this
	// one and then does nothing.
	err = s.writeOne(ctx, func(t txn) error {
		n, err := t.affected(ctx, `
			INSERT INTO accounts (email, friendly_name, password_hash, md5_salt, md5_digest, privacy, prompt_on_add,
				list_version, created, cid, changed)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (email) DO NOTHING`,
			a.Email, a.FriendlyName, hash, md5s.Salt, md5s.Digest, string(a.Privacy), a.PromptOnAdd,
			a.ListVersion, s.d.timeArg(a.Created), a.CID, a.Changed.UnixMilli())
		if err == nil && n == 0 {
			return ErrExists
		}
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// Account returns one account.
func (s *sqlStore) Account(ctx context.Context, email string) (Account, error) {
	a, err := scanAccount(s.reader().row(ctx, `SELECT `+accountCols+` FROM accounts WHERE email = $1`, lookup(email)))
	return a, wrap(err)
}

// SignInAccount returns the account and the newest account event's seq
// (0 when there is none), in one statement rather than two: a sign-in
// needs both, and on SQLite each statement takes and drops a read lock.
func (s *sqlStore) SignInAccount(ctx context.Context, email string) (Account, int64, error) {
	var last sql.NullInt64
	a, err := scanAccount(s.reader().row(ctx, `SELECT `+accountCols+`, (SELECT max(seq) FROM account_events)
		FROM accounts WHERE email = $1`, lookup(email)), &last)
	return a, last.Int64, wrap(err)
}

// ListVersion returns the account's list version; see Store.
func (s *sqlStore) ListVersion(ctx context.Context, email string) (int64, error) {
	var v int64
	err := s.reader().row(ctx, `SELECT list_version FROM accounts WHERE email = $1`, lookup(email)).Scan(&v)
	if errNoRows(err) {
		return 0, ErrNotFound
	}
	return v, wrap(err)
}

// Accounts returns every account, ordered by handle.
func (s *sqlStore) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.reader().query(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY email`)
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
func (s *sqlStore) DeleteAccount(ctx context.Context, email string) error {
	return s.ringAfter(s.write(ctx, func(t txn) error {
		n, err := deleteAccounts(ctx, t, []string{lookup(email)})
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	}))
}

// inEmails is the set of handles in the "{rows $1}" parameter.
const inEmails = `(SELECT value ->> 'e' FROM {rows $1})`

// deleteAccounts deletes the accounts with these handles (normalised)
// inside t, as DeleteAccount describes, in a fixed number of statements
// however many there are, and records an AccountDeleted event for each.
// It returns how many existed.
func deleteAccounts(ctx context.Context, t txn, emails []string) (int, error) {
	set := textRows(emails)
	// Lock the accounts and everyone who lists one of them, in id order:
	// those are all the rows this changes.
	locked, err := ids(ctx, t, `
		SELECT id FROM accounts
		WHERE email IN `+inEmails+` OR id IN (SELECT owner FROM contacts WHERE email IN `+inEmails+`)
		ORDER BY id {FOR UPDATE}`, set)
	if err != nil {
		return 0, err
	}
	// That set was read before the locks were taken. Someone who put one
	// of these accounts on their FL (or RL) since then held its lock, so
	// now that this transaction holds it the set can only have shrunk —
	// except for those who got in just before, or who changed only their
	// own AL or BL: lock them too.
	lockedRows := make([]idRow, len(locked))
	for i, id := range locked {
		lockedRows[i] = idRow{id}
	}
	if _, err := ids(ctx, t, `
		SELECT id FROM accounts
		WHERE id IN (SELECT owner FROM contacts WHERE email IN `+inEmails+`)
		  AND id NOT IN (SELECT CAST(value ->> 'i' AS bigint) FROM {rows $2})
		ORDER BY id {FOR UPDATE}`, set, jsonRows(lockedRows)); err != nil {
		return 0, err
	}

	// Everyone else's entries for them go, remembered as removed; their
	// version goes up once per deleted account they listed, as deleting
	// them one by one would, and their list sizes come down.
	now := time.Now().UnixMilli()
	const listedThem = `FROM contacts c WHERE c.owner = accounts.id AND c.email IN ` + inEmails
	steps := []struct {
		q    string
		args []any
	}{
		{`UPDATE accounts SET
			list_version = list_version + (SELECT count(*) ` + listedThem + `),
			changed = CASE WHEN changed < $2 THEN $2 ELSE changed + 1 END,
			fl_count = fl_count - (SELECT count(*) ` + listedThem + ` AND c.lists & 1 <> 0),
			al_count = al_count - (SELECT count(*) ` + listedThem + ` AND c.lists & 2 <> 0),
			bl_count = bl_count - (SELECT count(*) ` + listedThem + ` AND c.lists & 4 <> 0),
			rl_count = rl_count - (SELECT count(*) ` + listedThem + ` AND c.lists & 8 <> 0),
			pl_count = pl_count - (SELECT count(*) ` + listedThem + ` AND c.lists & 16 <> 0)
		  WHERE id IN (SELECT owner FROM contacts WHERE email IN ` + inEmails + `)
		    AND email NOT IN ` + inEmails, []any{set, now}},
		{`INSERT INTO removed (owner, guid, email, lists, at)
		  SELECT c.owner, c.guid, c.email, c.lists, a.changed FROM contacts c JOIN accounts a ON a.id = c.owner
		  WHERE c.email IN ` + inEmails + ` AND a.email NOT IN ` + inEmails, []any{set}},
		// Group memberships and annotations go with the entries by ON
		// DELETE CASCADE.
		{`DELETE FROM contacts WHERE email IN ` + inEmails, []any{set}},
	}
	for _, st := range steps {
		if _, err := t.exec(ctx, st.q, st.args...); err != nil {
			return 0, err
		}
	}
	// Their own contacts, groups and memberships go by ON DELETE CASCADE.
	rows, err := t.query(ctx, `DELETE FROM accounts WHERE email IN `+inEmails+` RETURNING email`, set)
	if err != nil {
		return 0, err
	}
	var gone []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return 0, err
		}
		gone = append(gone, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return len(gone), recordEvents(ctx, t, gone, AccountDeleted)
}

// idRow is one row of a "{rows $n}" table of row ids: value ->> 'i'.
type idRow struct {
	I int64 `json:"i"`
}

// ids runs a query that returns one bigint column.
func ids(ctx context.Context, t txn, query string, args ...any) ([]int64, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SetPassword replaces the password, with a new MD5 salt.
func (s *sqlStore) SetPassword(ctx context.Context, email, password string) error {
	hash, md5s, err := hashPassword(password, s.cost)
	if err != nil {
		return wrap(err)
	}
	key := lookup(email)
	return s.ringAfter(s.write(ctx, func(t txn) error {
		n, err := t.affected(ctx,
			`UPDATE accounts SET password_hash = $1, md5_salt = $2, md5_digest = $3 WHERE email = $4`,
			hash, md5s.Salt, md5s.Digest, key)
		if err == nil && n == 0 {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return recordEvents(ctx, t, []string{key}, PasswordChanged)
	}))
}

// CheckPassword verifies password against the account's bcrypt hash. It
// takes as long as a check at the store's cost whether the account exists
// or not and whatever the cost of its hash (see checkHash), so that the
// time taken tells nothing.
func (s *sqlStore) CheckPassword(ctx context.Context, email, password string) (Account, error) {
	var hash []byte
	row := s.reader().row(ctx, `SELECT `+accountCols+`, password_hash FROM accounts WHERE email = $1`, lookup(email))
	a, err := scanAccount(row, &hash)
	if errors.Is(err, ErrNotFound) {
		s.checkHash(s.dummies[s.cost](), password)
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, wrap(err)
	}
	err = s.checkHash(hash, password)
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

// checkHash compares password with hash. A hash of a lower cost than the
// store's (the batch accounts of load tests) is topped up to the work of
// one at the store's cost: bcrypt's work doubles with each step of cost,
// so comparing against dummies of cost c, c+1, … cost−1 adds 2^cost − 2^c.
func (s *sqlStore) checkHash(hash []byte, password string) error {
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if c, cerr := bcrypt.Cost(hash); cerr == nil {
		for k := max(c, bcrypt.MinCost); k < s.cost; k++ {
			bcrypt.CompareHashAndPassword(s.dummies[k](), []byte(password))
		}
	}
	return err
}

// MD5Secret returns the salt and digest for an MSNP2–7 MD5 login.
func (s *sqlStore) MD5Secret(ctx context.Context, email string) (MD5Secret, error) {
	var m MD5Secret
	err := s.reader().row(ctx, `SELECT md5_salt, md5_digest FROM accounts WHERE email = $1`, lookup(email)).
		Scan(&m.Salt, &m.Digest)
	if errNoRows(err) {
		return MD5Secret{}, ErrNotFound
	}
	return m, wrap(err)
}

// SetFriendlyName changes the account's own friendly name (REA self,
// PRP MFN).
func (s *sqlStore) SetFriendlyName(ctx context.Context, email, name string) (int64, error) {
	if err := validName(name, MaxFriendly); err != nil {
		return 0, err
	}
	return s.setSetting(ctx, email, "friendly_name", name)
}

// SetPrivacy sets BLP.
func (s *sqlStore) SetPrivacy(ctx context.Context, email string, p Privacy) (int64, error) {
	if p != AllowByDefault && p != BlockByDefault {
		return 0, ErrInvalidPrivacy
	}
	return s.setSetting(ctx, email, "privacy", string(p))
}

// SetPromptOnAdd sets GTC.
func (s *sqlStore) SetPromptOnAdd(ctx context.Context, email string, prompt bool) (int64, error) {
	return s.setSetting(ctx, email, "prompt_on_add", prompt)
}

// setSetting stores one account column and bumps the list version, or
// returns ErrSameValue if it already has that value. column is always one
// of the constants above, never input. One UPDATE: it takes the row lock,
// and a concurrent change of the same row makes it re-check its condition
// on the row as that change left it.
func (s *sqlStore) setSetting(ctx context.Context, email, column string, value any) (int64, error) {
	email = lookup(email)
	var v int64
	err := s.writeOne(ctx, func(t txn) error {
		err := t.row(ctx, `
			UPDATE accounts SET `+column+` = $1, list_version = list_version + 1,
				changed = CASE WHEN changed < $3 THEN $3 ELSE changed + 1 END
			WHERE email = $2 AND `+column+` IS DISTINCT FROM $1
			RETURNING list_version`, value, email, time.Now().UnixMilli()).Scan(&v)
		if !errNoRows(err) {
			return err
		}
		var exists bool
		if err := t.row(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1)`, email).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return ErrNotFound
		}
		return ErrSameValue
	})
	return v, err
}
