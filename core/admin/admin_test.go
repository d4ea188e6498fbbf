package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/admin"
	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/store"
)

const token = "test-token-0123456789"

// env is the admin API over a real SQLite store.
type env struct {
	st  store.Store
	srv *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "nudge.db"), store.Options{BcryptCost: 4})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	srv := httptest.NewServer(admin.Handler(st, token, zerolog.Nop()))
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &env{st: st, srv: srv}
}

// do sends a request with the admin token and returns the status and body.
func (e *env) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	return e.doAuth(t, method, path, body, "Bearer "+token)
}

func (e *env) doAuth(t *testing.T, method, path, body, auth string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// errorOf decodes an {"error": "..."} body.
func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not an {\"error\": ...} object", body)
	}
	return e.Error
}

func (e *env) create(t *testing.T, email, password, name string) admin.Account {
	t.Helper()
	body, _ := json.Marshal(admin.NewAccount{Email: email, Password: password, FriendlyName: name})
	code, resp := e.do(t, "POST", "/admin/v1/accounts", string(body))
	if code != http.StatusCreated {
		t.Fatalf("create %s: %d %s", email, code, resp)
	}
	var a admin.Account
	if err := json.Unmarshal([]byte(resp), &a); err != nil {
		t.Fatalf("create %s: %v in %q", email, err, resp)
	}
	return a
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, auth string }{
		{"no header", ""},
		{"wrong token", "Bearer wrong-token"},
		{"token prefix", "Bearer " + token[:len(token)-1]},
		{"token with suffix", "Bearer " + token + "x"},
		{"no scheme", token},
		{"basic", "Basic " + token},
		{"empty bearer", "Bearer "},
	} {
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/admin/v1/accounts", ""},
			{"POST", "/admin/v1/accounts", `{"email":"eve@example.com","password":"pw"}`},
			{"DELETE", "/admin/v1/accounts/eve@example.com", ""},
			{"GET", "/admin/v1/nothing-here", ""}, // no route disclosure either
		} {
			req, _ := http.NewRequest(r.method, e.srv.URL+r.path, strings.NewReader(r.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: %s %s = %d, want 401", tc.name, r.method, r.path, resp.StatusCode)
				continue
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: 401 without a Bearer WWW-Authenticate header", tc.name)
			}
			errorOf(t, string(b))
		}
	}
	// Nothing was created by the refused POSTs.
	if _, err := e.st.Account(context.Background(), "eve@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused POST made an account: %v", err)
	}
}

// An empty token locks the API instead of opening it.
func TestEmptyTokenRefusesEverything(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "nudge.db"), store.Options{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(admin.Handler(st, "", zerolog.Nop()))
	defer srv.Close()
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		req, _ := http.NewRequest("GET", srv.URL+"/admin/v1/accounts", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("empty token, Authorization %q: %d, want 401", auth, resp.StatusCode)
		}
	}
}

func TestCreate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := time.Now().Add(-2 * time.Second)
	a := e.create(t, "Carol@Example.com", "pw1", "Carol")
	if a.Email != "carol@example.com" || a.FriendlyName != "Carol" {
		t.Errorf("created %+v; want the lower-cased handle and the name", a)
	}
	if a.Created.Before(before) || a.Created.After(time.Now().Add(2*time.Second)) {
		t.Errorf("created at %v; want about now", a.Created)
	}
	// The account signs in with that password, and only that one.
	if _, err := e.st.CheckPassword(ctx, "carol@example.com", "pw1"); err != nil {
		t.Errorf("CheckPassword with the new password: %v", err)
	}
	if _, err := e.st.CheckPassword(ctx, "carol@example.com", "pw2"); !errors.Is(err, store.ErrBadPassword) {
		t.Errorf("CheckPassword with a wrong password = %v, want ErrBadPassword", err)
	}
	// The MD5 login of MSNP2–7 works too.
	if sec, err := e.st.MD5Secret(ctx, "carol@example.com"); err != nil || sec.Salt == "" || sec.Digest == "" {
		t.Errorf("MD5Secret = %+v, %v", sec, err)
	}

	// Without a friendly name the account still gets one (the handle).
	b := e.create(t, "dave@example.com", "pw", "")
	if b.FriendlyName == "" {
		t.Errorf("created %+v with an empty friendly name", b)
	}
}

func TestCreateRejects(t *testing.T) {
	e := newEnv(t)
	e.create(t, "carol@example.com", "pw1", "Carol")
	for _, tc := range []struct {
		name, body string
		code       int
		mention    string
	}{
		{"duplicate", `{"email":"carol@example.com","password":"other"}`, http.StatusConflict, "exists"},
		{"duplicate in other case", `{"email":"CAROL@example.com","password":"other"}`, http.StatusConflict, "exists"},
		{"invalid email", `{"email":"not-an-address","password":"pw"}`, http.StatusBadRequest, "e-mail"},
		{"empty email", `{"email":"","password":"pw"}`, http.StatusBadRequest, "e-mail"},
		{"email with space", `{"email":"a b@example.com","password":"pw"}`, http.StatusBadRequest, "e-mail"},
		{"empty password", `{"email":"erin@example.com","password":""}`, http.StatusBadRequest, "password"},
		{"no password", `{"email":"erin@example.com"}`, http.StatusBadRequest, "password"},
		{"password too long", `{"email":"erin@example.com","password":"` + strings.Repeat("x", store.MaxPassword+1) + `"}`,
			http.StatusBadRequest, "password"},
		{"friendly name too long", `{"email":"erin@example.com","password":"pw","friendly_name":"` +
			strings.Repeat("n", store.MaxFriendly+1) + `"}`, http.StatusBadRequest, "name"},
		{"unknown field", `{"email":"erin@example.com","password":"pw","admin":true}`, http.StatusBadRequest, "admin"},
		{"misspelt field", `{"email":"erin@example.com","password":"pw","friendlyname":"Erin"}`, http.StatusBadRequest, "friendlyname"},
		{"not JSON", `email=erin@example.com&password=pw`, http.StatusBadRequest, "JSON"},
		{"wrong type", `{"email":"erin@example.com","password":123}`, http.StatusBadRequest, "password"},
		{"empty body", ``, http.StatusBadRequest, "JSON"},
	} {
		code, body := e.do(t, "POST", "/admin/v1/accounts", tc.body)
		if code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.code)
			continue
		}
		if msg := errorOf(t, body); !strings.Contains(msg, tc.mention) {
			t.Errorf("%s: error %q does not mention %q", tc.name, msg, tc.mention)
		}
	}
	// None of them changed the one account or made another.
	accts, err := e.st.Accounts(context.Background())
	if err != nil || len(accts) != 1 {
		t.Fatalf("accounts after rejected creates: %v, %v", accts, err)
	}
	if _, err := e.st.CheckPassword(context.Background(), "carol@example.com", "pw1"); err != nil {
		t.Errorf("a rejected duplicate changed the password: %v", err)
	}
}

func TestOversizeBody(t *testing.T) {
	e := newEnv(t)
	big := `{"email":"big@example.com","password":"pw","friendly_name":"` + strings.Repeat("x", 1<<20) + `"}`
	code, body := e.do(t, "POST", "/admin/v1/accounts", big)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body: %d %s, want 413", code, body)
	} else {
		errorOf(t, body)
	}
	code, body = e.do(t, "PUT", "/admin/v1/accounts/big@example.com/password", `{"password":"`+strings.Repeat("x", 1<<20)+`"}`)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB password body: %d %s, want 413", code, body)
	}
	if _, err := e.st.Account(context.Background(), "big@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an oversize body made an account: %v", err)
	}
}

func TestListAndGet(t *testing.T) {
	e := newEnv(t)

	// An empty service lists [] (not null), so clients can range over it.
	code, body := e.do(t, "GET", "/admin/v1/accounts", "")
	if code != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Errorf("empty list: %d %q, want 200 []", code, body)
	}

	e.create(t, "bob@example.com", "pw", "Bob")
	e.create(t, "alice@example.com", "pw", "Alice")
	code, body = e.do(t, "GET", "/admin/v1/accounts", "")
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	var list []admin.Account
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("list: %v in %s", err, body)
	}
	names := map[string]string{}
	for _, a := range list {
		names[a.Email] = a.FriendlyName
	}
	if len(list) != 2 || names["alice@example.com"] != "Alice" || names["bob@example.com"] != "Bob" {
		t.Errorf("list = %+v", list)
	}
	if strings.Contains(body, "password") || strings.Contains(body, "salt") || strings.Contains(body, "hash") {
		t.Errorf("the list shows secrets: %s", body)
	}

	code, body = e.do(t, "GET", "/admin/v1/accounts/Alice@Example.com", "")
	if code != http.StatusOK {
		t.Fatalf("get: %d %s", code, body)
	}
	var a admin.Account
	if err := json.Unmarshal([]byte(body), &a); err != nil || a.Email != "alice@example.com" || a.FriendlyName != "Alice" {
		t.Errorf("get = %+v, %v (%s)", a, err, body)
	}

	code, body = e.do(t, "GET", "/admin/v1/accounts/nobody@example.com", "")
	if code != http.StatusNotFound {
		t.Errorf("get of a missing account: %d %s, want 404", code, body)
	} else {
		errorOf(t, body)
	}
}

func TestPasswordChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "carol@example.com", "old-pw", "Carol")
	before, err := e.st.MD5Secret(ctx, "carol@example.com")
	if err != nil {
		t.Fatal(err)
	}

	code, body := e.do(t, "PUT", "/admin/v1/accounts/carol@example.com/password", `{"password":"new-pw"}`)
	if code != http.StatusNoContent {
		t.Fatalf("password change: %d %s, want 204", code, body)
	}
	if _, err := e.st.CheckPassword(ctx, "carol@example.com", "old-pw"); !errors.Is(err, store.ErrBadPassword) {
		t.Errorf("the old password still works: %v", err)
	}
	if _, err := e.st.CheckPassword(ctx, "carol@example.com", "new-pw"); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
	// MD5 logins follow the change too.
	if after, err := e.st.MD5Secret(ctx, "carol@example.com"); err != nil || after == before {
		t.Errorf("MD5 secret after the change = %+v, %v; want a new one", after, err)
	}

	for _, tc := range []struct {
		name, path, body string
		code             int
	}{
		{"missing account", "/admin/v1/accounts/nobody@example.com/password", `{"password":"x"}`, http.StatusNotFound},
		{"empty password", "/admin/v1/accounts/carol@example.com/password", `{"password":""}`, http.StatusBadRequest},
		{"unknown field", "/admin/v1/accounts/carol@example.com/password", `{"password":"x","old":"new-pw"}`, http.StatusBadRequest},
		{"too long", "/admin/v1/accounts/carol@example.com/password", `{"password":"` + strings.Repeat("p", store.MaxPassword+1) + `"}`, http.StatusBadRequest},
	} {
		code, body := e.do(t, "PUT", tc.path, tc.body)
		if code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.code)
		} else {
			errorOf(t, body)
		}
	}
	if _, err := e.st.CheckPassword(ctx, "carol@example.com", "new-pw"); err != nil {
		t.Errorf("a rejected change touched the password: %v", err)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "carol@example.com", "pw", "Carol")
	e.create(t, "dave@example.com", "pw", "Dave")
	// Dave has Carol on his list: deleting Carol takes her off it.
	if _, err := e.st.AddToList(ctx, "dave@example.com", "carol@example.com", store.Forward, "Carol", ""); err != nil {
		t.Fatal(err)
	}

	code, body := e.do(t, "DELETE", "/admin/v1/accounts/Carol@example.com", "")
	if code != http.StatusNoContent || body != "" {
		t.Fatalf("delete: %d %q, want 204 and no body", code, body)
	}
	if code, _ := e.do(t, "GET", "/admin/v1/accounts/carol@example.com", ""); code != http.StatusNotFound {
		t.Errorf("get after delete: %d, want 404", code)
	}
	if _, err := e.st.CheckPassword(ctx, "carol@example.com", "pw"); err == nil {
		t.Error("a deleted account still signs in")
	}
	if l, err := e.st.Listed(ctx, "dave@example.com", "carol@example.com"); err != nil || l != 0 {
		t.Errorf("after delete, carol is on dave's lists %v (%v)", l, err)
	}
	code, body = e.do(t, "DELETE", "/admin/v1/accounts/carol@example.com", "")
	if code != http.StatusNotFound {
		t.Errorf("second delete: %d %s, want 404", code, body)
	}
	// The other account is untouched.
	if code, _ := e.do(t, "GET", "/admin/v1/accounts/dave@example.com", ""); code != http.StatusOK {
		t.Errorf("get of the other account after delete: %d", code)
	}
	// The handle is free again.
	e.create(t, "carol@example.com", "pw2", "Carol again")
}

func TestJSONContentType(t *testing.T) {
	e := newEnv(t)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/admin/v1/accounts", ""},
		{"POST", "/admin/v1/accounts", `{"email":"x@example.com","password":"pw"}`},
		{"GET", "/admin/v1/accounts/nobody@example.com", ""},
	} {
		req, _ := http.NewRequest(r.method, e.srv.URL+r.path, strings.NewReader(r.body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", r.method, r.path, ct)
		}
	}
}

func TestBatchAccounts(t *testing.T) {
	e := newEnv(t)
	st := e.st
	ctx := context.Background()
	c := adminapi.New(e.srv.URL, token)
	emails := []string{"b1@bench.example", "b2@bench.example", "b3@bench.example"}
	if err := c.CreateAccounts(ctx, adminapi.NewAccounts{Emails: emails, Password: "pw", BcryptCost: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CheckPassword(ctx, "b2@bench.example", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateAccounts(ctx, adminapi.NewAccounts{Emails: emails[:1], Password: "pw"}); !errors.Is(err, adminapi.ErrExists) {
		t.Fatalf("duplicate batch: %v", err)
	}
	if err := c.CreateAccounts(ctx, adminapi.NewAccounts{Password: "pw"}); err == nil {
		t.Fatal("empty batch accepted")
	}
	if err := c.DeleteAccounts(ctx, emails); err != nil {
		t.Fatal(err)
	}
	if accts, _ := c.Accounts(ctx); len(accts) != 0 {
		t.Fatalf("left %v", accts)
	}
	bad := adminapi.New(e.srv.URL, "wrong")
	if err := bad.DeleteAccounts(ctx, emails); !errors.Is(err, adminapi.ErrUnauthorized) {
		t.Fatalf("no token: %v", err)
	}
}

// A part that stops and starts again in one process (the bot host on a
// cluster node that hands the bots over and takes them back) registers its
// routes again: the newer handler answers, and nothing panics.
func TestHandleAgainReplaces(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "nudge.db"), store.Options{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	api := admin.New(st, token, zerolog.Nop())
	answer := func(s string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, s) })
	}
	api.Handle("POST /admin/v1/part/reload", answer("first"))
	api.Handle("POST /admin/v1/part/reload", answer("second"))
	srv := httptest.NewServer(api)
	defer srv.Close()
	e := &env{st: st, srv: srv}
	if code, body := e.do(t, http.MethodPost, "/admin/v1/part/reload", ""); code != http.StatusOK || body != "second" {
		t.Fatalf("got %d %q, want 200 \"second\"", code, body)
	}
}
