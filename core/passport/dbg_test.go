package passport

import (
	"sync"
	"testing"
	"time"
)

func TestDbgParallel(t *testing.T) {
	tk := NewTickets(time.Minute)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for i := range 3000000 {
				s := tk.Issue("alice@example.com")
				if !tk.Redeem(s, "alice@example.com") {
					sh := tk.shard(s)
					sh.mu.Lock()
					inq := -1
					for j := sh.head; j < len(sh.q); j++ {
						if sh.q[j].ticket == s {
							inq = j
						}
					}
					t.Errorf("evicted=%d iteration %d: redeem of %q failed, now=%v len=%d head=%d lenq=%d capq=%d inq=%d max=%d", DbgEvicted.Load(), i, s, tk.now(), len(sh.m), sh.head, len(sh.q), cap(sh.q), inq, sh.max)
					sh.mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
}
