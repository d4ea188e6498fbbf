package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/coretest/pgtest"
)

// The user commands reach a PostgreSQL store by --database, or by the
// database.url of --config; --data is then not used.
func TestUserOnPostgres(t *testing.T) {
	url := pgtest.Start(t)
	data := filepath.Join(t.TempDir(), "unused")

	mustRun(t, "user", "add", "alice@example.com", "--password", "secret1", "--name", "Alice", "--database", url, "--data", data)
	cfg := filepath.Join(t.TempDir(), "nudge.yaml")
	if err := os.WriteFile(cfg, []byte("database:\n  url: "+url+"\nlogin:\n  bcrypt_cost: 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "user", "add", "bob@example.com", "--password", "secret2", "--config", cfg)
	out := mustRun(t, "user", "list", "--config", cfg)
	if !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "bob@example.com") {
		t.Fatalf("user list:\n%s", out)
	}
	mustRun(t, "user", "del", "alice@example.com", "--database", url)
	if out := mustRun(t, "user", "list", "--database", url); strings.Contains(out, "alice@") {
		t.Fatalf("user list after del:\n%s", out)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the SQLite data directory was made (%v); the store is in PostgreSQL", err)
	}

	// A URL that is not PostgreSQL's, or a server that refuses, is one line.
	_, _, err := run(t, "", "user", "list", "--database", "mysql://root:s3cret@db/nudge")
	oneLine(t, err, "postgres://")
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the password is in the error: %v", err)
	}
	_, _, err = run(t, "", "user", "list", "--database", strings.Replace(url, "/t_", "/nothere_", 1))
	oneLine(t, err, "cannot open the database", "nothere_")
	// In the config file, the line is named.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("data: ./data\ndatabase:\n  url: mysql://root:s3cret@db/nudge\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, "", "user", "list", "--config", bad)
	oneLine(t, err, "bad.yaml:3", "database.url", "postgres://")
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the password is in the error: %v", err)
	}
}
