package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sqliteEngine runs the conformance suite on SQLite files in the test's
// temporary directory.
var sqliteEngine = engine{
	name: "sqlite",
	fresh: func(t testing.TB) string {
		// Parent directories that do not exist yet: Open makes them.
		return filepath.Join(t.TempDir(), "data", "nudge.db")
	},
	open: func(ctx context.Context, path string, opts Options) (testStore, error) {
		s, err := Open(ctx, path, opts)
		if err != nil {
			return nil, err
		}
		return s, nil
	},
	openOld: func(ctx context.Context, path string, steps int) (testStore, error) {
		s, err := open(ctx, path, testOpts, migrations[:steps])
		if err != nil {
			return nil, err
		}
		return s, nil
	},
	// 1: the tables, 2: kv, 3: list versions from 1, 4: events, 5: the address book.
	steps: map[string]int{"first": 2, "address book": 4},
}

// openTest opens the SQLite file at path; the caller closes it.
func openTest(t testing.TB, path string) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), path, testOpts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// newSQLite returns a store on a new file, closed when the test ends.
func newSQLite(t testing.TB) *SQLite {
	t.Helper()
	s := openTest(t, filepath.Join(t.TempDir(), "nudge.db"))
	t.Cleanup(func() { s.Close() })
	return s
}

// The plaintext of a password is nowhere in the database's files, and the
// file is the owner's only.
func TestPasswordsNotOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "nudge.db")
	s := openTest(t, path)
	const pw, pw2 = "Very-Secret-Passw0rd", "another one"
	if _, err := s.CreateAccount(ctx, "alice@example.com", pw, "Alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "alice@example.com", pw2); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "nudge.db*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) || bytes.Contains(b, []byte(pw2)) {
			t.Fatalf("%s contains a plaintext password", f)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode %v, %v; want 0600", fi.Mode(), err)
	}
}

// TestCrash kills a process right after its calls return, without Close,
// and checks that a new process finds everything (WAL recovery).
func TestCrash(t *testing.T) {
	if path := os.Getenv("NUDGE_STORE_CRASH_DB"); path != "" {
		// The child: write, then die without closing anything.
		s := openTest(t, path)
		mustCreate(t, s, "alice@example.com")
		mustCreate(t, s, "bob@example.com")
		mustAdd(t, s, "alice@example.com", "bob@example.com", Forward, "")
		os.Exit(3)
	}
	path := filepath.Join(t.TempDir(), "nudge.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), "NUDGE_STORE_CRASH_DB="+path)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := openTest(t, path)
	defer s.Close()
	if l := listed(t, s, "bob@example.com", "alice@example.com"); l != Reverse|Pending {
		t.Fatalf("after crash bob lists alice on %d", l)
	}
}

func TestOpenSettings(t *testing.T) {
	s := newSQLite(t)
	for q, want := range map[string]string{
		"PRAGMA journal_mode": "wal",
		"PRAGMA foreign_keys": "1",
		"PRAGMA synchronous":  "2", // FULL
	} {
		var got string
		if err := s.w.QueryRow(q).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", q, got, err, want)
		}
	}
	// Readers cannot write.
	if _, err := s.r.Exec(`DELETE FROM accounts`); err == nil {
		t.Error("a read connection could write")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), Options{BcryptCost: 99}); err == nil {
		t.Error("Open accepted bcrypt cost 99")
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nudge.db")

	s := openTest(t, path)
	mustCreate(t, s, "alice@example.com")
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	s.Close()

	// A later program adds a step: it runs once, on the existing data.
	next := append(slices.Clip(migrations), `ALTER TABLE accounts ADD COLUMN note TEXT NOT NULL DEFAULT 'hi'`)
	s, err := open(ctx, path, testOpts, next)
	if err != nil {
		t.Fatal(err)
	}
	var note string
	if err := s.r.QueryRow(`SELECT note FROM accounts WHERE email = 'alice@example.com'`).Scan(&note); err != nil || note != "hi" {
		t.Fatalf("migrated row: %q, %v", note, err)
	}
	if v, _ := s.SchemaVersion(ctx); v != len(next) {
		t.Fatalf("version %d, want %d", v, len(next))
	}
	s.Close()
	// Opening again applies nothing (ALTER TABLE would fail if it ran twice).
	s, err = open(ctx, path, testOpts, next)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A failing step leaves the file as it was.
	broken := append(slices.Clip(next), `CREATE TABLE t (x INTEGER)`, `THIS IS NOT SQL`)
	_, err = open(ctx, path, testOpts, broken)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d", len(broken))) {
		t.Fatalf("broken migration: %v", err)
	}
	s, err = open(ctx, path, testOpts, next)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	s.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 't'`).Scan(&n)
	if v, _ := s.SchemaVersion(ctx); v != len(next) || n != 0 {
		t.Fatalf("after failed upgrade: version %d, table t exists: %v", v, n == 1)
	}
	s.Close()

	// The current program refuses a file from the later one.
	_, err = Open(ctx, path, testOpts)
	wantErr(t, "newer schema", err, ErrSchemaTooNew)
	if !strings.Contains(err.Error(), fmt.Sprint(len(next))) {
		t.Fatalf("error does not say the version: %v", err)
	}
}

// TestHotQueriesUseIndexes guards the presence path: Listed and Watchers
// must never scan a table.
func TestHotQueriesUseIndexes(t *testing.T) {
	s := newSQLite(t)
	for name, q := range map[string]string{"Listed": listedQuery, "Watchers": watchersQuery} {
		rows, err := s.r.Query("EXPLAIN QUERY PLAN "+sqliteDialect.sql(q), "a@example.com", 1)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(detail, "SCAN ") {
				t.Errorf("%s: %s", name, detail)
			}
		}
		rows.Close()
	}
}
