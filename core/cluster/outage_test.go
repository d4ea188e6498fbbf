package cluster_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest/pgtest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// A PostgreSQL outage under two running nodes: users already signed in go
// on talking and seeing each other, what needs the database fails with the
// protocol's error instead of hanging, each node says once that the
// database went and once that it is back, /healthz tells, and everything
// works again when PostgreSQL returns, without restarting a node.
func TestDatabaseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL, NATS and two nudge processes")
	}
	pg := pgtest.NewServer(t)
	c := newClusterOn(t, pg.Database(t), 1)
	for _, u := range []string{"alice", "bob", "carol"} {
		c.addUser(u + "@example.com")
	}
	n1, n2 := c.start("n1", "ns", "sb"), c.start("n2", "ns", "sb")
	alice, bob := c.signIn("alice@example.com", n1, n1), c.signIn("bob@example.com", n2, n2)
	befriend(t, alice, bob)
	c.awaitPresence(alice, bob.email, client.Online, 30*time.Second)
	chat(t, c, alice, bob, "before the outage")

	pg.Stop()
	down := time.Now()
	for _, n := range []*node{n1, n2} {
		n.waitHealth(t, http.StatusServiceUnavailable, "database unavailable: ")
		if _, text := n.health(); strings.Count(strings.TrimSpace(text), "\n") != 0 {
			t.Errorf("node %s /healthz: %q, want one line", n.name, text)
		}
		if code, text := n.healthAt(n.http); code != http.StatusServiceUnavailable || text != "database unavailable\n" {
			t.Errorf("node %s public /healthz: %d %q, want the reason alone", n.name, code, text)
		}
	}
	t.Logf("/healthz said the database is down %s after it stopped", time.Since(down).Round(time.Millisecond))

	// What needs no database goes on: the conversation, a new one, presence.
	chat(t, c, bob, alice, "during the outage")
	for _, u := range []*user{alice, bob} {
		for _, cv := range u.Conversations() {
			cv.Close()
		}
	}
	chat(t, c, alice, bob, "a new conversation during the outage")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := bob.SetStatus(ctx, client.Busy); err != nil {
		t.Fatalf("bob sets busy during the outage: %v", err)
	}
	c.awaitPresence(alice, bob.email, client.Busy, 30*time.Second)

	// What needs it fails, at once and cleanly.
	began := time.Now()
	if _, err := client.Dial(ctx, client.Config{Server: n1.ns, Email: "carol@example.com", Password: "pw",
		Passport: client.PassportConfig{URL: n1.passport()}}); err == nil {
		t.Fatal("carol signed in while the database was down")
	} else {
		t.Logf("a sign-in during the outage: %v (after %s)", err, time.Since(began).Round(time.Millisecond))
		if ctx.Err() != nil {
			t.Fatalf("the sign-in hung: %v", err)
		}
		if errors.Is(err, msnp.ErrAuthFailed) {
			t.Fatalf("a sign-in during the outage was told its password is wrong: %v", err)
		}
	}
	if err := alice.AddContact(ctx, "carol@example.com"); err == nil {
		t.Fatal("alice added carol while the database was down")
	} else {
		t.Logf("a list change during the outage: %v", err)
	}

	pg.Restart(t)
	back := time.Now()
	for _, n := range []*node{n1, n2} {
		n.waitHealth(t, http.StatusOK, "ok")
	}
	t.Logf("/healthz said ok again %s after PostgreSQL accepted connections", time.Since(back).Round(time.Millisecond))

	// Everything works again, on the same processes.
	carol := c.signIn("carol@example.com", n1, n2)
	befriend(t, alice, carol)
	c.awaitPresence(carol, alice.email, client.Online, 30*time.Second)
	chat(t, c, carol, bob, "after the outage")

	// A node that let the lease of the bots and bridges go during the
	// outage (it could not renew it) sees some node take it again.
	if lost := strings.Count(c.logs(), "lost the lease"); lost > 0 {
		deadline := time.Now().Add(60 * time.Second)
		for strings.Count(c.logs(), "runs the bots and bridges") < 1+lost {
			if time.Now().After(deadline) {
				t.Fatalf("the bots and bridges were stopped during the outage and never started again\n%s", c.logs())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, n := range []*node{n1, n2} {
		log := n.cmd.Stdout.(*lockedWriter).String()
		if k := strings.Count(log, "database unreachable"); k != 1 {
			t.Errorf("node %s said %d times that the database is unreachable, want once\n%s", n.name, k, log)
		}
		// Requests that failed meanwhile do not each log an error: the
		// outage is said once.
		for _, flood := range []string{"store failed", "the database failed"} {
			if strings.Contains(log, flood) {
				t.Errorf("node %s logged %q for a request during the outage\n%s", n.name, flood, log)
			}
		}
		if k := strings.Count(log, "database reachable again"); k != 1 {
			t.Errorf("node %s said %d times that the database is back, want once\n%s", n.name, k, log)
		}
	}
}
