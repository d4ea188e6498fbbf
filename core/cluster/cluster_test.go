package cluster_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp/client"
)

// user is a signed-in MSN client and what it heard.
type user struct {
	*client.Client
	email  string
	events chan client.Event
}

func (c *testCluster) signIn(email string, ns, passport *node) *user {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := ns.ns
	if addr == "" {
		addr = ns.ds
	}
	cl, err := client.Dial(ctx, client.Config{Server: addr, Email: email, Password: "pw",
		Passport: client.PassportConfig{URL: passport.passport()}})
	if err != nil {
		c.t.Fatalf("%s signs in at %s (Passport at %s): %v\n%s", email, ns.name, passport.name, err, c.logs())
	}
	u := &user{Client: cl, email: email, events: make(chan client.Event, 1000)}
	go func() {
		for ev := range cl.Events() {
			u.events <- ev
		}
		close(u.events)
	}()
	c.t.Cleanup(func() { cl.Close() })
	return u
}

// await waits for an event that ok accepts.
func (c *testCluster) await(u *user, what string, within time.Duration, ok func(client.Event) bool) time.Duration {
	c.t.Helper()
	start := time.Now()
	timeout := time.After(within)
	for {
		select {
		case ev, open := <-u.events:
			if !open {
				c.t.Fatalf("%s: the client ended while waiting for %s: %v\n%s", u.email, what, u.Err(), c.logs())
			}
			if ok(ev) {
				return time.Since(start)
			}
		case <-timeout:
			c.t.Fatalf("%s never saw %s within %s\n%s", u.email, what, within, c.logs())
		}
	}
}

func (c *testCluster) awaitPresence(u *user, email string, st client.Status, within time.Duration) time.Duration {
	c.t.Helper()
	return c.await(u, email+" "+string(st), within, func(ev client.Event) bool {
		p, ok := ev.(*client.Presence)
		return ok && p.Email == email && p.Status == st
	})
}

func (c *testCluster) awaitMessage(u *user, from, text string) {
	c.t.Helper()
	c.await(u, "a message from "+from, 60*time.Second, func(ev client.Event) bool {
		m, ok := ev.(*client.Message)
		return ok && m.From == from && m.Text == text
	})
}

func (c *testCluster) awaitEnd(u *user, want error) {
	c.t.Helper()
	select {
	case <-u.Done():
	case <-time.After(60 * time.Second):
		c.t.Fatalf("%s still signed in\n%s", u.email, c.logs())
	}
	if want != nil && !errors.Is(u.Err(), want) {
		c.t.Fatalf("%s ended with %v, want %v", u.email, u.Err(), want)
	}
}

func befriend(t *testing.T, a, b *user) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.AddContact(ctx, b.email); err != nil {
		t.Fatalf("%s adds %s: %v", a.email, b.email, err)
	}
	if err := b.AddContact(ctx, a.email); err != nil {
		t.Fatalf("%s adds %s: %v", b.email, a.email, err)
	}
}

func chat(t *testing.T, c *testCluster, from, to *user, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cv, err := from.Conversation(ctx, to.email)
	if err != nil {
		t.Fatalf("%s calls %s: %v\n%s", from.email, to.email, err, c.logs())
	}
	if err := cv.Send(ctx, text); err != nil {
		t.Fatalf("%s → %s: %v", from.email, to.email, err)
	}
	c.awaitMessage(to, from.email, text)
}

// Nodes as separate processes on one PostgreSQL and a NATS cluster serve
// their users as one service: whatever node each person is on, and
// through a node dying, NATS going away and a node coming back.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes as processes")
	}
	c := newCluster(t)
	for _, u := range []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "erin@example.com", "frank@example.com"} {
		c.addUser(u)
	}
	n1 := c.start("n1", "ns", "sb")
	n2 := c.start("n2", "ns")       // no switchboard: its calls go to n1 or n3
	n3 := c.start("n3", "ds", "sb") // Dispatch and a switchboard
	for _, n := range []*node{n1, n2, n3} {
		n.waitHealth(t, http.StatusOK, "peer")
	}

	// Tickets from one node's Passport redeem at another's NS.
	alice := c.signIn("alice@example.com", n1, n2)
	bob := c.signIn("bob@example.com", n2, n1)

	t.Run("lists and presence across nodes", func(t *testing.T) {
		ctx := context.Background()
		if err := alice.AddContact(ctx, bob.email); err != nil {
			t.Fatal(err)
		}
		c.await(bob, "ADC RL from alice", 30*time.Second, func(ev client.Event) bool {
			a, ok := ev.(*client.ContactAdded)
			return ok && a.Email == alice.email
		})
		if err := bob.AddContact(ctx, alice.email); err != nil {
			t.Fatal(err)
		}
		c.awaitPresence(alice, bob.email, client.Online, 30*time.Second)
		c.awaitPresence(bob, alice.email, client.Online, 30*time.Second)
		if err := bob.SetStatus(ctx, client.Away); err != nil {
			t.Fatal(err)
		}
		c.awaitPresence(alice, bob.email, client.Away, 30*time.Second)
		if err := bob.SetPersonalMessage(ctx, "on node two"); err != nil {
			t.Fatal(err)
		}
		c.await(alice, "bob's personal message", 30*time.Second, func(ev client.Event) bool {
			p, ok := ev.(*client.Presence)
			return ok && p.Email == bob.email && p.PersonalMessage == "on node two"
		})
		bob.SetStatus(ctx, client.Online)
		c.awaitPresence(alice, bob.email, client.Online, 30*time.Second)
	})

	t.Run("conversations across nodes", func(t *testing.T) {
		// n2 has no switchboard: Bob's call is placed on n1 or n3, Alice
		// (on n1) is rung by n1 and joins wherever it is.
		chat(t, c, bob, alice, "hello from n2")
		chat(t, c, alice, bob, "hello from n1")
	})

	t.Run("dispatch refers to a live notification server", func(t *testing.T) {
		carol := c.signIn("carol@example.com", n3, n3)
		befriend(t, alice, carol)
		c.awaitPresence(alice, carol.email, client.Online, 30*time.Second)
		chat(t, c, alice, carol, "hi carol")
		carol.Close()
		c.awaitPresence(alice, carol.email, client.Offline, 30*time.Second)
	})

	t.Run("one session per account", func(t *testing.T) {
		again := c.signIn("bob@example.com", n1, n2)
		c.awaitEnd(bob, client.ErrSignedInElsewhere)
		// The old Bob's client leaves his conversation with Alice as it
		// ends; a message sent before she hears of it would go to him.
		c.await(alice, "the old bob leaving", 30*time.Second, func(ev client.Event) bool {
			switch ev := ev.(type) {
			case *client.Left:
				return ev.Email == bob.email
			case *client.ConversationClosed:
				return true
			}
			return false
		})
		bob = again
		chat(t, c, alice, bob, "same bob, other node")
	})

	t.Run("password change and delete sign out anywhere", func(t *testing.T) {
		erin := c.signIn("erin@example.com", n2, n2)
		req, _ := http.NewRequest("PUT", n1.passport()+"/admin/v1/accounts/erin@example.com/password", strings.NewReader(`{"password":"pw2"}`))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("password change: %v %v", resp, err)
		}
		resp.Body.Close()
		c.awaitEnd(erin, nil)
		c.store.SetPassword(context.Background(), "erin@example.com", "pw")

		frank := c.signIn("frank@example.com", n2, n2)
		req, _ = http.NewRequest("DELETE", n1.passport()+"/admin/v1/accounts/frank@example.com", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err = http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode/100 != 2 {
			t.Fatalf("delete: %v %v", resp, err)
		}
		resp.Body.Close()
		start := time.Now()
		c.awaitEnd(frank, nil)
		t.Logf("signed out on n2 %s after the delete on n1", time.Since(start).Round(time.Millisecond))
	})

	t.Run("failed sign-ins count on every node", func(t *testing.T) {
		// account_failures is 3: two failures at n1 and two at n2 refuse
		// the account everywhere, as at one node.
		for _, n := range []*node{n1, n2, n1, n2} {
			if code := login2(t, n, "dave@example.com", "wrong"); code != http.StatusUnauthorized {
				t.Fatalf("wrong password at %s: %d", n.name, code)
			}
		}
		time.Sleep(time.Second) // the outcomes cross the bus
		if code := login2(t, n3, "dave@example.com", "pw"); code == http.StatusOK {
			t.Fatal("the account's guesser was not stopped at a third node")
		}
	})

	t.Run("a node killed mid-conversation", func(t *testing.T) {
		c.store.SetPassword(context.Background(), "dave@example.com", "pw")
		d := c.start("n4", "ns")
		dave := c.signIn("carol@example.com", d, n1)
		befriend(t, alice, dave)
		c.awaitPresence(alice, dave.email, client.Online, 30*time.Second)
		chat(t, c, alice, dave, "before the crash")
		// The bots and bridges run on one node; n4 came last.
		if strings.Count(c.logs(), "runs the bots and bridges") != 1 {
			t.Fatalf("bots and bridges started %d times\n%s", strings.Count(c.logs(), "runs the bots and bridges"), c.logs())
		}
		d.kill() // SIGKILL
		took := c.awaitPresence(alice, dave.email, client.Offline, 30*time.Second)
		t.Logf("offline %s after the node was killed (node_timeout 3s)", took.Round(time.Millisecond))
		// Signs in again at once on another node; everyone else goes on.
		dave = c.signIn("carol@example.com", n2, n2)
		c.awaitPresence(alice, dave.email, client.Online, 30*time.Second)
		chat(t, c, dave, alice, "back on n2")
		chat(t, c, alice, bob, "bob never noticed")
		// The killed node comes back and rejoins by itself.
		c.run(d)
		n1.waitHealth(t, http.StatusOK, "peer n4")
	})

	t.Run("NATS outage", func(t *testing.T) {
		for i := range 3 {
			c.nats.Stop(i)
		}
		stopped := time.Now()
		n1.waitHealth(t, http.StatusServiceUnavailable, "NATS")
		t.Logf("/healthz said NATS is down %s after it stopped", time.Since(stopped).Round(time.Millisecond))
		for i := range 3 {
			c.nats.Restart(i)
		}
		back := time.Now()
		for _, n := range []*node{n1, n2, n3} {
			n.waitHealth(t, http.StatusOK, "peer")
		}
		t.Logf("every node healthy and seeing its peers %s after NATS came back", time.Since(back).Round(time.Millisecond))
		// Cross-node presence and calls work again.
		ctx := context.Background()
		bob.SetStatus(ctx, client.Busy)
		c.awaitPresence(alice, bob.email, client.Busy, 60*time.Second)
		erin := c.signIn("erin@example.com", n2, n1)
		befriend(t, alice, erin)
		c.awaitPresence(alice, erin.email, client.Online, 60*time.Second)
		chat(t, c, erin, alice, "after the outage")
	})

	t.Run("bots and bridges handed over", func(t *testing.T) {
		// n1 started first and holds the lease; killed, another node
		// takes over once the lease expires (10s).
		if !strings.Contains(n1.cmd.Stdout.(*lockedWriter).String(), "runs the bots and bridges") {
			t.Fatalf("n1 does not run them\n%s", c.logs())
		}
		n1.kill()
		killed := time.Now()
		deadline := time.Now().Add(60 * time.Second)
		for strings.Count(c.logs(), "runs the bots and bridges") < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("nobody took over\n%s", c.logs())
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("taken over %s after the node was killed (lease 10s, renewed every 2s)", time.Since(killed).Round(100*time.Millisecond))
	})
}
