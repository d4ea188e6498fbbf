package passport

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/core/throttle"
)

// Authenticator checks a password. CheckPassword returns nil when password
// is right for email, and an error otherwise (unknown account, wrong
// password, or the store failing); every error is a failed sign-in.
type Authenticator interface {
	CheckPassword(ctx context.Context, email, password string) error
}

// AuthFunc adapts a function to Authenticator.
type AuthFunc func(ctx context.Context, email, password string) error

// CheckPassword calls f.
func (f AuthFunc) CheckPassword(ctx context.Context, email, password string) error {
	return f(ctx, email, password)
}

// Config configures Handler.
type Config struct {
	// Auth checks passwords. Required.
	Auth Authenticator
	// Tickets issues the tickets the Notification server redeems. Required;
	// share it with the Notification server.
	Tickets *Tickets
	// Grants issues the service tickets of RST answers (address book,
	// offline messages, storage); share it with the web services that
	// check them. nil means every token carries the sign-in ticket.
	Grants *Grants
	// LoginHost is the host (and port, if not 443) clients are sent to for
	// login2.srf, written without a scheme in the nexus reply. "" means the
	// host the nexus request asked for (its Host, without the port), or,
	// for a request without one, PublicHost, or else the local address the
	// connection came in on — with LoginPort.
	LoginHost string
	// LoginPort is the port of the HTTPS listener, added to a login host
	// taken from the request unless it is 443: clients split DALogin at
	// the first "/" and connect to what is before it, and some (Pidgin's
	// MSNP9 plugin) cannot take a port at all.
	LoginPort string
	// PublicHost is the address clients reach the service at, for
	// requests that name no host.
	PublicHost string
	// Logger receives one line per sign-in attempt (never passwords or
	// tickets). nil means no logging.
	Logger *zerolog.Logger
	// SignIn, when set, throttles failed sign-ins (endpoints "login2" and
	// "rst"); a refused one gets the endpoint's failure answer and a
	// Retry-After header.
	SignIn *throttle.Guard
	// Count, when set, is told the outcome of every request: the endpoint
	// ("nexus", "login", "rst") and "ok" or "failed". Metrics hang here,
	// since RST failures answer with HTTP 200 and cannot be told apart by
	// status.
	Count func(endpoint, result string)
}

func (h *handler) count(endpoint, result string) {
	if h.cfg.Count != nil {
		h.cfg.Count(endpoint, result)
	}
}

// Paths are the request paths Handler answers, for mounting it on a
// ServeMux. Handler matches paths case-insensitively, and also answers
// login2.srf, RST.srf and RST2.srf under any directory (e.g.
// /ppsecure/login2.srf); mount it at "/" to get all of that.
func Paths() []string {
	return []string{
		"/rdr/pprdr.asp", "/nexus-mock", // nexus
		"/login2.srf", "/ppsecure/login2.srf", "/login", // Passport 1.4 login
		"/RST.srf", "/RST2.srf", // WS-Trust
	}
}

// Handler serves the Passport endpoints MSNP8–12 clients (and the RST step
// of later ones) call before USR TWN S:
//
//	GET  /rdr/pprdr.asp   nexus: a PassportURLs header naming the login host
//	GET  /login2.srf      Passport 1.4 login: credentials in Authorization,
//	                      ticket in Authentication-Info (also /login, …/login2.srf)
//	POST /RST.srf         WS-Trust RequestSecurityToken (SOAP): compact
//	                      tickets per requested service (also /RST2.srf)
//
// Header names that clients compare case-sensitively are written in the
// exact case MSN used. That holds for HTTP/1.x only; HTTP/2 lower-cases
// every name (vintage clients never speak it).
//
// Handler panics if cfg.Auth or cfg.Tickets is nil.
func Handler(cfg Config) http.Handler {
	if cfg.Auth == nil {
		panic("passport: Config.Auth is nil")
	}
	if cfg.Tickets == nil {
		panic("passport: Config.Tickets is nil")
	}
	h := &handler{cfg: cfg, log: zerolog.Nop()}
	if cfg.Logger != nil {
		h.log = *cfg.Logger
	}
	h.cfg.LoginHost = strings.TrimSuffix(stripScheme(cfg.LoginHost), "/")
	return h
}

type handler struct {
	cfg Config
	log zerolog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.ToLower(r.URL.Path)
	switch {
	case p == "/rdr/pprdr.asp" || p == "/nexus-mock":
		h.nexus(w, r)
	case p == "/login" || p == "/login2.srf" || strings.HasSuffix(p, "/login2.srf"):
		h.login(w, r)
	case strings.HasSuffix(p, "/rst.srf") || strings.HasSuffix(p, "/rst2.srf"):
		h.rst(w, r)
	default:
		http.NotFound(w, r)
	}
}

// nexus answers the Passport nexus. DALogin is host/path without a scheme
// (clients prepend https://); the other URLs are only opened in a browser.
//
// The header goes out as "PassportURLs" and only that way: it is what
// Passport sent, case-sensitive clients (msn-pecan, the msnp-wiki
// description) need exactly that, and the official clients match it
// case-insensitively — they also work behind proxies that canonicalise it to
// "Passporturls". Sending both spellings would be one field twice under
// HTTP's case-insensitive names, which proxies merge and some parsers join
// with ", ", so it is not done.
func (h *handler) nexus(w http.ResponseWriter, r *http.Request) {
	h.count("nexus", "ok")
	host := h.loginHost(r)
	w.Header()["PassportURLs"] = []string{"DARealm=Passport.Net" +
		",DALogin=" + host + "/login2.srf" +
		",DAReg=https://" + host + "/register" +
		",Properties=https://" + host + "/profile" +
		",Privacy=https://" + host + "/privacy" +
		",GeneralRedir=https://" + host + "/redir" +
		",Help=https://" + host + "/help" +
		",ConfigVersion=15"}
	w.WriteHeader(http.StatusOK)
}

// login is Passport 1.4 login2.srf. The ticket travels only in the
// Authentication-Info header (no cookies). The profile part p= is empty:
// Nudge has no profile ticket, the Notification server reads only t=, and
// RST tokens carry an empty p= as well.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	email, password, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		h.log.Info().Str("remote", r.RemoteAddr).Msg("passport login without usable credentials")
		h.loginFailed(w, r)
		return
	}
	if err := h.checkPassword(r, "login2", email, password); err != nil {
		if store.Unavailable(err) {
			h.unavailable(w, r, "login")
			return
		}
		h.log.Info().Str("remote", r.RemoteAddr).Str("email", email).Err(err).Msg("passport login refused")
		h.refused(w, err)
		h.loginFailed(w, r)
		return
	}
	ticket := h.cfg.Tickets.Issue(email)
	h.count("login", "ok")
	h.log.Info().Str("remote", r.RemoteAddr).Str("email", email).Msg("passport login")
	w.Header()["Authentication-Info"] = []string{"Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec," +
		"from-PP='t=" + ticket + "&p=',ru=http://messenger.msn.com"}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// checkPassword checks a password through the sign-in throttle: it may
// wait first, or refuse with throttle.ErrRefused without checking.
func (h *handler) checkPassword(r *http.Request, endpoint, email, password string) error {
	done, err := h.cfg.SignIn.Attempt(r.Context(), endpoint, r.RemoteAddr, email)
	if err != nil {
		return err
	}
	err = h.cfg.Auth.CheckPassword(r.Context(), email, password)
	if !store.Unavailable(err) {
		// The database being away says nothing of the password.
		done(err == nil)
	}
	return err
}

// unavailable answers a sign-in that could not be checked because the
// database did not answer: 503 with Retry-After, so that neither the
// client nor the person takes it for a wrong password. The service logs
// the outage itself, once.
func (h *handler) unavailable(w http.ResponseWriter, r *http.Request, what string) {
	h.count(what, "unavailable")
	h.log.Debug().Str("remote", r.RemoteAddr).Msg("passport sign-in not checked: the database is unavailable")
	w.Header().Set("Retry-After", "30")
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "Sign-in is unavailable for a moment; try again shortly.", http.StatusServiceUnavailable)
}

// refused adds Retry-After to the failure answer of a throttled sign-in,
// so that a client (or a person with curl) can tell it from a wrong
// password.
func (h *handler) refused(w http.ResponseWriter, err error) {
	if errors.Is(err, throttle.ErrRefused) {
		w.Header().Set("Retry-After", "60")
	}
}

func (h *handler) loginFailed(w http.ResponseWriter, r *http.Request) {
	h.count("login", "failed")
	w.Header()["WWW-Authenticate"] = []string{"Passport1.4 da-status=failed,srealm=Passport.NET,ts=-3,prompt," +
		"cburl=https://" + h.loginHost(r) + "/,cbtxt=Nudge"}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte("Sign-in failed: wrong e-mail address or password.\r\n"))
	}
}

// loginHost is where DALogin points: the configured host as it is, else
// the host the request asked for, else (no Host: HTTP/1.0, or what
// LenientListener let in) the public host or the local address the
// connection came in on — with the HTTPS port unless it is 443.
func (h *handler) loginHost(r *http.Request) string {
	if h.cfg.LoginHost != "" {
		return h.cfg.LoginHost
	}
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		host = h.cfg.PublicHost
	}
	if host == "" {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host, _, _ = net.SplitHostPort(a.String())
		}
	}
	if host == "" {
		host = "localhost"
	}
	if h.cfg.LoginPort == "" || h.cfg.LoginPort == "443" {
		if strings.Contains(host, ":") {
			return "[" + host + "]" // an IPv6 address
		}
		return host
	}
	return net.JoinHostPort(host, h.cfg.LoginPort)
}

func stripScheme(s string) string {
	s = strings.TrimSpace(s)
	if _, rest, ok := strings.Cut(s, "://"); ok {
		return rest
	}
	return s
}
