package bench

import (
	"context"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

type loginMethod struct {
	name    string
	version msnp.Version
}

var (
	md5Login      = loginMethod{"MD5 (MSNP7)", 7}
	passportLogin = loginMethod{"Passport (MSNP12)", 12}
)

// clientConfig is how the bench signs in as email.
func (b *runner) clientConfig(email string, v msnp.Version) client.Config {
	return client.Config{
		Server:     b.opts.Server,
		Email:      email,
		Password:   b.password,
		Version:    v,
		MinVersion: v,
		Passport:   client.PassportConfig{URL: b.opts.HTTP, InsecureSkipVerify: true},
		Dialer:     b.dial,
		// Idle sessions must not ping during the measurement.
		PingInterval: 10 * time.Minute,
	}
}

// logins signs in and out opts.Logins times with opts.Workers clients at
// once; a sign-in is everything Dial does (version, authentication, list
// sync, first status).
func (b *runner) logins(ctx context.Context, m loginMethod) (LoginResult, error) {
	workers := min(b.opts.Workers, b.opts.Logins)
	emails, err := b.accounts(ctx, "login"+m.version.String(), workers)
	if err != nil {
		return LoginResult{}, err
	}
	b.progress("sign-ins: %d with %s, %d at a time", b.opts.Logins, m.name, workers)
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
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(email string) {
			defer wg.Done()
			for range next {
				t0 := time.Now()
				c, err := client.Dial(ctx, b.clientConfig(email, m.version))
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
				if c != nil {
					c.Close()
				}
				if ctx.Err() != nil {
					return
				}
			}
		}(emails[w])
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
	b.progress("  %.0f sign-ins per second, p99 %s, %d failed", r.PerSec, r.P99, failed)
	return r, ctx.Err()
}
