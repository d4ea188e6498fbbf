package ns_test

import (
	"net"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/auth"
)

// TestReferralsWithoutPublicHost: a service listening on every address
// with no public host refers each client to the address its own
// connection came in on — XFR SB and RNG to the switchboard, XFR NS from
// the Dispatch server — not to 127.0.0.1, which a client on another
// machine cannot reach. The clients here come in on 127.0.0.2 and
// 127.0.0.3, loopback addresses that stand for two network interfaces.
func TestReferralsWithoutPublicHost(t *testing.T) {
	if c, err := net.Dial("tcp", "127.0.0.2:1"); err != nil && !strings.Contains(err.Error(), "refused") {
		t.Skipf("127.0.0.2 does not reach this machine: %v", err)
	} else if c != nil {
		c.Close()
	}
	srv := coretest.Start(t, coretest.WithoutChallenges(), coretest.WithConfig(func(c *config.Config) {
		c.Listen.NS, c.Listen.SB, c.Listen.DS = "0.0.0.0:0", "0.0.0.0:0", "0.0.0.0:0"
	}))
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	at := func(addr, ip string) string {
		_, port, _ := net.SplitHostPort(addr)
		return net.JoinHostPort(ip, port)
	}
	// MSNP7 with MD5: the whole sign-in on a wire of our own.
	signIn := func(ip, email string) *wire {
		t.Helper()
		w := dial(t, at(srv.NSAddr, ip), email)
		w.send("VER 1 MSNP7 CVR0")
		w.expect("VER 1 MSNP7 CVR0")
		w.send("INF 2")
		w.expect("INF 2 MD5")
		w.send("USR 3 MD5 I " + email)
		salt := w.expect("USR 3 MD5 S *").Param(2)
		w.send("USR 4 MD5 S " + auth.MD5Digest(salt, "pw"))
		w.expect("USR 4 OK " + email + " **")
		w.expect("MSG Hotmail Hotmail")
		w.send("CHG 5 NLN")
		w.expect("CHG 5 NLN")
		return w
	}

	// The Dispatch server names the Notification server where the client
	// reached it.
	ds := dial(t, at(srv.DSAddr, "127.0.0.2"), "ds")
	ds.send("VER 1 MSNP7 CVR0")
	ds.expect("VER 1 MSNP7 CVR0")
	ds.send("INF 2")
	ds.expect("INF 2 MD5")
	ds.send("USR 3 MD5 I alice@example.com")
	ds.expect("XFR 3 NS " + at(srv.NSAddr, "127.0.0.2") + " 0 " + at(srv.DSAddr, "127.0.0.2"))

	alice := signIn("127.0.0.2", "alice@example.com")
	bob := signIn("127.0.0.3", "bob@example.com")
	alice.send("XFR 6 SB")
	x := alice.expect("XFR 6 SB * CKI *")
	if want := at(srv.SBAddr, "127.0.0.2"); x.Param(1) != want {
		t.Fatalf("XFR SB to %s, want %s", x.Param(1), want)
	}
	sb := dial(t, x.Param(1), "alice-sb")
	sb.send("USR 1 alice@example.com " + x.Param(3))
	sb.expect("USR 1 OK alice@example.com Alice")
	sb.send("CAL 2 bob@example.com")
	sb.expect("CAL 2 RINGING *")
	// Bob came in on another address: his RNG names that one.
	bob.expect("RNG * " + at(srv.SBAddr, "127.0.0.3") + " CKI * alice@example.com Alice")
}
