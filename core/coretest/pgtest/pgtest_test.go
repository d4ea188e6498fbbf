package pgtest

import (
	"context"
	"database/sql"
	"os"
	"testing"

	_ "github.com/lib/pq"
)

func TestMain(m *testing.M) { Main(m) }

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Each Start is a database of its own, empty, in UTF8, on a server that
// runs as someone other than root.
func TestStartGivesSeparateDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := open(t, Start(t)), open(t, Start(t))
	if _, err := a.ExecContext(ctx, `CREATE TABLE t (x text)`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, `INSERT INTO t VALUES ('héllo ☺')`); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := a.QueryRowContext(ctx, `SELECT x FROM t`).Scan(&got); err != nil || got != "héllo ☺" {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	var n int
	if err := b.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the second database sees the first one's table: %d, %v", n, err)
	}
	var enc string
	if err := b.QueryRowContext(ctx, `SHOW server_encoding`).Scan(&enc); err != nil || enc != "UTF8" {
		t.Fatalf("server_encoding = %q, %v", enc, err)
	}
	var fsync string
	if err := b.QueryRowContext(ctx, `SHOW fsync`).Scan(&fsync); err != nil || fsync != "on" {
		t.Fatalf("fsync = %q, %v; commits must be as durable as in production", fsync, err)
	}
}

// A test's database is dropped once the test ends.
func TestDatabaseDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		db := open(t, Start(t))
		if err := db.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		db.Close() // a pool left open is ended by the drop anyway
	})
	running.drops.Wait() // drops happen in the background
	db := open(t, Start(t))
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("database %s still there after its test: %d, %v", name, n, err)
	}
}

// Without Main, the cluster stops, and its directory goes, when the last
// test using it ends.
func TestStopsAfterLastUserWithoutMain(t *testing.T) {
	mu.Lock()
	keep = false
	mu.Unlock()
	defer func() {
		mu.Lock()
		keep = true
		mu.Unlock()
	}()
	var dir string
	t.Run("user", func(t *testing.T) {
		Start(t)
		mu.Lock()
		dir = running.dir
		mu.Unlock()
		t.Run("another", func(t *testing.T) { Start(t) })
		mu.Lock()
		stillUp := running != nil
		mu.Unlock()
		if !stillUp {
			t.Fatal("the cluster stopped while a test still held a database")
		}
	})
	mu.Lock()
	stopped := running == nil
	mu.Unlock()
	if !stopped {
		t.Fatal("the cluster still runs after its last user ended")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cluster directory %s: %v, want it gone", dir, err)
	}
}

// A Server of a test's own stops (connections cut, new ones refused) and
// comes back on the same URL with what was committed before.
func TestServerStopAndRestart(t *testing.T) {
	ctx := context.Background()
	pg := NewServer(t)
	db := open(t, pg.Database(t))
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x int); INSERT INTO t VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("Ping answered while the server was stopped")
	}
	pg.Restart(t)
	var x int
	if err := db.QueryRowContext(ctx, `SELECT x FROM t`).Scan(&x); err != nil || x != 7 {
		t.Fatalf("after the restart: %d, %v", x, err)
	}
}
