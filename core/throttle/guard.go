package throttle

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/connlimit"
)

// GuardConfig configures a Guard.
type GuardConfig struct {
	Address Policy // per source address
	Account Policy // per account, from addresses it has not signed in from
	// Trust is how long an address an account signed in from stays exempt
	// from that account's limit (0: a day).
	Trust time.Duration
	// MaxKeys bounds the keys of each throttle (0: DefaultMaxKeys).
	MaxKeys int
	Log     zerolog.Logger
	// Count, when set, is told of every attempt delayed or refused:
	// endpoint ("md5", "login2", "rst", …), scope ("address", "account")
	// and action ("delayed", "refused").
	Count func(endpoint, scope, action string)
	// Share, when set, is told of every outcome, for the other nodes of a
	// cluster to Observe: a guesser behind a load balancer then meets the
	// same limits as one who reaches a single node.
	Share func(Outcome)
}

// Outcome is one finished sign-in, as Share tells it.
type Outcome struct {
	Address string `json:"a"` // host
	Account string `json:"u"` // lower-case handle
	OK      bool   `json:"ok,omitempty"`
}

// Guard throttles failed sign-ins per source address and per account. Every
// sign-in path calls Attempt before it checks a password and the returned
// function after, with the outcome. It is safe for concurrent use.
type Guard struct {
	cfg     GuardConfig
	address *Throttle
	account *Throttle

	mu        sync.Mutex
	trusted   map[string]map[string]time.Time // account → address → until
	nextSweep time.Time
}

// maxTrusted bounds the addresses remembered per account.
const maxTrusted = 8

// NewGuard returns a Guard for cfg.
func NewGuard(cfg GuardConfig) *Guard {
	if cfg.Trust <= 0 {
		cfg.Trust = 24 * time.Hour
	}
	return &Guard{
		cfg:     cfg,
		address: New(cfg.Address, cfg.MaxKeys),
		account: New(cfg.Account, cfg.MaxKeys),
		trusted: make(map[string]map[string]time.Time),
	}
}

// Attempt waits as long as the address and the account must, and returns
// the function that records the outcome; or ErrRefused (or ctx's error),
// when the sign-in must be refused without checking the password. addr is
// a host or host:port; account is the handle as given.
func (g *Guard) Attempt(ctx context.Context, endpoint, addr, account string) (done func(ok bool), err error) {
	if g == nil {
		return func(bool) {}, nil
	}
	host := connlimit.Host(addr)
	account = strings.ToLower(account)
	exempt := g.isTrusted(account, host)
	wait, err := g.address.Reserve(host)
	if err != nil {
		g.count(endpoint, "address", "refused")
		return nil, err
	}
	scope := "address"
	if !exempt {
		w, err := g.account.Reserve(account)
		if err != nil {
			g.count(endpoint, "account", "refused")
			return nil, err
		}
		if w > wait {
			wait, scope = w, "account"
		}
	}
	if wait > 0 {
		g.count(endpoint, scope, "delayed")
		if err := Wait(ctx, wait); err != nil {
			return nil, err
		}
	}
	return func(ok bool) {
		if g.cfg.Share != nil {
			g.cfg.Share(Outcome{Address: host, Account: account, OK: ok})
		}
		g.record(endpoint, host, account, ok)
	}, nil
}

// Share sets GuardConfig.Share; call it before the first Attempt.
func (g *Guard) Share(fn func(Outcome)) { g.cfg.Share = fn }

// Observe counts a sign-in made on another node as if made here.
func (g *Guard) Observe(o Outcome) {
	if g == nil || o.Address == "" || o.Account == "" {
		return
	}
	g.record("cluster", o.Address, strings.ToLower(o.Account), o.OK)
}

// record counts an outcome: a success trusts the address for the account,
// a failure counts against both.
func (g *Guard) record(endpoint, host, account string, ok bool) {
	if ok {
		g.trust(account, host)
		return
	}
	if g.address.Fail(host) {
		g.cfg.Log.Warn().Str("endpoint", endpoint).Str("address", host).Dur("for", g.cfg.Address.RefuseFor).
			Msg("too many failed sign-ins from this address; refusing its sign-ins for a while")
	}
	if g.account.Fail(account) {
		g.cfg.Log.Warn().Str("endpoint", endpoint).Str("user", account).Dur("for", g.cfg.Account.RefuseFor).
			Msg("too many failed sign-ins to this account; refusing them for a while, except from addresses it signed in from")
	}
}

func (g *Guard) count(endpoint, scope, action string) {
	if g.cfg.Count != nil {
		g.cfg.Count(endpoint, scope, action)
	}
}

func (g *Guard) isTrusted(account, host string) bool {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	return now.Before(g.trusted[account][host])
}

// trust exempts host from account's limit for Trust, keeping at most
// maxTrusted addresses per account (the longest-trusted goes first).
func (g *Guard) trust(account, host string) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !now.Before(g.nextSweep) {
		g.nextSweep = now.Add(g.cfg.Trust)
		keep := make(map[string]map[string]time.Time, len(g.trusted))
		for a, hosts := range g.trusted {
			for h, until := range hosts {
				if now.Before(until) {
					if keep[a] == nil {
						keep[a] = make(map[string]time.Time)
					}
					keep[a][h] = until
				}
			}
		}
		g.trusted = keep
	}
	hosts := g.trusted[account]
	if hosts == nil {
		hosts = make(map[string]time.Time)
		g.trusted[account] = hosts
	}
	if _, ok := hosts[host]; !ok && len(hosts) >= maxTrusted {
		var oldest string
		for h, until := range hosts {
			if oldest == "" || until.Before(hosts[oldest]) {
				oldest = h
			}
		}
		delete(hosts, oldest)
	}
	hosts[host] = now.Add(g.cfg.Trust)
}
