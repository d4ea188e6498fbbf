// Package web is the Web Messenger: MSN Messenger in a browser, served by
// the service on its HTTP listener.
//
//	GET /web/              the messenger (HTML, CSS, JavaScript, pictures, all embedded)
//	GET /web/relay         WebSocket carrying MSNP to the Notification or Switchboard server
//	GET /web/add/EMAIL     a shareable "add me on MSN" page
//
// The page is a real MSN client: it signs in with the account's password
// through Passport 1.4 (GET /login2.srf, the password only in that one
// request's Authorization header), then speaks MSNP12 itself over the relay
// (see relay.go), with the Web Messenger capability so that other clients
// see who is on the web.
//
// Everything is same-origin: the Content-Security-Policy lets the page load
// and connect only to this origin, the relay refuses WebSockets from pages
// of other origins, and no endpoint acts on a cookie, so there is nothing
// for a cross-site request to forge.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

//go:embed static
var staticFS embed.FS

//go:embed add.html
var addHTML string

var addPage = template.Must(template.New("add").Parse(addHTML))

// Config says where the relay's connections go and what bounds them.
type Config struct {
	NSAddr, SBAddr string // host:port of the servers, reachable from here
	Log            zerolog.Logger
	// Grace keeps an MSNP connection open after its WebSocket broke, for
	// the page to resume (default 60s).
	Grace time.Duration
	// MaxPending bounds what the relay keeps for a page that does not
	// read or acknowledge (default 1 MiB, as the HTTP gateway).
	MaxPending int
	// MaxSessions and MaxSessionsPerSource bound the MSNP connections the
	// relay holds, in all and per client address (defaults 2000 and 64).
	MaxSessions, MaxSessionsPerSource int
	// Dial, when set, connects to "NS" or "SB" for the client at the given
	// address instead of a TCP connection to NSAddr or SBAddr, so that the
	// service's limits and sign-in throttle see the client's own address.
	// addr is the switchboard the page asked for (addr=, the host:port of
	// its XFR or RNG; "" for none), which in a cluster may be another
	// node's.
	Dial func(server, addr, client string) (net.Conn, error)
}

// Handler serves the Web Messenger. Close ends every relayed connection.
type Handler struct {
	mux   *http.ServeMux
	relay *relay
	files map[string]file
}

type file struct {
	data  []byte
	etag  string
	ctype string
}

// New returns the handler; mount it at /web/.
func New(cfg Config) *Handler {
	if cfg.Grace <= 0 {
		cfg.Grace = 60 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1 << 20
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = 2000
	}
	if cfg.MaxSessionsPerSource == 0 {
		cfg.MaxSessionsPerSource = 64
	}
	h := &Handler{mux: http.NewServeMux(), relay: newRelay(cfg), files: map[string]file{}}
	sub, _ := fs.Sub(staticFS, "static")
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := fs.ReadFile(sub, p)
		sum := sha256.Sum256(data)
		h.files[p] = file{data: data, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: contentType(p)}
		return nil
	})
	h.mux.Handle("GET "+relayPath, h.relay)
	h.mux.HandleFunc("GET /web/add/{email}", h.serveAdd)
	h.mux.HandleFunc("GET /web/{path...}", h.serveFile)
	h.mux.Handle("/web", http.RedirectHandler("/web/", http.StatusMovedPermanently))
	return h
}

// Paths are the patterns to mount the handler at.
func Paths() []string { return []string{"/web", "/web/"} }

// Close ends every relayed MSNP connection.
func (h *Handler) Close() { h.relay.close() }

// Sessions is the number of MSNP connections relayed now.
func (h *Handler) Sessions() int { return h.relay.Sessions() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Only this origin, for everything: scripts, styles, pictures and
	// connections. No inline script, no framing by other sites.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "+
		"connect-src 'self'; manifest-src 'self'; media-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	if p == "" {
		p = "index.html"
	}
	f, ok := h.files[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Cache-Control", "no-cache") // revalidate: a new binary brings new files
	http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(f.data))
}

// serveAdd is the page someone shares so that others add them: it links
// msnim:add (Messenger, or the Web Messenger when it registered the scheme)
// and the Web Messenger directly. It does not look the account up, so it
// tells nobody which addresses have accounts.
func (h *Handler) serveAdd(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("email")
	if !validHandle(email) {
		http.Error(w, "not an e-mail address: the page is /web/add/NAME@DOMAIN", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The handle is checked above, so it can stand in the links as it is:
	// Messenger's msnim: handler expects a plain address, not %40.
	addPage.Execute(w, struct {
		Email                            string
		AddURI, ChatURI, WebAdd, WebChat template.URL
	}{email, template.URL("msnim:add?contact=" + email), template.URL("msnim:chat?contact=" + email),
		template.URL("/web/?add=" + email), template.URL("/web/?chat=" + email)})
}

// validHandle accepts what MSN accepted as a handle: name@domain, printable
// ASCII without spaces, at most 129 bytes.
func validHandle(s string) bool {
	at := strings.IndexByte(s, '@')
	if len(s) > 129 || at < 1 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\'%&?#/`, c) >= 0 {
			return false
		}
	}
	return true
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".webmanifest":
		return "application/manifest+json"
	}
	return "application/octet-stream"
}
