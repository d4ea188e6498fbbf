package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

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
// once, through two Stores on the same file (the server and a CLI command),
// then checks that FL and RL still mirror each other and that no version
// was handed out twice. Run it with -race.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nudge.db")
	s1 := openTest(t, path)
	defer s1.Close()
	s2 := openTest(t, path)
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
		s := s1
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

func randomOp(ctx context.Context, s *SQLite, r *rand.Rand, emails []string, log *versionLog) error {
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
	switch r.IntN(10) {
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
	default:
		_, _, err := s.Contacts(ctx, owner)
		return err
	}
}

// checkMirror verifies the invariant the store keeps: a has b on FL exactly
// when b has a on RL, and Watchers agrees.
func checkMirror(t *testing.T, s *SQLite, emails []string) {
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
		}
	}
}

// Benchmarks. Writes are real commits (WAL, synchronous=FULL), so they
// measure the disk's fsync as much as the code.

func BenchmarkAddToList(b *testing.B) {
	ctx := context.Background()
	s := newTest(b)
	mustCreate(b, s, "owner@example.com")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.AddToList(ctx, "owner@example.com", fmt.Sprintf("h%d@example.com", i), Allow, "", ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddRemoveForward(b *testing.B) {
	ctx := context.Background()
	s := newTest(b)
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

// fullList makes an owner with MaxForward contacts, a third of them in a
// group, and returns the contacts.
func fullList(b *testing.B, s *SQLite) []string {
	ctx := context.Background()
	mustCreate(b, s, "owner@example.com")
	emails := seedForward(b, s, "owner@example.com", "c", MaxForward)
	g, _, err := s.AddGroup(ctx, "owner@example.com", "Friends")
	if err != nil {
		b.Fatal(err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO group_members (contact, grp)
			SELECT c.id, g.id FROM contacts c JOIN contact_groups g ON g.owner = c.owner
			WHERE g.guid = ? AND c.id % 3 = 0`, g.GUID)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return emails
}

func BenchmarkContacts600(b *testing.B) {
	ctx := context.Background()
	s := newTest(b)
	fullList(b, s)
	b.ReportAllocs()
	for b.Loop() {
		cs, _, err := s.Contacts(ctx, "owner@example.com")
		if err != nil || len(cs) != MaxForward {
			b.Fatal(len(cs), err)
		}
	}
}

func BenchmarkListed(b *testing.B) {
	ctx := context.Background()
	s := newTest(b)
	emails := fullList(b, s)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if l, err := s.Listed(ctx, "owner@example.com", emails[i%len(emails)]); err != nil || l != Forward {
			b.Fatal(l, err)
		}
	}
}

func BenchmarkListedParallel(b *testing.B) {
	ctx := context.Background()
	s := newTest(b)
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
func BenchmarkWatchers(b *testing.B) {
	ctx := context.Background()
	s := newTest(b)
	mustCreate(b, s, "star@example.com")
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	err := s.write(ctx, func(tx *sql.Tx) error {
		star, err := accountRef(ctx, tx, "star@example.com")
		if err != nil {
			return err
		}
		for i := range MaxForward {
			e := fmt.Sprintf("fan%04d@example.com", i)
			var id int64
			if err := tx.QueryRowContext(ctx, `
				INSERT INTO accounts (email, friendly_name, password_hash, md5_salt, md5_digest, created)
				VALUES (?, ?, ?, '1.1', '', 0) RETURNING id`, e, "Fan "+e, hash).Scan(&id); err != nil {
				return err
			}
			if _, err := setBits(ctx, tx, id, "star@example.com", Forward, "Star", false); err != nil {
				return err
			}
			if _, err := setBits(ctx, tx, star.id, e, Reverse, "Fan", false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
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
