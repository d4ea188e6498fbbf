package bus

import (
	"bytes"
	"context"
	"sync"
)

// Local is a Bus inside one process. Each subscription has its own
// goroutine and an unbounded queue, so Publish never waits for a
// subscriber. The zero value is not usable; make one with NewLocal.
type Local struct {
	mu     sync.RWMutex
	subs   map[*localSub]struct{}
	closed bool
}

// NewLocal returns an empty in-process bus.
func NewLocal() *Local {
	return &Local{subs: make(map[*localSub]struct{})}
}

type localSub struct {
	bus      *Local
	patterns []string
	fn       func(*Msg)

	mu     sync.Mutex
	queue  []*Msg
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

// Publish implements Bus.
func (b *Local) Publish(subject string, data []byte) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	for s := range b.subs {
		if s.matches(subject) {
			s.push(&Msg{Subject: subject, Data: bytes.Clone(data)})
		}
	}
	return nil
}

// Request implements Bus: the first subscriber found answers.
func (b *Local) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	answer := make(chan []byte, 1)
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, ErrClosed
	}
	var to *localSub
	for s := range b.subs {
		if s.matches(subject) {
			to = s
			break
		}
	}
	if to == nil {
		b.mu.RUnlock()
		return nil, ErrNoResponders
	}
	var once sync.Once
	to.push(&Msg{Subject: subject, Data: bytes.Clone(data), respond: func(d []byte) error {
		once.Do(func() { answer <- bytes.Clone(d) })
		return nil
	}})
	b.mu.RUnlock()
	select {
	case d := <-answer:
		return d, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Subscribe implements Bus.
func (b *Local) Subscribe(fn func(*Msg), subjects ...string) (Subscription, error) {
	s := &localSub{bus: b, patterns: subjects, fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.run()
	return s, nil
}

// Err implements Bus: an in-process bus always carries messages.
func (b *Local) Err() error { return nil }

// Close implements Bus.
func (b *Local) Close() error {
	b.mu.Lock()
	b.closed = true
	subs := b.subs
	b.subs = map[*localSub]struct{}{}
	b.mu.Unlock()
	for s := range subs {
		s.stop()
	}
	return nil
}

func (s *localSub) matches(subject string) bool {
	for _, p := range s.patterns {
		if Match(p, subject) {
			return true
		}
	}
	return false
}

func (s *localSub) push(m *Msg) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, m)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *localSub) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		q := s.queue
		s.queue = nil
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return
		}
		for _, m := range q {
			s.fn(m)
		}
		if len(q) == 0 {
			<-s.wake
		}
	}
}

func (s *localSub) stop() {
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close implements Subscription. It does not wait for a message being
// handled, so a handler may close its own subscription.
func (s *localSub) Close() error {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
	s.stop()
	return nil
}
