package pgtest

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// Server is a PostgreSQL server of one test's own, apart from the one
// Start shares: the test may stop it and start it again, as in an outage
// of the database a service runs on. It keeps its data directory and
// socket, so the URLs it gave out reach it again after Restart.
//
//	pg := pgtest.NewServer(t)
//	url := pg.Database(t)
//	… pg.Stop() … pg.Restart() …
type Server struct {
	c *cluster
}

// NewServer starts a server for this test; it is removed when the test
// ends. It skips the test as Start does when PostgreSQL is not installed.
func NewServer(t testing.TB) *Server {
	t.Helper()
	c, err := start(false)
	if err != nil {
		var nf *notFoundError
		if errors.As(err, &nf) && os.Getenv("CI") == "" {
			t.Skipf("pgtest: %v", err)
		}
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(c.stop)
	return &Server{c: c}
}

// Database returns the URL of a new, empty database on the server.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	name, err := s.c.create()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s.c.url(name)
}

// Stop ends the server at once, as a crash would: PostgreSQL's immediate
// shutdown, which cuts every connection and leaves recovery to the next
// start. Stop returns when the server is gone.
func (s *Server) Stop() {
	s.c.proc.Signal(syscall.SIGQUIT)
	<-s.c.exited
}

// Restart starts the stopped server again on the same data and socket,
// and returns when it accepts connections.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.c.launch(); err != nil {
		t.Fatalf("pgtest: restart: %v", err)
	}
}
