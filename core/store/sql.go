package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// sqlStore is the Store over database/sql, shared by SQLite and
// PostgreSQL: every flow (accounts, lists, groups, key-value data) is
// written once, in SQL both engines run, and what differs between them —
// parameter syntax, row locks, transaction options, which errors mean "run
// it again" — is the engine's dialect.
//
// Queries are written in PostgreSQL's form with a few markers (see
// dialect.rewrite); each text is rewritten for the engine once and cached.
type sqlStore struct {
	w, r       *sql.DB // writes and reads; the same pool on PostgreSQL
	d          *dialect
	cost       int
	maxReverse int           // Options.MaxReverse with its default applied
	maxOffline int           // Options.MaxOffline, likewise
	offlineFor time.Duration // Options.OfflineLifetime, likewise
	bell       *bell         // rung when this process records account events (events.go)
	// dummies are hashes of no password, one per bcrypt cost, made when
	// first needed: what CheckPassword compares against to spend the time
	// a real check takes (see checkHash).
	dummies [bcrypt.MaxCost + 1]func() []byte
}

func newSQLStore(w, r *sql.DB, d *dialect, cost int, opts Options) sqlStore {
	s := sqlStore{
		w: w, r: r, d: d, cost: cost,
		maxReverse: cmp.Or(opts.MaxReverse, DefaultMaxReverse),
		bell:       new(bell),
		maxOffline: cmp.Or(opts.MaxOffline, DefaultMaxOffline),
		offlineFor: cmp.Or(opts.OfflineLifetime, DefaultOfflineLifetime),
	}
	for c := range s.dummies {
		s.dummies[c] = sync.OnceValue(func() []byte {
			h, _ := bcrypt.GenerateFromPassword([]byte("not a password anyone has"), max(c, bcrypt.MinCost))
			return h
		})
	}
	return s
}

// dialect is what one engine does differently.
type dialect struct {
	name string
	// rewrite turns a query as the flows write it into the engine's SQL:
	// parameters are $1, $2, …; "{FOR UPDATE}" is where a row lock is
	// taken (PostgreSQL; SQLite has one writer and needs none); and
	// "{rows $n}" is a table of the JSON objects in the array parameter
	// $n (built by jsonRows), one column named value.
	rewrite func(string) string
	// readTx and writeTx open the engine's transactions.
	readTx, writeTx *sql.TxOptions
	// retryable reports whether the engine aborted a transaction only
	// because of another one, so that running it again is right.
	retryable func(error) bool
	// timeArg is the argument for a column of the first schema that holds
	// a time (accounts.created, kv.updated); newer columns are unix
	// milliseconds in both engines.
	timeArg func(time.Time) any
	// lockNamespace serialises the writers of one key-value namespace for
	// the rest of the transaction (nothing where there is one writer).
	lockNamespace func(ctx context.Context, t txn, namespace string) error
	// lockEvents serialises the writers of account events for the rest of
	// the transaction, so they commit in seq order (nothing where there is
	// one writer).
	lockEvents func(ctx context.Context, t txn) error

	cache sync.Map // query as written → rewritten
}

// sql returns query as the engine takes it.
func (d *dialect) sql(query string) string {
	if q, ok := d.cache.Load(query); ok {
		return q.(string)
	}
	q := d.rewrite(query)
	d.cache.Store(query, q)
	return q
}

var (
	markerForUpdate = regexp.MustCompile(`\{FOR UPDATE\}`)
	markerRows      = regexp.MustCompile(`\{rows \$([0-9]+)\}`)
	markerNow       = regexp.MustCompile(`\{now ms\}`) // the database's clock, unix milliseconds
	dollarParam     = regexp.MustCompile(`\$([0-9]+)`)
)

// jsonRows is the argument of a "{rows $n}" table: the values as a JSON
// array, which both engines can take apart in SQL.
func jsonRows[T any](values []T) string {
	b, err := json.Marshal(values)
	if err != nil {
		panic(err) // only ever called with plain structs and strings
	}
	return string(b)
}

// textRow is one row of a "{rows $n}" table of strings (handles, GUIDs): value ->> 'e'.
type textRow struct {
	E string `json:"e"`
}

func textRows(emails []string) string {
	rows := make([]textRow, len(emails))
	for i, e := range emails {
		rows[i] = textRow{e}
	}
	return jsonRows(rows)
}

// querier is what a txn needs from a *sql.Tx or a *sql.DB.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txn runs the flows' queries on a transaction or a pool, rewritten for
// the engine.
type txn struct {
	q querier
	d *dialect
}

func (t txn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.q.ExecContext(ctx, t.d.sql(query), args...)
}

func (t txn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.q.QueryContext(ctx, t.d.sql(query), args...)
}

func (t txn) row(ctx context.Context, query string, args ...any) *sql.Row {
	return t.q.QueryRowContext(ctx, t.d.sql(query), args...)
}

// affected runs a statement and returns how many rows it changed.
func (t txn) affected(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// reader is a txn outside any transaction on the read pool: for single
// statements, which see one snapshot each.
func (s *sqlStore) reader() txn { return txn{s.r, s.d} }

// maxAttempts bounds how often a transaction is run again after the
// engine aborted it to break a deadlock.
const maxAttempts = 10

// write runs fn in a write transaction and commits it, running it again
// from the start when the engine aborts it for a deadlock (PostgreSQL).
// fn must set its results from scratch on every run and use only t (on
// SQLite, touching the writer pool inside it would wait forever for the
// connection t holds).
func (s *sqlStore) write(ctx context.Context, fn func(t txn) error) error {
	return s.retry(ctx, func() error {
		tx, err := s.w.BeginTx(ctx, s.d.writeTx)
		if err != nil {
			return err
		}
		if err := fn(txn{tx, s.d}); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// writeOne runs fn, which makes one statement, outside a transaction on
// the writer pool: a statement is its own transaction, and this saves the
// round trips of BEGIN and COMMIT.
func (s *sqlStore) writeOne(ctx context.Context, fn func(t txn) error) error {
	return s.retry(ctx, func() error { return fn(txn{s.w, s.d}) })
}

// retry runs fn until it succeeds, fails for a reason of its own, or has
// been aborted maxAttempts times; it returns fn's last error, wrapped.
func (s *sqlStore) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !s.d.retryable(err) || attempt == maxAttempts {
			return wrap(err)
		}
		// A short random pause, growing with the attempts, so the two
		// sides of a deadlock do not meet again at once.
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
		select {
		case <-ctx.Done():
			return wrap(ctx.Err())
		case <-time.After(pause):
		}
	}
}

// read runs fn in a read transaction, so that the several queries it
// makes see one snapshot of the database.
func (s *sqlStore) read(ctx context.Context, fn func(t txn) error) error {
	tx, err := s.r.BeginTx(ctx, s.d.readTx)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback() // nothing to commit
	return wrap(fn(txn{tx, s.d}))
}

// sentinels are returned as they are; anything else gets a "store:" prefix.
var sentinels = []error{
	ErrNotFound, ErrExists, ErrBadPassword, ErrInvalidEmail, ErrInvalidName,
	ErrAlreadyOnList, ErrNotOnList, ErrOppositeList, ErrListFull, ErrNoSuchGroup,
	ErrGroupExists, ErrTooManyGroups, ErrNotInGroup, ErrAlreadyInGroup, ErrSameValue,
	ErrInvalidList, ErrInvalidPassword, ErrInvalidPrivacy, ErrBatchTooLarge,
	ErrNoKey, ErrInvalidKey, ErrKVFull, ErrFullSync, ErrMailboxFull, ErrInvalidMessage, ErrInvalidAnnotation, ErrInvalidProfile,
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range sentinels {
		if err == s {
			return err
		}
	}
	return fmt.Errorf("store: %w", err)
}

// lookup normalises a handle or GUID used to look something up. PostgreSQL
// refuses text with a NUL byte or invalid UTF-8 (SQLite stores any bytes),
// and such a string cannot name anything the store holds, so it becomes ""
// — which matches nothing either, on both engines.
func lookup(s string) string {
	s = strings.ToLower(s)
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return ""
	}
	return s
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// storedTime scans a time column of either engine: unix milliseconds
// (SQLite, and every newer column) or a timestamp (PostgreSQL's first
// schema). The result is in UTC, to the millisecond.
type storedTime struct{ t time.Time }

// Scan implements sql.Scanner.
func (s *storedTime) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		s.t = time.UnixMilli(v).UTC()
	case time.Time:
		s.t = time.UnixMilli(v.UnixMilli()).UTC()
	default:
		return fmt.Errorf("store: a time stored as %T", src)
	}
	return nil
}

// Ping checks that the database answers: one trivial read.
func (s *sqlStore) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// SchemaVersion reports the schema version of the open database.
func (s *sqlStore) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.reader().row(ctx, `SELECT version FROM schema_version`).Scan(&v)
	return v, wrap(err)
}

// errNoRows reports whether err is the "no row" of a single-row query.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
