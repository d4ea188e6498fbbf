package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema, one step per entry: migrations[0] takes an
// empty file to version 1, migrations[i] takes version i to i+1. Never edit
// a step that has shipped; append a new one.
//
// Steps run inside a transaction, so they cannot change PRAGMA
// foreign_keys; a future step that rebuilds a table must keep the rows
// consistent itself.
var migrations = []string{
	// 1: accounts, their lists and groups.
	`
CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE,    -- lower-case handle
	friendly_name TEXT    NOT NULL,
	password_hash BLOB    NOT NULL,           -- bcrypt
	md5_salt      TEXT    NOT NULL,           -- MSNP2-7 MD5 login
	md5_digest    TEXT    NOT NULL,           -- hex md5(salt || password)
	privacy       TEXT    NOT NULL DEFAULT 'AL' CHECK (privacy IN ('AL', 'BL')),
	prompt_on_add INTEGER NOT NULL DEFAULT 1,
	list_version  INTEGER NOT NULL DEFAULT 0,
	created       INTEGER NOT NULL            -- unix milliseconds
) STRICT;

-- One row per (owner, handle) with the lists it is on as a bit set. The
-- handle is text, not a reference: AL and BL may name handles that have no
-- account.
CREATE TABLE contacts (
	id            INTEGER PRIMARY KEY,
	owner         INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	email         TEXT    NOT NULL,
	guid          TEXT    NOT NULL,
	friendly_name TEXT    NOT NULL,
	lists         INTEGER NOT NULL CHECK (lists BETWEEN 0 AND 31),
	UNIQUE (owner, email),
	UNIQUE (owner, guid)
) STRICT;

-- Who has this handle on a list: Watchers, and cleaning up after
-- DeleteAccount, read only this index (it covers owner and lists).
CREATE INDEX contacts_by_email ON contacts (email, owner, lists);

CREATE TABLE contact_groups (
	id     INTEGER PRIMARY KEY,
	owner  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	number INTEGER NOT NULL CHECK (number > 0),
	guid   TEXT    NOT NULL,
	name   TEXT    NOT NULL,
	UNIQUE (owner, number),
	UNIQUE (owner, guid),
	UNIQUE (owner, name)
) STRICT;

CREATE TABLE group_members (
	contact INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	grp     INTEGER NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
	PRIMARY KEY (contact, grp)
) STRICT, WITHOUT ROWID;

-- For ON DELETE CASCADE from contact_groups.
CREATE INDEX group_members_by_group ON group_members (grp);
`,
	// 2: key-value data of the bots (kv.go).
	kvSchema,
	// 3: lists start at version 1 (FirstListVersion); accounts made before
	// never changed theirs.
	`UPDATE accounts SET list_version = 1 WHERE list_version = 0;`,
	// 4: account events (events.go).
	eventsSchema,
}

// migrate brings the database at db up to len(migs). All pending steps and
// the new version number commit together, so a failed upgrade leaves the
// file as it was. The version is read inside the write transaction, so two
// processes opening a new file at once cannot both apply a step.
func migrate(ctx context.Context, db *sql.DB, migs []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT`); err != nil {
		return err
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	switch {
	case err == sql.ErrNoRows:
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if v > len(migs) {
		return fmt.Errorf("%w: the file is at schema version %d, this program knows up to %d; run a newer nudge or restore a backup",
			ErrSchemaTooNew, v, len(migs))
	}
	if v == len(migs) {
		return nil
	}
	for i := v; i < len(migs); i++ {
		if _, err := tx.ExecContext(ctx, migs[i]); err != nil {
			return fmt.Errorf("schema migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migs)); err != nil {
		return err
	}
	return tx.Commit()
}
