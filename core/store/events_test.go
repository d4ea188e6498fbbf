package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAccountEvents(t *testing.T) { eachEngine(t, testAccountEvents) }

func testAccountEvents(t *testing.T, e engine) {
	ctx := context.Background()
	at := e.fresh(t)
	s := e.openTest(t, at)
	defer s.Close()
	// Another process on the same database: `nudge user`, or another node.
	other := e.openTest(t, at)
	defer other.Close()

	if seq, err := s.LastAccountEvent(ctx); err != nil || seq != 0 {
		t.Fatalf("LastAccountEvent on a new database = %d, %v", seq, err)
	}
	for _, a := range []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"} {
		mustCreate(t, s, a)
	}
	if a, seq, err := s.SignInAccount(ctx, "Alice@Example.com"); err != nil || a.Email != "alice@example.com" || seq != 0 {
		t.Fatalf("SignInAccount before any event = %+v, %d, %v", a, seq, err)
	}
	if err := other.SetPassword(ctx, "Alice@Example.com", "new"); err != nil {
		t.Fatal(err)
	}
	if err := other.DeleteAccount(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccounts(ctx, []string{"carol@example.com", "nobody@example.com", "dave@example.com"}); err != nil {
		t.Fatal(err)
	}
	// Failed changes record nothing; neither do other changes.
	wantErr(t, "password of nobody", s.SetPassword(ctx, "nobody@example.com", "x"), ErrNotFound)
	wantErr(t, "delete nobody", s.DeleteAccount(ctx, "nobody@example.com"), ErrNotFound)
	mustCreate(t, s, "erin@example.com")
	if _, err := s.SetFriendlyName(ctx, "erin@example.com", "Erin"); err != nil {
		t.Fatal(err)
	}

	evs, err := s.AccountEvents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []AccountEvent{
		{Email: "alice@example.com", Kind: PasswordChanged},
		{Email: "bob@example.com", Kind: AccountDeleted},
		{Email: "carol@example.com", Kind: AccountDeleted},
		{Email: "dave@example.com", Kind: AccountDeleted},
	}
	if len(evs) != len(want) {
		t.Fatalf("AccountEvents = %+v, want %+v", evs, want)
	}
	for i, ev := range evs {
		if ev.Email != want[i].Email || ev.Kind != want[i].Kind || (i > 0 && ev.Seq <= evs[i-1].Seq) {
			t.Fatalf("AccountEvents = %+v, want %+v in increasing seq", evs, want)
		}
	}
	last, err := other.LastAccountEvent(ctx)
	if err != nil || last != evs[3].Seq {
		t.Fatalf("LastAccountEvent = %d, %v; want %d", last, err, evs[3].Seq)
	}
	// What a sign-in reads is the account and the same newest event.
	a, seq, err := s.SignInAccount(ctx, "erin@example.com")
	if want, _ := s.Account(ctx, "erin@example.com"); err != nil || a != want || seq != last {
		t.Fatalf("SignInAccount = %+v, %d, %v; want %+v, %d", a, seq, err, want, last)
	}
	if _, _, err := s.SignInAccount(ctx, "bob@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SignInAccount of a deleted account: %v, want ErrNotFound", err)
	}
	if later, err := other.AccountEvents(ctx, evs[1].Seq); err != nil || len(later) != 2 || later[0] != evs[2] {
		t.Fatalf("AccountEvents after %d = %+v, %v", evs[1].Seq, later, err)
	}

	// A number is never handed out twice, even once old events are gone.
	if err := s.exec(ctx, `DELETE FROM account_events`); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, "erin@example.com", "pw"); err != nil {
		t.Fatal(err)
	}
	if evs, err := s.AccountEvents(ctx, last); err != nil || len(evs) != 1 || evs[0].Seq <= last {
		t.Fatalf("after pruning: %+v, %v (last was %d)", evs, err, last)
	}
}

func TestWatchAccounts(t *testing.T) { eachEngine(t, testWatchAccounts) }

func testWatchAccounts(t *testing.T, e engine) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	at := e.fresh(t)
	// Closed after the watchers stop (cleanups run last-registered first).
	s := e.openTest(t, at)
	t.Cleanup(func() { s.Close() })
	other := e.openTest(t, at)
	t.Cleanup(func() { other.Close() })
	for _, a := range []string{"alice@example.com", "bob@example.com", "carol@example.com"} {
		mustCreate(t, s, a)
	}
	if err := s.SetPassword(ctx, "carol@example.com", "before the watch"); err != nil {
		t.Fatal(err)
	}
	since, err := s.LastAccountEvent(ctx)
	if err != nil {
		t.Fatal(err)
	}

	got := make(chan AccountEvent, 10)
	watch := func(st Store, poll time.Duration) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			WatchAccounts(ctx, st, since, poll, func(ev AccountEvent) { got <- ev }, func(err error) {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("watch: %v", err)
				}
			})
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
	next := func(what string) AccountEvent {
		t.Helper()
		select {
		case ev := <-got:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no event", what)
			return AccountEvent{}
		}
	}

	// This process's own change wakes its watcher at once: with an hour
	// between looks, only the bell can deliver it within the test.
	watch(s, time.Hour)
	if err := s.DeleteAccount(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if ev := next("own change"); ev.Email != "alice@example.com" || ev.Kind != AccountDeleted || ev.Seq <= since {
		t.Fatalf("own change: %+v", ev)
	}

	// Another process's change is found by looking.
	watch(other, 20*time.Millisecond)
	if ev := next("other's view of the own change"); ev.Email != "alice@example.com" {
		t.Fatalf("second watcher: %+v", ev)
	}
	if err := s.SetPassword(ctx, "bob@example.com", "new"); err != nil {
		t.Fatal(err)
	}
	evs := []AccountEvent{next("a"), next("b")}
	for _, ev := range evs {
		if ev.Email != "bob@example.com" || ev.Kind != PasswordChanged {
			t.Fatalf("both watchers: %+v", evs)
		}
	}
}
