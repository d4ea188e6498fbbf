package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// expected are the errors random operations may legitimately meet.
var expected = []error{
	ErrAlreadyOnList, ErrNotOnList, ErrOppositeList, ErrAlreadyInGroup, ErrNotInGroup,
	ErrNoSuchGroup, ErrGroupExists, ErrSameValue, ErrTooManyGroups,
}

func isExpected(err error) bool {
	for _, e := range expected {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// versionLog records every list version a call returned; two calls must
// never get the same version for the same account.
type versionLog struct {
	mu   sync.Mutex
	seen map[string]bool
	dups []string
}

func (l *versionLog) add(email string, v int64) {
	key := fmt.Sprint(email, "#", v)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[key] {
		l.dups = append(l.dups, key)
	}
	l.seen[key] = true
}

// TestConcurrent runs many goroutines changing and reading the same lists at
// once, through two Stores on the same database (the server and a CLI
// command, or two service nodes), then checks that FL and RL still mirror
// each other and that no version was handed out twice. Run it with -race.
func TestConcurrent(t *testing.T) { eachEngine(t, testConcurrent) }

func testConcurrent(t *testing.T, e engine) {
	ctx := context.Background()
	at := e.fresh(t)
	s1 := e.openTest(t, at)
	defer s1.Close()
	s2 := e.openTest(t, at)
	defer s2.Close()

	const users, workers, ops = 12, 16, 60
	emails := make([]string, users)
	for i := range emails {
		emails[i] = mustCreate(t, s1, fmt.Sprintf("u%02d@example.com", i)).Email
	}
	log := &versionLog{seen: map[string]bool{}}

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		var s Store = s1
		if w%4 == 0 {
			s = s2
		}
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 42))
			for range ops {
				if err := randomOp(ctx, s, r, emails, log); err != nil && !isExpected(err) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(log.dups) > 0 {
		t.Errorf("versions handed out twice: %v", log.dups)
	}
	checkMirror(t, s1, emails)
}

func randomOp(ctx context.Context, s Store, r *rand.Rand, emails []string, log *versionLog) error {
	owner, contact := emails[r.IntN(len(emails))], emails[r.IntN(len(emails))]
	logChange := func(ch Change, err error) error {
		if err == nil {
			log.add(owner, ch.Version)
			if ch.Reverse && contact != owner {
				log.add(contact, ch.ReverseVersion)
			}
		}
		return err
	}
	logVersion := func(v int64, err error) error {
		if err == nil {
			log.add(owner, v)
		}
		return err
	}
	switch r.IntN(13) {
	case 0, 1:
		return logChange(s.AddToList(ctx, owner, contact, Forward, "", ""))
	case 2:
		return logChange(s.RemoveFromList(ctx, owner, contact, Forward, ""))
	case 3:
		l := []List{Allow, Block}[r.IntN(2)]
		if r.IntN(2) == 0 {
			return logChange(s.AddToList(ctx, owner, contact, l, "", ""))
		}
		return logChange(s.RemoveFromList(ctx, owner, contact, l, ""))
	case 4:
		g, v, err := s.AddGroup(ctx, owner, fmt.Sprint("g", r.IntN(3)))
		if err := logVersion(v, err); err != nil {
			return err
		}
		return logChange(s.AddToList(ctx, owner, contact, Forward, "", g.GUID))
	case 5:
		_, gs, err := s.Contacts(ctx, owner)
		if err != nil || len(gs) == 0 {
			return err
		}
		return logVersion(s.RemoveGroup(ctx, owner, gs[r.IntN(len(gs))].GUID))
	case 6:
		return logVersion(s.SetFriendlyName(ctx, owner, fmt.Sprint("name ", r.IntN(1000))))
	case 7:
		_, err := s.Listed(ctx, owner, contact)
		return err
	case 8:
		_, err := s.Watchers(ctx, contact)
		return err
	case 9:
		return logChange(s.RemoveFromList(ctx, owner, contact, Pending, ""))
	case 10:
		// (The version of an annotation that was already set is the
		// current one, not a new one: not logged.)
		_, err := s.Annotate(ctx, owner, contact, map[string]string{"AB.NickName": fmt.Sprint(r.IntN(3))})
		return err
	case 11:
		_, err := s.AddressBook(ctx, owner, time.Now().Add(-time.Minute))
		return err
	default:
		_, _, err := s.Contacts(ctx, owner)
		return err
	}
}

// checkMirror verifies the invariant the store keeps: a has b on FL exactly
// when b has a on RL, and Watchers agrees.
func checkMirror(t *testing.T, s Store, emails []string) {
	t.Helper()
	ctx := context.Background()
	for _, a := range emails {
		watchers, err := s.Watchers(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		w := map[string]bool{}
		for _, c := range watchers {
			w[c.Email] = true
		}
		for _, b := range emails {
			ab, ba := listed(t, s, a, b), listed(t, s, b, a)
			if ab&Forward != 0 != (ba&Reverse != 0) {
				t.Errorf("%s lists %s on %05b but %s lists %s on %05b", a, b, ab, b, a, ba)
			}
			if w[b] != (ba&Forward != 0) {
				t.Errorf("Watchers(%s) has %s: %v, but %s lists %s on %05b", a, b, w[b], b, a, ba)
			}
			if ab&Pending != 0 && ab&(Reverse|Allow|Block) != Reverse {
				t.Errorf("%s has %s pending on %05b", a, b, ab)
			}
		}
	}
	checkSizes(t, s, emails)
}

// Benchmarks, on every engine. Writes are real commits (SQLite: WAL,
// synchronous=FULL; PostgreSQL: fsync and synchronous_commit on), so they
// measure the disk's fsync as much as the code.

func BenchmarkAddToList(b *testing.B) { eachEngineB(b, benchmarkAddToList) }

func benchmarkAddToList(b *testing.B, e engine) {
	ctx := context.Background()
	s := e.newTest(b)
	mustCreate(b, s, "owner@example.com")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.AddToList(ctx, "owner@example.com", fmt.Sprintf("h%d@example.com", i), Allow, "", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddRemoveForward(b *testing.B) { eachEngineB(b, benchmarkAddRemoveForward) }

func benchmarkAddRemoveForward(b *testing.B, e engine) {
	ctx := context.Background()
	s := e.newTest(b)
	mustCreate(b, s, "owner@example.com")
	mustCreate(b, s, "other@example.com")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AddToList(ctx, "owner@example.com", "other@example.com", Forward, "", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := s.RemoveFromList(ctx, "owner@example.com", "other@example.com", Forward, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddForwardToPopular adds a watcher to, and takes it off, an
// account that others watch already: the time per change must not grow
// with the account's RL (the list sizes are counters; nothing counts rows).
func BenchmarkAddForwardToPopular(b *testing.B) {
	for _, rl := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprintf("rl=%d", rl), func(b *testing.B) {
			eachEngineB(b, func(b *testing.B, e engine) { benchmarkAddForwardToPopular(b, e, rl) })
		})
	}
}

func benchmarkAddForwardToPopular(b *testing.B, e engine, rl int) {
	ctx := context.Background()
	s := e.newTest(b)
	mustCreate(b, s, "popular@example.com")
	mustCreate(b, s, "new@example.com")
	watchers := make([]string, rl)
	pairs := make([]ContactPair, rl)
	for i := range watchers {
		watchers[i] = fmt.Sprintf("w%05d@example.com", i)
		pairs[i] = ContactPair{Owner: watchers[i], Contact: "popular@example.com"}
	}
	if rl > 0 {
		if err := s.CreateAccounts(ctx, watchers, "x", 4); err != nil {
			b.Fatal(err)
		}
		if err := s.AddContacts(ctx, pairs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AddToList(ctx, "new@example.com", "popular@example.com", Forward, "", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := s.RemoveFromList(ctx, "new@example.com", "popular@example.com", Forward, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// fullList makes an owner with MaxForward contacts, a third of them in a
// group, and returns the contacts.
func fullList(b *testing.B, s testStore) []string {
	ctx := context.Background()
	mustCreate(b, s, "owner@example.com")
	emails := seedForward(b, s, "owner@example.com", "c", MaxForward)
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
	return emails
}

func BenchmarkContacts600(b *testing.B) { eachEngineB(b, benchmarkContacts600) }

func benchmarkContacts600(b *testing.B, e engine) {
	ctx := context.Background()
	s := e.newTest(b)
	fullList(b, s)
	b.ReportAllocs()
	for b.Loop() {
		cs, _, err := s.Contacts(ctx, "owner@example.com")
		if err != nil || len(cs) != MaxForward {
			b.Fatal(len(cs), err)
		}
	}
}

func BenchmarkListed(b *testing.B) { eachEngineB(b, benchmarkListed) }

func benchmarkListed(b *testing.B, e engine) {
	ctx := context.Background()
	s := e.newTest(b)
	emails := fullList(b, s)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if l, err := s.Listed(ctx, "owner@example.com", emails[i%len(emails)]); err != nil || l != Forward {
			b.Fatal(l, err)
		}
	}
}

func BenchmarkListedParallel(b *testing.B) { eachEngineB(b, benchmarkListedParallel) }

func benchmarkListedParallel(b *testing.B, e engine) {
	ctx := context.Background()
	s := e.newTest(b)
	emails := fullList(b, s)
	b.ReportAllocs()
	b.ResetTimer() // RunParallel does not reset it the way b.Loop does
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Listed(ctx, "owner@example.com", emails[i%len(emails)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkWatchers: an account watched by MaxForward others (the presence
// fan-out of a popular user signing in).
func BenchmarkWatchers(b *testing.B) { eachEngineB(b, benchmarkWatchers) }

func benchmarkWatchers(b *testing.B, e engine) {
	ctx := context.Background()
	s := e.newTest(b)
	mustCreate(b, s, "star@example.com")
	fans := make([]string, MaxForward)
	for i := range fans {
		fans[i] = fmt.Sprintf("fan%04d@example.com", i)
	}
	if err := s.CreateAccounts(ctx, fans, "x", bcrypt.MinCost); err != nil {
		b.Fatal(err)
	}
	var rows []seedRow
	for _, f := range fans {
		rows = append(rows,
			seedRow{owner: f, handle: "star@example.com", lists: Forward, name: "Star"},
			seedRow{owner: "star@example.com", handle: f, lists: Reverse, name: "Fan"})
	}
	if err := s.seed(ctx, rows); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ws, err := s.Watchers(ctx, "star@example.com")
		if err != nil || len(ws) != MaxForward {
			b.Fatal(len(ws), err)
		}
	}
}

// TestReverseCapUnderConcurrency: many people add a popular account at once,
// through two Stores; exactly as many as its RL may hold get in, however
// the adds interleave.
func TestReverseCapUnderConcurrency(t *testing.T) { eachEngine(t, testReverseCapUnderConcurrency) }

func testReverseCapUnderConcurrency(t *testing.T, e engine) {
	ctx := context.Background()
	const maxReverse, fans = 5, 24
	at := e.fresh(t)
	opts := Options{BcryptCost: testOpts.BcryptCost, MaxReverse: maxReverse}
	s1 := e.openOpts(t, at, opts)
	defer s1.Close()
	s2 := e.openOpts(t, at, opts)
	defer s2.Close()
	emails := []string{"star@example.com"}
	for i := range fans {
		emails = append(emails, fmt.Sprintf("fan%02d@example.com", i))
	}
	if err := s1.CreateAccounts(ctx, emails, "pw", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan error, fans)
	for i, fan := range emails[1:] {
		s := Store(s1)
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			_, err := s.AddToList(ctx, fan, "star@example.com", Forward, "", "")
			results <- err
		})
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrListFull):
			t.Errorf("add: %v", err)
		}
	}
	ws, err := s1.Watchers(ctx, "star@example.com")
	if ok != maxReverse || err != nil || len(ws) != maxReverse {
		t.Fatalf("%d adds succeeded and star has %d watchers (%v); want %d", ok, len(ws), err, maxReverse)
	}
	checkMirror(t, s1, emails)
}

// TestKVFullUnderConcurrency: new keys race for a namespace's last places;
// exactly as many as there are places get them.
func TestKVFullUnderConcurrency(t *testing.T) { eachEngine(t, testKVFullUnderConcurrency) }

func testKVFullUnderConcurrency(t *testing.T, e engine) {
	ctx := context.Background()
	const free, writers = 3, 12
	at := e.fresh(t)
	s1 := e.openTest(t, at)
	defer s1.Close()
	s2 := e.openTest(t, at)
	defer s2.Close()
	if err := s1.fillKV(ctx, "ns", MaxKVKeys-free); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan error, writers)
	for i := range writers {
		s := Store(s1)
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() { results <- s.KVSet(ctx, "ns", fmt.Sprintf("new%02d", i), []byte("v")) })
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrKVFull):
			t.Errorf("KVSet: %v", err)
		}
	}
	keys, err := s1.KVList(ctx, "ns", "")
	if ok != free || err != nil || len(keys) != MaxKVKeys {
		t.Fatalf("%d new keys stored, namespace holds %d (%v); want %d and %d", ok, len(keys), err, free, MaxKVKeys)
	}
}

// TestDeleteWhileChanging deletes and re-creates accounts while others
// add and remove them: whatever the order, no list is left naming a
// deleted account on FL or RL, no group keeps a member that left FL, and FL
// and RL still mirror each other. On PostgreSQL this is where a deletion
// and an add can deadlock (and are run again). (Versions are TestConcurrent's:
// a re-created account counts from 0 again, so they cannot be compared here.)
func TestDeleteWhileChanging(t *testing.T) { eachEngine(t, testDeleteWhileChanging) }

func testDeleteWhileChanging(t *testing.T, e engine) {
	ctx := context.Background()
	at := e.fresh(t)
	s1 := e.openTest(t, at)
	defer s1.Close()
	s2 := e.openTest(t, at)
	defer s2.Close()

	const users, workers, ops = 10, 8, 50
	emails := make([]string, users)
	for i := range emails {
		emails[i] = fmt.Sprintf("u%02d@example.com", i)
	}
	if err := s1.CreateAccounts(ctx, emails, "pw", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	log := &versionLog{seen: map[string]bool{}}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := Store(s1)
		if w%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range ops {
				var err error
				if w < 2 {
					// Deleters: a deleted account comes back at once.
					victim := emails[r.IntN(users)]
					if err = s.DeleteAccount(ctx, victim); err == nil {
						_, err = s.CreateAccount(ctx, victim, "pw", "")
					}
				} else {
					err = randomOp(ctx, s, r, emails, log)
				}
				if err != nil && !isExpected(err) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrExists) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var live []string
	for _, em := range emails {
		if _, err := s1.Account(ctx, em); err == nil {
			live = append(live, em)
		}
	}
	checkMirror(t, s1, live)
	for _, q := range []string{
		// FL and RL entries naming a handle with no account.
		`SELECT count(*) FROM contacts c WHERE lists & 9 <> 0
		 AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.email = c.email)`,
		// Group memberships of entries no longer on FL.
		`SELECT count(*) FROM group_members m JOIN contacts c ON c.id = m.contact WHERE c.lists & 1 = 0`,
		`SELECT count(*) FROM contacts WHERE lists = 0`,
	} {
		if n, err := s1.count(ctx, q); err != nil || n != 0 {
			t.Errorf("%s = %d, %v", q, n, err)
		}
	}
}

// BenchmarkContendedAdd: goroutines add and remove contacts on the same
// account's FL at once, so every change waits for the one before it (one
// version counter, one RL cap). It measures how each engine queues
// conflicting changes.
func BenchmarkContendedAdd(b *testing.B) { eachEngineB(b, benchmarkContendedAdd) }

func benchmarkContendedAdd(b *testing.B, e engine) {
	ctx := context.Background()
	s := e.newTest(b)
	const hub = "hub@example.com"
	var contacts []string
	for i := range 64 {
		contacts = append(contacts, fmt.Sprintf("w%02d@example.com", i))
	}
	if err := s.CreateAccounts(ctx, append([]string{hub}, contacts...), "pw", bcrypt.MinCost); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		me := contacts[next.Add(1)-1]
		for pb.Next() {
			if _, err := s.AddToList(ctx, hub, me, Forward, "", ""); err != nil {
				b.Error(err)
				return
			}
			if _, err := s.RemoveFromList(ctx, hub, me, Forward, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
