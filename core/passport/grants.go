package passport

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/store"
)

// DefaultGrantLifetime is how long a service ticket stays good. Clients
// keep the tokens of one RST for their whole session and call the web
// services with them hours later; MSN renewed them with a signed RST that
// Nudge does not speak, so they live long instead.
const DefaultGrantLifetime = 24 * time.Hour

// DefaultMaxGrants bounds the service tickets held at once; beyond it the
// oldest are evicted (its owner signs in again).
const DefaultMaxGrants = 1 << 17

// Grants are service tickets: the compact tokens an RST answer gives for
// the web services (contacts.msn.com for the address book,
// messengersecure.live.com for sending offline messages, messenger.msn.com
// for reading them, storage.msn.com for the profile …). Unlike a sign-in
// ticket a service ticket is shown many times, until it expires, and only
// for the domains it was issued for.
//
// Grants is safe for concurrent use.
type Grants struct {
	shared store.Shared // the cluster's tickets; nil keeps them here
	log    zerolog.Logger
	life   time.Duration
	max    int
	now    func() time.Time

	mu   sync.Mutex
	m    map[string]grant
	q    []string // issue order (= expiry order); q[head:] live or stale
	head int
}

type grant struct {
	email   string
	domains []string // normalised, see ServiceDomain
	exp     time.Time
}

// NewGrants returns an authority whose tickets live for life (0 means
// DefaultGrantLifetime), holding at most max at once (0 means
// DefaultMaxGrants).
func NewGrants(life time.Duration, max int) *Grants {
	if life <= 0 {
		life = DefaultGrantLifetime
	}
	if max <= 0 {
		max = DefaultMaxGrants
	}
	return &Grants{life: life, max: max, now: time.Now, m: make(map[string]grant)}
}

// Share keeps the tickets in the database the nodes of a cluster share, so
// that a ticket issued on one node is good on all. Each node keeps what it
// read, so a ticket costs one query per node.
func (g *Grants) Share(s store.Shared, log zerolog.Logger) { g.shared, g.log = s, log }

// sharedGrant marks service tickets in the shared table, apart from
// sign-in tickets with the same text (a sign-in ticket is also good for
// messenger.msn.com).
const sharedGrant = "s:"

// Lifetime is how long a ticket stays good.
func (g *Grants) Lifetime() time.Duration { return g.life }

// Issue makes a ticket good for email at domains.
func (g *Grants) Issue(email string, domains []string) string {
	t := rand.Text()
	g.Add(t, email, domains)
	return t
}

// Add makes an existing ticket (a sign-in ticket, say) good for email at
// domains as well; the sign-in ticket itself stays single use.
func (g *Grants) Add(ticket, email string, domains []string) {
	ds := make([]string, 0, len(domains))
	for _, d := range domains {
		if d = ServiceDomain(d); d != "" && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	now := g.now()
	if g.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		err := g.shared.PutTicket(ctx, store.Ticket{Ticket: sharedGrant + ticket, Email: email, Domains: ds, Expires: now.Add(g.life)})
		cancel()
		if err != nil {
			g.log.Error().Err(err).Msg("cannot keep a service ticket in the database; the web services will refuse it on other nodes")
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.addLocked(ticket, email, ds, now.Add(g.life), now)
}

// addLocked keeps a ticket here, evicting what expired or is too many.
func (g *Grants) addLocked(ticket, email string, ds []string, exp, now time.Time) {
	for g.head < len(g.q) {
		e, ok := g.m[g.q[g.head]]
		if ok && e.exp.After(now) && len(g.m) < g.max {
			break
		}
		delete(g.m, g.q[g.head])
		g.q[g.head] = ""
		g.head++
	}
	if g.head > 1024 && 2*g.head > len(g.q) {
		g.q = append(g.q[:0], g.q[g.head:]...)
		g.head = 0
	}
	g.m[ticket] = grant{email: normalizeEmail(email), domains: ds, exp: exp}
	g.q = append(g.q, ticket)
}

// Check returns whom token was issued to when it is good for domain.
// token is what the client sends: a compact "t=…&p=…", the t part alone,
// or either XML- or URL-escaped.
func (g *Grants) Check(token, domain string) (email string, ok bool) {
	t := TicketFromUSR(token)
	if t == "" || len(t) > 256 {
		return "", false
	}
	domain = ServiceDomain(domain)
	g.mu.Lock()
	e, found := g.m[t]
	g.mu.Unlock()
	if !found && g.shared != nil {
		// Issued on another node: read it once and keep it here.
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		tk, err := g.shared.Ticket(ctx, sharedGrant+t)
		cancel()
		if err == nil {
			e, found = grant{email: normalizeEmail(tk.Email), domains: tk.Domains, exp: tk.Expires}, true
			g.mu.Lock()
			g.addLocked(t, tk.Email, tk.Domains, tk.Expires, g.now())
			g.mu.Unlock()
		}
	}
	if !found || !g.now().Before(e.exp) {
		return "", false
	}
	for _, d := range e.domains {
		if subtle.ConstantTimeCompare([]byte(d), []byte(domain)) == 1 {
			return e.email, true
		}
	}
	return "", false
}

// ServiceDomain normalises an RST AppliesTo address to the host it names:
// "https://Contacts.MSN.com/abservice" → "contacts.msn.com".
func ServiceDomain(addr string) string {
	addr = strings.ToLower(strings.TrimSpace(stripScheme(addr)))
	if i := strings.IndexAny(addr, "/?#"); i >= 0 {
		addr = addr[:i]
	}
	return addr
}
