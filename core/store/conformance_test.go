package store

// The conformance suite: every engine must keep the Store contract the same
// way, so the tests of the contract run against each one (table: engines).
// What only one engine has — SQLite's file, WAL and crash recovery;
// PostgreSQL's locks, pool and URL — is tested in sqlite_test.go and
// postgres_test.go.

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

var testOpts = Options{BcryptCost: bcrypt.MinCost}

// engine is one implementation of Store under test.
type engine struct {
	name string
	// fresh returns where a new, empty database is: a file path for
	// SQLite, a URL for PostgreSQL (skipping the test when PostgreSQL is
	// not installed, outside CI).
	fresh func(t testing.TB) string
	// open opens the database at that place.
	open func(ctx context.Context, at string, opts Options) (testStore, error)
	// openOld opens it with only the first steps of the schema, as an
	// older program left it; steps names the count before a change.
	openOld func(ctx context.Context, at string, steps int) (testStore, error)
	steps   map[string]int
}

// engines are the Store implementations the suite runs against.
var engines = []engine{sqliteEngine, postgresEngine}

// testStore is a Store with the back doors the tests need to set up states
// that would take thousands of calls (full lists, full namespaces) and to
// look at the tables.
type testStore interface {
	Store
	// seed puts handles on lists directly, in one transaction, without
	// AddToList's checks, limits and mirroring (no RL on the other side).
	seed(ctx context.Context, rows []seedRow) error
	// count runs a query, written with $1-style parameters, that returns
	// one number.
	count(ctx context.Context, query string, args ...any) (int, error)
	// exec runs a statement written with $1-style parameters.
	exec(ctx context.Context, query string, args ...any) error
	// fillKV puts n keys (k00000…) with empty values into namespace, in one
	// transaction.
	fillKV(ctx context.Context, namespace string, n int) error
	// timeValue is how the engine stores a time of the first schema.
	timeValue(t time.Time) any
}

// The testStore back doors, the same for both engines.

func (s *sqlStore) seed(ctx context.Context, rows []seedRow) error {
	return s.write(ctx, func(t txn) error {
		accts := map[string]*acct{}
		for _, r := range rows {
			a := accts[r.owner]
			if a == nil {
				var err error
				if a, err = lockAccount(ctx, t, r.owner); err != nil {
					return fmt.Errorf("seed %s: %w", r.owner, err)
				}
				accts[r.owner] = a
			}
			e, found, err := getEntry(ctx, t, a.id, r.handle)
			if err != nil {
				return err
			}
			if _, _, err := changeBits(ctx, t, a, r.handle, e, found, r.lists, 0, r.name, false); err != nil {
				return err
			}
		}
		for _, a := range accts {
			if _, err := finish(ctx, t, a); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *sqlStore) count(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := s.reader().row(ctx, query, args...).Scan(&n)
	return n, err
}

func (s *sqlStore) exec(ctx context.Context, query string, args ...any) error {
	return s.write(ctx, func(t txn) error {
		_, err := t.exec(ctx, query, args...)
		return err
	})
}

func (s *sqlStore) timeValue(t time.Time) any { return s.d.timeArg(t) }

func (s *sqlStore) fillKV(ctx context.Context, namespace string, n int) error {
	return s.write(ctx, func(t txn) error {
		for i := range n {
			if _, err := t.exec(ctx, `INSERT INTO kv (namespace, key, value, updated) VALUES ($1, $2, $3, $4)`,
				namespace, fmt.Sprintf("k%05d", i), []byte{}, s.d.timeArg(time.Now())); err != nil {
				return err
			}
		}
		return nil
	})
}

// seedRow is one list entry for testStore.seed.
type seedRow struct {
	owner, handle string
	lists         List
	name          string
}

// eachEngine runs f as a subtest per engine.
func eachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { f(t, e) })
	}
}

// eachEngineB runs the benchmark f per engine.
func eachEngineB(b *testing.B, f func(b *testing.B, e engine)) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) { f(b, e) })
	}
}

// openTest opens the database at at with the test options; the caller
// closes it.
func (e engine) openTest(t testing.TB, at string) testStore {
	t.Helper()
	return e.openOpts(t, at, testOpts)
}

func (e engine) openOpts(t testing.TB, at string, opts Options) testStore {
	t.Helper()
	s, err := e.open(context.Background(), at, opts)
	if err != nil {
		t.Fatalf("%s: open: %v", e.name, err)
	}
	return s
}

// newTest returns a store on a new, empty database, closed when the test
// ends.
func (e engine) newTest(t testing.TB) testStore {
	t.Helper()
	return e.newTestOpts(t, testOpts)
}

func (e engine) newTestOpts(t testing.TB, opts Options) testStore {
	t.Helper()
	s := e.openOpts(t, e.fresh(t), opts)
	t.Cleanup(func() { s.Close() })
	return s
}

func mustCreate(t testing.TB, s Store, email string) Account {
	t.Helper()
	a, err := s.CreateAccount(context.Background(), email, "pw-"+email, "")
	if err != nil {
		t.Fatalf("CreateAccount(%s): %v", email, err)
	}
	return a
}

func mustAdd(t testing.TB, s Store, owner, contact string, l List, group string) Change {
	t.Helper()
	ch, err := s.AddToList(context.Background(), owner, contact, l, "", group)
	if err != nil {
		t.Fatalf("AddToList(%s, %s, %d, %q): %v", owner, contact, l, group, err)
	}
	return ch
}

func version(t testing.TB, s Store, email string) int64 {
	t.Helper()
	a, err := s.Account(context.Background(), email)
	if err != nil {
		t.Fatalf("Account(%s): %v", email, err)
	}
	return a.ListVersion
}

func listed(t testing.TB, s Store, owner, contact string) List {
	t.Helper()
	l, err := s.Listed(context.Background(), owner, contact)
	if err != nil {
		t.Fatalf("Listed(%s, %s): %v", owner, contact, err)
	}
	return l
}

func wantErr(t testing.TB, what string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Fatalf("%s: got error %v, want %v", what, got, want)
	}
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{
		"Alice@Example.COM":                  "alice@example.com",
		"a.b+c@mail.example.co.uk":           "a.b+c@mail.example.co.uk",
		"x_y-z@hot-mail.com":                 "x_y-z@hot-mail.com",
		"a@b.c":                              "a@b.c",
		strings.Repeat("a", 121) + "@ab.com": strings.Repeat("a", 121) + "@ab.com", // 128 bytes
	}
	for in, want := range good {
		got, err := NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "alice", "alice@", "@example.com", "alice@example", "alice@@example.com",
		"al ice@example.com", "alice@exa mple.com", "alice@example..com", "alice@.example.com",
		"alice@example.com.", "al\x00ice@example.com", "al\nice@example.com", "alicé@example.com",
		"a@b@example.com", "alice@exa_mple.com", `"al"@example.com`,
		strings.Repeat("a", 123) + "@ab.com", // 130 bytes
	}
	for _, in := range bad {
		if got, err := NormalizeEmail(in); !errors.Is(err, ErrInvalidEmail) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrInvalidEmail", in, got, err)
		}
	}
}

func TestGUIDAndSalt(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		g := newGUID()
		if !guidRE.MatchString(g) {
			t.Fatalf("newGUID() = %q, not a lower-case v4 UUID", g)
		}
		if seen[g] {
			t.Fatalf("newGUID() repeated %q", g)
		}
		seen[g] = true
	}
	saltRE := regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
	for range 100 {
		if m := newMD5Secret("x"); !saltRE.MatchString(m.Salt) {
			t.Fatalf("salt %q is not two decimals joined by a dot", m.Salt)
		}
	}
}

func TestAccountLifecycle(t *testing.T) { eachEngine(t, testAccountLifecycle) }

func testAccountLifecycle(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)

	before := time.Now().Add(-time.Second)
	a, err := s.CreateAccount(ctx, "Alice@Example.com", "secret", "")
	if err != nil {
		t.Fatal(err)
	}
	want := Account{Email: "alice@example.com", FriendlyName: "alice@example.com", Privacy: AllowByDefault, PromptOnAdd: true}
	if a.Email != want.Email || a.FriendlyName != want.FriendlyName || a.Privacy != want.Privacy ||
		a.PromptOnAdd != want.PromptOnAdd || a.ListVersion != FirstListVersion || a.Created.Before(before) {
		t.Fatalf("CreateAccount = %+v", a)
	}
	got, err := s.Account(ctx, "ALICE@example.com")
	if err != nil || got != a {
		t.Fatalf("Account = %+v, %v; want %+v", got, err, a)
	}

	_, err = s.CreateAccount(ctx, "alice@EXAMPLE.com", "other", "")
	wantErr(t, "duplicate", err, ErrExists)
	_, err = s.CreateAccount(ctx, "not an email", "pw", "")
	wantErr(t, "bad email", err, ErrInvalidEmail)
	_, err = s.CreateAccount(ctx, "bob@example.com", "", "")
	wantErr(t, "empty password", err, ErrInvalidPassword)
	_, err = s.CreateAccount(ctx, "bob@example.com", strings.Repeat("p", MaxPassword+1), "")
	wantErr(t, "long password", err, ErrInvalidPassword)
	_, err = s.CreateAccount(ctx, "bob@example.com", "pw", strings.Repeat("n", MaxFriendly+1))
	wantErr(t, "long name", err, ErrInvalidName)
	_, err = s.CreateAccount(ctx, "bob@example.com", "pw", "bad\r\nname")
	wantErr(t, "control chars", err, ErrInvalidName)

	b, err := s.CreateAccount(ctx, "bob@example.com", "pw", "Bob ☺")
	if err != nil || b.FriendlyName != "Bob ☺" {
		t.Fatalf("CreateAccount bob = %+v, %v", b, err)
	}
	all, err := s.Accounts(ctx)
	if err != nil || len(all) != 2 || all[0].Email != "alice@example.com" || all[1].Email != "bob@example.com" {
		t.Fatalf("Accounts = %+v, %v", all, err)
	}

	// Settings: each change bumps the version; the same value is ErrSameValue.
	v, err := s.SetFriendlyName(ctx, "alice@example.com", "Alice")
	if err != nil || v != 2 {
		t.Fatalf("SetFriendlyName = %d, %v", v, err)
	}
	_, err = s.SetFriendlyName(ctx, "alice@example.com", "Alice")
	wantErr(t, "same name", err, ErrSameValue)
	_, err = s.SetFriendlyName(ctx, "alice@example.com", "")
	wantErr(t, "empty name", err, ErrInvalidName)
	_, err = s.SetFriendlyName(ctx, "nobody@example.com", "x")
	wantErr(t, "unknown", err, ErrNotFound)
	if v, err = s.SetPrivacy(ctx, "alice@example.com", BlockByDefault); err != nil || v != 3 {
		t.Fatalf("SetPrivacy = %d, %v", v, err)
	}
	_, err = s.SetPrivacy(ctx, "alice@example.com", BlockByDefault)
	wantErr(t, "same privacy", err, ErrSameValue)
	_, err = s.SetPrivacy(ctx, "alice@example.com", "XX")
	wantErr(t, "bad privacy", err, ErrInvalidPrivacy)
	if v, err = s.SetPromptOnAdd(ctx, "alice@example.com", false); err != nil || v != 4 {
		t.Fatalf("SetPromptOnAdd = %d, %v", v, err)
	}
	_, err = s.SetPromptOnAdd(ctx, "alice@example.com", false)
	wantErr(t, "same GTC", err, ErrSameValue)
	got, _ = s.Account(ctx, "alice@example.com")
	if got.FriendlyName != "Alice" || got.Privacy != BlockByDefault || got.PromptOnAdd || got.ListVersion != 4 {
		t.Fatalf("after settings: %+v", got)
	}

	if err := s.DeleteAccount(ctx, "ALICE@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Account(ctx, "alice@example.com")
	wantErr(t, "deleted", err, ErrNotFound)
	wantErr(t, "delete twice", s.DeleteAccount(ctx, "alice@example.com"), ErrNotFound)
	// The handle is free again.
	mustCreate(t, s, "alice@example.com")
}

func TestPasswords(t *testing.T) { eachEngine(t, testPasswords) }

func testPasswords(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)

	const pw = "Very-Secret-Passw0rd"
	mustAccount, err := s.CreateAccount(ctx, "alice@example.com", pw, "Alice")
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CheckPassword(ctx, "Alice@Example.com", pw)
	if err != nil || a != mustAccount {
		t.Fatalf("CheckPassword right = %+v, %v", a, err)
	}
	_, err = s.CheckPassword(ctx, "alice@example.com", "wrong")
	wantErr(t, "wrong password", err, ErrBadPassword)
	_, err = s.CheckPassword(ctx, "alice@example.com", pw+strings.Repeat("x", 80))
	wantErr(t, "over-long password", err, ErrBadPassword)
	_, err = s.CheckPassword(ctx, "nobody@example.com", pw)
	wantErr(t, "unknown account", err, ErrNotFound)

	checkMD5 := func(password string) MD5Secret {
		t.Helper()
		m, err := s.MD5Secret(ctx, "ALICE@example.com")
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum([]byte(m.Salt + password))
		if m.Digest != hex.EncodeToString(sum[:]) {
			t.Fatalf("digest %q is not md5(%q + password)", m.Digest, m.Salt)
		}
		if strings.ContainsAny(m.Salt, " \t\r\n") || m.Salt == "" {
			t.Fatalf("bad salt %q", m.Salt)
		}
		return m
	}
	m1 := checkMD5(pw)
	_, err = s.MD5Secret(ctx, "nobody@example.com")
	wantErr(t, "MD5Secret unknown", err, ErrNotFound)

	const pw2 = "another one"
	if err := s.SetPassword(ctx, "alice@example.com", pw2); err != nil {
		t.Fatal(err)
	}
	m2 := checkMD5(pw2)
	if m1.Salt == m2.Salt {
		t.Fatal("SetPassword kept the old salt")
	}
	if _, err := s.CheckPassword(ctx, "alice@example.com", pw2); err != nil {
		t.Fatalf("new password: %v", err)
	}
	_, err = s.CheckPassword(ctx, "alice@example.com", pw)
	wantErr(t, "old password", err, ErrBadPassword)
	wantErr(t, "SetPassword unknown", s.SetPassword(ctx, "nobody@example.com", "x"), ErrNotFound)
	wantErr(t, "SetPassword empty", s.SetPassword(ctx, "alice@example.com", ""), ErrInvalidPassword)
}

func TestForwardListAndReverse(t *testing.T) { eachEngine(t, testForwardListAndReverse) }

func testForwardListAndReverse(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")
	s.SetFriendlyName(ctx, "alice@example.com", "Alice") // alice v1

	ch, err := s.AddToList(ctx, "Alice@example.com", "BOB@example.com", Forward, "Bobby", "")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != 3 || !ch.Reverse || ch.ReverseVersion != 2 {
		t.Fatalf("Change = %+v", ch)
	}
	c := ch.Contact
	if c.Email != "bob@example.com" || c.FriendlyName != "Bobby" || c.Lists != Forward || !guidRE.MatchString(c.GUID) || c.Groups != nil {
		t.Fatalf("Contact = %+v", c)
	}
	if l := listed(t, s, "alice@example.com", "bob@example.com"); l != Forward {
		t.Fatalf("alice lists bob on %d", l)
	}
	if l := listed(t, s, "bob@example.com", "alice@example.com"); l != Reverse|Pending {
		t.Fatalf("bob lists alice on %d", l)
	}
	if l := listed(t, s, "bob@example.com", "nobody@example.com"); l != 0 {
		t.Fatalf("Listed of a stranger = %d", l)
	}
	_, err = s.Listed(ctx, "nobody@example.com", "bob@example.com")
	wantErr(t, "Listed unknown owner", err, ErrNotFound)

	// Bob's RL entry carries Alice's name at the time; it is pending
	// until Bob puts her on AL or BL.
	cs, _, err := s.Contacts(ctx, "bob@example.com")
	if err != nil || len(cs) != 1 || cs[0].Email != "alice@example.com" || cs[0].FriendlyName != "Alice" || cs[0].Lists != Reverse|Pending {
		t.Fatalf("bob's contacts = %+v, %v", cs, err)
	}

	ws, err := s.Watchers(ctx, "BOB@example.com")
	if err != nil || len(ws) != 1 || ws[0].Email != "alice@example.com" || ws[0].FriendlyName != "Alice" ||
		ws[0].Lists != Reverse|Pending || ws[0].GUID != cs[0].GUID {
		t.Fatalf("Watchers(bob) = %+v, %v", ws, err)
	}
	if ws, err := s.Watchers(ctx, "alice@example.com"); err != nil || len(ws) != 0 {
		t.Fatalf("Watchers(alice) = %+v, %v", ws, err)
	}

	_, err = s.AddToList(ctx, "alice@example.com", "bob@example.com", Forward, "", "")
	wantErr(t, "again", err, ErrAlreadyOnList)
	_, err = s.AddToList(ctx, "alice@example.com", "nobody@example.com", Forward, "", "")
	wantErr(t, "unknown contact", err, ErrNotFound)
	_, err = s.AddToList(ctx, "nobody@example.com", "bob@example.com", Forward, "", "")
	wantErr(t, "unknown owner", err, ErrNotFound)
	_, err = s.AddToList(ctx, "alice@example.com", "not valid", Forward, "", "")
	wantErr(t, "invalid contact", err, ErrInvalidEmail)
	_, err = s.AddToList(ctx, "alice@example.com", "bob@example.com", Reverse, "", "")
	wantErr(t, "client RL add", err, ErrInvalidList)
	_, err = s.AddToList(ctx, "alice@example.com", "bob@example.com", Forward|Allow, "", "")
	wantErr(t, "two lists at once", err, ErrInvalidList)
	_, err = s.RemoveFromList(ctx, "bob@example.com", "alice@example.com", Reverse, "")
	wantErr(t, "client RL remove", err, ErrInvalidList)
	if v := version(t, s, "alice@example.com"); v != 3 {
		t.Fatalf("failed calls changed alice's version to %d", v)
	}

	// Both directions at once.
	ch = mustAdd(t, s, "bob@example.com", "alice@example.com", Forward, "")
	if ch.Contact.Lists != Forward|Reverse|Pending || ch.Version != 3 || ch.ReverseVersion != 4 {
		t.Fatalf("bob adds alice: %+v", ch)
	}

	ch, err = s.RemoveFromList(ctx, "alice@example.com", "Bob@example.com", Forward, "")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != 5 || !ch.Reverse || ch.ReverseVersion != 4 || ch.Contact.Lists != Reverse|Pending {
		t.Fatalf("remove: %+v", ch)
	}
	if l := listed(t, s, "bob@example.com", "alice@example.com"); l != Forward {
		t.Fatalf("after removal bob lists alice on %d", l)
	}
	if ws, _ := s.Watchers(ctx, "bob@example.com"); len(ws) != 0 {
		t.Fatalf("Watchers(bob) after removal = %+v", ws)
	}
	_, err = s.RemoveFromList(ctx, "alice@example.com", "bob@example.com", Forward, "")
	wantErr(t, "remove again", err, ErrNotOnList)

	ch, err = s.RemoveFromList(ctx, "bob@example.com", "alice@example.com", Forward, "")
	if err != nil || ch.Contact.Email != "" || !ch.Reverse {
		t.Fatalf("last removal = %+v, %v; want a zero Contact", ch, err)
	}
	for _, who := range []string{"alice@example.com", "bob@example.com"} {
		if cs, _, _ := s.Contacts(ctx, who); len(cs) != 0 {
			t.Fatalf("%s still has %+v", who, cs)
		}
	}
}

func TestAddSelf(t *testing.T) { eachEngine(t, testAddSelf) }

func testAddSelf(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	mustCreate(t, s, "me@example.com")
	ch := mustAdd(t, s, "me@example.com", "me@example.com", Forward, "")
	if ch.Contact.Lists != Forward|Reverse || ch.Version != 2 || ch.ReverseVersion != 2 {
		t.Fatalf("self add: %+v", ch)
	}
	ch, err := s.RemoveFromList(ctx, "me@example.com", "me@example.com", Forward, "")
	if err != nil || ch.Version != 3 || ch.Contact.Email != "" {
		t.Fatalf("self remove: %+v, %v", ch, err)
	}
}

func TestAllowBlock(t *testing.T) { eachEngine(t, testAllowBlock) }

func testAllowBlock(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")

	ch := mustAdd(t, s, "alice@example.com", "bob@example.com", Allow, "")
	if ch.Version != 2 || ch.Reverse || ch.Contact.Lists != Allow {
		t.Fatalf("AL add: %+v", ch)
	}
	_, err := s.AddToList(ctx, "alice@example.com", "bob@example.com", Allow, "", "")
	wantErr(t, "AL again", err, ErrAlreadyOnList)
	_, err = s.AddToList(ctx, "alice@example.com", "bob@example.com", Block, "", "")
	wantErr(t, "BL while on AL", err, ErrOppositeList)
	_, err = s.AddToList(ctx, "alice@example.com", "bob@example.com", Allow, "", "some-group")
	wantErr(t, "group with AL", err, ErrInvalidList)

	// FL and AL share one row and one GUID.
	ch2 := mustAdd(t, s, "alice@example.com", "bob@example.com", Forward, "")
	if ch2.Contact.Lists != Forward|Allow || ch2.Contact.GUID != ch.Contact.GUID {
		t.Fatalf("FL after AL: %+v (was %+v)", ch2, ch)
	}
	// Bob's list does not change for Alice's AL/BL.
	if l := listed(t, s, "bob@example.com", "alice@example.com"); l != Reverse|Pending {
		t.Fatalf("bob lists alice on %d", l)
	}

	// Moving from AL to BL: remove then add.
	ch, err = s.RemoveFromList(ctx, "alice@example.com", "bob@example.com", Allow, "")
	if err != nil || ch.Reverse || ch.Contact.Lists != Forward {
		t.Fatalf("AL remove = %+v, %v", ch, err)
	}
	mustAdd(t, s, "alice@example.com", "bob@example.com", Block, "")
	_, err = s.AddToList(ctx, "alice@example.com", "bob@example.com", Allow, "", "")
	wantErr(t, "AL while on BL", err, ErrOppositeList)
	ws, _ := s.Watchers(ctx, "alice@example.com")
	if len(ws) != 0 {
		t.Fatalf("Watchers(alice) = %+v", ws)
	}
	// Bob watches Alice, who blocks him: Watchers shows the block.
	mustAdd(t, s, "bob@example.com", "alice@example.com", Forward, "")
	ws, _ = s.Watchers(ctx, "alice@example.com")
	if len(ws) != 1 || ws[0].Lists != Forward|Block|Reverse {
		t.Fatalf("Watchers(alice) = %+v", ws)
	}

	// AL/BL take accounts that exist, in any case; not handles without one.
	_, err = s.AddToList(ctx, "alice@example.com", "ghost@example.com", Block, "", "")
	wantErr(t, "BL of a handle without an account", err, ErrNotFound)
	mustCreate(t, s, "carol@example.com")
	ch = mustAdd(t, s, "alice@example.com", "Carol@Example.com", Block, "")
	if ch.Contact.Email != "carol@example.com" || ch.Contact.FriendlyName != "carol@example.com" {
		t.Fatalf("carol: %+v", ch)
	}
	ch, err = s.RemoveFromList(ctx, "alice@example.com", "carol@example.com", Block, "")
	if err != nil || ch.Contact.Email != "" {
		t.Fatalf("carol's removal = %+v, %v", ch, err)
	}
	_, err = s.RemoveFromList(ctx, "alice@example.com", "carol@example.com", Block, "")
	wantErr(t, "removal again", err, ErrNotOnList)
	_, err = s.RemoveFromList(ctx, "alice@example.com", "bob@example.com", Allow, "")
	wantErr(t, "not on AL", err, ErrNotOnList)
}

func TestGroups(t *testing.T) { eachEngine(t, testGroups) }

func testGroups(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")
	mustCreate(t, s, "carol@example.com")

	work, v, err := s.AddGroup(ctx, "alice@example.com", "Work")
	if err != nil || work.Number != 1 || work.Name != "Work" || !guidRE.MatchString(work.GUID) || v != 2 {
		t.Fatalf("AddGroup = %+v, %d, %v", work, v, err)
	}
	friends, _, _ := s.AddGroup(ctx, "alice@example.com", "Friends")
	family, _, _ := s.AddGroup(ctx, "alice@example.com", "Family ☺")
	if friends.Number != 2 || family.Number != 3 {
		t.Fatalf("numbers %d %d", friends.Number, family.Number)
	}
	_, _, err = s.AddGroup(ctx, "alice@example.com", "Work")
	wantErr(t, "duplicate", err, ErrGroupExists)
	_, _, err = s.AddGroup(ctx, "alice@example.com", strings.Repeat("g", MaxGroupName+1))
	wantErr(t, "long name", err, ErrInvalidName)
	_, _, err = s.AddGroup(ctx, "alice@example.com", "")
	wantErr(t, "empty name", err, ErrInvalidName)
	_, _, err = s.AddGroup(ctx, "nobody@example.com", "x")
	wantErr(t, "unknown owner", err, ErrNotFound)
	// Another account may use the same name.
	if _, _, err := s.AddGroup(ctx, "bob@example.com", "Work"); err != nil {
		t.Fatal(err)
	}

	g, err := s.GroupByNumber(ctx, "alice@example.com", 2)
	if err != nil || g != friends {
		t.Fatalf("GroupByNumber = %+v, %v", g, err)
	}
	_, err = s.GroupByNumber(ctx, "alice@example.com", 0)
	wantErr(t, "group 0", err, ErrNoSuchGroup)

	// ADD FL with a group, then the same contact into another group.
	ch := mustAdd(t, s, "alice@example.com", "bob@example.com", Forward, work.GUID)
	if !slices.Equal(ch.Contact.Groups, []string{work.GUID}) || !ch.Reverse {
		t.Fatalf("FL+group: %+v", ch)
	}
	ch = mustAdd(t, s, "alice@example.com", "bob@example.com", Forward, strings.ToUpper(friends.GUID))
	if !slices.Equal(ch.Contact.Groups, []string{work.GUID, friends.GUID}) || ch.Reverse {
		t.Fatalf("FL into second group: %+v", ch)
	}
	_, err = s.AddToList(ctx, "alice@example.com", "bob@example.com", Forward, "", work.GUID)
	wantErr(t, "already in group", err, ErrAlreadyInGroup)
	_, err = s.AddToList(ctx, "alice@example.com", "carol@example.com", Forward, "", newGUID())
	wantErr(t, "no such group", err, ErrNoSuchGroup)
	if l := listed(t, s, "alice@example.com", "carol@example.com"); l != 0 {
		t.Fatalf("failed add left carol on %d", l)
	}
	_, err = s.AddToList(ctx, "alice@example.com", "carol@example.com", Forward, "", "")
	if err != nil {
		t.Fatal(err)
	}
	before := version(t, s, "alice@example.com")
	v, err = s.AddToGroup(ctx, "alice@example.com", "carol@example.com", family.GUID)
	if err != nil || v != before+1 {
		t.Fatalf("AddToGroup = %d, %v", v, err)
	}
	_, err = s.AddToGroup(ctx, "alice@example.com", "carol@example.com", family.GUID)
	wantErr(t, "AddToGroup again", err, ErrAlreadyInGroup)
	_, err = s.AddToGroup(ctx, "alice@example.com", "nobody@example.com", family.GUID)
	wantErr(t, "AddToGroup stranger", err, ErrNotOnList)
	_, err = s.AddToGroup(ctx, "alice@example.com", "carol@example.com", newGUID())
	wantErr(t, "AddToGroup no group", err, ErrNoSuchGroup)

	// REM FL with a group only leaves the group.
	bobV := version(t, s, "bob@example.com")
	ch, err = s.RemoveFromList(ctx, "alice@example.com", "bob@example.com", Forward, work.GUID)
	if err != nil || ch.Reverse || !slices.Equal(ch.Contact.Groups, []string{friends.GUID}) || ch.Contact.Lists != Forward {
		t.Fatalf("REM FL group = %+v, %v", ch, err)
	}
	if version(t, s, "bob@example.com") != bobV {
		t.Fatal("leaving a group changed the contact's version")
	}
	_, err = s.RemoveFromList(ctx, "alice@example.com", "bob@example.com", Forward, work.GUID)
	wantErr(t, "not in group", err, ErrNotInGroup)
	_, err = s.RemoveFromList(ctx, "alice@example.com", "bob@example.com", Forward, newGUID())
	wantErr(t, "remove from no group", err, ErrNoSuchGroup)
	ch, err = s.RemoveFromList(ctx, "alice@example.com", "bob@example.com", Forward, friends.GUID)
	if err != nil || len(ch.Contact.Groups) != 0 || ch.Contact.Lists != Forward {
		t.Fatalf("leave last group = %+v, %v", ch, err)
	}

	// Rename.
	g, v, err = s.RenameGroup(ctx, "alice@example.com", work.GUID, "Job")
	if err != nil || g.Name != "Job" || g.Number != 1 || g.GUID != work.GUID {
		t.Fatalf("RenameGroup = %+v, %v", g, err)
	}
	if _, v2, err := s.RenameGroup(ctx, "alice@example.com", work.GUID, "Job"); err != nil || v2 != v {
		t.Fatalf("rename to same name = %d, %v (version was %d)", v2, err, v)
	}
	_, _, err = s.RenameGroup(ctx, "alice@example.com", work.GUID, "Friends")
	wantErr(t, "rename onto another", err, ErrGroupExists)
	_, _, err = s.RenameGroup(ctx, "alice@example.com", newGUID(), "X")
	wantErr(t, "rename missing", err, ErrNoSuchGroup)

	// Remove a group: memberships go, contacts stay; its number is reused.
	mustAdd(t, s, "alice@example.com", "bob@example.com", Forward, work.GUID)
	if _, err := s.RemoveGroup(ctx, "alice@example.com", work.GUID); err != nil {
		t.Fatal(err)
	}
	_, err = s.RemoveGroup(ctx, "alice@example.com", work.GUID)
	wantErr(t, "remove twice", err, ErrNoSuchGroup)
	cs, gs, err := s.Contacts(ctx, "alice@example.com")
	if err != nil || len(gs) != 2 || gs[0] != friends || gs[1] != family {
		t.Fatalf("groups after removal = %+v, %v", gs, err)
	}
	if len(cs) != 2 || cs[0].Email != "bob@example.com" || len(cs[0].Groups) != 0 ||
		cs[1].Email != "carol@example.com" || !slices.Equal(cs[1].Groups, []string{family.GUID}) {
		t.Fatalf("contacts after group removal = %+v", cs)
	}
	again, _, _ := s.AddGroup(ctx, "alice@example.com", "New")
	if again.Number != 1 {
		t.Fatalf("new group got number %d, want the freed 1", again.Number)
	}

	// At most MaxGroups.
	for i := len(gs) + 1; i < MaxGroups; i++ {
		if _, _, err := s.AddGroup(ctx, "alice@example.com", fmt.Sprint("G", i)); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = s.AddGroup(ctx, "alice@example.com", "one too many")
	wantErr(t, "too many", err, ErrTooManyGroups)
}

func TestContactByGUIDAndName(t *testing.T) { eachEngine(t, testContactByGUIDAndName) }

func testContactByGUIDAndName(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")
	g, _, _ := s.AddGroup(ctx, "alice@example.com", "Work")
	ch := mustAdd(t, s, "alice@example.com", "bob@example.com", Forward, g.GUID)

	c, err := s.ContactByGUID(ctx, "alice@example.com", strings.ToUpper(ch.Contact.GUID))
	if err != nil || c.Email != "bob@example.com" || !slices.Equal(c.Groups, []string{g.GUID}) {
		t.Fatalf("ContactByGUID = %+v, %v", c, err)
	}
	_, err = s.ContactByGUID(ctx, "alice@example.com", newGUID())
	wantErr(t, "unknown GUID", err, ErrNotOnList)
	_, err = s.ContactByGUID(ctx, "bob@example.com", ch.Contact.GUID)
	wantErr(t, "someone else's GUID", err, ErrNotOnList)
	_, err = s.ContactByGUID(ctx, "nobody@example.com", ch.Contact.GUID)
	wantErr(t, "unknown owner", err, ErrNotFound)

	v, err := s.SetContactName(ctx, "alice@example.com", "bob@example.com", "Bob B.")
	if err != nil || v != ch.Version+1 {
		t.Fatalf("SetContactName = %d, %v", v, err)
	}
	if v2, err := s.SetContactName(ctx, "alice@example.com", "bob@example.com", "Bob B."); err != nil || v2 != v {
		t.Fatalf("same name = %d, %v", v2, err)
	}
	_, err = s.SetContactName(ctx, "alice@example.com", "carol@example.com", "C")
	wantErr(t, "not on list", err, ErrNotOnList)
	_, err = s.SetContactName(ctx, "alice@example.com", "bob@example.com", strings.Repeat("x", MaxFriendly+1))
	wantErr(t, "too long", err, ErrInvalidName)
	c, _ = s.ContactByGUID(ctx, "alice@example.com", ch.Contact.GUID)
	if c.FriendlyName != "Bob B." {
		t.Fatalf("name = %q", c.FriendlyName)
	}
	// A new non-empty name on ADD replaces it; an empty one keeps it.
	mustAdd(t, s, "alice@example.com", "bob@example.com", Allow, "")
	c, _ = s.ContactByGUID(ctx, "alice@example.com", ch.Contact.GUID)
	if c.FriendlyName != "Bob B." {
		t.Fatalf("empty name on ADD replaced %q", c.FriendlyName)
	}
}

// TestVersions checks that every mutating call moves the version forward
// by exactly one and returns it.
func TestVersions(t *testing.T) { eachEngine(t, testVersions) }

func testVersions(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")
	const a = "alice@example.com"
	last := version(t, s, a)
	if last != FirstListVersion {
		t.Fatalf("a new account's list version is %d, want %d", last, FirstListVersion)
	}
	step := func(what string, v int64, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if v != last+1 || version(t, s, a) != v {
			t.Fatalf("%s: version %d (stored %d), want %d", what, v, version(t, s, a), last+1)
		}
		last = v
	}
	v, err := s.SetFriendlyName(ctx, a, "A")
	step("REA", v, err)
	v, err = s.SetPrivacy(ctx, a, BlockByDefault)
	step("BLP", v, err)
	v, err = s.SetPromptOnAdd(ctx, a, false)
	step("GTC", v, err)
	g, v, err := s.AddGroup(ctx, a, "G")
	step("ADG", v, err)
	_, v, err = s.RenameGroup(ctx, a, g.GUID, "H")
	step("REG", v, err)
	ch, err := s.AddToList(ctx, a, "bob@example.com", Forward, "", "")
	step("ADD FL", ch.Version, err)
	v, err = s.AddToGroup(ctx, a, "bob@example.com", g.GUID)
	step("ADD FL group", v, err)
	ch, err = s.RemoveFromList(ctx, a, "bob@example.com", Forward, g.GUID)
	step("REM FL group", ch.Version, err)
	v, err = s.SetContactName(ctx, a, "bob@example.com", "B")
	step("SBP", v, err)
	ch, err = s.AddToList(ctx, a, "bob@example.com", Allow, "", "")
	step("ADD AL", ch.Version, err)
	ch, err = s.RemoveFromList(ctx, a, "bob@example.com", Allow, "")
	step("REM AL", ch.Version, err)
	v, err = s.RemoveGroup(ctx, a, g.GUID)
	step("RMG", v, err)
	ch, err = s.RemoveFromList(ctx, a, "bob@example.com", Forward, "")
	step("REM FL", ch.Version, err)
	if v := version(t, s, "bob@example.com"); v != FirstListVersion+2 {
		t.Fatalf("bob's version %d, want %d (RL add and remove)", v, FirstListVersion+2)
	}
}

func TestLimits(t *testing.T) { eachEngine(t, testLimits) }

func testLimits(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	mustCreate(t, s, "full@example.com")
	mustCreate(t, s, "extra@example.com")
	seedForward(t, s, "full@example.com", "f", MaxForward)
	_, err := s.AddToList(ctx, "full@example.com", "extra@example.com", Forward, "", "")
	wantErr(t, "FL full", err, ErrListFull)
	// AL and BL are not limited by FL's size.
	mustAdd(t, s, "full@example.com", "extra@example.com", Allow, "")

	// Popular: as many people as the RL may hold have them on FL already.
	const maxReverse = 50
	s = e.newTestOpts(t, Options{BcryptCost: testOpts.BcryptCost, MaxReverse: maxReverse})
	pop := mustCreate(t, s, "popular@example.com").Email
	mustCreate(t, s, "fan0@example.com")
	// Fill popular's RL directly: MaxReverse watchers.
	var rows []seedRow
	for i := range maxReverse {
		rows = append(rows, seedRow{owner: pop, handle: fmt.Sprintf("w%04d@example.com", i), lists: Reverse, name: "w"})
	}
	if err := s.seed(ctx, rows); err != nil {
		t.Fatal(err)
	}
	_, err = s.AddToList(ctx, "fan0@example.com", pop, Forward, "", "")
	wantErr(t, "RL full", err, ErrListFull)
	if l := listed(t, s, "fan0@example.com", pop); l != 0 {
		t.Fatalf("failed add left %d", l)
	}
}

func TestAllowBlockLimits(t *testing.T) { eachEngine(t, testAllowBlockLimits) }

// testAllowBlockLimits: AL and BL take only handles of accounts that exist,
// and no more of them than could be on the owner's FL and RL together.
func testAllowBlockLimits(t *testing.T, e engine) {
	ctx := context.Background()
	const maxReverse = 10
	s := e.newTestOpts(t, Options{BcryptCost: testOpts.BcryptCost, MaxReverse: maxReverse})
	mustCreate(t, s, "owner@example.com")
	mustCreate(t, s, "real@example.com")
	mustCreate(t, s, "other@example.com")
	for _, l := range []List{Allow, Block} {
		_, err := s.AddToList(ctx, "owner@example.com", "nobody@example.com", l, "", "")
		wantErr(t, fmt.Sprintf("list %d: unknown handle", l), err, ErrNotFound)
		_, err = s.AddToList(ctx, "owner@example.com", "not valid", l, "", "")
		wantErr(t, fmt.Sprintf("list %d: invalid handle", l), err, ErrInvalidEmail)
	}
	if l := listed(t, s, "owner@example.com", "nobody@example.com"); l != 0 {
		t.Fatalf("refused adds left lists %d", l)
	}

	var rows []seedRow
	for i := range MaxForward + maxReverse {
		rows = append(rows, seedRow{owner: "owner@example.com", handle: fmt.Sprintf("a%04d@example.com", i), lists: Allow, name: "a"})
	}
	if err := s.seed(ctx, rows); err != nil {
		t.Fatal(err)
	}
	_, err := s.AddToList(ctx, "owner@example.com", "real@example.com", Allow, "", "")
	wantErr(t, "AL full", err, ErrListFull)
	// BL has its own room.
	mustAdd(t, s, "owner@example.com", "other@example.com", Block, "")
}

func TestDeleteAccountCleanup(t *testing.T) { eachEngine(t, testDeleteAccountCleanup) }

func testDeleteAccountCleanup(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	for _, e := range []string{"alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"} {
		mustCreate(t, s, e)
	}
	g, _, _ := s.AddGroup(ctx, "alice@example.com", "G")
	mustAdd(t, s, "alice@example.com", "bob@example.com", Forward, g.GUID) // alice FL bob, bob RL alice
	mustAdd(t, s, "bob@example.com", "alice@example.com", Forward, "")     // bob FL alice, alice RL bob
	mustAdd(t, s, "carol@example.com", "bob@example.com", Block, "")       // carol BL bob
	mustAdd(t, s, "dave@example.com", "bob@example.com", Forward, "")      // dave FL bob
	mustAdd(t, s, "dave@example.com", "bob@example.com", Allow, "")        // dave AL bob
	s.AddGroup(ctx, "bob@example.com", "Bob's")
	va, vc, vd := version(t, s, "alice@example.com"), version(t, s, "carol@example.com"), version(t, s, "dave@example.com")

	if err := s.DeleteAccount(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if l := listed(t, s, "alice@example.com", "bob@example.com"); l != 0 {
		t.Fatalf("alice still lists bob on %d", l)
	}
	// Off every list: a new account under the handle inherits nothing.
	if l := listed(t, s, "carol@example.com", "bob@example.com"); l != 0 {
		t.Fatalf("carol still lists bob on %d", l)
	}
	if l := listed(t, s, "dave@example.com", "bob@example.com"); l != 0 {
		t.Fatalf("dave still lists bob on %d", l)
	}
	if ws, _ := s.Watchers(ctx, "alice@example.com"); len(ws) != 0 {
		t.Fatalf("Watchers(alice) = %+v", ws)
	}
	if ws, _ := s.Watchers(ctx, "bob@example.com"); len(ws) != 0 {
		t.Fatalf("Watchers(bob) = %+v", ws)
	}
	if v := version(t, s, "alice@example.com"); v != va+1 {
		t.Fatalf("alice version %d, want %d", v, va+1)
	}
	if v := version(t, s, "dave@example.com"); v != vd+1 {
		t.Fatalf("dave version %d, want %d", v, vd+1)
	}
	if v := version(t, s, "carol@example.com"); v != vc+1 {
		t.Fatalf("carol version %d, want %d", v, vc+1)
	}
	cs, gs, _ := s.Contacts(ctx, "alice@example.com")
	if len(cs) != 0 || len(gs) != 1 {
		t.Fatalf("alice after: %+v %+v", cs, gs)
	}
	// Nothing of bob's own is left behind.
	for _, q := range []string{
		`SELECT count(*) FROM contacts WHERE owner NOT IN (SELECT id FROM accounts)`,
		`SELECT count(*) FROM contact_groups WHERE owner NOT IN (SELECT id FROM accounts)`,
		`SELECT count(*) FROM group_members`,
		`SELECT count(*) FROM contacts WHERE email = 'bob@example.com'`,
	} {
		if n, err := s.count(ctx, q); err != nil || n != 0 {
			t.Fatalf("%s = %d, %v", q, n, err)
		}
	}
	// Re-registering the handle starts clean on both sides.
	mustCreate(t, s, "bob@example.com")
	if cs, gs, _ := s.Contacts(ctx, "bob@example.com"); len(cs) != 0 || len(gs) != 0 {
		t.Fatalf("new bob inherits %+v %+v", cs, gs)
	}
	if l := listed(t, s, "carol@example.com", "bob@example.com"); l != 0 {
		t.Fatalf("new bob is on carol's list %d", l)
	}
}

func TestReopen(t *testing.T) { eachEngine(t, testReopen) }

func testReopen(t *testing.T, e engine) {
	ctx := context.Background()
	at := e.fresh(t)
	s := e.openTest(t, at)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")
	g, _, _ := s.AddGroup(ctx, "alice@example.com", "G")
	ch := mustAdd(t, s, "alice@example.com", "bob@example.com", Forward, g.GUID)
	s.SetPrivacy(ctx, "alice@example.com", BlockByDefault)
	m, _ := s.MD5Secret(ctx, "alice@example.com")
	wantCs, wantGs, _ := s.Contacts(ctx, "alice@example.com")
	wantA, _ := s.Account(ctx, "alice@example.com")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = e.openTest(t, at)
	defer s.Close()
	a, err := s.Account(ctx, "alice@example.com")
	if err != nil || a != wantA {
		t.Fatalf("after reopen %+v, %v; want %+v", a, err, wantA)
	}
	cs, gs, _ := s.Contacts(ctx, "alice@example.com")
	if !slices.EqualFunc(cs, wantCs, func(a, b Contact) bool {
		return a.Email == b.Email && a.GUID == b.GUID && a.Lists == b.Lists && slices.Equal(a.Groups, b.Groups)
	}) || !slices.Equal(gs, wantGs) || cs[0].GUID != ch.Contact.GUID {
		t.Fatalf("after reopen %+v %+v; want %+v %+v", cs, gs, wantCs, wantGs)
	}
	if m2, _ := s.MD5Secret(ctx, "alice@example.com"); m2 != m {
		t.Fatalf("MD5 secret changed: %+v → %+v", m, m2)
	}
	if _, err := s.CheckPassword(ctx, "alice@example.com", "pw-alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if l := listed(t, s, "bob@example.com", "alice@example.com"); l != Reverse|Pending {
		t.Fatalf("RL after reopen: %d", l)
	}
}

// seedForward creates n accounts named prefix0000@example.com… and puts
// them all on owner's FL (with owner on their RL), in two batches; a fast
// way to fill big lists in tests.
func seedForward(t testing.TB, s testStore, owner, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("%s%04d@example.com", prefix, i)
	}
	if err := s.CreateAccounts(ctx, emails, "x", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	a, err := s.Account(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]seedRow, 0, 2*n)
	for _, e := range emails {
		rows = append(rows,
			seedRow{owner: owner, handle: e, lists: Forward, name: e},
			seedRow{owner: e, handle: owner, lists: Reverse, name: a.FriendlyName})
	}
	if err := s.seed(ctx, rows); err != nil {
		t.Fatal(err)
	}
	return emails
}

// TestOddInput: handles, GUIDs, group numbers and key prefixes that cannot
// name anything stored (a NUL byte, invalid UTF-8, a number out of range)
// find nothing, with the same sentinel errors on every engine, rather
// than failing in the database.
func TestOddInput(t *testing.T) { eachEngine(t, testOddInput) }

func testOddInput(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	const a, b = "alice@example.com", "bob@example.com"
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	g, _, err := s.AddGroup(ctx, a, "G")
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, a, b, Forward, g.GUID)
	if err := s.KVSet(ctx, "ns", "a", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for _, odd := range []string{"nul\x00@example.com", "bad\xff@example.com", "\x00", "\xff\xfe"} {
		_, err := s.Account(ctx, odd)
		wantErr(t, "Account", err, ErrNotFound)
		_, err = s.CheckPassword(ctx, odd, "pw")
		wantErr(t, "CheckPassword", err, ErrNotFound)
		_, err = s.MD5Secret(ctx, odd)
		wantErr(t, "MD5Secret", err, ErrNotFound)
		wantErr(t, "SetPassword", s.SetPassword(ctx, odd, "pw"), ErrNotFound)
		_, err = s.SetFriendlyName(ctx, odd, "x")
		wantErr(t, "SetFriendlyName", err, ErrNotFound)
		wantErr(t, "DeleteAccount", s.DeleteAccount(ctx, odd), ErrNotFound)
		if err := s.DeleteAccounts(ctx, []string{odd}); err != nil {
			t.Errorf("DeleteAccounts(%q) = %v", odd, err)
		}
		_, _, err = s.Contacts(ctx, odd)
		wantErr(t, "Contacts", err, ErrNotFound)
		_, err = s.Listed(ctx, odd, a)
		wantErr(t, "Listed owner", err, ErrNotFound)
		if l, err := s.Listed(ctx, a, odd); err != nil || l != 0 {
			t.Errorf("Listed(alice, %q) = %d, %v", odd, l, err)
		}
		if ws, err := s.Watchers(ctx, odd); err != nil || len(ws) != 0 {
			t.Errorf("Watchers(%q) = %v, %v", odd, ws, err)
		}
		_, err = s.ContactByGUID(ctx, a, odd)
		wantErr(t, "ContactByGUID", err, ErrNotOnList)
		_, err = s.ContactByGUID(ctx, odd, g.GUID)
		wantErr(t, "ContactByGUID owner", err, ErrNotFound)
		_, err = s.RemoveFromList(ctx, a, odd, Allow, "")
		wantErr(t, "RemoveFromList", err, ErrNotOnList)
		_, err = s.RemoveFromList(ctx, a, odd, Forward, "")
		wantErr(t, "RemoveFromList FL", err, ErrNotOnList)
		_, err = s.RemoveFromList(ctx, a, b, Forward, odd)
		wantErr(t, "RemoveFromList group", err, ErrNoSuchGroup)
		_, err = s.AddToList(ctx, odd, b, Allow, "", "")
		wantErr(t, "AddToList owner", err, ErrNotFound)
		_, err = s.AddToList(ctx, a, b, Forward, "", odd)
		wantErr(t, "AddToList group", err, ErrNoSuchGroup)
		_, err = s.AddToGroup(ctx, a, b, odd)
		wantErr(t, "AddToGroup", err, ErrNoSuchGroup)
		_, err = s.AddToGroup(ctx, a, odd, g.GUID)
		wantErr(t, "AddToGroup contact", err, ErrNotOnList)
		_, _, err = s.RenameGroup(ctx, a, odd, "H")
		wantErr(t, "RenameGroup", err, ErrNoSuchGroup)
		_, err = s.RemoveGroup(ctx, a, odd)
		wantErr(t, "RemoveGroup", err, ErrNoSuchGroup)
		_, err = s.SetContactName(ctx, a, odd, "x")
		wantErr(t, "SetContactName", err, ErrNotOnList)
		_, _, err = s.AddGroup(ctx, odd, "H")
		wantErr(t, "AddGroup", err, ErrNotFound)
	}
	for _, n := range []int{0, -1, 1 << 31, 1 << 40} {
		_, err := s.GroupByNumber(ctx, a, n)
		wantErr(t, fmt.Sprint("GroupByNumber ", n), err, ErrNoSuchGroup)
	}
	for _, prefix := range []string{"a\x00", "\x00"} {
		if keys, err := s.KVList(ctx, "ns", prefix); err != nil || len(keys) != 0 {
			t.Errorf("KVList(%q) = %q, %v", prefix, keys, err)
		}
	}
	if keys, err := s.KVList(ctx, "ns", "\U0010FFFF"); err != nil || len(keys) != 0 {
		t.Errorf("KVList(U+10FFFF) = %q, %v", keys, err)
	}
	// Nothing above changed anything.
	if v := version(t, s, a); v != 3 {
		t.Errorf("alice's version %d, want 3", v)
	}
}

func TestPing(t *testing.T) { eachEngine(t, testPing) }

// testPing: health checks ask the store whether its database answers.
func testPing(t *testing.T, e engine) {
	s := e.newTest(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	s.Close()
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping after Close reported the database healthy")
	}
}

func TestListVersion(t *testing.T) { eachEngine(t, testListVersion) }

// ListVersion is the account's list version, which every change to its
// lists or settings moves: the SYN after a sign-in trusts a copy with the
// same one.
func testListVersion(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")
	check := func(what string, want int64) {
		t.Helper()
		v, err := s.ListVersion(ctx, "Alice@Example.com")
		a, _ := s.Account(ctx, "alice@example.com")
		if err != nil || v != want || v != a.ListVersion {
			t.Fatalf("%s: ListVersion = %d, %v; want %d (Account has %d)", what, v, err, want, a.ListVersion)
		}
	}
	check("new", FirstListVersion)
	v, err := s.SetFriendlyName(ctx, "alice@example.com", "Alice A.")
	if err != nil {
		t.Fatal(err)
	}
	check("after a name change", v)
	if _, err := s.AddToList(ctx, "bob@example.com", "alice@example.com", Forward, "Alice", ""); err != nil {
		t.Fatal(err)
	}
	check("after someone else's add", v+1)
	if _, err := s.ListVersion(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ListVersion of no account: %v, want ErrNotFound", err)
	}
}
