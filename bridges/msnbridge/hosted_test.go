package msnbridge_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/coretest/pgtest"
	"github.com/nudge-im/nudge/msnp/client"
)

const domain = "bridge.test"

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// databases runs f against a SQLite file and a PostgreSQL database, the
// two a bridge keeps its records in.
func databases(t *testing.T, f func(t *testing.T, open func() *sql.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bridge.db")
		f(t, func() *sql.DB {
			db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			t.Skip("PostgreSQL in -short mode")
		}
		dsn := pgtest.Start(t)
		f(t, func() *sql.DB {
			db, err := sql.Open("postgres", dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
}

func newHosted(t *testing.T, srv *coretest.Server, db *sql.DB) *msnbridge.Hosted {
	t.Helper()
	owners, err := msnbridge.OpenOwners(ctxT(t), db, "test_hosted")
	if err != nil {
		t.Fatal(err)
	}
	return &msnbridge.Hosted{Admin: adminapi.New(srv.HTTPURL, srv.Server.AdminToken), Domain: domain, Owners: owners}
}

// signsIn reports whether an address signs in with a password.
func signsIn(t *testing.T, srv *coretest.Server, email, password string) bool {
	t.Helper()
	cl, err := client.Dial(ctxT(t), client.Config{Server: srv.NSAddr, Email: email, Password: password, Passport: client.PassportConfig{URL: srv.HTTPURL}})
	if err != nil {
		if !msnbridge.IsAuth(err) {
			t.Fatalf("signing in %s: %v", email, err)
		}
		return false
	}
	cl.Close()
	return true
}

// The policy: accounts are an owner's for good, a name that is taken
// gives the next address, and an account the bridge did not make is never
// changed — whoever asks, under whatever name.
func TestHostedAccounts(t *testing.T) {
	srv := coretest.Start(t)
	databases(t, func(t *testing.T, open func() *sql.DB) {
		ctx := ctxT(t)
		h := newHosted(t, srv, open())

		nelly, created, err := h.Account(ctx, "user:1", msnbridge.Want{Local: "Nelly", FriendlyName: "Nelly"})
		if err != nil || !created || nelly.Email != "nelly@"+domain {
			t.Fatalf("first account %+v %v %v", nelly, created, err)
		}
		if again, created, err := h.Account(ctx, "user:1", msnbridge.Want{Local: "nelly-renamed"}); err != nil || created || again != nelly {
			t.Fatalf("the same owner again: %+v %v %v, want %+v", again, created, err, nelly)
		}

		// Someone else takes the name "nelly" (a Discord username given
		// up): a distinct address, and the first one's password still works.
		other, _, err := h.Account(ctx, "user:2", msnbridge.Want{Local: "nelly"})
		if err != nil || other.Email != "nelly-2@"+domain {
			t.Fatalf("newcomer %+v %v", other, err)
		}
		if !signsIn(t, srv, nelly.Email, nelly.Password) || !signsIn(t, srv, other.Email, other.Password) {
			t.Fatal("an account cannot sign in with its password")
		}

		// An account the operator made (not the bridge) is skipped and
		// keeps its password.
		srv.AddUser(t, "general@"+domain, "operator-secret", "General")
		g, _, err := h.Account(ctx, "user:3", msnbridge.Want{Local: "general"})
		if err != nil || g.Email != "general-2@"+domain {
			t.Fatalf("next to an operator's account: %+v %v", g, err)
		}
		if !signsIn(t, srv, "general@"+domain, "operator-secret") {
			t.Fatal("the operator's account lost its password")
		}
		// An exact address that is taken is refused, not numbered.
		if _, _, err := h.Account(ctx, "room:9", msnbridge.Want{Local: "general", Exact: true}); err == nil {
			t.Fatal("an exact address that is taken was given")
		}
		if r, _, err := h.Account(ctx, "room:9", msnbridge.Want{Local: "lobby", Exact: true}); err != nil || r.Email != "lobby@"+domain {
			t.Fatalf("exact address %+v %v", r, err)
		}

		// The server's admin deletes an account: Recreate makes it again
		// with its password; over one that exists it changes nothing.
		if err := h.Admin.DeleteAccount(ctx, other.Email); err != nil {
			t.Fatal(err)
		}
		if made, err := h.Recreate(ctx, other, "Nelly Two"); err != nil || !made {
			t.Fatalf("recreate a deleted account: %v %v", made, err)
		}
		if !signsIn(t, srv, other.Email, other.Password) {
			t.Fatal("the account made again does not sign in")
		}
		if made, err := h.Recreate(ctx, msnbridge.HostedAccount{Owner: "user:3", Email: "general@" + domain, Password: "x"}, ""); err != nil || made {
			t.Fatalf("recreate over an existing account: %v %v", made, err)
		}
		if !signsIn(t, srv, "general@"+domain, "operator-secret") {
			t.Fatal("Recreate changed an existing account")
		}

		// Adopt records an older release's account, unless the address is
		// someone else's.
		if err := h.Adopt(ctx, msnbridge.HostedAccount{Owner: "user:4", Email: "old@" + domain, Password: "pw"}); err != nil {
			t.Fatal(err)
		}
		if err := h.Adopt(ctx, msnbridge.HostedAccount{Owner: "user:5", Email: "nelly@" + domain, Password: "pw"}); err != msnbridge.ErrTaken {
			t.Fatalf("adopting someone else's address: %v", err)
		}
		if a, _, _ := h.Account(ctx, "user:1", msnbridge.Want{Local: "x"}); a != nelly {
			t.Fatalf("owner 1 now has %+v", a)
		}

		// Clean up for the other database engine.
		for _, e := range []string{nelly.Email, other.Email, g.Email, "general@" + domain, "lobby@" + domain} {
			h.Admin.DeleteAccount(ctx, e)
		}
	})
}

// With passwords derived from a secret and the owner, a bridge that lost
// its database finds its accounts again (Proof signs in with the derived
// password), while two owners whose names collide still get two accounts.
func TestHostedAccountsProof(t *testing.T) {
	srv := coretest.Start(t)
	ctx := ctxT(t)
	derive := func(owner string) string { return msnbridge.DerivedPassword("a-secret-of-sixteen", "test", owner) }
	proof := func(ctx context.Context, email, password string) bool { return signsIn(t, srv, email, password) }
	dir := t.TempDir()
	open := func(name string) *sql.DB {
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	h := newHosted(t, srv, open("first.db"))
	h.NewPassword, h.Proof = derive, proof
	a, _, err := h.Account(ctx, "@alice:one.test", msnbridge.Want{Local: "alice"})
	if err != nil || a.Email != "alice@"+domain {
		t.Fatalf("%+v %v", a, err)
	}

	lost := newHosted(t, srv, open("second.db")) // a new, empty database
	lost.NewPassword, lost.Proof = derive, proof
	again, created, err := lost.Account(ctx, "@alice:one.test", msnbridge.Want{Local: "alice"})
	if err != nil || created || again.Email != a.Email {
		t.Fatalf("after losing the database: %+v %v %v, want %s", again, created, err, a.Email)
	}
	b, _, err := lost.Account(ctx, "@alice:two.test", msnbridge.Want{Local: "alice"})
	if err != nil || b.Email != "alice-2@"+domain {
		t.Fatalf("the other alice: %+v %v", b, err)
	}
	if !signsIn(t, srv, a.Email, a.Password) {
		t.Fatal("the first alice lost her account")
	}
}
