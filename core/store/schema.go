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
	// 5: what the address book needs, list sizes as counters, offline
	// messages (addressbook.go, offline.go).
	`
ALTER TABLE accounts ADD COLUMN cid      INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN changed  INTEGER NOT NULL DEFAULT 0;  -- unix milliseconds
ALTER TABLE accounts ADD COLUMN fl_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN al_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN bl_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN rl_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN pl_count INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET
	cid = (random() & 9223372036854775807) | 1,
	changed = created,
	fl_count = (SELECT count(*) FROM contacts WHERE owner = accounts.id AND lists & 1 != 0),
	al_count = (SELECT count(*) FROM contacts WHERE owner = accounts.id AND lists & 2 != 0),
	bl_count = (SELECT count(*) FROM contacts WHERE owner = accounts.id AND lists & 4 != 0),
	rl_count = (SELECT count(*) FROM contacts WHERE owner = accounts.id AND lists & 8 != 0),
	pl_count = (SELECT count(*) FROM contacts WHERE owner = accounts.id AND lists & 16 != 0);
CREATE UNIQUE INDEX accounts_by_cid ON accounts (cid);

ALTER TABLE contacts ADD COLUMN contact_type TEXT    NOT NULL DEFAULT 'Regular';
ALTER TABLE contacts ADD COLUMN changed      INTEGER NOT NULL DEFAULT 0;
UPDATE contacts SET changed = (SELECT created FROM accounts WHERE id = contacts.owner);
ALTER TABLE contact_groups ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
UPDATE contact_groups SET changed = (SELECT created FROM accounts WHERE id = contact_groups.owner);

CREATE TABLE account_annotations (
	account INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name    TEXT    NOT NULL,
	value   TEXT    NOT NULL,
	PRIMARY KEY (account, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE contact_annotations (
	contact INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
	name    TEXT    NOT NULL,
	value   TEXT    NOT NULL,
	PRIMARY KEY (contact, name)
) STRICT, WITHOUT ROWID;

-- Entries (email set) and groups (email '') that left an address book, for
-- deltas; forgotten after RemovalMemory.
CREATE TABLE removed (
	owner INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	guid  TEXT    NOT NULL,
	email TEXT    NOT NULL,
	lists INTEGER NOT NULL,
	at    INTEGER NOT NULL
) STRICT;
CREATE INDEX removed_by_owner ON removed (owner, at);

CREATE TABLE offline_messages (
	id           INTEGER PRIMARY KEY,
	recipient    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	guid         TEXT    NOT NULL UNIQUE,
	sender       TEXT    NOT NULL,
	sender_name  TEXT    NOT NULL,
	sent         INTEGER NOT NULL,
	expires      INTEGER NOT NULL,
	content_type TEXT    NOT NULL,
	body         BLOB    NOT NULL
) STRICT;
CREATE INDEX offline_by_recipient ON offline_messages (recipient, sent);
CREATE INDEX offline_by_expiry ON offline_messages (expires);
`,
	// 6: what the nodes of a cluster share (shared.go).
	sharedSchema,
	// 7: the roaming profile (profile.go).
	`
CREATE TABLE profiles (
	account         INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	message         TEXT    NOT NULL DEFAULT '',
	message_changed INTEGER NOT NULL DEFAULT 0,  -- unix milliseconds
	picture_id      TEXT    NOT NULL DEFAULT '',
	picture_version INTEGER NOT NULL DEFAULT 0,
	picture_type    TEXT    NOT NULL DEFAULT '',
	picture         BLOB,
	picture_changed INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX profiles_by_picture ON profiles (picture_id) WHERE picture_id <> '';
`,
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
