package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestBatchAccounts(t *testing.T) { eachEngine(t, testBatchAccounts) }

func testBatchAccounts(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	var emails []string
	for i := 0; i < 500; i++ {
		emails = append(emails, fmt.Sprintf("Load%03d@Bench.Example", i))
	}
	if err := s.CreateAccounts(ctx, emails, "shared", 4); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"load000@bench.example", "load499@bench.example"} {
		if a, err := s.CheckPassword(ctx, e, "shared"); err != nil || a.ListVersion != FirstListVersion {
			t.Fatalf("%s: %+v, %v", e, a, err)
		}
		if _, err := s.CheckPassword(ctx, e, "other"); !errors.Is(err, ErrBadPassword) {
			t.Fatalf("%s: wrong password accepted: %v", e, err)
		}
	}
	// One existing handle fails the whole batch.
	if err := s.CreateAccounts(ctx, []string{"new@bench.example", "load001@bench.example"}, "x", 4); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := s.Account(ctx, "new@bench.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed batch left an account: %v", err)
	}
	if err := s.CreateAccounts(ctx, []string{"not an email"}, "x", 4); !errors.Is(err, ErrInvalidEmail) {
		t.Fatalf("invalid email: %v", err)
	}
	if err := s.CreateAccounts(ctx, []string{"a@b.example"}, "x", 99); err == nil {
		t.Fatal("absurd cost accepted")
	}

	// Lists between batch accounts go with them.
	if _, err := s.AddToList(ctx, "load000@bench.example", "load001@bench.example", Forward, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccounts(ctx, append(emails[:250], "missing@bench.example")); err != nil {
		t.Fatal(err)
	}
	accts, err := s.Accounts(ctx)
	if err != nil || len(accts) != 250 {
		t.Fatalf("%d accounts left, %v", len(accts), err)
	}
}

func BenchmarkCreateAccounts1000(b *testing.B) { eachEngineB(b, benchmarkCreateAccounts1000) }

func benchmarkCreateAccounts1000(b *testing.B, e engine) {
	ctx := context.Background()
	s := e.newTest(b)
	for i := 0; b.Loop(); i++ {
		emails := make([]string, 1000)
		for j := range emails {
			emails[j] = fmt.Sprintf("b%d-%d@bench.example", i, j)
		}
		if err := s.CreateAccounts(ctx, emails, "pw", 4); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBatchContacts(t *testing.T) { eachEngine(t, testBatchContacts) }

// A batch of FL adds leaves the lists, counters and versions exactly as
// the same adds one at a time do.
func testBatchContacts(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	const n = 6
	names := func(set string) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s%d@bench.example", set, i))
		}
		return out
	}
	one, batch := names("one"), names("batch")
	if err := s.CreateAccounts(ctx, append(append([]string{}, one...), batch...), "pw", 4); err != nil {
		t.Fatal(err)
	}
	// Everyone in a set watches everyone else, and once more to see that
	// a pair already there is skipped.
	var pairs []ContactPair
	for i := range n {
		for j := range n {
			if i == j {
				continue
			}
			if _, err := s.AddToList(ctx, one[i], one[j], Forward, "", ""); err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, ContactPair{Owner: batch[i], Contact: strings.ToUpper(batch[j])})
		}
	}
	if err := s.AddContacts(ctx, append(pairs, pairs[0])); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		a1, err1 := s.Account(ctx, one[i])
		a2, err2 := s.Account(ctx, batch[i])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if a1.Sizes != a2.Sizes || a1.ListVersion != a2.ListVersion {
			t.Errorf("%s: sizes %+v version %d; one at a time: %+v %d", batch[i], a2.Sizes, a2.ListVersion, a1.Sizes, a1.ListVersion)
		}
		c1, _, err1 := s.Contacts(ctx, one[i])
		c2, _, err2 := s.Contacts(ctx, batch[i])
		if err1 != nil || err2 != nil || len(c1) != n-1 || len(c2) != n-1 {
			t.Fatalf("%s: %d contacts (%v), one at a time %d (%v)", batch[i], len(c2), err2, len(c1), err1)
		}
		for k := range c1 {
			if c1[k].Lists != c2[k].Lists {
				t.Errorf("%s: %s on %v; one at a time %v", batch[i], c2[k].Email, c2[k].Lists, c1[k].Lists)
			}
		}
	}

	// An unknown account fails the whole batch.
	extra := []ContactPair{{Owner: one[0], Contact: batch[0]}, {Owner: one[0], Contact: "nobody@bench.example"}}
	if err := s.AddContacts(ctx, extra); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown contact: %v", err)
	}
	if l := listed(t, s, one[0], batch[0]); l != 0 {
		t.Fatalf("a failed batch left %v", l)
	}
}
