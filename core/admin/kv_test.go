package admin_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/store"
)

// The key-value routes through their client, over real HTTP and SQLite.
func TestKVThroughTheClient(t *testing.T) {
	e := newEnv(t)
	c := adminapi.New(e.srv.URL, token)
	ctx := context.Background()

	if _, err := c.KVGet(ctx, "bot:echo", "missing"); !errors.Is(err, adminapi.ErrNotFound) {
		t.Fatalf("KVGet(missing) = %v, want ErrNotFound", err)
	}
	// Keys that a router could clean, redirect or split.
	keys := []string{"plain", "a/b", "a//b", "trailing/", "/lead", ".", "..", "../up", "sp ace", "é/ü", "100%", "q?x=1#f"}
	for i, k := range keys {
		v := []byte{byte(i), 0, 0xFF}
		if err := c.KVSet(ctx, "bot:echo", k, v); err != nil {
			t.Fatalf("KVSet(%q): %v", k, err)
		}
		got, err := c.KVGet(ctx, "bot:echo", k)
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("KVGet(%q) = %v, %v; want %v", k, got, err, v)
		}
		if direct, err := e.st.KVGet(ctx, "bot:echo", k); err != nil || !bytes.Equal(direct, v) {
			t.Fatalf("the store has %q = %v, %v", k, direct, err)
		}
	}
	all, err := c.KVList(ctx, "bot:echo", "")
	want := slices.Clone(keys)
	slices.Sort(want)
	if err != nil || !slices.Equal(all, want) {
		t.Fatalf("KVList = %q, %v; want %q", all, err, want)
	}
	if got, err := c.KVList(ctx, "bot:echo", "a/"); err != nil || !slices.Equal(got, []string{"a//b", "a/b"}) {
		t.Fatalf("KVList(a/) = %q, %v", got, err)
	}
	if got, err := c.KVList(ctx, "bot:none", ""); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("KVList of an empty namespace = %#v, %v; want an empty list", got, err)
	}
	if err := c.KVDelete(ctx, "bot:echo", "a//b"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.KVGet(ctx, "bot:echo", "a//b"); !errors.Is(err, adminapi.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := c.KVDelete(ctx, "bot:echo", "never-there"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}

	// The largest value passes; one byte more is refused with a reason.
	if err := c.KVSet(ctx, "bot:echo", "big", make([]byte, store.MaxKVValue)); err != nil {
		t.Fatalf("a value at the limit: %v", err)
	}
	var ae *adminapi.Error
	err = c.KVSet(ctx, "bot:echo", "big", make([]byte, store.MaxKVValue+1))
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, "64 KiB") {
		t.Fatalf("a value over the limit: %v", err)
	}
	err = c.KVSet(ctx, "bad namespace", "k", []byte("v"))
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("a bad namespace: %v", err)
	}
}

func TestKVNeedsTheToken(t *testing.T) {
	e := newEnv(t)
	c := adminapi.New(e.srv.URL, "wrong")
	if err := c.KVSet(context.Background(), "bot:echo", "k", []byte("v")); !errors.Is(err, adminapi.ErrUnauthorized) {
		t.Fatalf("KVSet with a wrong token = %v", err)
	}
	if code, _ := e.doAuth(t, "GET", "/admin/v1/kv/bot:echo", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("listing without a token: %d", code)
	}
}

func TestKVBadBody(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{`{"value": 5}`, `{"value": "not base64!"}`, `{"other": ""}`, `nope`} {
		code, resp := e.do(t, "PUT", "/admin/v1/kv/ns/k", body)
		if code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d %s", body, code, resp)
		}
	}
	big := `{"value": "` + strings.Repeat("A", store.MaxKVValue*2) + `"}`
	if code, _ := e.do(t, "PUT", "/admin/v1/kv/ns/k", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a huge body: %d, want 413", code)
	}
}
