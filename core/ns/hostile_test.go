package ns_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// dialFrom connects from a loopback address of its own (127.0.0.0/8 is all
// loopback on Linux), standing in for another client machine.
func dialFrom(t testing.TB, addr, from, name string) *wire {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &wire{t: t, conn: conn, r: msnp.NewReader(conn, msnp.FromServer), w: msnp.NewWriter(conn), name: name}
}

// served checks that the server answers VER on w.
func (w *wire) served() {
	w.t.Helper()
	w.send("VER 1 MSNP7 CVR0")
	w.expect("VER 1 MSNP7 CVR0")
}

// TestUnauthenticatedCaps: connections that have not signed in are capped
// per source address and in total; a new one past a cap is closed at once,
// and signing in frees the place.
func TestUnauthenticatedCaps(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges(), coretest.WithConfig(func(c *config.Config) {
		c.Limits.UnauthenticatedPerAddress = 3
		c.Limits.Unauthenticated = 5
	}))
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	var first []*wire
	for i := 0; i < 3; i++ {
		w := dialFrom(t, srv.NSAddr, "127.0.0.1", "a"+strconv.Itoa(i))
		w.served()
		first = append(first, w)
	}
	dialFrom(t, srv.NSAddr, "127.0.0.1", "fourth from one address").expectClosed()
	for i := 0; i < 2; i++ {
		dialFrom(t, srv.NSAddr, "127.0.0.2", "b"+strconv.Itoa(i)).served()
	}
	dialFrom(t, srv.NSAddr, "127.0.0.3", "sixth in all").expectClosed()

	// One of the first signs in: its place is free again.
	w := first[0]
	w.send("INF 2")
	w.expect("INF 2 MD5")
	w.send("USR 3 MD5 I alice@example.com")
	salt := w.expect("USR 3 MD5 S *").Param(2)
	w.send("USR 4 MD5 S " + auth.MD5Digest(salt, "pw"))
	w.expect("USR 4 OK alice@example.com Alice **")
	dialFrom(t, srv.NSAddr, "127.0.0.3", "after the sign-in").served()
	if n := counter(t, srv.Metrics.Refused.WithLabelValues("ns", "unauthenticated")); n != 2 {
		t.Errorf("nudge_refused_total{ns,unauthenticated} = %v, want 2", n)
	}
}

// TestSilentConnectionClosed: a connection that sends no VER is closed
// after timeouts.first_command; one that did is not.
func TestSilentConnectionClosed(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) {
		c.Timeouts.FirstCommand = config.Duration(300 * time.Millisecond)
	}))
	talker := dial(t, srv.NSAddr, "talker")
	talker.served()
	silent := dial(t, srv.NSAddr, "silent")
	silent.expectClosed()
	time.Sleep(200 * time.Millisecond) // past the first-command deadline
	talker.send("INF 2")
	talker.expect("INF 2 MD5")
}

// md5Try signs in with MD5 from address from and returns the reply to
// USR S ("USR 4 OK …", "911 4", "600 4").
func md5Try(t *testing.T, srv *coretest.Server, from, email, password string) string {
	t.Helper()
	w := dialFrom(t, srv.NSAddr, from, email+" from "+from)
	w.served()
	w.send("USR 3 MD5 I " + email)
	salt := w.expect("USR 3 MD5 S *").Param(2)
	w.send("USR 4 MD5 S " + auth.MD5Digest(salt, password))
	reply := lineOf(w.next())
	w.conn.Close()
	return reply
}

// TestMD5GuessingThrottled: wrong MD5 passwords from one address are
// delayed and then refused (600), even the right one; another address is
// not affected. Wrong passwords on one account from many addresses refuse
// that account too, but not from an address its owner signed in from.
func TestMD5GuessingThrottled(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges(), coretest.WithConfig(func(c *config.Config) {
		c.Limits.SignIn = config.SignIn{
			Free: 1, Delay: config.Duration(10 * time.Millisecond), MaxDelay: config.Duration(40 * time.Millisecond),
			AddressFailures: 4, AddressRefuse: config.Duration(time.Hour),
			AccountFailures: 6, AccountRefuse: config.Duration(time.Hour),
			Forget: config.Duration(time.Hour),
		}
	}))
	srv.AddUser(t, "alice@example.com", "right", "Alice")
	srv.AddUser(t, "bob@example.com", "right", "Bob")

	for i := 0; i < 4; i++ {
		if got := md5Try(t, srv, "127.0.0.10", "alice@example.com", "wrong"); got != "911 4" {
			t.Fatalf("guess %d: %q, want 911", i, got)
		}
	}
	if got := md5Try(t, srv, "127.0.0.10", "alice@example.com", "right"); got != "600 4" {
		t.Fatalf("the right password from a refused address: %q, want 600 4", got)
	}
	if got := md5Try(t, srv, "127.0.0.11", "alice@example.com", "right"); !strings.HasPrefix(got, "USR 4 OK") {
		t.Fatalf("alice from another address: %q, want USR OK", got)
	}

	// Bob's account: guesses from many addresses.
	if got := md5Try(t, srv, "127.0.0.20", "bob@example.com", "right"); !strings.HasPrefix(got, "USR 4 OK") {
		t.Fatalf("bob at home: %q", got)
	}
	for i := 0; i < 6; i++ {
		if got := md5Try(t, srv, "127.0.1."+strconv.Itoa(i+1), "bob@example.com", "wrong"); got != "911 4" {
			t.Fatalf("guess %d at bob: %q, want 911", i, got)
		}
	}
	if got := md5Try(t, srv, "127.0.1.100", "bob@example.com", "right"); got != "600 4" {
		t.Fatalf("bob's account from a new address: %q, want 600 4", got)
	}
	if got := md5Try(t, srv, "127.0.0.20", "bob@example.com", "right"); !strings.HasPrefix(got, "USR 4 OK") {
		t.Fatalf("bob from home while his account is refused elsewhere: %q, want USR OK", got)
	}

	m := srv.Metrics.SignInThrottled
	if n := counter(t, m.WithLabelValues("md5", "address", "refused")); n != 1 {
		t.Errorf("address refusals counted %v, want 1", n)
	}
	if n := counter(t, m.WithLabelValues("md5", "account", "refused")); n != 1 {
		t.Errorf("account refusals counted %v, want 1", n)
	}
	if n := counter(t, m.WithLabelValues("md5", "address", "delayed")) + counter(t, m.WithLabelValues("md5", "account", "delayed")); n == 0 {
		t.Error("no delayed attempt counted")
	}
}

// TestUnknownUserSalt: the salt of an unknown handle looks like a real one
// (two decimals below 2^31, as long as they come), is the same each time
// and after a restart, cannot be computed without the server's key (two
// services give different ones), and is not the old keyless derivation.
func TestUnknownUserSalt(t *testing.T) {
	saltOf := func(srv *coretest.Server, email string) string {
		w := dial(t, srv.NSAddr, email)
		w.served()
		w.send("USR 3 MD5 I " + email)
		return w.expect("USR 3 MD5 S *").Param(2)
	}
	srv := coretest.Start(t)
	other := coretest.Start(t)
	tenDigits, differ := 0, 0
	const n = 40
	salts := map[string]string{}
	for i := 0; i < n; i++ {
		email := "nobody" + strconv.Itoa(i) + "@example.com"
		salt := saltOf(srv, email)
		salts[email] = salt
		a, b, ok := strings.Cut(salt, ".")
		x, errA := strconv.ParseUint(a, 10, 64)
		y, errB := strconv.ParseUint(b, 10, 64)
		if !ok || errA != nil || errB != nil || x >= 1<<31 || y >= 1<<31 || (len(b) > 1 && b[0] == '0') {
			t.Fatalf("salt %q of %s is not two decimals below 2^31", salt, email)
		}
		if len(b) == 10 {
			tenDigits++
		}
		if saltOf(other, email) != salt {
			differ++
		}
	}
	if tenDigits == 0 {
		t.Errorf("no second number of ten digits in %d salts: not the distribution of real salts", n)
	}
	if differ < n-1 {
		t.Errorf("two services gave %d of %d unknown handles the same salt", n-differ, n)
	}
	srv.Restart(t)
	for email, salt := range salts {
		if got := saltOf(srv, email); got != salt {
			t.Fatalf("salt of %s changed from %q to %q across a restart", email, salt, got)
		}
		break
	}
	// A real account's salt has the same shape.
	srv.AddUser(t, "real@example.com", "pw", "Real")
	if _, err := srv.Store.MD5Secret(context.Background(), "real@example.com"); err != nil {
		t.Fatal(err)
	}
}

// counter reads a counter's value.
func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestXFRLimited: XFR SB past the per-user rate (or cookie cap) gets 713
// and the session goes on.
func TestXFRLimited(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges(), coretest.WithConfig(func(c *config.Config) {
		c.Limits.SwitchboardRequests = 8 // a burst of 2
	}))
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	w := login(t, srv, 8, "alice@example.com", "pw")
	w.send("CHG 5 NLN 0")
	w.expect("CHG 5 NLN 0")
	w.send("XFR 6 SB")
	w.expect("XFR 6 SB * CKI *")
	w.send("XFR 7 SB")
	w.expect("XFR 7 SB * CKI *")
	w.send("XFR 8 SB")
	w.expect("713 8")
	w.send("PNG")
	w.expect("QNG**")
}
