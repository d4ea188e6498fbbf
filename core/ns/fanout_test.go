package ns

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestFanOutTellsEachOnce checks that a fan-out spread over goroutines
// tells every watcher exactly once and is over when it returns.
func TestFanOutTellsEachOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, n := range []int{0, 1, fanOutShare - 1, 2 * fanOutShare, 10*fanOutShare + 7} {
		told := make([]atomic.Int32, n)
		fanOut(n, func(i int) { told[i].Add(1) })
		for i := range told {
			if got := told[i].Load(); got != 1 {
				t.Fatalf("n=%d: watcher %d told %d times", n, i, got)
			}
		}
	}
}
