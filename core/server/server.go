// Package server assembles the MSN service from its parts — store,
// directory, Dispatch/Notification and Switchboard servers, Passport, admin
// API and metrics — and runs it on the configured addresses.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	stdlog "log"
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
	"golang.org/x/crypto/bcrypt"

	"github.com/nudge-im/nudge/core/abch"
	"github.com/nudge-im/nudge/core/admin"
	"github.com/nudge-im/nudge/core/bus"
	"github.com/nudge-im/nudge/core/clientweb"
	"github.com/nudge-im/nudge/core/cluster"
	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/connlimit"
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/gateway"
	"github.com/nudge-im/nudge/core/mailbox"
	"github.com/nudge-im/nudge/core/metrics"
	"github.com/nudge-im/nudge/core/ns"
	"github.com/nudge-im/nudge/core/offline"
	"github.com/nudge-im/nudge/core/oim"
	"github.com/nudge-im/nudge/core/passport"
	"github.com/nudge-im/nudge/core/storage"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/core/switchboard"
	"github.com/nudge-im/nudge/core/throttle"
	"github.com/nudge-im/nudge/core/web"
	"github.com/nudge-im/nudge/msnp"
)

// Server is one running instance of the service.
type Server struct {
	cfg config.Config
	// pictures is what /pictures/ serves (ServePictures).
	pictures pictures
	log      zerolog.Logger
	Store    store.Store
	Metrics  *metrics.Metrics
	Tickets  *passport.Tickets
	// Grants are the web services' tickets (address book, offline messages).
	Grants *passport.Grants
	Dir    *directory.Directory
	// Mailbox leaves offline messages, by one rule for every way in.
	Mailbox *mailbox.Mailbox

	// AdminToken is the bearer token of the admin API; Admin is the API,
	// where the rest of the program adds its own routes.
	AdminToken string
	Admin      *admin.API
	// Web is the Web Messenger, nil when web.enabled is false.
	Web *web.Handler

	// SignIn throttles failed sign-ins on every path that checks a
	// password.
	SignIn *throttle.Guard

	// Cluster is this node's view of the others (nil on a node of its own).
	Cluster *cluster.Cluster
	bus     bus.Bus

	listeners map[string]net.Listener
	ns, ds    *ns.Server
	sb        *switchboard.Server
	http      []*http.Server
	gateway   *gateway.Gateway
	// bg ends with the service: the work it does beside the listeners
	// (watching accounts, renewing the certificate) stops at stop.
	bg        context.Context
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	deadMu  sync.Mutex
	closing bool
	dead    map[string]error // listeners that stopped while the service runs

	dbMu   sync.Mutex
	dbErr  error     // why the last check of the database failed (database.go)
	dbDown time.Time // when it began failing
}

// accountPoll is how often the service looks for account changes made by
// other processes (`nudge user del`, another node); its own are acted on
// at once.
const accountPoll = time.Second

// Addrs are the addresses the service listens on ("" when off).
type Addrs struct {
	NS, DS, SB, HTTP, HTTPS, Operator string
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
		dead:      map[string]error{},
	}
	s.Metrics.PasswordHashCost.Set(float64(cmp.Or(cfg.Login.BcryptCost, bcrypt.DefaultCost)))
	s.Mailbox = mailbox.New(st, s.Dir, log.With().Str("component", "mailbox").Logger())
	if err := s.start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	cfg := s.cfg
	s.bg, s.stop = context.WithCancel(context.Background())
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
		{"operator", cfg.Listen.Operator, "listen.operator"},
	} {
		if l.addr == "" {
			continue
		}
		ln, err := connlimit.Listen(l.addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return &addrInUseError{addr: l.addr, flag: l.flag}
			}
			return fmt.Errorf("cannot listen on %s (%s): %w", l.addr, l.flag, err)
		}
		s.listeners[l.name] = ln
	}
	addrs := s.Addrs()

	lim := cfg.Limits
	unauthenticated := func() *connlimit.Gate {
		return connlimit.NewGate(lim.Unauthenticated, lim.UnauthenticatedPerAddress)
	}
	si := lim.SignIn
	signinLog := s.log.With().Str("component", "signin").Logger()
	s.SignIn = throttle.NewGuard(throttle.GuardConfig{
		Address: throttle.Policy{Free: si.Free, Delay: time.Duration(si.Delay), MaxDelay: time.Duration(si.MaxDelay),
			RefuseAfter: si.AddressFailures, RefuseFor: time.Duration(si.AddressRefuse), Forget: time.Duration(si.Forget)},
		Account: throttle.Policy{Free: si.Free, Delay: time.Duration(si.Delay), MaxDelay: time.Duration(si.MaxDelay),
			RefuseAfter: si.AccountFailures, RefuseFor: time.Duration(si.AccountRefuse), Forget: time.Duration(si.Forget)},
		Log: signinLog,
		Count: func(endpoint, scope, action string) {
			s.Metrics.SignInThrottled.WithLabelValues(endpoint, scope, action).Inc()
		},
	})
	// The made-up salts of unknown users are derived with a key that stays
	// the same across restarts, as real salts do.
	saltKey, err := s.secret("md5-salt.key", "")
	if err != nil {
		return err
	}

	var switchboards ns.Switchboards
	if s.listeners["sb"] != nil {
		s.sb = switchboard.New(switchboard.Config{
			Address:           s.public(addrs.SB),
			Directory:         s.Dir,
			Metrics:           s.Metrics,
			Log:               s.log,
			IdleTimeout:       time.Duration(cfg.Timeouts.SwitchboardIdle),
			JoinTimeout:       time.Duration(cfg.Timeouts.FirstCommand),
			MaxCookies:        lim.SwitchboardCookies,
			MaxSessions:       lim.Switchboards,
			RequestsPerMinute: lim.SwitchboardRequests,
			Unauthenticated:   unauthenticated(),
			Mailbox:           callMailbox(cfg.Offline.AcceptCalls, s.Mailbox),
		})
		switchboards = s.sb
	}
	if cfg.Cluster.On() {
		if err := s.joinCluster(); err != nil {
			return err
		}
		switchboards = s.Cluster
	}
	minVersion := msnp.MinVersion
	if !cfg.Login.MD5 {
		minVersion = 8
	}
	// Offline messages reach MSNP2-12 clients through a switchboard of
	// this node (a node without one leaves them for MSNP13+ clients).
	var courier ns.OfflineCourier
	if s.sb != nil {
		courier = offline.New(offline.Config{
			Store: s.Store,
			Open:  s.sb.Open,
			Connect: func() (net.Conn, error) {
				inside, outside := net.Pipe()
				s.sb.ServeConn(inside)
				return outside, nil
			},
			Log: s.log.With().Str("component", "offline").Logger(),
		})
	}
	nsCfg := ns.Config{
		Offline:      courier,
		Mailbox:      s.Mailbox,
		Store:        s.Store,
		Directory:    s.Dir,
		Switchboards: switchboards,
		Tickets:      s.Tickets,
		Metrics:      s.Metrics,
		Log:          s.log,
		MinVersion:   minVersion,
		Challenges:   cfg.Login.Challenges,
		LoginTimeout: time.Duration(cfg.Timeouts.Login),
		IdleTimeout:  time.Duration(cfg.Timeouts.Idle),
		OutboxLimit:  cfg.Limits.OutboxBytes,
		Address:      s.public(addrs.NS),

		FirstCommand:    time.Duration(cfg.Timeouts.FirstCommand),
		Unauthenticated: unauthenticated(),
		SignIn:          s.SignIn,
		SaltKey:         []byte(saltKey),
	}
	if ln := s.listeners["ns"]; ln != nil {
		s.ns = ns.New(nsCfg)
		s.serve("ns", func() error { return s.ns.Serve(ln) })
	}
	if err := s.watchAccounts(); err != nil {
		return err
	}
	s.watchDatabase()
	if ln := s.listeners["sb"]; ln != nil {
		s.serve("sb", func() error { return s.sb.Serve(ln) })
	}
	if s.Cluster != nil {
		if err := s.startCluster(); err != nil {
			return err
		}
	}
	if ln := s.listeners["ds"]; ln != nil {
		dsCfg := nsCfg
		dsCfg.Referral = s.public(addrs.NS)
		if s.Cluster != nil {
			dsCfg.Refer = s.Cluster.Refer
		}
		dsCfg.Address = s.public(addrs.DS)
		dsCfg.Unauthenticated = unauthenticated()
		s.ds = ns.New(dsCfg)
		s.serve("ds", func() error { return s.ds.Serve(ln) })
	}

	// Both HTTP ports serve Passport, so both take the requests vintage
	// clients send (passport.LenientListener): under TLS on the HTTPS one.
	shared, operator := s.httpHandlers()
	if ln := s.listeners["http"]; ln != nil {
		srv := s.httpServer(shared)
		s.serve("http", func() error {
			return srv.Serve(passport.LenientListener(connlimit.Listener(ln, lim.HTTPConnections)))
		})
	}
	if ln := s.listeners["https"]; ln != nil {
		tlsCfg, err := s.passportTLS()
		if err != nil {
			return err
		}
		srv := s.httpServer(shared)
		tlsLn := tls.NewListener(connlimit.Listener(ln, lim.HTTPConnections), tlsCfg)
		s.serve("https", func() error { return srv.Serve(passport.LenientListener(tlsLn)) })
	}
	if ln := s.listeners["operator"]; ln != nil {
		srv := s.httpServer(operator)
		s.serve("operator", func() error { return srv.Serve(connlimit.Listener(ln, lim.HTTPConnections)) })
	}
	s.warnReferrals()
	s.log.Info().Str("ns", addrs.NS).Str("sb", addrs.SB).Str("http", addrs.HTTP).Str("https", addrs.HTTPS).
		Str("ds", addrs.DS).Str("operator", addrs.Operator).Str("data", cfg.Data).Msg("nudge is serving")
	return nil
}

// httpServer is an HTTP server with the configured timeouts, so that slow
// or idle clients cannot hold connections (and their memory) for ever.
func (s *Server) httpServer(h http.Handler) *http.Server {
	t := s.cfg.Timeouts
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: time.Duration(t.HTTPHeader),
		ReadTimeout:       time.Duration(t.HTTPRead),
		WriteTimeout:      time.Duration(t.HTTPWrite),
		IdleTimeout:       time.Duration(t.HTTPIdle),
		MaxHeaderBytes:    64 << 10,
		// Handshake failures and the like, one line each, at debug.
		ErrorLog: stdlog.New(debugWriter{s.log.With().Str("component", "http").Logger()}, "", 0),
	}
	s.http = append(s.http, srv)
	return srv
}

// debugWriter logs what net/http reports (handshake failures, bad
// requests) at debug level, where a scan of the port cannot flood the log.
type debugWriter struct{ log zerolog.Logger }

func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// serve runs a listener's loop. A listener that stops while the service
// runs is logged and makes /healthz fail: the port may still accept TCP,
// but nobody answers there any more.
func (s *Server) serve(name string, fn func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := fn()
		s.deadMu.Lock()
		defer s.deadMu.Unlock()
		if s.closing {
			return
		}
		if err == nil {
			err = errors.New("stopped")
		}
		s.dead[name] = err
		s.log.Error().Err(err).Str("listener", name).Msg("listener stopped; /healthz fails until a restart")
	}()
}

// deadListener names a listener that stopped, or returns "".
func (s *Server) deadListener() string {
	s.deadMu.Lock()
	defer s.deadMu.Unlock()
	for name, err := range s.dead {
		return name + ": " + err.Error()
	}
	return ""
}

// httpHandlers routes the plain and TLS HTTP ports (shared with clients:
// Passport, the gateway, health; the admin API, metrics and profiles behind
// the admin token) and the operator port (all of it, without a token for
// metrics and profiles).
func (s *Server) httpHandlers() (shared, operator http.Handler) {
	mux := http.NewServeMux()
	ops := http.NewServeMux()
	plog := s.log.With().Str("component", "passport").Logger()
	// Clients always reach the login server over TLS: unless the operator
	// named a host, the nexus names the host the client asked for with the
	// HTTPS listener's port.
	_, loginPort, _ := net.SplitHostPort(s.Addrs().HTTPS)
	pp := passport.Handler(passport.Config{
		Auth: passport.AuthFunc(func(ctx context.Context, email, password string) error {
			_, err := s.Store.CheckPassword(ctx, email, password)
			return err
		}),
		Tickets:    s.Tickets,
		Grants:     s.Grants,
		LoginHost:  s.cfg.Passport.LoginHost,
		LoginPort:  loginPort,
		PublicHost: s.cfg.PublicHost,
		Logger:     &plog,
		SignIn:     s.SignIn,
		Count: func(endpoint, result string) {
			s.Metrics.Passport.WithLabelValues(endpoint, result).Inc()
		},
	})
	for _, p := range passport.Paths() {
		mux.Handle(p, pp)
	}
	ab := abch.Handler(abch.Config{
		Store:     s.Store,
		Grants:    s.Grants,
		Directory: s.Dir,
		Log:       s.log.With().Str("component", "abch").Logger(),
	})
	for _, p := range abch.Paths() {
		mux.Handle(p, ab)
		if l := strings.ToLower(p); l != p {
			mux.Handle(l, ab)
		}
	}
	om := oim.Handler(oim.Config{
		Store:   s.Store,
		Grants:  s.Grants,
		Mailbox: s.Mailbox,
		Log:     s.log.With().Str("component", "oim").Logger(),
	})
	for _, p := range oim.Paths() {
		mux.Handle(p, om)
		if l := strings.ToLower(p); l != p {
			mux.Handle(l, om)
		}
	}
	_, httpPort, _ := net.SplitHostPort(s.Addrs().HTTP)
	sto := storage.Handler(storage.Config{
		Store:    s.Store,
		Grants:   s.Grants,
		HTTPPort: httpPort,
		Log:      s.log.With().Str("component", "storage").Logger(),
	})
	for _, p := range storage.Paths() {
		mux.Handle(p, sto)
		if l := strings.ToLower(p); l != p {
			mux.Handle(l, sto)
		}
	}
	cw := clientweb.Handler()
	for _, p := range clientweb.Paths() {
		mux.Handle(p, cw)
	}
	mux.Handle(clientweb.RootPattern, cw)
	s.Admin = admin.New(s.Store, s.AdminToken, s.log)
	mux.Handle("/admin/", s.Admin)
	ops.Handle("/admin/", s.Admin)
	addrs := s.Addrs()
	lim := s.cfg.Limits
	s.gateway = gateway.New(gateway.Config{
		NSAddr: local(addrs.NS), SBAddr: local(addrs.SB), Log: s.log,
		Dial:         s.dialInside,
		MaxSessions:  lim.GatewaySessions,
		MaxPerSource: lim.GatewaySessionsPerAddress,
		AllowOrigins: s.cfg.Gateway.AllowOrigins,
		Refused:      func() { s.Metrics.Refused.WithLabelValues("gateway", "sessions").Inc() },
	})
	mux.Handle(gateway.Path, s.gateway)
	if s.cfg.Web.Enabled {
		s.Web = web.New(web.Config{NSAddr: local(addrs.NS), SBAddr: local(addrs.SB), Log: s.log, Grace: time.Duration(s.cfg.Web.Grace),
			Dial: s.dialInside, MaxSessions: lim.GatewaySessions, MaxSessionsPerSource: lim.GatewaySessionsPerAddress})
		for _, p := range web.Paths() {
			mux.Handle(p, s.Web)
		}
	}

	// Profiles and metrics for operators: open on the operator port, behind
	// the admin token elsewhere (go tool pprof -H "Authorization: Bearer
	// $TOKEN" …) unless admin.public_metrics says metrics are public.
	metrics := promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})
	for path, h := range map[string]http.Handler{
		"/debug/pprof/":        http.HandlerFunc(pprof.Index),
		"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
		"/debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
		"GET /metrics":         metrics,
	} {
		ops.Handle(path, h)
		if path != "GET /metrics" || !s.cfg.Admin.PublicMetrics {
			h = s.Admin.Protect(h)
		}
		mux.Handle(path, h)
	}
	// Health: the shared ports are open to anyone, so they say only
	// whether the service works and, if not, which part failed in general
	// terms; the operator port says why (the database driver's error names
	// its socket or host), how many are signed in and which nodes it sees.
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason, _ := s.health(); reason != "" {
			http.Error(w, reason, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok\n")
	}))
	ops.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason, detail := s.health(); reason != "" {
			http.Error(w, reason+": "+detail, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok\nsessions %d\n", s.Dir.Len())
		if s.Cluster != nil {
			fmt.Fprintf(w, "node %s\n", s.cfg.Cluster.Node)
			for _, n := range s.Cluster.Nodes() {
				fmt.Fprintf(w, "peer %s ns=%s sb=%s users=%d\n", n.Name, n.NS, n.SB, n.Users)
			}
		}
	}))
	mux.Handle("GET /pictures/", http.HandlerFunc(s.servePictures))
	return foldSlashes(mux), ops
}

// health says what keeps the service from working, if anything: reason
// in general terms ("database unavailable"), detail with the cause.
func (s *Server) health() (reason, detail string) {
	if dead := s.deadListener(); dead != "" {
		return "listener stopped", dead
	}
	if err := s.databaseErr(); err != nil {
		return "database unavailable", err.Error()
	}
	if s.Cluster != nil {
		if err := s.Cluster.Err(); err != nil {
			return "cluster unavailable", err.Error()
		}
	}
	return "", ""
}

// dialInside connects a gateway session to the NS or SB server in this
// process over a pipe that carries the client's own address, so that the
// limits and the sign-in throttle see the client, not the gateway.
func (s *Server) dialInside(server, addr, client string) (net.Conn, error) {
	sb := strings.EqualFold(server, "SB")
	if sb && s.Cluster != nil {
		// XFR and RNG may name another node's switchboard: the
		// conversation is there, and so must the connection be. That
		// node sees this one as the client.
		if other := s.Cluster.SwitchboardAt(addr); other != "" {
			return net.DialTimeout("tcp", other, 5*time.Second)
		}
	}
	if (sb && s.sb == nil) || (!sb && s.ns == nil) {
		return nil, errors.New("this node runs no " + strings.ToUpper(server) + " server")
	}
	inside, outside := net.Pipe()
	conn := &fromClient{Conn: inside, remote: clientAddr(client)}
	if sb {
		s.sb.ServeConn(conn)
	} else if !s.ns.ServeConn(conn) {
		outside.Close()
		return nil, net.ErrClosed
	}
	return outside, nil
}

// fromClient is the server's end of a gateway pipe.
type fromClient struct {
	net.Conn
	remote net.Addr
}

func (c *fromClient) RemoteAddr() net.Addr { return c.remote }

func clientAddr(hostport string) net.Addr {
	if a, err := net.ResolveTCPAddr("tcp", hostport); err == nil {
		return a
	}
	return &net.TCPAddr{}
}

// foldSlashes serves a path with doubled slashes as the single-slash one
// (Pidgin posts to //RST.srf and //abservice/abservice.asmx); ServeMux
// would answer those with a redirect, which a SOAP POST does not follow.
func foldSlashes(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "//") {
			r2 := *r
			u := *r.URL
			for strings.Contains(u.Path, "//") {
				u.Path = strings.ReplaceAll(u.Path, "//", "/")
			}
			u.RawPath = ""
			r2.URL = &u
			r = &r2
		}
		h.ServeHTTP(w, r)
	})
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
	var lastComplaint time.Time
	s.serve("account watcher", func() error {
		store.WatchAccounts(s.bg, s.Store, since, accountPoll, func(e store.AccountEvent) {
			if p := s.Dir.LookupLocal(e.Email); p != nil {
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
// public host when set, else the listen address. An unspecified one
// (0.0.0.0, [::]) stays so: the Notification server puts in its place the
// address each client's own connection came in on (ns.Referral).
func (s *Server) public(addr string) string {
	if addr == "" {
		return ""
	}
	host, port, _ := net.SplitHostPort(addr)
	if s.cfg.PublicHost != "" {
		host = s.cfg.PublicHost
	}
	return net.JoinHostPort(host, port)
}

// local turns a listen address into one this process can dial (the
// gateway and the Web Messenger connect to the servers): loopback for an
// unspecified address.
func local(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// warnReferrals says at start when the address clients are referred to
// cannot be known or will not reach: listening on every address without a
// public host (clients are referred to the address they came in on, which
// behind NAT or a port forward is not one they can reach), or a switchboard
// on loopback behind a Notification server that is not.
func (s *Server) warnReferrals() {
	a := s.Addrs()
	ipOf := func(addr string) net.IP {
		host, _, _ := net.SplitHostPort(addr)
		return net.ParseIP(host)
	}
	if s.cfg.PublicHost == "" {
		for _, addr := range []string{a.NS, a.DS, a.SB} {
			if ip := ipOf(addr); ip != nil && ip.IsUnspecified() {
				s.log.Warn().Str("listen", addr).Msg("listening on every address without --public-host (public_host): " +
					"clients are referred to the address their own connection came in on, which clients behind NAT " +
					"or a port forward cannot reach; set --public-host to the address they use")
				break
			}
		}
	}
	public := ipOf(net.JoinHostPort(s.cfg.PublicHost, "0"))
	if sb, ns := ipOf(a.SB), ipOf(a.NS); sb != nil && sb.IsLoopback() &&
		((ns != nil && !ns.IsLoopback()) || (public != nil && !public.IsLoopback())) {
		s.log.Warn().Str("sb", a.SB).Msg("the switchboard listens on loopback only: clients on other machines " +
			"cannot open conversations; set --sb to an address they reach")
	}
}

// adminToken returns the configured token or the one kept in the data
// directory, making it on first start.
func (s *Server) adminToken() (string, error) {
	return s.secret("admin.token", s.cfg.Admin.Token)
}

// secret returns configured when set, else the random secret kept in the
// file name of the data directory, making it on first start.
func (s *Server) secret(name, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	path := filepath.Join(s.cfg.Data, name)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [24]byte
	rand.Read(raw[:])
	secret := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cannot write %s: %w", path, err)
	}
	return secret, nil
}

// KillListener closes the named listener ("ns", "sb", "http", …) as a
// failure would, for tests of what the service does then.
func (s *Server) KillListener(name string) {
	if l := s.listeners[name]; l != nil {
		l.Close()
	}
}

// Addrs returns the bound addresses (useful with port 0).
func (s *Server) Addrs() Addrs {
	get := func(name string) string {
		if l := s.listeners[name]; l != nil {
			return l.Addr().String()
		}
		return ""
	}
	return Addrs{NS: get("ns"), DS: get("ds"), SB: get("sb"), HTTP: get("http"), HTTPS: get("https"), Operator: get("operator")}
}

// Close tells signed-in clients the server is going down, closes every
// connection and the database, and waits for the goroutines.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.deadMu.Lock()
		s.closing = true
		s.deadMu.Unlock()
		if s.stop != nil {
			s.stop()
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
		if s.Cluster != nil {
			s.Cluster.Close()
		}
		if s.bus != nil {
			s.bus.Close()
		}
		s.wg.Wait()
		if s.Store != nil {
			s.Store.Close()
		}
	})
	return nil
}

// addrInUseError says which address is taken and which setting moves it; it
// matches syscall.EADDRINUSE for callers that try another address.
type addrInUseError struct{ addr, flag string }

func (e *addrInUseError) Error() string {
	return fmt.Sprintf("%s is already in use: stop what listens there or choose another address with %s", e.addr, e.flag)
}

func (e *addrInUseError) Unwrap() error { return syscall.EADDRINUSE }

// callMailbox is the switchboard's mailbox: the service's when calls to
// someone offline are answered and kept (offline.accept_calls), else none,
// so such a call gets 217 as on MSN.
func callMailbox(accept bool, mb *mailbox.Mailbox) switchboard.Mailbox {
	if !accept {
		return nil
	}
	return mb
}
