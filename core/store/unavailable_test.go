package store

import (
	"context"
	"errors"
	"testing"

	"github.com/nudge-im/nudge/core/coretest/pgtest"
)

// While PostgreSQL is down every call fails with an error Unavailable
// recognises; once it is back, the same store works again without being
// opened anew. Refusals about the data are never Unavailable.
func TestPostgresOutage(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.NewServer(t)
	s := postgresEngine.openTest(t, pg.Database(t)).(*Postgres)
	mustCreate(t, s, "alice@example.com")
	if _, err := s.Account(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) || Unavailable(err) {
		t.Fatalf("Account(nobody) = %v; Unavailable %v", err, Unavailable(err))
	}

	pg.Stop()
	for name, err := range map[string]error{
		"Ping":          s.Ping(ctx),
		"Account":       second(s.Account(ctx, "alice@example.com")),
		"CheckPassword": second(s.CheckPassword(ctx, "alice@example.com", "pw")),
		"AddToList":     second(s.AddToList(ctx, "alice@example.com", "bob@example.com", Forward, "Bob", "")),
	} {
		if err == nil || !Unavailable(err) {
			t.Errorf("%s while the database is down: %v; Unavailable %v", name, err, Unavailable(err))
		}
	}

	pg.Restart(t)
	if _, err := s.Account(ctx, "alice@example.com"); err != nil {
		t.Fatalf("Account after PostgreSQL came back: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after PostgreSQL came back: %v", err)
	}
}

// Nothing SQLite says about a database it has open is an outage.
func TestSQLiteErrorsAreNotOutages(t *testing.T) {
	ctx := context.Background()
	s := sqliteEngine.newTest(t)
	if _, err := s.Account(ctx, "nobody@example.com"); Unavailable(err) {
		t.Fatalf("Account(nobody) = %v counts as an outage", err)
	}
	if _, err := s.CreateAccount(ctx, "not an address", "pw", "x"); err == nil || Unavailable(err) {
		t.Fatalf("CreateAccount(bad handle) = %v; Unavailable %v", err, Unavailable(err))
	}
}

func second[T any](_ T, err error) error { return err }
