package store

import (
	"context"
	"testing"
	"time"
)

// TestCheckPasswordCostsTheSame: a wrong password costs as much for an
// unknown account and for an account whose hash has a lower cost (the batch
// accounts) as for an account hashed at the store's cost, so the time taken
// tells neither apart. Each figure is the fastest of several runs, and the
// bound is loose (half), because the machine may be busy.
func TestCheckPasswordCostsTheSame(t *testing.T) {
	ctx := context.Background()
	s := sqliteEngine.newTestOpts(t, Options{BcryptCost: 9})
	mustCreate(t, s, "real@example.com")
	if err := s.CreateAccounts(ctx, []string{"cheap@example.com"}, "pw", 4); err != nil {
		t.Fatal(err)
	}
	s.CheckPassword(ctx, "nobody@example.com", "warm up the dummies")
	s.CheckPassword(ctx, "cheap@example.com", "warm up the dummies")
	fastest := map[string]time.Duration{}
	for range 5 {
		for _, who := range []string{"real@example.com", "cheap@example.com", "nobody@example.com"} {
			start := time.Now()
			s.CheckPassword(ctx, who, "wrong password")
			if d := time.Since(start); fastest[who] == 0 || d < fastest[who] {
				fastest[who] = d
			}
		}
	}
	real := fastest["real@example.com"]
	for _, who := range []string{"cheap@example.com", "nobody@example.com"} {
		if fastest[who] < real/2 {
			t.Errorf("%s: a wrong password takes %v, against %v for an account at the store's cost", who, fastest[who], real)
		}
	}
}
