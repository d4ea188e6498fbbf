package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
	"golang.org/x/crypto/bcrypt"
)

// Options tune Open. The zero value is what a server wants.
type Options struct {
	// BcryptCost is the cost of new password hashes; 0 means
	// bcrypt.DefaultCost. Tests use bcrypt.MinCost to stay fast.
	BcryptCost int
	// BusyTimeout is how long a statement waits for a lock held by another
	// process on the same file (say "nudge user add" while the server
	// runs); 0 means 5 seconds.
	BusyTimeout time.Duration
	// MaxReaders caps the read connections; 0 means GOMAXPROCS, at least 4.
	MaxReaders int
	// MaxReverse caps a user's RL (ErrListFull beyond it); 0 means
	// DefaultMaxReverse.
	MaxReverse int
	// MaxOffline caps the offline messages waiting for one user
	// (ErrMailboxFull beyond it); 0 means DefaultMaxOffline.
	MaxOffline int
	// OfflineLifetime is how long an offline message is kept unread; 0
	// means DefaultOfflineLifetime.
	OfflineLifetime time.Duration
}

// ErrSchemaTooNew is returned (wrapped, with both versions) by Open when the
// database was written by a newer version of the service.
var ErrSchemaTooNew = errors.New("database schema is newer than this program")

// SQLite is the Store kept in one SQLite file.
//
// It holds two pools on the same file. Writes go through a pool of exactly
// one connection whose transactions start with BEGIN IMMEDIATE: SQLite has a
// single writer anyway, so writers queue in Go (in order, without polling)
// instead of in SQLite's busy handler, and no transaction ever has to upgrade
// a read lock to a write lock (the classic SQLITE_BUSY deadlock). Reads go
// through a pool of query-only connections which, in WAL mode, run in
// parallel with each other and with the writer, each on a consistent
// snapshot. With one writer, the row locks the flows take on PostgreSQL
// are not needed ({FOR UPDATE} is dropped).
//
// Durability: journal_mode=WAL with synchronous=FULL. With NORMAL a commit
// survives a crash of the process but may be lost on power failure or an OS
// crash; the server acknowledges a list change to the client once the call
// returns, so every commit is synced. List changes happen at human speed, so
// the fsync per commit costs nothing that matters.
type SQLite struct {
	sqlStore
}

// sqliteDialect: ?1 parameters, no row locks, JSON tables by json_each.
var sqliteDialect = &dialect{
	name: "sqlite",
	rewrite: func(q string) string {
		q = markerForUpdate.ReplaceAllString(q, "")
		q = markerRows.ReplaceAllString(q, "json_each($$$1)")
		q = markerNow.ReplaceAllString(q, "CAST(unixepoch('subsec') * 1000 AS INTEGER)")
		return dollarParam.ReplaceAllString(q, "?$1")
	},
	retryable: func(error) bool { return false }, // busy_timeout waits for other processes
	timeArg:   func(t time.Time) any { return t.UnixMilli() },
	// The single writer connection serialises every writer already.
	lockNamespace: func(context.Context, txn, string) error { return nil },
	lockEvents:    func(context.Context, txn) error { return nil },
}

var _ Store = (*SQLite)(nil)

// Open opens (creating it and its parent directories if needed) the SQLite
// database at path and brings its schema up to date.
func Open(ctx context.Context, path string, opts Options) (*SQLite, error) {
	return open(ctx, path, opts, migrations)
}

func open(ctx context.Context, path string, opts Options, migs []string) (*SQLite, error) {
	cost := opts.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("store: bcrypt cost %d out of range %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	readers := opts.MaxReaders
	if readers <= 0 {
		readers = max(4, runtime.GOMAXPROCS(0))
	}

	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// Two pools on one in-memory database would be two databases.
		return nil, fmt.Errorf("store: Open needs the path of a file, not %q", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, err
	}

	common := url.Values{
		"_busy_timeout":    {strconv.FormatInt(busy.Milliseconds(), 10)},
		"_stmt_cache_size": {"64"}, // every query is a constant string: prepare once per connection
	}
	wp := cloneValues(common)
	wp.Set("_journal_mode", "WAL")
	wp.Set("_synchronous", "FULL")
	wp.Set("_foreign_keys", "1")
	wp.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite3", dsn(abs, wp))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	if err := migrate(ctx, w, migs); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %s: %w", abs, err)
	}

	// The reader is opened after the writer has switched the file to WAL
	// (a persistent setting), so readers never see a rollback journal.
	rp := cloneValues(common)
	rp.Set("_query_only", "1")
	rp.Set("_foreign_keys", "1")
	r, err := sql.Open("sqlite3", dsn(abs, rp))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxLifetime(0)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("store: %s: %w", abs, err)
	}

	return &SQLite{newSQLStore(w, r, sqliteDialect, cost, opts)}, nil
}

// Close closes the database. Calls after Close fail.
func (s *SQLite) Close() error {
	// Let SQLite refresh its query planner statistics if it thinks they
	// are stale; cheap, and the documented thing to do before closing.
	s.w.Exec("PRAGMA optimize")
	return errors.Join(s.r.Close(), s.w.Close())
}

// createPrivate makes the parent directories and, if missing, an empty
// database file readable only by its owner: it holds password hashes.
// SQLite gives its -wal and -shm files the same permissions.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return f.Close()
}

// dsn builds a file: URI so that any character in the path is escaped;
// go-sqlite3 reads its own _options from the query and SQLite ignores them.
func dsn(abs string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: params.Encode()}
	return u.String()
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
