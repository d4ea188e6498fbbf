package server_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/coretest/pgtest"
)

// A node of its own on PostgreSQL through an outage of the database:
// /healthz answers 503 with the reason on one line, an MSNP7 sign-in gets
// 501 at once, and both work again when PostgreSQL is back, without a
// restart of the service.
func TestDatabaseOutageHealthz(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL")
	}
	pg := pgtest.NewServer(t)
	srv := coretest.Start(t, coretest.WithoutChallenges(), coretest.WithConfig(func(c *config.Config) {
		c.Database.URL = pg.Database(t)
		c.Web.Enabled = false
	}))
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	health := func(url string, code int, want string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, body := get(t, http.DefaultClient, url+"/healthz", "")
			if got == code && strings.HasPrefix(body, want) {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("/healthz = %d %q, want %d %q", got, body, code, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// md5Start answers what the NS says to an MSNP7 client's USR I.
	md5Start := func() string {
		t.Helper()
		c, err := net.Dial("tcp", srv.NSAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		var last string
		for _, line := range []string{"VER 1 MSNP7 CVR0", "CVR 2 0x0409 win 4.10 i386 MSNMSGR 5.0.0544 MSMSGS alice@example.com",
			"USR 3 MD5 I alice@example.com"} {
			c.Write([]byte(line + "\r\n"))
			if last, err = r.ReadString('\n'); err != nil {
				t.Fatalf("after %q: %v", line, err)
			}
		}
		return strings.TrimSpace(last)
	}
	health(srv.HTTPURL, http.StatusOK, "ok\n")

	pg.Stop()
	// The operator port gives the driver's error, on one line; the
	// public port the same reason, without it (it names the database's
	// socket or host).
	body := health(srv.OperatorURL, http.StatusServiceUnavailable, "database unavailable: ")
	if strings.Count(strings.TrimSpace(body), "\n") != 0 {
		t.Errorf("operator /healthz = %q, want one line", body)
	}
	if body := health(srv.HTTPURL, http.StatusServiceUnavailable, "database unavailable"); body != "database unavailable\n" {
		t.Errorf("public /healthz = %q, want the reason alone", body)
	}
	if got := md5Start(); got != "501 3" {
		t.Errorf("USR I with the database down = %q, want 501 3", got)
	}

	pg.Restart(t)
	health(srv.HTTPURL, http.StatusOK, "ok\n")
	if got := md5Start(); !strings.HasPrefix(got, "USR 3 MD5 S ") {
		t.Errorf("USR I once the database is back = %q, want the salt", got)
	}
}
