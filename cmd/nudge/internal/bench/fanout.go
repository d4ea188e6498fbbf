package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp/client"
)

// fanout has opts.Contacts online users watch one user, then times how
// long one status change of that user takes to reach them all.
func (b *runner) fanout(ctx context.Context) (*FanoutResult, error) {
	n := b.opts.Contacts
	emails, err := b.accounts(ctx, "fanout", n+1)
	if err != nil {
		return nil, err
	}
	star, watchers := emails[0], emails[1:]
	b.progress("fan-out: signing in %d contacts of one user", n)

	var (
		mu      sync.Mutex
		arrived = make([]time.Time, 0, n)
		setupWG sync.WaitGroup
		readWG  sync.WaitGroup
		clients = make([]*client.Client, n)
		failErr error
		next    = make(chan int, n)
		watch   = make(chan struct{})
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
				c, err := client.Dial(ctx, b.clientConfig(watchers[i], 7))
				if err == nil {
					err = c.AddContact(ctx, star)
				}
				if err != nil {
					mu.Lock()
					if failErr == nil {
						failErr = err
					}
					mu.Unlock()
					if c != nil {
						c.Close()
					}
					continue
				}
				clients[i] = c
				readWG.Add(1)
				go func() {
					defer readWG.Done()
					armed := false
					for ev := range c.Events() {
						select {
						case <-watch:
							armed = true
						default:
						}
						if p, ok := ev.(*client.Presence); ok && armed && p.Email == star && p.Status == client.Away {
							mu.Lock()
							arrived = append(arrived, time.Now())
							mu.Unlock()
							return
						}
					}
				}()
			}
		}()
	}
	setupWG.Wait()
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
		readWG.Wait()
	}()
	if failErr != nil {
		return nil, fmt.Errorf("signing in a contact: %w", failErr)
	}

	s, err := client.Dial(ctx, b.clientConfig(star, 7))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	go func() {
		for range s.Events() {
		}
	}()
	time.Sleep(time.Second) // the sign-in's own NLN has reached everyone
	close(watch)
	b.progress("fan-out: changing the status once")
	t0 := time.Now()
	if err := s.SetStatus(ctx, client.Away); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		got := len(arrived)
		mu.Unlock()
		if got == n {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrived) < n {
		return nil, fmt.Errorf("only %d of %d contacts were told within 30 s", len(arrived), n)
	}
	lat := make(latencies, len(arrived))
	last := time.Duration(0)
	for i, t := range arrived {
		lat[i] = t.Sub(t0)
		last = max(last, lat[i])
	}
	r := &FanoutResult{Contacts: n, Last: Duration(last), P50: lat.percentile(0.5)}
	b.progress("  last contact told after %s", r.Last)
	return r, nil
}
