package passport

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/throttle"
)

// TestPassportGuessingThrottled: wrong passwords on login2.srf and RST.srf
// count together; past the limit even the right password is refused, with
// the endpoint's own failure answer and a Retry-After header.
func TestPassportGuessingThrottled(t *testing.T) {
	g := throttle.NewGuard(throttle.GuardConfig{
		Address: throttle.Policy{Free: 1, Delay: time.Millisecond, MaxDelay: 5 * time.Millisecond, RefuseAfter: 3, RefuseFor: time.Hour},
		Account: throttle.Policy{Free: 100},
		Log:     zerolog.New(io.Discard),
	})
	srv := httptest.NewServer(Handler(Config{Auth: testAuth, Tickets: NewTickets(time.Minute), SignIn: g}))
	t.Cleanup(srv.Close)

	login := func(password string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/login2.srf", nil)
		req.Header.Set("Authorization", authHeader(testEmail, password))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	rst := func(password string) (string, *http.Response) {
		resp, err := http.Post(srv.URL+"/RST.srf", "text/xml", strings.NewReader(rstBody(testEmail, password, "messenger.msn.com")))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp
	}

	if resp := login("wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %s", resp.Status)
	}
	if body, _ := rst("wrong"); !strings.Contains(body, "FailedAuthentication") {
		t.Fatalf("wrong RST password: %s", body)
	}
	if resp := login("wrong"); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("third wrong password: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	resp := login(testPassword)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), "da-status=failed") {
		t.Fatalf("right password after the limit: %s %v, want 401 with Retry-After", resp.Status, resp.Header)
	}
	body, resp := rst(testPassword)
	if !strings.Contains(body, "FailedAuthentication") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("right RST password after the limit: %s %v", body, resp.Header)
	}
}

// TestSignInDuringDatabaseOutage: a password the database could not check
// is answered 503 with Retry-After on login2.srf and RST.srf, not as a
// wrong password, and does not count against the account or the address:
// once the database is back, the right password signs in at once.
func TestSignInDuringDatabaseOutage(t *testing.T) {
	g := throttle.NewGuard(throttle.GuardConfig{
		Address: throttle.Policy{Free: 1, Delay: time.Millisecond, MaxDelay: 5 * time.Millisecond, RefuseAfter: 2, RefuseFor: time.Hour},
		Account: throttle.Policy{Free: 1, Delay: time.Millisecond, MaxDelay: 5 * time.Millisecond, RefuseAfter: 2, RefuseFor: time.Hour},
		Log:     zerolog.New(io.Discard),
	})
	var down atomic.Bool
	auth := AuthFunc(func(ctx context.Context, email, password string) error {
		if down.Load() {
			return fmt.Errorf("store: %w", &net.OpError{Op: "dial", Net: "unix", Err: syscall.ECONNREFUSED})
		}
		return testAuth(ctx, email, password)
	})
	srv := httptest.NewServer(Handler(Config{Auth: auth, Tickets: NewTickets(time.Minute), SignIn: g}))
	t.Cleanup(srv.Close)
	login := func() *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/login2.srf", nil)
		req.Header.Set("Authorization", authHeader(testEmail, testPassword))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	down.Store(true)
	for range 5 {
		if resp := login(); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("login2.srf with the database down: %s %v, want 503 with Retry-After", resp.Status, resp.Header)
		}
		resp, err := http.Post(srv.URL+"/RST.srf", "text/xml", strings.NewReader(rstBody(testEmail, testPassword, "messenger.msn.com")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("RST.srf with the database down: %s %v, want 503 with Retry-After", resp.Status, resp.Header)
		}
	}
	down.Store(false)
	if resp := login(); resp.StatusCode != http.StatusOK {
		t.Fatalf("login2.srf once the database is back: %s, want 200", resp.Status)
	}
}
