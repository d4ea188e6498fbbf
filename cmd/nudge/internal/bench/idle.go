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

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/msnp/client"
)

// idle signs in opts.Sessions clients, each with a contact list of
// opts.ListSize of the others, keeps them, and reads what they cost the
// server from its /metrics.
func (b *runner) idle(ctx context.Context) (*IdleResult, error) {
	n := b.opts.Sessions
	emails, err := b.accounts(ctx, "idle", n)
	if err != nil {
		return nil, err
	}
	if err := b.contactLists(ctx, emails, b.opts.ListSize); err != nil {
		return nil, err
	}
	before, err := b.metrics(ctx, b.opts.HTTP[0])
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
				c, err := client.Dial(ctx, b.clientConfig(emails[i], 0, 0))
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
	after, err := b.metrics(ctx, b.opts.HTTP[0])
	if err != nil {
		return nil, err
	}
	r := &IdleResult{
		Sessions:       held,
		ListSize:       b.opts.ListSize,
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

// contactLists gives each account a list of k contacts: the accounts go in
// circles of k+1 who all have each other on their FL (and so on their RL),
// as friends do (the last circle may be smaller).
func (b *runner) contactLists(ctx context.Context, emails []string, k int) error {
	if k <= 0 {
		return nil
	}
	b.progress("idle sessions: giving each a contact list of %d", k)
	const batch = 2000 // a few seconds of work for the server at most
	var pairs []adminapi.ContactPair
	send := func() error {
		if err := b.admin.AddContacts(ctx, pairs); err != nil {
			return fmt.Errorf("making contact lists (give --list 0 for a server that cannot): %w", err)
		}
		pairs = pairs[:0]
		return nil
	}
	for start := 0; start < len(emails); start += k + 1 {
		circle := emails[start:min(start+k+1, len(emails))]
		for _, owner := range circle {
			for _, contact := range circle {
				if owner != contact {
					pairs = append(pairs, adminapi.ContactPair{Owner: owner, Contact: contact})
				}
			}
		}
		if len(pairs) >= batch {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(pairs) > 0 {
		return send()
	}
	return nil
}

// metrics reads the numeric samples without labels from the /metrics of
// the server at base.
func (b *runner) metrics(ctx context.Context, base string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	// Metrics need the admin token on the ports clients use; where they
	// do not, it is ignored.
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
