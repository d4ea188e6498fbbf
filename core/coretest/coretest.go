// Package coretest runs a real MSN service for tests, in the spirit of
// net/http/httptest: every listener on an ephemeral loopback port, the data
// in a temporary directory, and a way to make accounts.
//
//	srv := coretest.Start(t)
//	srv.AddUser(t, "alice@example.com", "secret1", "Alice")
//	conn, _ := net.Dial("tcp", srv.NSAddr)
//
// Set NUDGE_TEST_LOG=debug (or info) to see the service's log in the test
// output.
package coretest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/server"
)

// Server is a running service and its addresses.
type Server struct {
	*server.Server

	NSAddr   string // Dispatch/Notification server, host:port
	DSAddr   string // separate Dispatch listener, when WithDispatch was given
	SBAddr   string // Switchboard server
	HTTPURL  string // Passport, admin API, metrics over HTTP: http://host:port
	HTTPSURL string // the same over TLS (self-signed certificate)
	// OperatorURL serves the admin API, metrics and profiles without the
	// client-facing endpoints: http://host:port
	OperatorURL string
	Data        string // the data directory

	cfg config.Config
}

// Option changes the configuration before the service starts.
type Option func(*config.Config)

// WithDispatch adds a separate Dispatch listener that refers clients to the
// Notification server with XFR NS.
func WithDispatch() Option {
	return func(c *config.Config) { c.Listen.DS = "127.0.0.1:0" }
}

// WithoutChallenges turns CHL/QRY off, for tests that speak the protocol by
// hand.
func WithoutChallenges() Option {
	return func(c *config.Config) { c.Login.Challenges = false }
}

// WithConfig applies any change to the configuration.
func WithConfig(f func(*config.Config)) Option { return Option(f) }

// Start starts a service and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Listen = config.Listen{
		NS:    "127.0.0.1:0",
		SB:    "127.0.0.1:0",
		HTTP:  "127.0.0.1:0",
		HTTPS: "127.0.0.1:0",

		Operator: "127.0.0.1:0",
	}
	cfg.Login.BcryptCost = 4 // the slow hash is not what tests measure
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{cfg: cfg}
	// Ports come from below the kernel's ephemeral range, where no
	// outgoing connection of this or another test can hold them when a
	// Restart binds them again. Another test process may pick the same
	// port first: then try others.
	want := cfg.Listen
	var err error
	for range 20 {
		s.cfg.Listen = fixedPorts(want)
		if err = s.tryStart(t); !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		t.Fatalf("coretest: start: %v", err)
	}
	// Later starts (Restart) reuse the ports the first one got.
	s.cfg.Listen = config.Listen{NS: s.NSAddr, DS: s.DSAddr, SB: s.SBAddr, HTTP: hostOf(s.HTTPURL), HTTPS: hostOf(s.HTTPSURL),
		Operator: hostOf(s.OperatorURL)}
	t.Cleanup(s.Close)
	return s
}

// fixedPorts replaces every "127.0.0.1:0" with a random port between 20000
// and the start of Linux's ephemeral range (32768).
func fixedPorts(l config.Listen) config.Listen {
	for _, a := range []*string{&l.NS, &l.DS, &l.SB, &l.HTTP, &l.HTTPS, &l.Operator} {
		if host, port, err := net.SplitHostPort(*a); err == nil && port == "0" {
			*a = net.JoinHostPort(host, fmt.Sprint(20000+rand.IntN(12768)))
		}
	}
	return l
}

func (s *Server) tryStart(t testing.TB) error {
	srv, err := server.Start(context.Background(), s.cfg, logger(t))
	if err != nil {
		return err
	}
	a := srv.Addrs()
	s.Server = srv
	s.NSAddr, s.DSAddr, s.SBAddr = a.NS, a.DS, a.SB
	s.HTTPURL, s.HTTPSURL = "", ""
	if a.HTTP != "" {
		s.HTTPURL = "http://" + a.HTTP
	}
	if a.HTTPS != "" {
		s.HTTPSURL = "https://" + a.HTTPS
	}
	s.OperatorURL = ""
	if a.Operator != "" {
		s.OperatorURL = "http://" + a.Operator
	}
	s.Data = s.cfg.Data
	return nil
}

// Restart stops the service and starts it again on the same addresses and
// data, as an operator's restart would.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Server.Close()
	// A port the first start had may be held for a moment by someone else
	// (a test process that picked it while it was free): wait for it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := s.tryStart(t)
		if err == nil {
			return
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			t.Fatalf("coretest: restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Close stops the service. It is safe to call more than once.
func (s *Server) Close() {
	if s.Server != nil {
		s.Server.Close()
	}
}

// AddUser makes an account.
func (s *Server) AddUser(t testing.TB, email, password, friendlyName string) {
	t.Helper()
	if _, err := s.Store.CreateAccount(context.Background(), email, password, friendlyName); err != nil {
		t.Fatalf("coretest: add user %s: %v", email, err)
	}
}

func hostOf(url string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(url) > len(p) && url[:len(p)] == p {
			return url[len(p):]
		}
	}
	return url
}

func logger(t testing.TB) zerolog.Logger {
	level, err := zerolog.ParseLevel(os.Getenv("NUDGE_TEST_LOG"))
	if err != nil || os.Getenv("NUDGE_TEST_LOG") == "" {
		return zerolog.Nop()
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(level).With().Timestamp().Logger()
}
