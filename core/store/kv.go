package store

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// kvSchema is SQLite's migration 2: one table for every namespace.
// WITHOUT ROWID keeps each row in the primary key's b-tree, so a prefix
// listing is one range scan.
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

// validKey also refuses what PostgreSQL's text cannot hold (NUL, invalid
// UTF-8).
func validKey(key string) bool {
	return key != "" && len(key) <= MaxKVKey && utf8.ValidString(key) && !strings.ContainsRune(key, 0)
}

// KVGet returns the value of key in namespace, or ErrNoKey.
func (s *sqlStore) KVGet(ctx context.Context, namespace, key string) ([]byte, error) {
	if !validNamespace(namespace) || !validKey(key) {
		return nil, ErrInvalidKey
	}
	var v []byte
	err := s.reader().row(ctx, `SELECT value FROM kv WHERE namespace = $1 AND key = $2`, namespace, key).Scan(&v)
	if errNoRows(err) {
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
// with the namespace's writers serialised (dialect.lockNamespace), so that
// two nodes adding keys at once cannot both see room for the last one.
func (s *sqlStore) KVSet(ctx context.Context, namespace, key string, value []byte) error {
	if !validNamespace(namespace) || !validKey(key) || len(value) > MaxKVValue {
		return ErrInvalidKey
	}
	if value == nil {
		value = []byte{} // the column is NOT NULL
	}
	now := s.d.timeArg(time.Now())
	var replaced bool
	err := s.writeOne(ctx, func(t txn) error {
		n, err := t.affected(ctx, `UPDATE kv SET value = $3, updated = $4 WHERE namespace = $1 AND key = $2`,
			namespace, key, value, now)
		replaced = n == 1
		return err
	})
	if err != nil || replaced {
		return err
	}
	var full bool
	err = s.write(ctx, func(t txn) error {
		full = false
		if err := s.d.lockNamespace(ctx, t, namespace); err != nil {
			return err
		}
		var n int
		if err := t.row(ctx, `
			SELECT count(*) FROM kv WHERE namespace = $1 AND key <> $2`, namespace, key).Scan(&n); err != nil {
			return err
		}
		if n >= MaxKVKeys {
			full = true
			return nil
		}
		// The key may have been added since the UPDATE: then this replaces it.
		_, err := t.exec(ctx, `
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

// KVDelete removes key; a missing key is not an error.
func (s *sqlStore) KVDelete(ctx context.Context, namespace, key string) error {
	if !validNamespace(namespace) || !validKey(key) {
		return ErrInvalidKey
	}
	return s.writeOne(ctx, func(t txn) error {
		_, err := t.exec(ctx, `DELETE FROM kv WHERE namespace = $1 AND key = $2`, namespace, key)
		return err
	})
}

// KVList returns the keys of namespace that start with prefix, sorted by
// their bytes (SQLite's default and PostgreSQL's "C" collation), as one
// range scan of the primary key.
func (s *sqlStore) KVList(ctx context.Context, namespace, prefix string) ([]string, error) {
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
	rows, err := s.reader().query(ctx, query, args...)
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

// prefixEndUTF8 returns the smallest valid UTF-8 string above every key
// with the prefix (keys are valid UTF-8 on both engines): the prefix with
// its last character replaced by the next one. UTF-8
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
