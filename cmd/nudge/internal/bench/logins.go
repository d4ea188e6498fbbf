package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
	"github.com/nudge-im/nudge/msnp/client"
)

type loginMethod struct {
	name    string
	version msnp.Version
	// bare: signed in by a signer over bare connections rather than by
	// the Go client (whose own cost would weigh on the server's cores).
	bare bool
}

var (
	md5Login      = loginMethod{"MD5 (MSNP7)", 7, true}
	passportLogin = loginMethod{"Passport (MSNP12)", 12, false}
	// Windows Live Messenger 2009's: RST tokens for every service, the
	// nonce answered with the proof key, the list from the address book.
	ssoLogin = loginMethod{"SSO (MSNP18)", 18, false}
)

// clientConfig is how the bench signs in as email at the i-th node; v 0 is
// the version of the idle and fan-out sessions.
func (b *runner) clientConfig(email string, v msnp.Version, i int) client.Config {
	if v == 0 {
		v = b.opts.Protocol
	}
	at := b.node(i)
	return client.Config{
		Server:     at.ns,
		Email:      email,
		Password:   b.password,
		Version:    v,
		MinVersion: v,
		Passport:   client.PassportConfig{URL: at.http, InsecureSkipVerify: true},
		Dialer:     b.dial,
		// Idle sessions must not ping during the measurement.
		PingInterval: 10 * time.Minute,
	}
}

// logins signs in and out opts.Logins times with opts.Workers clients at
// once, worker w at its node (placed as p); a sign-in is everything a
// client does (version, authentication, list sync, first status, the
// challenge, signing out): MD5's by a signer over bare connections,
// Passport's and SSO's by the Go client, so that they measure the web
// services too.
func (b *runner) logins(ctx context.Context, m loginMethod, p placement) (LoginResult, error) {
	workers := min(b.opts.Workers, b.opts.Logins)
	emails, err := b.accounts(ctx, "login"+m.version.String(), workers)
	if err != nil {
		return LoginResult{}, err
	}
	b.progress("sign-ins: %d with %s, %d at a time%s", b.opts.Logins, m.name, workers, b.where(p))
	if m.bare {
		signers := make([]*signer, workers)
		for w := range signers {
			signers[w] = b.newSigner(m.version, emails[w], b.node(b.at(p, w)).ns)
		}
		var taken atomic.Int64
		total := int64(b.opts.Logins)
		r := b.signIns(ctx, m.name, signers, func(int, int) (string, bool) { return "", taken.Add(1) <= total })
		return r, ctx.Err()
	}
	var (
		mu     sync.Mutex
		lat    = make(latencies, 0, b.opts.Logins)
		failed int
		next   = make(chan struct{}, b.opts.Logins)
		wg     sync.WaitGroup
	)
	for i := 0; i < b.opts.Logins; i++ {
		next <- struct{}{}
	}
	close(next)
	cpu := markCPU(b.serverClock(ctx))
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(email string, at int) {
			defer wg.Done()
			// One HTTP client for the worker's life, as a client program
			// keeps one, rather than a transport and TLS configuration
			// built per sign-in; its connections are closed after each
			// sign-in, so each still opens its own (and shakes hands
			// once over TLS), as the client does with one of its own.
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
			hc := &http.Client{Timeout: 30 * time.Second, Transport: tr}
			cfg := b.clientConfig(email, m.version, at)
			cfg.Passport.HTTPClient = hc
			for range next {
				t0 := time.Now()
				c, err := client.Dial(ctx, cfg)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					failed++
					if failed == 1 {
						b.progress("  first failure: %s: %v", email, err)
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
				if c != nil {
					c.Close()
				}
				tr.CloseIdleConnections()
				if ctx.Err() != nil {
					return
				}
			}
		}(emails[w], b.at(p, w))
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := LoginResult{
		Method:  m.name,
		Logins:  len(lat),
		Workers: workers,
		PerSec:  float64(len(lat)) / elapsed.Seconds(),
		P50:     lat.percentile(0.50),
		P99:     lat.percentile(0.99),
		Failed:  failed,
	}
	r.GeneratorCPU, r.ServerCPU = cpu.cost(int64(len(lat)))
	b.progress("  %.0f sign-ins per second, p99 %s, %d failed; CPU per sign-in: generator %s µs, server %s µs", r.PerSec, r.P99, failed, micros(r.GeneratorCPU), micros(r.ServerCPU))
	return r, ctx.Err()
}

// ticketLogins measures what the Notification Server does for a Passport
// sign-in once the client holds its ticket: the tickets are fetched first
// (not timed: that is the Passport server's bcrypt), then each sign-in is
// a signer's (VER, CVR, USR TWN I, USR TWN S, SYN, the first CHG, QRY, OUT)
// over bare connections. Spread over nodes, worker w fetches its tickets at node w's
// Passport and uses them at node w+1's Notification Server.
func (b *runner) ticketLogins(ctx context.Context, p placement) (LoginResult, error) {
	workers := min(b.opts.Workers, b.opts.Logins)
	emails, err := b.accounts(ctx, "ticket", workers)
	if err != nil {
		return LoginResult{}, err
	}
	b.progress("sign-ins: fetching %d Passport tickets", b.opts.Logins)
	// Each worker signs in one account with its own tickets, so no two
	// sign-ins of one account overlap (the second would end the first).
	per := (b.opts.Logins + workers - 1) / workers
	tickets := make([][]string, workers)
	var wg sync.WaitGroup
	var fetchErr atomic.Value
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				t, err := b.ticket(ctx, emails[w], b.at(p, w))
				if err != nil {
					fetchErr.Store(err)
					return
				}
				tickets[w] = append(tickets[w], t)
			}
		}()
	}
	wg.Wait()
	if err, ok := fetchErr.Load().(error); ok {
		return LoginResult{}, fmt.Errorf("fetching a Passport ticket: %w", err)
	}
	b.progress("sign-ins: %d with tickets (MSNP12, notification server only), %d at a time%s", per*workers, workers, b.where(p))
	signers := make([]*signer, workers)
	for w := range signers {
		signers[w] = b.newSigner(12, emails[w], b.node(b.at(p, w+1)).ns)
	}
	r := b.signIns(ctx, "Ticket, NS (MSNP12)", signers, func(w, i int) (string, bool) {
		if i < len(tickets[w]) {
			return tickets[w][i], true
		}
		return "", false
	})
	return r, ctx.Err()
}

// ticket signs in at the i-th node's Passport login server and returns the
// ticket.
func (b *runner) ticket(ctx context.Context, email string, i int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.node(i).http+"/login2.srf", nil)
	if err != nil {
		return "", err
	}
	a, err := auth.NewPassportAuthorization(email, b.password, "lc=1033,id=507")
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", a.String())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	info, err := auth.ParseAuthenticationInfo(resp.Header.Get("Authentication-Info"))
	if err != nil {
		return "", fmt.Errorf("%s: %w", resp.Status, err)
	}
	return info.FromPP, nil
}
