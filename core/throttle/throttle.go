// Package throttle slows down and then refuses password guessing.
//
// A Throttle counts failed attempts per key (a source address, an account).
// Past a few free failures every further attempt under that key waits,
// twice as long after each failure, and attempts made at once are spaced out
// rather than run in parallel. Past a limit the key is refused outright for
// a while. Failures are forgotten after a quiet spell.
//
// Guard puts an address throttle and an account throttle together for a
// sign-in: the account limit keeps a guesser with many addresses off one
// account, and an address the account signed in from before is exempt from
// it, so that a guesser cannot lock the owner out of his own account.
package throttle

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrRefused is returned for an attempt under a key that is refused now.
var ErrRefused = errors.New("too many failed sign-ins; try again later")

// Policy says how a Throttle treats failures. The zero value never delays
// or refuses.
type Policy struct {
	// Free failures cost nothing; the next attempt waits Delay, and every
	// further failure doubles the wait up to MaxDelay.
	Free     int
	Delay    time.Duration
	MaxDelay time.Duration
	// RefuseAfter failures refuse the key for RefuseFor (0: never). After
	// the refusal, attempts wait again as if Free failures had been made.
	RefuseAfter int
	RefuseFor   time.Duration
	// Forget is how long a key must go without a failure to start afresh.
	Forget time.Duration
}

// delay is the wait before the attempt that follows n failures.
func (p Policy) delay(n int) time.Duration {
	if n <= p.Free || p.Delay <= 0 {
		return 0
	}
	d := p.Delay
	for i := p.Free + 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, max(p.MaxDelay, p.Delay))
}

// DefaultMaxKeys bounds the keys one Throttle remembers.
const DefaultMaxKeys = 100_000

// Throttle counts failures per key. It is safe for concurrent use.
type Throttle struct {
	p       Policy
	maxKeys int
	now     func() time.Time // time.Now; tests move it

	mu        sync.Mutex
	keys      map[string]*state
	nextSweep time.Time
}

type state struct {
	fails   int
	last    time.Time // of the last failure
	next    time.Time // no attempt starts before this
	refused time.Time // refused until
}

// New returns a Throttle for p remembering at most maxKeys keys (0:
// DefaultMaxKeys).
func New(p Policy, maxKeys int) *Throttle {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if p.Forget <= 0 {
		p.Forget = 15 * time.Minute
	}
	return &Throttle{p: p, maxKeys: maxKeys, now: time.Now, keys: make(map[string]*state)}
}

// Reserve returns how long an attempt under key must wait before it is
// made, or ErrRefused. The wait is reserved: attempts made at the same time
// get one after another. A wait longer than MaxDelay is a refusal too.
func (t *Throttle) Reserve(key string) (time.Duration, error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.lookup(key, now, false)
	if st == nil {
		return 0, nil
	}
	if now.Before(st.refused) {
		return 0, ErrRefused
	}
	d := t.p.delay(st.fails)
	if d == 0 {
		return 0, nil
	}
	at := now
	if st.next.After(at) {
		at = st.next
	}
	wait := at.Sub(now)
	if wait > max(t.p.MaxDelay, t.p.Delay) {
		return 0, ErrRefused
	}
	st.next = at.Add(d)
	return wait, nil
}

// Fail counts a failed attempt under key. It reports true when this
// failure made the key refused.
func (t *Throttle) Fail(key string) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.lookup(key, now, true)
	st.fails++
	st.last = now
	if next := now.Add(t.p.delay(st.fails)); next.After(st.next) {
		st.next = next
	}
	if t.p.RefuseAfter > 0 && st.fails >= t.p.RefuseAfter {
		st.refused = now.Add(t.p.RefuseFor)
		st.fails = t.p.Free
		return true
	}
	return false
}

// Refused reports whether key is refused now.
func (t *Throttle) Refused(key string) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.lookup(key, now, false)
	return st != nil && now.Before(st.refused)
}

// Len is the number of keys remembered.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

// lookup finds key's state, forgetting it when stale; create makes one.
func (t *Throttle) lookup(key string, now time.Time, create bool) *state {
	t.sweep(now)
	st := t.keys[key]
	if st != nil && t.stale(st, now) {
		delete(t.keys, key)
		st = nil
	}
	if st == nil && create {
		if len(t.keys) >= t.maxKeys {
			// Full of live keys: forget one, the map's pick. Filling it
			// takes more addresses than any one guesser has.
			for k := range t.keys {
				delete(t.keys, k)
				break
			}
		}
		st = &state{}
		t.keys[key] = st
	}
	return st
}

func (t *Throttle) stale(st *state, now time.Time) bool {
	return now.Sub(st.last) > t.p.Forget && !now.Before(st.refused) && !now.Before(st.next)
}

// sweep drops stale keys at most once per Forget, into a new map: Go maps
// never give back the memory of deleted entries.
func (t *Throttle) sweep(now time.Time) {
	if now.Before(t.nextSweep) {
		return
	}
	t.nextSweep = now.Add(t.p.Forget)
	keep := make(map[string]*state, len(t.keys)/2)
	for k, st := range t.keys {
		if !t.stale(st, now) {
			keep[k] = st
		}
	}
	t.keys = keep
}

// Wait waits out a reservation, or returns ctx's error.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
