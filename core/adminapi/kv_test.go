package adminapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzKVPath: any key the client escapes reaches the server's router as
// that same key, whatever slashes, dots or escapes it holds; so does any
// namespace the store accepts (letters, digits and "-_.:").
func FuzzKVPath(f *testing.F) {
	mux := http.NewServeMux()
	var got string
	mux.HandleFunc("GET /admin/v1/kv/{namespace}/{key...}", func(w http.ResponseWriter, r *http.Request) {
		got = r.PathValue("namespace") + "\x00" + r.PathValue("key")
	})
	for _, k := range []string{"a", "a/b", "a//b", "/", ".", "..", "../x", "%2F", "a b", "é", "?x#y", "a/./b"} {
		f.Add("bot:echo", k)
	}
	f.Fuzz(func(t *testing.T, ns, key string) {
		if ns == "" || key == "" || strings.Trim(ns, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != "" {
			return
		}
		req, err := http.NewRequest(http.MethodGet, "http://x"+kvPath(ns, key), nil)
		if err != nil {
			t.Fatalf("kvPath(%q, %q) is not a URL: %v", ns, key, err)
		}
		got = ""
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || got != ns+"\x00"+key {
			t.Fatalf("kvPath(%q, %q) = %q reached the router as %q (status %d)", ns, key, kvPath(ns, key), got, rec.Code)
		}
	})
}
