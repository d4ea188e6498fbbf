package main

import (
	"context"
	"sync"
	"time"

	"github.com/nudge-im/nudge/core/store"
)

// In a cluster the extras (the bot host, the Discord bridge) run on one
// node at a time: the node that holds a lease in the shared database. It
// renews the lease every leaseTimes.renew; a node that dies stops renewing,
// and another takes the lease over once it expired (leaseTimes.lease), and
// starts them, their SIGHUP hooks with them. A node that cannot renew in
// time stops them first, so two never run at once for longer than a
// renewal.
const leaseName = "extras"

// leaseTimes are how long the lease lasts and how often it is renewed.
type leaseTimes struct{ lease, renew time.Duration }

var defaultLease = leaseTimes{lease: 10 * time.Second, renew: 2 * time.Second}

// startExtrasOnce is startExtras under the cluster's lease.
func startExtrasOnce(ctx context.Context, env extraEnv, hooks *reloads, shared store.Shared, node string, lt leaseTimes) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var stop func()
		leader := false
		var held time.Time // when the lease was last renewed
		t := time.NewTicker(lt.renew)
		defer t.Stop()
		for {
			c, cancelTry := context.WithTimeout(ctx, lt.renew)
			ok, err := shared.Lease(c, leaseName, node, lt.lease)
			cancelTry()
			switch {
			case err == nil && ok:
				held = time.Now()
				if !leader {
					leader = true
					env.Log.Info().Msg("this node runs the bots and bridges of the cluster")
					s, err := startExtras(ctx, env, hooks)
					if err != nil {
						env.Log.Error().Err(err).Msg("bots and bridges did not start")
					}
					stop = s
				}
			case leader && (err == nil || time.Since(held) > lt.lease-2*lt.renew):
				// Another node has it, or it may have it soon.
				env.Log.Warn().Err(err).Msg("lost the lease of the bots and bridges; stopping them here")
				if stop != nil {
					stop()
				}
				stop, leader = nil, false
			}
			select {
			case <-ctx.Done():
				if leader {
					if stop != nil {
						stop()
					}
					c, cancelRel := context.WithTimeout(context.Background(), lt.renew)
					shared.ReleaseLease(c, leaseName, node)
					cancelRel()
				}
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); wg.Wait() }, nil
}
