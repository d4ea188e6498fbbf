package throttle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestDelaysGrowThenRefuse(t *testing.T) {
	p := Policy{Free: 2, Delay: time.Second, MaxDelay: 4 * time.Second, RefuseAfter: 6, RefuseFor: time.Hour}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for n, w := range want {
		if got := p.delay(n); got != w {
			t.Errorf("delay after %d failures = %v, want %v", n, got, w)
		}
	}
	th := New(p, 0)
	for i := 1; i <= 6; i++ {
		if refused := th.Fail("k"); refused != (i == 6) {
			t.Fatalf("failure %d: refused %v", i, refused)
		}
	}
	if _, err := th.Reserve("k"); !errors.Is(err, ErrRefused) {
		t.Fatalf("Reserve after %d failures = %v, want ErrRefused", 6, err)
	}
	if _, err := th.Reserve("other"); err != nil {
		t.Fatalf("another key: %v", err)
	}
}

// TestParallelAttemptsAreSpaced: attempts made at once under a delayed key
// wait one after another, and past MaxDelay of waiting they are refused.
func TestParallelAttemptsAreSpaced(t *testing.T) {
	th := New(Policy{Free: 0, Delay: time.Second, MaxDelay: 3 * time.Second}, 0)
	clock := time.Now()
	th.now = func() time.Time { return clock } // the attempts come at one instant
	th.Fail("k")
	var waits []time.Duration
	for {
		w, err := th.Reserve("k")
		if err != nil {
			break
		}
		waits = append(waits, w)
		if len(waits) > 10 {
			t.Fatal("never refused")
		}
	}
	if len(waits) < 2 || len(waits) > 4 {
		t.Fatalf("waits %v: want two to four spaced attempts before the refusal", waits)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i]-waits[i-1] != time.Second {
			t.Fatalf("waits %v are not spaced by the delay", waits)
		}
	}
}

func TestForgetAndShrink(t *testing.T) {
	clock := time.Now()
	th := New(Policy{Free: 0, Delay: time.Millisecond, MaxDelay: time.Millisecond, Forget: time.Minute}, 0)
	th.now = func() time.Time { return clock }
	for i := 0; i < 1000; i++ {
		th.Fail(fmt.Sprint("k", i))
	}
	if th.Len() != 1000 {
		t.Fatalf("Len %d", th.Len())
	}
	clock = clock.Add(2 * time.Minute)
	th.Fail("fresh")
	if n := th.Len(); n != 1 {
		t.Fatalf("after the quiet spell %d keys remain, want 1", n)
	}
}

func TestMaxKeys(t *testing.T) {
	th := New(Policy{Free: 0, Delay: time.Second, MaxDelay: time.Second}, 100)
	for i := 0; i < 1000; i++ {
		th.Fail(fmt.Sprint("k", i))
	}
	if n := th.Len(); n > 100 {
		t.Fatalf("%d keys, want at most 100", n)
	}
}

// TestGuardKeepsOwnerIn: a guesser from many addresses gets the account
// refused, but not from an address the owner signed in from before.
func TestGuardKeepsOwnerIn(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	g := NewGuard(GuardConfig{
		Address: Policy{Free: 100},
		Account: Policy{Free: 1, Delay: time.Millisecond, MaxDelay: time.Millisecond, RefuseAfter: 3, RefuseFor: time.Hour},
		Log:     zerolog.New(io.Discard),
		Count: func(endpoint, scope, action string) {
			mu.Lock()
			counts[endpoint+"/"+scope+"/"+action]++
			mu.Unlock()
		},
	})
	ctx := context.Background()
	done, err := g.Attempt(ctx, "md5", "10.0.0.1:5000", "Owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	done(true) // the owner, from home

	for i := 0; i < 3; i++ {
		done, err := g.Attempt(ctx, "md5", fmt.Sprintf("192.0.2.%d:1", i), "owner@example.com")
		if err != nil {
			t.Fatalf("guess %d: %v", i, err)
		}
		done(false)
	}
	if _, err := g.Attempt(ctx, "md5", "192.0.2.99:1", "owner@example.com"); !errors.Is(err, ErrRefused) {
		t.Fatalf("a new address after the limit: %v, want ErrRefused", err)
	}
	if _, err := g.Attempt(ctx, "md5", "10.0.0.1:6000", "owner@example.com"); err != nil {
		t.Fatalf("the owner's address: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if counts["md5/account/refused"] != 1 || counts["md5/account/delayed"] == 0 {
		t.Fatalf("counts %v", counts)
	}
}
