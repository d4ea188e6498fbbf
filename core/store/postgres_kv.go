package store

import (
	"context"
	"database/sql"
	"errors"
	"hash/fnv"
	"strings"
	"time"
	"unicode/utf8"
)

// The key-value rules are SQLite's (sqlite_kv.go). validKey already
// refuses what PostgreSQL's text cannot hold (NUL, invalid UTF-8).

// KVGet returns the value of key in namespace, or ErrNoKey.
func (s *Postgres) KVGet(ctx context.Context, namespace, key string) ([]byte, error) {
	if !validNamespace(namespace) || !validKey(key) {
		return nil, ErrInvalidKey
	}
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM kv WHERE namespace = $1 AND key = $2`, namespace, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoKey
	}
	if err != nil {
		return nil, wrap(err)
	}
	if v == nil {
		v = []byte{} // an empty value is a value, not a missing one
	}
	return v, nil
}

// KVSet stores value under key, replacing what was there. A new key in a
// namespace that holds MaxKVKeys keys gives ErrKVFull.
//
// Replacing a key is one UPDATE. Adding one counts the namespace first,
// under a transaction-scoped advisory lock on the namespace, so that two
// nodes adding keys at once cannot both see room for the last one.
func (s *Postgres) KVSet(ctx context.Context, namespace, key string, value []byte) error {
	if !validNamespace(namespace) || !validKey(key) || len(value) > MaxKVValue {
		return ErrInvalidKey
	}
	if value == nil {
		value = []byte{} // the column is NOT NULL
	}
	now := time.Now()
	res, err := s.db.ExecContext(ctx, `UPDATE kv SET value = $3, updated = $4 WHERE namespace = $1 AND key = $2`,
		namespace, key, value, now)
	if err != nil {
		return wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(err)
	} else if n == 1 {
		return nil
	}
	var full bool
	err = s.write(ctx, func(tx *sql.Tx) error {
		full = false
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(pgLockKV), kvLockKey(namespace)); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM kv WHERE namespace = $1 AND key <> $2`, namespace, key).Scan(&n); err != nil {
			return err
		}
		if n >= MaxKVKeys {
			full = true
			return nil
		}
		// The key may have been added since the UPDATE: then this replaces it.
		_, err := tx.ExecContext(ctx, `
			INSERT INTO kv (namespace, key, value, updated) VALUES ($1, $2, $3, $4)
			ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
			namespace, key, value, now)
		return err
	})
	if err != nil {
		return err
	}
	if full {
		return ErrKVFull
	}
	return nil
}

// kvLockKey is the second key of a namespace's advisory lock: a hash, so
// two namespaces may share a lock now and then, which only makes one wait.
func kvLockKey(namespace string) int32 {
	h := fnv.New32a()
	h.Write([]byte(namespace))
	return int32(h.Sum32())
}

// KVDelete removes key; a missing key is not an error.
func (s *Postgres) KVDelete(ctx context.Context, namespace, key string) error {
	if !validNamespace(namespace) || !validKey(key) {
		return ErrInvalidKey
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM kv WHERE namespace = $1 AND key = $2`, namespace, key)
	return wrap(err)
}

// KVList returns the keys of namespace that start with prefix, sorted by
// their bytes (the column's "C" collation), as one range scan of the
// primary key.
func (s *Postgres) KVList(ctx context.Context, namespace, prefix string) ([]string, error) {
	if !validNamespace(namespace) || len(prefix) > MaxKVKey || !utf8.ValidString(prefix) {
		return nil, ErrInvalidKey
	}
	if strings.IndexByte(prefix, 0) >= 0 {
		return []string{}, nil // no key holds a NUL, so none starts with this
	}
	query := `SELECT key FROM kv WHERE namespace = $1 AND key >= $2 ORDER BY key`
	args := []any{namespace, prefix}
	if end, ok := prefixEndUTF8(prefix); ok {
		query = `SELECT key FROM kv WHERE namespace = $1 AND key >= $2 AND key < $3 ORDER BY key`
		args = append(args, end)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, wrap(err)
		}
		keys = append(keys, k)
	}
	return keys, wrap(rows.Err())
}

// prefixEndUTF8 is prefixEnd for a database that only takes valid UTF-8:
// the prefix with its last character replaced by the next one. UTF-8
// sorts byte for byte in code point order and no character's encoding is
// the start of another's, so every valid key with the prefix sorts below
// it and every key from prefix up to it has the prefix. A last character
// of U+10FFFF has no next one: it is dropped and the one before it raised.
func prefixEndUTF8(prefix string) (string, bool) {
	rs := []rune(prefix)
	for i := len(rs) - 1; i >= 0; i-- {
		next := rs[i] + 1
		if next == 0xD800 { // surrogates are not characters
			next = 0xE000
		}
		if next <= utf8.MaxRune {
			rs[i] = next
			return string(rs[:i+1]), true
		}
	}
	return "", false
}
