package store

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSignInReads is what the Notification Server reads from the
// store for one sign-in (SignInAccount, Contacts, the SYN's ListVersion,
// OfflineWaiting, and OfflineMessages when some wait; MD5Secret for MD5),
// each read alone, beside Account and LastAccountEvent, which
// SignInAccount reads in one statement, for an empty list and for 20
// contacts, a third of them in a group. cpu-ns/op is the process's CPU
// time (the database's too, for SQLite), which a loaded machine inflates
// less than the wall time.
func BenchmarkSignInReads(b *testing.B) {
	for _, list := range []int{0, 20} {
		b.Run(fmt.Sprintf("list=%d", list), func(b *testing.B) {
			eachEngineB(b, func(b *testing.B, e engine) { benchmarkSignInReads(b, e, list) })
		})
	}
}

func benchmarkSignInReads(b *testing.B, e engine, list int) {
	ctx := context.Background()
	s := e.newTest(b)
	mustCreate(b, s, "owner@example.com")
	if list > 0 {
		seedForward(b, s, "owner@example.com", "c", list)
		g, _, err := s.AddGroup(ctx, "owner@example.com", "Friends")
		if err != nil {
			b.Fatal(err)
		}
		err = s.exec(ctx, `
			INSERT INTO group_members (contact, grp)
			SELECT c.id, g.id FROM contacts c JOIN contact_groups g ON g.owner = c.owner
			WHERE g.guid = $1 AND c.id % 3 = 0`, g.GUID)
		if err != nil {
			b.Fatal(err)
		}
	}
	reads := []struct {
		name string
		read func() error
	}{
		{"Account", func() error { _, err := s.Account(ctx, "owner@example.com"); return err }},
		{"ListVersion", func() error { _, err := s.ListVersion(ctx, "owner@example.com"); return err }},
		{"MD5Secret", func() error { _, err := s.MD5Secret(ctx, "owner@example.com"); return err }},
		{"Contacts", func() error {
			cs, _, err := s.Contacts(ctx, "owner@example.com")
			if err == nil && len(cs) != list {
				err = fmt.Errorf("%d contacts, want %d", len(cs), list)
			}
			return err
		}},
		{"LastAccountEvent", func() error { _, err := s.LastAccountEvent(ctx); return err }},
		{"SignInAccount", func() error { _, _, err := s.SignInAccount(ctx, "owner@example.com"); return err }},
		{"OfflineMessages", func() error { _, err := s.OfflineMessages(ctx, "owner@example.com"); return err }},
		{"OfflineWaiting", func() error { _, err := s.OfflineWaiting(ctx, "owner@example.com"); return err }},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu, n := cpuTime(), 0
			for b.Loop() {
				if err := r.read(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(n), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
