package msnbridge_test

import (
	"testing"

	"github.com/nudge-im/nudge/core/coretest/pgtest"
)

// One PostgreSQL cluster serves every test of the package that wants one.
func TestMain(m *testing.M) { pgtest.Main(m) }
