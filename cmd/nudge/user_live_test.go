package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/coretest/pgtest"
	"github.com/nudge-im/nudge/msnp/client"
)

// TestUserCommandsReachRunningServer: `nudge user del` and `nudge user
// passwd`, run as separate commands on the database of a running server,
// end the sessions the account has; a sign-in with the new password stays.
func TestUserCommandsReachRunningServer(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		srv := coretest.Start(t, coretest.WithoutChallenges())
		userCommandsStory(t, srv, "--data", srv.Data)
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.Start(t)
		srv := coretest.Start(t, coretest.WithoutChallenges(), coretest.WithConfig(func(c *config.Config) { c.Database.URL = url }))
		userCommandsStory(t, srv, "--database", url)
	})
}

func userCommandsStory(t *testing.T, srv *coretest.Server, where ...string) {
	user := func(args ...string) { mustRun(t, append(append([]string{"user"}, args...), where...)...) }
	user("add", "alice@example.com", "--password", "secret1", "--name", "Alice")
	user("add", "bob@example.com", "--password", "secret2", "--name", "Bob")

	signIn := func(email, password string) *client.Client {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cl, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: email, Password: password,
			Passport: client.PassportConfig{URL: srv.HTTPURL}})
		if err != nil {
			t.Fatalf("%s cannot sign in: %v", email, err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	ended := func(cl *client.Client, who string) {
		t.Helper()
		select {
		case <-cl.Done():
			if !errors.Is(cl.Err(), client.ErrConnectionLost) {
				t.Fatalf("%s's session ended with %v, want the server's OUT", who, cl.Err())
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s is still signed in", who)
		}
	}
	stays := func(cl *client.Client, who string) {
		t.Helper()
		select {
		case <-cl.Done():
			t.Fatalf("%s was signed out: %v", who, cl.Err())
		case <-time.After(1500 * time.Millisecond): // past the service's look for changes
		}
	}

	alice := signIn("alice@example.com", "secret1")
	bob := signIn("bob@example.com", "secret2")
	user("del", "bob@example.com")
	ended(bob, "bob, deleted")

	user("passwd", "alice@example.com", "--password", "secret3")
	ended(alice, "alice, with a new password")
	alice = signIn("alice@example.com", "secret3")
	stays(alice, "alice, signed in with the new password")
}
