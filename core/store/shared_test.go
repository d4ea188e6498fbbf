package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A sign-in ticket is taken once, however many nodes try at once; a
// service ticket is read as often as wanted; neither outlives its time.
func TestSharedTickets(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := e.newTest(t).(Shared)
		soon := time.Now().Add(time.Minute)
		if err := s.PutTicket(ctx, Ticket{Ticket: "T1", Email: "Alice@Example.com", Expires: soon}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeTicket(ctx, "T1", "mallory@example.com", false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ticket taken by another address: %v", err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if tk, err := s.TakeTicket(ctx, "T1", "alice@example.com", false); err == nil && tk.Email == "alice@example.com" {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("ticket taken %d times", won.Load())
		}
		s.PutTicket(ctx, Ticket{Ticket: "K", Email: "a@b.c", Key: []byte("proof"), Expires: soon})
		if _, err := s.TakeTicket(ctx, "K", "a@b.c", false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("keyed ticket taken without its key: %v", err)
		}
		if tk, err := s.TakeTicket(ctx, "K", "a@b.c", true); err != nil || string(tk.Key) != "proof" {
			t.Fatalf("keyed ticket: %+v %v", tk, err)
		}
		s.PutTicket(ctx, Ticket{Ticket: "OLD", Email: "a@b.c", Expires: time.Now().Add(-time.Second)})
		if _, err := s.TakeTicket(ctx, "OLD", "a@b.c", false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired ticket: %v", err)
		}
		s.PutTicket(ctx, Ticket{Ticket: "S", Email: "a@b.c", Domains: []string{"contacts.msn.com", "messenger.msn.com"}, Expires: soon})
		for range 2 {
			if tk, err := s.Ticket(ctx, "S"); err != nil || len(tk.Domains) != 2 || tk.Email != "a@b.c" {
				t.Fatalf("service ticket: %+v %v", tk, err)
			}
		}
		if _, err := s.TakeTicket(ctx, "S", "a@b.c", false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a service ticket taken as a sign-in ticket: %v", err)
		}
		if _, err := s.Ticket(ctx, "K"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a used ticket read: %v", err)
		}
	})
}

// A lease has one holder; another gets it once the holder lets it expire
// or gives it up.
func TestLeases(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := e.newTest(t).(Shared)
		must := func(holder string, d time.Duration, want bool) {
			t.Helper()
			got, err := s.Lease(ctx, "extras", holder, d)
			if err != nil || got != want {
				t.Fatalf("Lease(%s) = %v, %v; want %v", holder, got, err, want)
			}
		}
		must("a", 300*time.Millisecond, true)
		must("b", time.Minute, false)
		must("a", 300*time.Millisecond, true) // renewed
		time.Sleep(400 * time.Millisecond)
		must("b", time.Minute, true) // a let it expire
		must("a", time.Minute, false)
		if err := s.ReleaseLease(ctx, "extras", "a"); err != nil { // not a's: nothing
			t.Fatal(err)
		}
		must("a", time.Minute, false)
		s.ReleaseLease(ctx, "extras", "b")
		must("a", time.Minute, true)
	})
}
