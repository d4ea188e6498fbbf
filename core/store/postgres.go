package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"golang.org/x/crypto/bcrypt"
)

// OpenURL opens the store a configuration names: SQLite in the file at
// sqlitePath when dbURL is empty, PostgreSQL when it is a postgres:// (or
// postgresql://) URL. Anything else is an error that says what is accepted.
func OpenURL(ctx context.Context, dbURL, sqlitePath string, opts Options) (Store, error) {
	if dbURL == "" {
		s, err := Open(ctx, sqlitePath, opts)
		if err != nil {
			return nil, err // not a typed nil inside the interface
		}
		return s, nil
	}
	if err := CheckURL(dbURL); err != nil {
		return nil, err
	}
	s, err := OpenPostgres(ctx, dbURL, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// CheckURL reports whether dbURL is a database URL OpenURL accepts: empty
// (SQLite) or postgres://[user[:password]@]host[:port]/database[?param=value…].
// Its errors are one line and never show the password.
func CheckURL(dbURL string) error {
	if dbURL == "" {
		return nil
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		// url.Parse quotes the whole input, password included.
		return errors.New("store: the database URL is not a valid URL; write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		// Only the scheme is shown: what follows may hold a password.
		what := "it is not a URL"
		if u.Scheme != "" {
			what = fmt.Sprintf("not %s://", u.Scheme)
		}
		return fmt.Errorf("store: the database URL must be postgres://USER:PASSWORD@HOST:PORT/DATABASE (%s); leave it empty for SQLite in the data directory", what)
	}
	if strings.TrimPrefix(u.Path, "/") == "" {
		return fmt.Errorf("store: database URL %s names no database: write postgres://USER:PASSWORD@HOST:PORT/DATABASE", u.Redacted())
	}
	return nil
}

// Postgres is the Store kept in a PostgreSQL database, for deployments
// where several service nodes share one database or one machine is not
// enough.
//
// Concurrency: transactions run at READ COMMITTED and every list change
// first locks the account rows it will change (SELECT … FOR UPDATE, in id
// order, so two changes that share accounts cannot deadlock). An account's
// lists, groups, version and settings are only ever changed under its row
// lock, so each change sees them as they are and no other change can slip
// in between its checks (limits, duplicates) and its writes; changes of
// different accounts run in parallel. An FL change locks both accounts (FL
// and the other side's RL move together), and deleting an account locks it
// and everyone who has it on FL or RL. The rare deadlock this still allows
// (deleting an account while someone adds it, in the other order) is
// detected by PostgreSQL and the transaction is run again.
//
// SERIALIZABLE with retries gives the same guarantees without the explicit
// locks, but the version counter every change bumps makes all changes of
// one account conflict: under contention most attempts fail and are
// retried (BenchmarkContendedAdd; the figures are in the README's design
// notes), while a row lock simply queues them.
//
// Reads are single statements, each on one snapshot: Contacts gathers the
// groups and entries in one query rather than three in a transaction, so a
// sign-in costs one round trip. Commits are durable when PostgreSQL's own
// settings make them so (fsync and synchronous_commit on, their defaults).
type Postgres struct {
	sqlStore
}

// postgresDialect: $1 parameters as written, row locks, READ COMMITTED
// writes retried after a deadlock, JSON tables by jsonb_array_elements.
var postgresDialect = &dialect{
	name: "postgres",
	rewrite: func(q string) string {
		q = markerForUpdate.ReplaceAllString(q, "FOR UPDATE")
		q = markerNow.ReplaceAllString(q, "(extract(epoch FROM clock_timestamp()) * 1000)::bigint")
		return markerRows.ReplaceAllString(q, "jsonb_array_elements($$$1::jsonb) AS value")
	},
	// Reads of several statements see one snapshot.
	readTx:    &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	writeTx:   &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	retryable: retryable,
	timeArg:   func(t time.Time) any { return t },
	// A transaction-scoped advisory lock per namespace.
	lockNamespace: func(ctx context.Context, t txn, namespace string) error {
		_, err := t.exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(pgLockKV), kvLockKey(namespace))
		return err
	},
	// Taken last, after the row locks of the change, so a transaction
	// never waits for it while holding what others need; the changes
	// that record events (deletions, new passwords) are rare.
	lockEvents: func(ctx context.Context, t txn) error {
		_, err := t.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgLockEvents))
		return err
	},
}

// kvLockKey is the second key of a namespace's advisory lock: a hash, so
// two namespaces may share a lock now and then, which only makes one wait.
func kvLockKey(namespace string) int32 {
	h := fnv.New32a()
	h.Write([]byte(namespace))
	return int32(h.Sum32())
}

var _ Store = (*Postgres)(nil)

// Lock keys of pg_advisory_xact_lock. The one-key and two-key forms are
// separate key spaces in PostgreSQL; both are only held by transactions.
const (
	pgLockMigrate = 0x6e75_6467_6500_0001 // one key: schema migrations
	pgLockKV      = 0x6e75_6467           // first of two keys: a key-value namespace
	pgLockEvents  = 0x6e75_6467_6500_0002 // one key: recording account events
)

// OpenPostgres connects to the PostgreSQL database at dbURL and brings its
// schema up to date. The database must exist and be in UTF8; the user
// needs the right to create tables in it (the first start creates them).
//
// Options.MaxReaders, when set, is the size of the connection pool (reads
// and writes share it here); the default is four connections per CPU, at
// least eight. Unless the URL says otherwise, connecting gives up after ten
// seconds, and statements are sent with their parameters in one round trip
// (lib/pq's binary_parameters).
func OpenPostgres(ctx context.Context, dbURL string, opts Options) (*Postgres, error) {
	return openPostgres(ctx, dbURL, opts, pgMigrations)
}

func openPostgres(ctx context.Context, dbURL string, opts Options, migs []string) (*Postgres, error) {
	cost := cmp.Or(opts.BcryptCost, bcrypt.DefaultCost)
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("store: bcrypt cost %d out of range %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if err := CheckURL(dbURL); err != nil {
		return nil, err
	}
	u, _ := url.Parse(dbURL)
	where := u.Redacted()

	cfg, err := pq.NewConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL at %s: %w", where, pgError{err})
	}
	q := u.Query()
	if !q.Has("binary_parameters") {
		// One round trip per statement instead of two (parse, then bind
		// and execute); []byte parameters go as binary, which suits the
		// bytea columns they are for.
		cfg.BinaryParameters = true
	}
	if !q.Has("connect_timeout") && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		cfg.ConnectTimeout = 10 * time.Second
	}
	conn, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL at %s: %w", where, pgError{err})
	}
	db := sql.OpenDB(conn)
	size := opts.MaxReaders
	if size <= 0 {
		// Connections wait on the network and on the server's disk, and a
		// change waiting for another's row lock holds one too: a few per
		// CPU keep this process busy without crowding a server that
		// several nodes share (PostgreSQL's default is 100 in all).
		size = max(8, 4*runtime.GOMAXPROCS(0))
	}
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	// A backend costs the server memory; give idle ones back, and renew
	// connections now and then so a pooler or a fail-over rebalances them.
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)

	fail := func(err error) (*Postgres, error) {
		db.Close()
		return nil, fmt.Errorf("store: PostgreSQL at %s: %w", where, pgError{err})
	}
	var enc string
	if err := db.QueryRowContext(ctx, `SHOW server_encoding`).Scan(&enc); err != nil {
		return fail(err)
	}
	if enc != "UTF8" {
		db.Close()
		return nil, fmt.Errorf("store: PostgreSQL at %s: the database's encoding is %s; nudge needs UTF8 "+
			"(CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0)", where, enc)
	}
	if err := pgMigrate(ctx, db, migs); err != nil {
		return fail(err)
	}

	return &Postgres{newSQLStore(db, db, postgresDialect, cost, opts)}, nil
}

// pgError is a driver error as one line without lib/pq's "pq: " prefix,
// with PostgreSQL's detail or hint when it gave one. It unwraps to the
// error, so errors.Is and pq.As still see through it.
type pgError struct{ err error }

func (e pgError) Unwrap() error { return e.err }

func (e pgError) Error() string {
	msg := strings.Replace(e.err.Error(), "pq: ", "", 1)
	if pe := pq.As(e.err); pe != nil {
		if pe.Detail != "" {
			msg += " (" + pe.Detail + ")"
		} else if pe.Hint != "" {
			msg += " (" + pe.Hint + ")"
		}
	}
	if strings.Contains(msg, "SSL is not enabled on the server") {
		msg += " (add ?sslmode=disable to the URL to connect without TLS)"
	}
	return strings.ReplaceAll(msg, "\n", " ")
}

// Close closes the connection pool. Calls after Close fail.
func (s *Postgres) Close() error { return s.w.Close() }

// retryable reports whether PostgreSQL aborted a transaction only because
// of another one, so that running it again is right.
func retryable(err error) bool {
	return pq.As(err, pqerror.TRDeadlockDetected, pqerror.TRSerializationFailure) != nil
}
