package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/nudge-im/nudge/core/coretest/pgtest"
)

// TestMain stops the PostgreSQL cluster the tests started.
func TestMain(m *testing.M) { pgtest.Main(m) }

// postgresEngine runs the conformance suite on a new database of a
// throw-away cluster (pgtest) per test.
var postgresEngine = engine{
	name:  "postgres",
	fresh: pgtest.Start,
	open: func(ctx context.Context, url string, opts Options) (testStore, error) {
		s, err := OpenPostgres(ctx, url, opts)
		if err != nil {
			return nil, err
		}
		return s, nil
	},
	openOld: func(ctx context.Context, url string, steps int) (testStore, error) {
		s, err := openPostgres(ctx, url, testOpts, pgMigrations[:steps])
		if err != nil {
			return nil, err
		}
		return s, nil
	},
	// 1: the tables and kv, 2: list versions from 1, 3: events, 4: the address book.
	steps: map[string]int{"first": 1, "address book": 3},
}

func newPostgres(t testing.TB) *Postgres {
	t.Helper()
	return postgresEngine.newTest(t).(*Postgres)
}

func TestPostgresMigrations(t *testing.T) {
	ctx := context.Background()
	at := pgtest.Start(t)

	s := postgresEngine.openTest(t, at).(*Postgres)
	mustCreate(t, s, "alice@example.com")
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(pgMigrations) {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	s.Close()

	// A later program adds a step: it runs once, on the existing data.
	next := append(slices.Clip(pgMigrations), `ALTER TABLE accounts ADD COLUMN note text NOT NULL DEFAULT 'hi'`)
	s, err := openPostgres(ctx, at, testOpts, next)
	if err != nil {
		t.Fatal(err)
	}
	var note string
	if err := s.w.QueryRow(`SELECT note FROM accounts WHERE email = 'alice@example.com'`).Scan(&note); err != nil || note != "hi" {
		t.Fatalf("migrated row: %q, %v", note, err)
	}
	if v, _ := s.SchemaVersion(ctx); v != len(next) {
		t.Fatalf("version %d, want %d", v, len(next))
	}
	s.Close()
	// Opening again applies nothing (ALTER TABLE would fail if it ran twice).
	s, err = openPostgres(ctx, at, testOpts, next)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A failing step leaves the database as it was.
	broken := append(slices.Clip(next), `CREATE TABLE t (x integer)`, `THIS IS NOT SQL`)
	_, err = openPostgres(ctx, at, testOpts, broken)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d", len(broken))) {
		t.Fatalf("broken migration: %v", err)
	}
	s, err = openPostgres(ctx, at, testOpts, next)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	s.w.QueryRow(`SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n)
	if v, _ := s.SchemaVersion(ctx); v != len(next) || n != 0 {
		t.Fatalf("after failed upgrade: version %d, table t exists: %v", v, n == 1)
	}

	// The current program refuses a database from the later one.
	_, err = OpenPostgres(ctx, at, testOpts)
	wantErr(t, "newer schema", err, ErrSchemaTooNew)
	if !strings.Contains(err.Error(), fmt.Sprint(len(next))) {
		t.Fatalf("error does not say the version: %v", err)
	}
}

// Nodes starting at once on a new database migrate it once between them.
func TestPostgresConcurrentFirstStart(t *testing.T) {
	ctx := context.Background()
	at := pgtest.Start(t)
	const nodes = 6
	errs := make(chan error, nodes)
	for range nodes {
		go func() {
			s, err := OpenPostgres(ctx, at, testOpts)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatalf("a node failed to open the new database: %v", err)
		}
	}
	s := postgresEngine.openTest(t, at).(*Postgres)
	defer s.Close()
	if n, err := s.count(ctx, `SELECT count(*) FROM schema_version`); err != nil || n != 1 {
		t.Fatalf("schema_version rows = %d, %v", n, err)
	}
}

// TestPostgresHotQueriesUseIndexes guards the presence path: Listed and
// Watchers must never scan a table, once the planner knows the tables'
// sizes.
func TestPostgresHotQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	s := newPostgres(t)
	mustCreate(t, s, "owner@example.com")
	seedForward(t, s, "owner@example.com", "c", MaxForward)
	if _, err := s.w.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]struct {
		query string
		args  []any
	}{
		"Listed":   {listedQuery, []any{"owner@example.com", "c0001@example.com"}},
		"Watchers": {watchersQuery, []any{"c0001@example.com", int64(Forward)}},
	} {
		rows, err := s.w.QueryContext(ctx, "EXPLAIN "+q.query, q.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		if p := strings.Join(plan, "\n"); strings.Contains(p, "Seq Scan") {
			t.Errorf("%s scans a table:\n%s", name, p)
		}
	}
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	// Empty: SQLite at the path given.
	path := filepath.Join(t.TempDir(), "nudge.db")
	s, err := OpenURL(ctx, "", path, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*SQLite); !ok {
		t.Fatalf("OpenURL(\"\") = %T, want *SQLite", s)
	}
	s.Close()

	// A postgres:// URL: PostgreSQL.
	s, err = OpenURL(ctx, pgtest.Start(t), path, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*Postgres); !ok {
		t.Fatalf("OpenURL(postgres://…) = %T, want *Postgres", s)
	}
	s.Close()

	// Anything else is one line that says what is accepted, and never
	// shows the password.
	for _, bad := range []string{
		"mysql://nudge:s3cret@db/nudge",
		"sqlite:///var/lib/nudge.db",
		"postgres://nudge:s3cret@db:5432",
		"postgres://nudge:s3cret@db:5432/",
		"postgres://nudge:s3cret@db:bad port/nudge",
		"host=db dbname=nudge password=s3cret",
	} {
		_, err := OpenURL(ctx, bad, path, testOpts)
		if err == nil {
			t.Errorf("OpenURL(%q) succeeded", bad)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "\n") || !strings.Contains(msg, "postgres://") {
			t.Errorf("OpenURL(%q) = %q: want one line naming postgres://, without the password", bad, msg)
		}
		if CheckURL(bad) == nil {
			t.Errorf("CheckURL(%q) accepted it", bad)
		}
	}
	if err := CheckURL(""); err != nil {
		t.Errorf("CheckURL(\"\") = %v", err)
	}
}

// A server that cannot be used gives one line naming it, without the
// password.
func TestPostgresOpenErrors(t *testing.T) {
	ctx := context.Background()
	good, err := url.Parse(pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	missing := *good
	missing.Path = "/no_such_database"
	missing.User = url.UserPassword("postgres", "s3cret")
	_, err = OpenPostgres(ctx, missing.String(), testOpts)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "no_such_database") ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("missing database: %v", err)
	}

	// A database in another encoding than UTF8 is refused with the fix.
	s := postgresEngine.openTest(t, good.String()).(*Postgres)
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, `CREATE DATABASE latin1_db ENCODING 'LATIN1' TEMPLATE template0`); err != nil {
		t.Fatal(err)
	}
	defer s.w.ExecContext(ctx, `DROP DATABASE latin1_db WITH (FORCE)`)
	latin := *good
	latin.Path = "/latin1_db"
	_, err = OpenPostgres(ctx, latin.String(), testOpts)
	if err == nil || !strings.Contains(err.Error(), "UTF8") {
		t.Errorf("LATIN1 database: %v", err)
	}

	if _, err := OpenPostgres(ctx, good.String(), Options{BcryptCost: 99}); err == nil {
		t.Error("OpenPostgres accepted bcrypt cost 99")
	}
}

// The pool: a few connections per CPU by default, or MaxReaders; and
// binary parameters unless the URL says otherwise.
func TestPostgresPool(t *testing.T) {
	ctx := context.Background()
	at := pgtest.Start(t)
	s := postgresEngine.openTest(t, at).(*Postgres)
	if got, want := s.w.Stats().MaxOpenConnections, max(8, 4*runtime.GOMAXPROCS(0)); got != want {
		t.Errorf("default pool size %d, want %d", got, want)
	}
	s.Close()
	s = postgresEngine.openOpts(t, at, Options{BcryptCost: testOpts.BcryptCost, MaxReaders: 3}).(*Postgres)
	if got := s.w.Stats().MaxOpenConnections; got != 3 {
		t.Errorf("pool size with MaxReaders 3: %d", got)
	}
	s.Close()
	// The store works with either way of sending parameters.
	u, _ := url.Parse(at)
	q := u.Query()
	q.Set("binary_parameters", "no")
	u.RawQuery = q.Encode()
	s = postgresEngine.openTest(t, u.String()).(*Postgres)
	defer s.Close()
	mustCreate(t, s, "alice@example.com")
	if _, err := s.CheckPassword(ctx, "alice@example.com", "pw-alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.KVSet(ctx, "ns", "k", []byte{0, 1, 0xff}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.KVGet(ctx, "ns", "k"); err != nil || string(v) != "\x00\x01\xff" {
		t.Fatalf("KVGet = %q, %v", v, err)
	}
}

// Handles and keys sort byte for byte whatever the database's collation:
// the columns say COLLATE "C".
func TestPostgresByteOrder(t *testing.T) {
	ctx := context.Background()
	s := newPostgres(t)
	var coll []string
	rows, err := s.w.QueryContext(ctx, `
		SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name IN ('email', 'guid', 'namespace', 'key')
		  AND coalesce(collation_name, '') <> 'C'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		coll = append(coll, c)
	}
	rows.Close()
	if len(coll) > 0 {
		t.Errorf("columns without the C collation: %v", coll)
	}
}

// pqCode is the PostgreSQL error code in err, or "".
func pqCode(err error) string {
	if pe := pq.As(err); pe != nil {
		return string(pe.Code)
	}
	return ""
}

// The retry loop runs a transaction PostgreSQL aborted for a deadlock
// again, and gives other errors back at once.
func TestPostgresRetry(t *testing.T) {
	ctx := context.Background()
	s := newPostgres(t)
	calls := 0
	err := s.retry(ctx, func() error {
		calls++
		if calls < 3 {
			return &pq.Error{Code: "40P01", Message: "deadlock detected"}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("retry = %v after %d calls, want success after 3", err, calls)
	}
	calls = 0
	err = s.retry(ctx, func() error { calls++; return ErrNotFound })
	if !errors.Is(err, ErrNotFound) || calls != 1 {
		t.Fatalf("retry of a plain error = %v after %d calls", err, calls)
	}
	calls = 0
	err = s.retry(ctx, func() error { calls++; return &pq.Error{Code: "40001", Message: "serialization failure"} })
	if pqCode(err) != "40001" || calls != maxAttempts {
		t.Fatalf("retry that never succeeds = %v after %d calls, want the error after %d", err, calls, maxAttempts)
	}
}
