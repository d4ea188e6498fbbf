package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// kvSchema is migration 2: one table for every namespace. WITHOUT ROWID
// keeps each row in the primary key's b-tree, so a prefix listing is one
// range scan.
const kvSchema = `
CREATE TABLE kv (
	namespace TEXT    NOT NULL,
	key       TEXT    NOT NULL,
	value     BLOB    NOT NULL,
	updated   INTEGER NOT NULL,   -- unix milliseconds
	PRIMARY KEY (namespace, key)
) STRICT, WITHOUT ROWID;
`

func validNamespace(ns string) bool {
	if ns == "" || len(ns) > MaxKVNamespace {
		return false
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-_.:", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validKey(key string) bool {
	return key != "" && len(key) <= MaxKVKey && utf8.ValidString(key) && !strings.ContainsRune(key, 0)
}

// KVGet returns the value of key in namespace, or ErrNoKey.
func (s *SQLite) KVGet(ctx context.Context, namespace, key string) ([]byte, error) {
	if !validNamespace(namespace) || !validKey(key) {
		return nil, ErrInvalidKey
	}
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM kv WHERE namespace = ? AND key = ?`, namespace, key).Scan(&v)
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
func (s *SQLite) KVSet(ctx context.Context, namespace, key string, value []byte) error {
	if !validNamespace(namespace) || !validKey(key) || len(value) > MaxKVValue {
		return ErrInvalidKey
	}
	if value == nil {
		value = []byte{} // the column is NOT NULL
	}
	var full bool
	err := s.write(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM kv WHERE namespace = ? AND key = ?)`,
			namespace, key).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM kv WHERE namespace = ?`, namespace).Scan(&n); err != nil {
				return err
			}
			if n >= MaxKVKeys {
				full = true
				return nil
			}
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO kv (namespace, key, value, updated) VALUES (?, ?, ?, ?)
			ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
			namespace, key, value, time.Now().UnixMilli())
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

// KVDelete removes key; a missing key is not an error.
func (s *SQLite) KVDelete(ctx context.Context, namespace, key string) error {
	if !validNamespace(namespace) || !validKey(key) {
		return ErrInvalidKey
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM kv WHERE namespace = ? AND key = ?`, namespace, key)
		return err
	})
}

// KVList returns the keys of namespace that start with prefix, sorted by
// their bytes.
func (s *SQLite) KVList(ctx context.Context, namespace, prefix string) ([]string, error) {
	if !validNamespace(namespace) || len(prefix) > MaxKVKey || !utf8.ValidString(prefix) {
		return nil, ErrInvalidKey
	}
	// A range scan rather than LIKE: LIKE treats % and _ in the prefix as
	// wildcards and folds ASCII case. Keys are >= prefix and < prefix with
	// its last byte raised; a prefix of only 0xFF bytes cannot occur in
	// UTF-8, so incrementing always finds a byte to raise.
	query := `SELECT key FROM kv WHERE namespace = ? AND key >= ? ORDER BY key`
	args := []any{namespace, prefix}
	if end, ok := prefixEnd(prefix); ok {
		query = `SELECT key FROM kv WHERE namespace = ? AND key >= ? AND key < ? ORDER BY key`
		args = append(args, end)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
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

// prefixEnd returns the smallest string greater than every string with the
// prefix, when there is one.
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
