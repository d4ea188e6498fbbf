package store

import (
	"context"
	"errors"
	"fmt"
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
