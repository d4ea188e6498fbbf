package passport

import (
	"context"
	"crypto/rand"
	"errors"
	"hash/maphash"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/store"
)

// DefaultMaxTickets is how many tickets NewTickets lets be outstanding at
// once. Beyond it the oldest are evicted: a client that is still between
// the Passport request and USR TWN S is either fast (and long done) or gets
// a fresh ticket by signing in again.
const DefaultMaxTickets = 1 << 18

// Tickets is an in-memory ticket authority. A ticket is issued to one e-mail
// address after a password check and redeemed by the Notification server when
// the client sends "USR n TWN S t=<ticket>&p=…". Tickets are single use,
// bound to the address they were issued for, and expire after a fixed TTL.
//
// Tickets is safe for concurrent use. It is split into shards, each with its
// own lock, so logins on many cores do not contend on one mutex. Expired and
// evicted tickets are removed lazily on Issue; no goroutine runs, so there is
// nothing to close.
//
// Addresses are compared case-insensitively (as the store keeps them).
type Tickets struct {
	shared store.Shared // the cluster's tickets; nil keeps them here
	log    zerolog.Logger
	ttl    time.Duration
	epoch  time.Time
	now    func() time.Duration // since epoch, monotonic; replaced in tests
	seed   maphash.Seed
	mask   uint64
	shards []ticketShard
}

type ticketEntry struct {
	email string
	exp   time.Duration
	key   []byte // proof key: redeemed only with RedeemKey (SSO)
}

type queued struct {
	ticket string
	exp    time.Duration
}

type ticketShard struct {
	mu   sync.Mutex
	m    map[string]ticketEntry
	q    []queued // issue order (= expiry order, the TTL is fixed); q[head:] pending
	head int
	max  int
	_    [64]byte // keep neighbouring shards' locks off one cache line
}

// NewTickets returns an authority whose tickets live for ttl, holding at
// most DefaultMaxTickets at once.
func NewTickets(ttl time.Duration) *Tickets {
	return NewTicketsLimit(ttl, DefaultMaxTickets)
}

// NewTicketsLimit is NewTickets with a bound on the number of tickets held at
// once; when it is reached, issuing a ticket evicts the oldest. limit < 1
// means 1.
func NewTicketsLimit(ttl time.Duration, limit int) *Tickets {
	if ttl <= 0 {
		ttl = time.Minute
	}
	limit = max(limit, 1)
	// As many shards as keep at least 64 tickets each, at most 64 shards;
	// a small limit gets one shard, so the bound is exact.
	n := 64
	for n > 1 && limit/n < 64 {
		n /= 2
	}
	t := &Tickets{
		ttl:    ttl,
		epoch:  time.Now(),
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]ticketShard, n),
	}
	t.now = func() time.Duration { return time.Since(t.epoch) }
	for i := range t.shards {
		t.shards[i].m = make(map[string]ticketEntry)
		t.shards[i].max = limit / n
	}
	return t
}

// Share keeps the tickets in the database the nodes of a cluster share, so
// that a ticket issued on one node is redeemed on any, once. Call it before
// the first Issue.
func (t *Tickets) Share(s store.Shared, log zerolog.Logger) { t.shared, t.log = s, log }

// sharedTimeout bounds a ticket's trip to the database.
const sharedTimeout = 5 * time.Second

// TTL is how long an issued ticket stays redeemable.
func (t *Tickets) TTL() time.Duration { return t.ttl }

// Issue makes a new ticket for email and returns it. Tickets are 26
// characters of [A-Z2-7] (130 random bits from crypto/rand): nothing a
// client could mangle when it splits, quotes, URL- or XML-encodes them.
func (t *Tickets) Issue(email string) string {
	ticket := rand.Text()
	t.put(ticket, email, nil)
	return ticket
}

// IssueKey makes a ticket bound to a proof key (the RST BinarySecret of
// messengerclear.live.com): only RedeemKey takes it, and the Notification
// server then checks that the client holds the key (MSNP15+ SSO), so the
// ticket alone signs nobody in.
func (t *Tickets) IssueKey(email string, key []byte) string {
	ticket := rand.Text()
	t.put(ticket, email, key)
	return ticket
}

func (t *Tickets) put(ticket, email string, key []byte) {
	email = normalizeEmail(email)
	if t.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if err := t.shared.PutTicket(ctx, store.Ticket{Ticket: ticket, Email: email, Key: key, Expires: time.Now().Add(t.ttl)}); err != nil {
			t.log.Error().Err(err).Msg("cannot keep a Passport ticket in the database; its sign-in will fail")
		}
		return
	}
	now := t.now()
	s := t.shard(ticket)
	s.mu.Lock()
	// The queue is in expiry order: drop what has expired, then make room.
	for s.head < len(s.q) && (s.q[s.head].exp <= now || len(s.q)-s.head >= s.max) {
		s.popFront()
	}
	exp := now + t.ttl
	s.m[ticket] = ticketEntry{email: email, exp: exp, key: key}
	s.q = append(s.q, queued{ticket: ticket, exp: exp})
	s.mu.Unlock()
}

// Redeem reports whether ticket was issued to email and is still valid, and
// if so uses it up: a second Redeem of the same ticket fails. A ticket shown
// with the wrong address is refused but not used up, so the client it was
// issued to can still sign in with it. A ticket bound to a proof key is
// refused too: it needs RedeemKey and the proof.
func (t *Tickets) Redeem(ticket, email string) bool {
	_, ok := t.redeem(ticket, email, false)
	return ok
}

// RedeemKey is Redeem for a ticket bound to a proof key (IssueKey): it
// returns the key, which the caller must see the client prove it holds.
// The ticket is used up either way, so a failed proof cannot be retried
// with it.
func (t *Tickets) RedeemKey(ticket, email string) ([]byte, bool) {
	return t.redeem(ticket, email, true)
}

func (t *Tickets) redeem(ticket, email string, withKey bool) ([]byte, bool) {
	if ticket == "" {
		return nil, false
	}
	email = normalizeEmail(email)
	if t.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		tk, err := t.shared.TakeTicket(ctx, ticket, email, withKey)
		if err != nil {
			switch {
			case errors.Is(err, store.ErrNotFound):
			case store.Unavailable(err):
				// The service says once that the database is gone.
				t.log.Debug().Err(err).Msg("cannot redeem a Passport ticket: the database is unavailable")
			default:
				t.log.Error().Err(err).Msg("cannot redeem a Passport ticket: the database failed")
			}
			return nil, false
		}
		return tk.Key, true
	}
	now := t.now()
	s := t.shard(ticket)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[ticket]
	switch {
	case !ok:
		return nil, false
	case e.exp <= now:
		delete(s.m, ticket)
		return nil, false
	case e.email != email, (e.key != nil) != withKey:
		return nil, false
	}
	delete(s.m, ticket)
	return e.key, true
}

// Len is the number of tickets held, counting expired ones not yet swept.
func (t *Tickets) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func (t *Tickets) shard(ticket string) *ticketShard {
	return &t.shards[maphash.String(t.seed, ticket)&t.mask]
}

// popFront removes the oldest queued ticket, and its map entry unless that
// was already redeemed. The caller holds s.mu and s.head < len(s.q).
func (s *ticketShard) popFront() {
	e := s.q[s.head]
	s.q[s.head] = queued{}
	s.head++
	if cur, ok := s.m[e.ticket]; ok && cur.exp == e.exp {
		delete(s.m, e.ticket)
	}
	switch {
	case s.head == len(s.q):
		s.q, s.head = s.q[:0], 0
	case s.head >= 1024 && 2*s.head >= len(s.q):
		n := copy(s.q, s.q[s.head:])
		clear(s.q[n:])
		s.q, s.head = s.q[:n], 0
	}
}

func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// TicketFromUSR extracts the ticket from the last parameter of a client's
// "USR n TWN S …": the from-PP string "t=<ticket>&p=<profile>" (possibly
// still quoted, with "&amp;" left over from an RST response, or
// percent-encoded), or a bare ticket. It returns "" when there is none.
func TicketFromUSR(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Trim(s, `'"`)
	if strings.Contains(s, "%") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
	}
	first := true
	for s != "" {
		var part string
		part, s, _ = strings.Cut(s, "&")
		// "&amp;" split at '&' leaves "amp;" at the start of the next part.
		if len(part) >= 4 && strings.EqualFold(part[:4], "amp;") {
			part = part[4:]
		}
		part = strings.TrimSpace(part)
		if k, v, ok := strings.Cut(part, "="); ok {
			if strings.EqualFold(strings.TrimSpace(k), "t") {
				return strings.Trim(strings.TrimSpace(v), `'"`)
			}
		} else if first && part != "" {
			return part
		}
		first = false
	}
	return ""
}
