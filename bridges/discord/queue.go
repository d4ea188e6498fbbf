package discord

import "sync"

// serial runs tasks in order per key and in parallel across keys: each
// conversation's messages keep their order both ways, and a slow
// conversation (an MSN contact slow to join) delays no other. A key's
// goroutine exists only while it has work.
type serial struct {
	mu     sync.Mutex
	queues map[string][]func()
	wg     sync.WaitGroup
}

func newSerial() *serial { return &serial{queues: map[string][]func(){}} }

// Do queues f to run after every task queued before it under key.
func (s *serial) Do(key string, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, busy := s.queues[key]
	s.queues[key] = append(q, f)
	if busy {
		return
	}
	s.wg.Add(1)
	go s.run(key)
}

func (s *serial) run(key string) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		q := s.queues[key]
		if len(q) == 0 {
			delete(s.queues, key)
			s.mu.Unlock()
			return
		}
		f := q[0]
		q[0] = nil
		s.queues[key] = q[1:]
		s.mu.Unlock()
		f()
	}
}

// Wait waits until every queued task has run, including tasks queued
// meanwhile.
func (s *serial) Wait() { s.wg.Wait() }
