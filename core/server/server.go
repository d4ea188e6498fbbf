// Package server assembles the MSN service from its parts — store,
// directory, Dispatch/Notification and Switchboard servers, Passport, admin
// API and metrics — and runs it on the configured addresses.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/admin"
	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/gateway"
	"github.com/nudge-im/nudge/core/metrics"
	"github.com/nudge-im/nudge/core/ns"
	"github.com/nudge-im/nudge/core/passport"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/core/switchboard"
	"github.com/nudge-im/nudge/core/web"
	"github.com/nudge-im/nudge/msnp"
)

// Server is one running instance of the service.
type Server struct {
	cfg     config.Config
	log     zerolog.Logger
	Store   store.Store
	Metrics *metrics.Metrics
	Tickets *passport.Tickets
	// Grants are the web services' tickets (address book, offline messages).
	Grants *passport.Grants
	Dir    *directory.Directory

	// AdminToken is the bearer token of the admin API; Admin is the API,
	// where the rest of the program adds its own routes.
	AdminToken string
	Admin      *admin.API
	// Web is the Web Messenger, nil when web.enabled is false.
	Web *web.Handler

	listeners map[string]net.Listener
	ns, ds    *ns.Server
	sb        *switchboard.Server
	http      []*http.Server
	gateway   *gateway.Gateway
	stopWatch context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// accountPoll is how often the service looks for account changes made by
// other processes (`nudge user del`, another node); its own are acted on
// at once.
const accountPoll = time.Second

// Addrs are the addresses the service listens on ("" when off).
type Addrs struct {
	NS, DS, SB, HTTP, HTTPS string
}

// Start opens the store and the listeners and serves until Close. Errors
// say what to fix: a port in use names the port and the flag that moves it.
func Start(ctx context.Context, cfg config.Config, log zerolog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data directory %s: %w", cfg.Data, err)
	}
	st, err := store.OpenURL(ctx, cfg.Database.URL, filepath.Join(cfg.Data, "nudge.db"), store.Options{
		BcryptCost:      cfg.Login.BcryptCost,
		MaxOffline:      cfg.Offline.MaxPerUser,
		OfflineLifetime: time.Duration(cfg.Offline.Lifetime),
	})
	switch {
	case err != nil && cfg.Database.URL == "":
		return nil, fmt.Errorf("cannot open the database in %s: %w", cfg.Data, err)
	case err != nil:
		return nil, fmt.Errorf("cannot open the database (database.url): %w", err)
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		Store:     st,
		Metrics:   metrics.New(),
		Tickets:   passport.NewTickets(time.Duration(cfg.Login.TicketLifetime)),
		Grants:    passport.NewGrants(time.Duration(cfg.Passport.ServiceTicketLifetime), 0),
		Dir:       directory.New(),
		listeners: map[string]net.Listener{},
	}
	if err := s.start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	cfg := s.cfg
	token, err := s.adminToken()
	if err != nil {
		return err
	}
	s.AdminToken = token

	// Listen on everything first, so a port in use fails the start before
	// anything serves.
	for _, l := range []struct{ name, addr, flag string }{
		{"ns", cfg.Listen.NS, "--ns"}, {"ds", cfg.Listen.DS, "--ds"}, {"sb", cfg.Listen.SB, "--sb"},
		{"http", cfg.Listen.HTTP, "--http"}, {"https", cfg.Listen.HTTPS, "--https"},
	} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("%s is already in use: stop what listens there or choose another address with %s", l.addr, l.flag)
			}
			return fmt.Errorf("cannot listen on %s (%s): %w", l.addr, l.flag, err)
		}
		s.listeners[l.name] = ln
	}
	addrs := s.Addrs()

	s.sb = switchboard.New(switchboard.Config{
		Address:     s.public(addrs.SB),
		Directory:   s.Dir,
		Metrics:     s.Metrics,
		Log:         s.log,
		IdleTimeout: time.Duration(cfg.Timeouts.SwitchboardIdle),
	})
	minVersion := msnp.MinVersion
	if !cfg.Login.MD5 {
		minVersion = 8
	}
	nsCfg := ns.Config{
		Store:        s.Store,
		Directory:    s.Dir,
		Switchboards: s.sb,
		Tickets:      s.Tickets,
		Metrics:      s.Metrics,
		Log:          s.log,
		MinVersion:   minVersion,
		Challenges:   cfg.Login.Challenges,
		LoginTimeout: time.Duration(cfg.Timeouts.Login),
		IdleTimeout:  time.Duration(cfg.Timeouts.Idle),
		OutboxLimit:  cfg.Limits.OutboxBytes,
		Address:      s.public(addrs.NS),
	}
	s.ns = ns.New(nsCfg)
	if err := s.watchAccounts(); err != nil {
		return err
	}
	s.serve(func() error { return s.ns.Serve(s.listeners["ns"]) })
	s.serve(func() error { return s.sb.Serve(s.listeners["sb"]) })
	if ln := s.listeners["ds"]; ln != nil {
		dsCfg := nsCfg
		dsCfg.Referral = s.public(addrs.NS)
		dsCfg.Address = s.public(addrs.DS)
		s.ds = ns.New(dsCfg)
		s.serve(func() error { return s.ds.Serve(ln) })
	}

	mux := s.httpHandler()
	if ln := s.listeners["http"]; ln != nil {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
		s.http = append(s.http, srv)
		s.serve(func() error { return srv.Serve(ln) })
	}
	if ln := s.listeners["https"]; ln != nil {
		cert, err := s.certificate()
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, TLSConfig: passport.TLSConfig(cert)}
		s.http = append(s.http, srv)
		s.serve(func() error { return srv.ServeTLS(ln, "", "") })
	}
	s.log.Info().Str("ns", addrs.NS).Str("sb", addrs.SB).Str("http", addrs.HTTP).Str("https", addrs.HTTPS).
		Str("ds", addrs.DS).Str("data", cfg.Data).Msg("nudge is serving")
	return nil
}

func (s *Server) serve(fn func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := fn(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, ns.ErrServerClosed) &&
			!errors.Is(err, net.ErrClosed) && !errors.Is(err, switchboard.ErrServerClosed) {
			s.log.Error().Err(err).Msg("listener stopped")
		}
	}()
}

// httpHandler routes the plain and TLS HTTP ports: Passport, the admin
// API, metrics and health.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	plog := s.log.With().Str("component", "passport").Logger()
	// Clients always reach the login server over TLS: point the nexus at
	// the HTTPS listener unless the operator named a host.
	loginHost := s.cfg.Passport.LoginHost
	if loginHost == "" {
		loginHost = s.public(s.Addrs().HTTPS)
	}
	pp := passport.Handler(passport.Config{
		Auth: passport.AuthFunc(func(ctx context.Context, email, password string) error {
			_, err := s.Store.CheckPassword(ctx, email, password)
			return err
		}),
		Tickets:   s.Tickets,
		Grants:    s.Grants,
		LoginHost: loginHost,
		Logger:    &plog,
		Count: func(endpoint, result string) {
			s.Metrics.Passport.WithLabelValues(endpoint, result).Inc()
		},
	})
	for _, p := range passport.Paths() {
		mux.Handle(p, pp)
	}
	s.Admin = admin.New(s.Store, s.AdminToken, s.log)
	mux.Handle("/admin/", s.Admin)
	addrs := s.Addrs()
	s.gateway = gateway.New(gateway.Config{NSAddr: addrs.NS, SBAddr: addrs.SB, Log: s.log})
	mux.Handle(gateway.Path, s.gateway)
	if s.cfg.Web.Enabled {
		s.Web = web.New(web.Config{NSAddr: addrs.NS, SBAddr: addrs.SB, Log: s.log, Grace: time.Duration(s.cfg.Web.Grace)})
		for _, p := range web.Paths() {
			mux.Handle(p, s.Web)
		}
	}
	// Profiles for operators chasing a performance problem, behind the
	// admin token: go tool pprof -H "Authorization: Bearer $TOKEN" …
	mux.Handle("/debug/pprof/", s.Admin.Protect(http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/profile", s.Admin.Protect(http.HandlerFunc(pprof.Profile)))
	mux.Handle("/debug/pprof/trace", s.Admin.Protect(http.HandlerFunc(pprof.Trace)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Store.Ping(ctx); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok\nsessions %d\n", s.Dir.Len())
	})
	return mux
}

// watchAccounts ends the sessions of accounts that are deleted or get a
// new password, whoever changes them: the admin API here, `nudge user` on
// the same database, or another node. It starts from the newest change
// before any client can sign in.
func (s *Server) watchAccounts() error {
	since, err := s.Store.LastAccountEvent(context.Background())
	if err != nil {
		return fmt.Errorf("cannot read the database: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWatch = cancel
	var lastComplaint time.Time
	s.serve(func() error {
		store.WatchAccounts(ctx, s.Store, since, accountPoll, func(e store.AccountEvent) {
			if p := s.Dir.Lookup(e.Email); p != nil {
				p.Revoke(e.Seq)
			}
		}, func(err error) {
			if time.Since(lastComplaint) > time.Minute {
				lastComplaint = time.Now()
				s.log.Warn().Err(err).Msg("cannot read account changes from the database; trying again every second")
			}
		})
		return nil
	})
	return nil
}

// public turns a listen address into the address clients are told: the
// public host when set, and never an unspecified address.
func (s *Server) public(addr string) string {
	if addr == "" {
		return ""
	}
	host, port, _ := net.SplitHostPort(addr)
	if s.cfg.PublicHost != "" {
		host = s.cfg.PublicHost
	} else if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// certificate returns the operator's certificate or the self-signed one.
func (s *Server) certificate() (tlsCert, error) {
	if s.cfg.Passport.Cert != "" {
		return loadKeyPair(s.cfg.Passport.Cert, s.cfg.Passport.Key)
	}
	hosts := passport.DefaultHosts()
	if s.cfg.PublicHost != "" {
		hosts = append(hosts, s.cfg.PublicHost)
	}
	return passport.EnsureCertificate(s.cfg.Data, hosts)
}

// adminToken returns the configured token or the one kept in the data
// directory, making it on first start.
func (s *Server) adminToken() (string, error) {
	if s.cfg.Admin.Token != "" {
		return s.cfg.Admin.Token, nil
	}
	path := filepath.Join(s.cfg.Data, "admin.token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [24]byte
	rand.Read(raw[:])
	token := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cannot write the admin token to %s: %w", path, err)
	}
	return token, nil
}

// Addrs returns the bound addresses (useful with port 0).
func (s *Server) Addrs() Addrs {
	get := func(name string) string {
		if l := s.listeners[name]; l != nil {
			return l.Addr().String()
		}
		return ""
	}
	return Addrs{NS: get("ns"), DS: get("ds"), SB: get("sb"), HTTP: get("http"), HTTPS: get("https")}
}

// Close tells signed-in clients the server is going down, closes every
// connection and the database, and waits for the goroutines.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.stopWatch != nil {
			s.stopWatch()
		}
		for _, l := range s.listeners {
			l.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, h := range s.http {
			h.Shutdown(ctx)
		}
		if s.gateway != nil {
			s.gateway.Close()
		}
		if s.Web != nil {
			s.Web.Close()
		}
		if s.ds != nil {
			s.ds.Close()
		}
		if s.ns != nil {
			s.ns.Close()
		}
		if s.sb != nil {
			s.sb.Close()
		}
		s.wg.Wait()
		if s.Store != nil {
			s.Store.Close()
		}
	})
	return nil
}
