package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// fanout has opts.Contacts online users watch one user, then times how
// long one status change of that user takes to reach them all. The user
// signs in at the first node; spread over nodes, the contacts sign in at
// the others.
func (b *runner) fanout(ctx context.Context, p placement) (*FanoutResult, error) {
	n := b.opts.Contacts
	emails, err := b.accounts(ctx, "fanout", n+1)
	if err != nil {
		return nil, err
	}
	star, watchers := emails[0], emails[1:]
	watcherAt := func(i int) int { return 0 }
	if p == spread {
		watcherAt = func(i int) int { return 1 + i%(len(b.opts.Servers)-1) }
	}
	b.progress("fan-out: signing in %d contacts of one user%s", n, b.where(p))

	// The contacts are bare connections that read until they hear of the
	// change: thousands of full clients would measure the load generator,
	// and so would thousands of goroutines (see listener).
	heard := newTally(star, n)
	l, err := newListener(heard)
	if err != nil {
		return nil, err
	}
	var (
		mu      sync.Mutex
		setupWG sync.WaitGroup
		conns   = make([]*raw, n)
		failErr error
		next    = make(chan int, n)
	)
	for i := range n {
		next <- i
	}
	close(next)
	for w := 0; w < b.opts.Workers; w++ {
		setupWG.Add(1)
		go func() {
			defer setupWG.Done()
			for i := range next {
				x, err := b.rawLogin(ctx, watchers[i], watcherAt(i))
				if err == nil {
					_, err = x.call(msnp.New("ADD", 10, "FL", star, star))
				}
				if err == nil {
					x.conn.SetDeadline(time.Time{})
					conns[i] = x
					err = l.listen(x)
				}
				if err != nil {
					mu.Lock()
					if failErr == nil {
						failErr = err
					}
					mu.Unlock()
					if x != nil {
						x.conn.Close()
					}
				}
			}
		}()
	}
	setupWG.Wait()
	defer func() {
		for _, x := range conns {
			if x != nil {
				x.conn.Close()
			}
		}
		l.stop()
	}()
	if failErr != nil {
		return nil, fmt.Errorf("signing in a contact: %w", failErr)
	}

	s, err := client.Dial(ctx, b.clientConfig(star, 0, 0))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	go func() {
		for range s.Events() {
		}
	}()
	// The sign-in's own NLN must have reached everyone first, or the
	// change would be timed with the rest of that fan-out in its way.
	if err := waitFor(30*time.Second, func() bool { return heard.online.Load() == int64(n) }); err != nil {
		return nil, fmt.Errorf("the contacts were not told the user signed in: %w", err)
	}
	b.progress("fan-out: changing the status once")
	cpu := markCPU(b.serverClock(ctx))
	t0 := time.Now()
	if err := s.SetStatus(ctx, client.Away); err != nil {
		return nil, err
	}
	waitFor(30*time.Second, func() bool { return heard.told.Load() == int64(n) })
	genCPU, serverCPU := cpu.cost(int64(n))
	arrived := heard.arrivals()
	if len(arrived) < n {
		return nil, fmt.Errorf("only %d of %d contacts were told within 30 s", len(arrived), n)
	}
	lat := make(latencies, len(arrived))
	last := time.Duration(0)
	for i, t := range arrived {
		lat[i] = t.Sub(t0)
		last = max(last, lat[i])
	}
	r := &FanoutResult{Contacts: n, Last: Duration(last), P50: lat.percentile(0.5),
		ServerCPU: serverCPU, GeneratorCPU: genCPU}
	b.progress("  last contact told after %s", r.Last)
	return r, nil
}

// waitFor polls done every millisecond until it reports true, or for at
// most d.
func waitFor(d time.Duration, done func() bool) error {
	deadline := time.Now().Add(d)
	for !done() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", d)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}
