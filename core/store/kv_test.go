package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestKVSetGetDelete(t *testing.T) { eachEngine(t, testKVSetGetDelete) }

func testKVSetGetDelete(t *testing.T, e engine) {
	s := e.newTest(t)
	ctx := context.Background()
	if _, err := s.KVGet(ctx, "bot:echo", "missing"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("KVGet(missing) = %v, want ErrNoKey", err)
	}
	if err := s.KVSet(ctx, "bot:echo", "greeting", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.KVGet(ctx, "bot:echo", "greeting"); err != nil || string(v) != "hello" {
		t.Fatalf("KVGet = %q, %v", v, err)
	}
	// Replacing a value.
	if err := s.KVSet(ctx, "bot:echo", "greeting", []byte("bonjour")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.KVGet(ctx, "bot:echo", "greeting"); string(v) != "bonjour" {
		t.Fatalf("after replace KVGet = %q", v)
	}
	// Namespaces are separate.
	if _, err := s.KVGet(ctx, "bot:other", "greeting"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("another namespace sees the key: %v", err)
	}
	// An empty value is a value.
	if err := s.KVSet(ctx, "bot:echo", "empty", nil); err != nil {
		t.Fatal(err)
	}
	if v, err := s.KVGet(ctx, "bot:echo", "empty"); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("KVGet(empty) = %v, %v; want an empty, non-nil value", v, err)
	}
	// Binary values come back byte for byte.
	bin := []byte{0, 1, 2, 0xFF, 0xFE, '\n'}
	if err := s.KVSet(ctx, "bot:echo", "bin", bin); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.KVGet(ctx, "bot:echo", "bin"); !bytes.Equal(v, bin) {
		t.Fatalf("binary value = %v, want %v", v, bin)
	}
	if err := s.KVDelete(ctx, "bot:echo", "greeting"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KVGet(ctx, "bot:echo", "greeting"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.KVDelete(ctx, "bot:echo", "greeting"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
}

func TestKVListIsAPrefixRangeNotAPattern(t *testing.T) {
	eachEngine(t, testKVListIsAPrefixRangeNotAPattern)
}

func testKVListIsAPrefixRangeNotAPattern(t *testing.T, e engine) {
	s := e.newTest(t)
	ctx := context.Background()
	keys := []string{"reminder/1", "reminder/2", "reminder/10", "reminder%", "reminders", "Reminder/3",
		"remindex", "reminder_x", "é/1", "é/2", "z"}
	for _, k := range keys {
		if err := s.KVSet(ctx, "ns", k, []byte(k)); err != nil {
			t.Fatalf("KVSet(%q): %v", k, err)
		}
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"reminder/", []string{"reminder/1", "reminder/10", "reminder/2"}},
		{"reminder%", []string{"reminder%"}},  // % is not a wildcard
		{"reminder_", []string{"reminder_x"}}, // _ is not a wildcard
		{"Reminder", []string{"Reminder/3"}},  // case matters
		{"é", []string{"é/1", "é/2"}},
		{"", nil}, // every key
		{"nothing", []string{}},
	} {
		got, err := s.KVList(ctx, "ns", tc.prefix)
		if err != nil {
			t.Fatalf("KVList(%q): %v", tc.prefix, err)
		}
		want := tc.want
		if want == nil {
			want = slices.Clone(keys)
			slices.Sort(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("KVList(%q) = %q, want %q", tc.prefix, got, want)
		}
	}
}

func TestKVLimits(t *testing.T) { eachEngine(t, testKVLimits) }

func testKVLimits(t *testing.T, e engine) {
	s := e.newTest(t)
	ctx := context.Background()
	for _, tc := range []struct{ ns, key string }{
		{"", "k"}, {"ns", ""}, {"bad ns", "k"}, {"ns/x", "k"}, {strings.Repeat("n", MaxKVNamespace+1), "k"},
		{"ns", strings.Repeat("k", MaxKVKey+1)}, {"ns", "bad\xffutf8"}, {"ns", "nul\x00"},
	} {
		if err := s.KVSet(ctx, tc.ns, tc.key, []byte("v")); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("KVSet(%q, %q) = %v, want ErrInvalidKey", tc.ns, tc.key, err)
		}
		if _, err := s.KVGet(ctx, tc.ns, tc.key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("KVGet(%q, %q) = %v, want ErrInvalidKey", tc.ns, tc.key, err)
		}
	}
	if err := s.KVSet(ctx, "ns", strings.Repeat("k", MaxKVKey), make([]byte, MaxKVValue)); err != nil {
		t.Errorf("the largest key and value: %v", err)
	}
	if err := s.KVSet(ctx, "ns", "k", make([]byte, MaxKVValue+1)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("a value over the limit: %v", err)
	}
}

func TestKVNamespaceFull(t *testing.T) { eachEngine(t, testKVNamespaceFull) }

func testKVNamespaceFull(t *testing.T, e engine) {
	s := e.newTest(t)
	ctx := context.Background()
	// Fill the namespace in one transaction: MaxKVKeys commits, each with
	// an fsync, would make this test slow for nothing.
	if err := s.fillKV(ctx, "full", MaxKVKeys); err != nil {
		t.Fatal(err)
	}
	if err := s.KVSet(ctx, "full", "one-more", []byte("v")); !errors.Is(err, ErrKVFull) {
		t.Fatalf("KVSet into a full namespace = %v, want ErrKVFull", err)
	}
	// Replacing a key that is there still works, and so do other namespaces.
	if err := s.KVSet(ctx, "full", "k00000", []byte("new")); err != nil {
		t.Fatalf("replacing in a full namespace: %v", err)
	}
	if err := s.KVSet(ctx, "other", "k", []byte("v")); err != nil {
		t.Fatalf("another namespace: %v", err)
	}
}

// Values are on disk: a reopened database has them.
func TestKVSurvivesReopen(t *testing.T) { eachEngine(t, testKVSurvivesReopen) }

func testKVSurvivesReopen(t *testing.T, e engine) {
	at := e.fresh(t)
	s := e.openTest(t, at)
	if err := s.KVSet(context.Background(), "bot:helper", "reminder/1", []byte(`{"due":1}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = e.openTest(t, at)
	defer s.Close()
	if v, err := s.KVGet(context.Background(), "bot:helper", "reminder/1"); err != nil || string(v) != `{"due":1}` {
		t.Fatalf("after reopen KVGet = %q, %v", v, err)
	}
}

func TestPrefixEndUTF8(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"a", "b", true}, {"ab", "ac", true}, {"é", "ê", true}, {"a\x7f", "a\u0080", true},
		{"a\U0010FFFF", "b", true}, {"\U0010FFFF", "", false}, {"", "", false}, {"\uD7FF", "\uE000", true},
	} {
		got, ok := prefixEndUTF8(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("prefixEndUTF8(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
