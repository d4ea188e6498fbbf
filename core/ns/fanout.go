package ns

import (
	"runtime"
	"sync"
)

// fanOutShare is the fewest watchers worth a goroutine of their own:
// telling one is a system call of a few microseconds, starting a
// goroutine costs about one.
const fanOutShare = 256

// fanOut calls tell(i) for every i in [0, n), spread over the processors
// when n is large: telling 10,000 watchers is 10,000 writes to as many
// sockets, which on one core alone take tens of milliseconds. Each i is
// told exactly once, so no watcher hears one change twice or out of
// order; fanOut returns when all are told, so that whatever the session
// says next never overtakes it.
func fanOut(n int, tell func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/fanOutShare)
	if workers <= 1 {
		for i := range n {
			tell(i)
		}
		return
	}
	var wg sync.WaitGroup
	share := func(w int) {
		for i := w * n / workers; i < (w+1)*n/workers; i++ {
			tell(i)
		}
	}
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			share(w)
		}()
	}
	share(0)
	wg.Wait()
}
