package adminapi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/coretest"
)

// CreateAccount only creates: asking for an address that exists is
// ErrExists and leaves that account's password and name alone.
// CreateOrResetAccount, for the bot host's own accounts, does reset.
func TestCreateAccountOnlyCreates(t *testing.T) {
	srv := coretest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := adminapi.New(srv.HTTPURL, srv.Server.AdminToken)
	srv.AddUser(t, "alice@example.com", "alice-secret", "Alice")
	_, err := c.CreateAccount(ctx, adminapi.NewAccount{Email: "Alice@example.com", Password: "taken-over", FriendlyName: "Mallory"})
	if !errors.Is(err, adminapi.ErrExists) {
		t.Fatalf("creating over an existing account: %v, want ErrExists", err)
	}
	if _, err := srv.Store.CheckPassword(ctx, "alice@example.com", "alice-secret"); err != nil {
		t.Fatalf("the existing account's password changed: %v", err)
	}
	if a, err := c.Account(ctx, "alice@example.com"); err != nil || a.FriendlyName != "Alice" {
		t.Fatalf("the existing account is now %+v %v", a, err)
	}

	if _, err := c.CreateOrResetAccount(ctx, adminapi.NewAccount{Email: "bot@example.com", Password: "one"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateOrResetAccount(ctx, adminapi.NewAccount{Email: "bot@example.com", Password: "two"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store.CheckPassword(ctx, "bot@example.com", "two"); err != nil {
		t.Fatalf("CreateOrResetAccount did not set the new password: %v", err)
	}
}
