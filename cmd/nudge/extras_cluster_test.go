package main

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/store"
)

// A node that loses the cluster's lease stops its bots and bridges, and
// their SIGHUP hooks go with them: after it takes the lease back, a reload
// reaches the parts it runs now, once, and never the stopped ones.
func TestLeaseHandoverDropsReloadHooks(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "nudge.db"), store.Options{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	var (
		mu       sync.Mutex
		runs     int
		running  = map[int]bool{}
		reloaded = map[int]int{} // run → reloads it saw
	)
	started := make(chan int, 10)
	saved := extras
	t.Cleanup(func() { extras = saved })
	extras = []extra{{name: "probe", start: func(ctx context.Context, env extraEnv) (func(), error) {
		mu.Lock()
		runs++
		run := runs
		running[run] = true
		mu.Unlock()
		env.OnReload(func(context.Context) {
			mu.Lock()
			reloaded[run]++
			mu.Unlock()
		})
		started <- run
		return func() {
			mu.Lock()
			running[run] = false
			mu.Unlock()
		}, nil
	}}}

	hooks := &reloads{}
	ctx := context.Background()
	stop, err := startExtrasOnce(ctx, extraEnv{Log: zerolog.Nop()}, hooks, st, "a",
		leaseTimes{lease: 3 * time.Second, renew: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	awaitRun := func(want int) {
		t.Helper()
		select {
		case got := <-started:
			if got != want {
				t.Fatalf("run %d started, want %d", got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d never started", want)
		}
	}
	awaitRun(1)
	hooks.run(ctx)

	// Node b takes the lease: a releases it for a moment and b is there
	// first (a renews only every 50ms).
	for {
		st.ReleaseLease(ctx, leaseName, "a")
		if ok, err := st.Lease(ctx, leaseName, "b", time.Hour); err != nil {
			t.Fatal(err)
		} else if ok {
			break
		}
	}
	waitUntil(t, "node a to stop its run", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !running[1]
	})
	if n := hooks.len(); n != 0 {
		t.Fatalf("%d reload hooks stay registered after the run stopped", n)
	}
	hooks.run(ctx) // reaches nobody

	// b gives it back; a starts its parts again.
	if err := st.ReleaseLease(ctx, leaseName, "b"); err != nil {
		t.Fatal(err)
	}
	awaitRun(2)
	hooks.run(ctx)
	stop()
	if n := hooks.len(); n != 0 {
		t.Fatalf("%d reload hooks stay registered after stop", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if reloaded[1] != 1 || reloaded[2] != 1 {
		t.Fatalf("reloads seen by run 1: %d (want 1), by run 2: %d (want 1)", reloaded[1], reloaded[2])
	}
	if running[2] {
		t.Fatal("run 2 still running after stop")
	}
}
