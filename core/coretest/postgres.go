package coretest

import (
	"testing"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest/pgtest"
)

// WithPostgres keeps the service's store in a new database of a throw-away
// PostgreSQL cluster (see pgtest) instead of SQLite in the data directory.
// Restart keeps the same database. Outside CI it skips the test when
// PostgreSQL is not installed.
func WithPostgres(t testing.TB) Option {
	t.Helper()
	url := pgtest.Start(t)
	return func(c *config.Config) { c.Database.URL = url }
}
