package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp/client"
)

// idle signs in opts.Sessions clients, keeps them, and reads what they
// cost the server from its /metrics.
func (b *runner) idle(ctx context.Context) (*IdleResult, error) {
	n := b.opts.Sessions
	emails, err := b.accounts(ctx, "idle", n)
	if err != nil {
		return nil, err
	}
	before, err := b.metrics(ctx)
	if err != nil {
		return nil, err
	}
	b.progress("idle sessions: signing in %d clients", n)
	clients := make([]*client.Client, n)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
		next   = make(chan int, n)
	)
	for i := range n {
		next <- i
	}
	close(next)
	start := time.Now()
	for w := 0; w < b.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := client.Dial(ctx, b.clientConfig(emails[i], 7))
				mu.Lock()
				if err != nil {
					failed++
					if failed == 1 {
						b.progress("  first failure: %v", err)
					}
				} else {
					clients[i] = c
				}
				done := i + 1
				mu.Unlock()
				if done%5000 == 0 {
					b.progress("  %d signed in", done)
				}
			}
		}()
	}
	wg.Wait()
	setup := time.Since(start)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	held := n - failed
	// Let the server settle (sign-in garbage collected) before reading.
	time.Sleep(3 * time.Second)
	after, err := b.metrics(ctx)
	if err != nil {
		return nil, err
	}
	r := &IdleResult{
		Sessions:       held,
		ServerSessions: int(after["nudge_sessions"]),
		RSSBytes:       after["process_resident_memory_bytes"] - before["process_resident_memory_bytes"],
		HeapBytes: after["go_memstats_heap_inuse_bytes"] + after["go_memstats_stack_inuse_bytes"] -
			before["go_memstats_heap_inuse_bytes"] - before["go_memstats_stack_inuse_bytes"],
		SetupPerSec: float64(held) / setup.Seconds(),
	}
	if held > 0 {
		r.BytesPerRSS = r.RSSBytes / float64(held)
		r.BytesPerGo = r.HeapBytes / float64(held)
	}
	if failed > 0 {
		b.progress("  %d of %d could not sign in (the machine's open-file limit is the usual cause)", failed, n)
	}
	return r, nil
}

// metrics reads the numeric samples without labels from /metrics.
func (b *runner) metrics(ctx context.Context) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.opts.HTTP+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	// Metrics need the admin token on the ports clients use.
	req.Header.Set("Authorization", "Bearer "+b.opts.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the server's /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the server's /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.Contains(line, "{") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}
