package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

var testOpts = Options{BcryptCost: bcrypt.MinCost}

func openTest(t testing.TB, path string) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), path, testOpts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func openTestOpts(t testing.TB, path string, opts Options) *SQLite {
	t.Helper()
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newTest(t testing.TB) *SQLite {
	t.Helper()
	s := openTest(t, filepath.Join(t.TempDir(), "data", "nudge.db"))
	t.Cleanup(func() { s.Close() })
	return s
}

func mustCreate(t testing.TB, s *SQLite, email string) Account {
	t.Helper()
	a, err := s.CreateAccount(context.Background(), email, "pw-"+email, "")
	if err != nil {
		t.Fatalf("CreateAccount(%s): %v", email, err)
	}
	return a
}

func mustAdd(t testing.TB, s *SQLite, owner, contact string, l List, group string) Change {
	t.Helper()
	ch, err := s.AddToList(context.Background(), owner, contact, l, "", group)
	if err != nil {
		t.Fatalf("AddToList(%s, %s, %d, %q): %v", owner, contact, l, group, err)
	}
	return ch
}

func version(t testing.TB, s *SQLite, email string) int64 {
	t.Helper()
	a, err := s.Account(context.Background(), email)
	if err != nil {
		t.Fatalf("Account(%s): %v", email, err)
	}
	return a.ListVersion
}

func listed(t testing.TB, s *SQLite, owner, contact string) List {
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

func TestAccountLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)

	before := time.Now().Add(-time.Second)
	a, err := s.CreateAccount(ctx, "Alice@Example.com", "secret", "")
	if err != nil {
		t.Fatal(err)
	}
	want := Account{Email: "alice@example.com", FriendlyName: "alice@example.com", Privacy: AllowByDefault, PromptOnAdd: true}
	if a.Email != want.Email || a.FriendlyName != want.FriendlyName || a.Privacy != want.Privacy ||
		a.PromptOnAdd != want.PromptOnAdd || a.ListVersion != 0 || a.Created.Before(before) {
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
	if err != nil || v != 1 {
		t.Fatalf("SetFriendlyName = %d, %v", v, err)
	}
	_, err = s.SetFriendlyName(ctx, "alice@example.com", "Alice")
	wantErr(t, "same name", err, ErrSameValue)
	_, err = s.SetFriendlyName(ctx, "alice@example.com", "")
	wantErr(t, "empty name", err, ErrInvalidName)
	_, err = s.SetFriendlyName(ctx, "nobody@example.com", "x")
	wantErr(t, "unknown", err, ErrNotFound)
	if v, err = s.SetPrivacy(ctx, "alice@example.com", BlockByDefault); err != nil || v != 2 {
		t.Fatalf("SetPrivacy = %d, %v", v, err)
	}
	_, err = s.SetPrivacy(ctx, "alice@example.com", BlockByDefault)
	wantErr(t, "same privacy", err, ErrSameValue)
	_, err = s.SetPrivacy(ctx, "alice@example.com", "XX")
	wantErr(t, "bad privacy", err, ErrInvalidPrivacy)
	if v, err = s.SetPromptOnAdd(ctx, "alice@example.com", false); err != nil || v != 3 {
		t.Fatalf("SetPromptOnAdd = %d, %v", v, err)
	}
	_, err = s.SetPromptOnAdd(ctx, "alice@example.com", false)
	wantErr(t, "same GTC", err, ErrSameValue)
	got, _ = s.Account(ctx, "alice@example.com")
	if got.FriendlyName != "Alice" || got.Privacy != BlockByDefault || got.PromptOnAdd || got.ListVersion != 3 {
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

func TestPasswords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "nudge.db")
	s := openTest(t, path)
	defer s.Close()

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

	// The plaintext is nowhere on disk.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "nudge.db*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) || bytes.Contains(b, []byte(pw2)) {
			t.Fatalf("%s contains a plaintext password", f)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file mode %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestForwardListAndReverse(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")
	s.SetFriendlyName(ctx, "alice@example.com", "Alice") // alice v1

	ch, err := s.AddToList(ctx, "Alice@example.com", "BOB@example.com", Forward, "Bobby", "")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != 2 || !ch.Reverse || ch.ReverseVersion != 1 {
		t.Fatalf("Change = %+v", ch)
	}
	c := ch.Contact
	if c.Email != "bob@example.com" || c.FriendlyName != "Bobby" || c.Lists != Forward || !guidRE.MatchString(c.GUID) || c.Groups != nil {
		t.Fatalf("Contact = %+v", c)
	}
	if l := listed(t, s, "alice@example.com", "bob@example.com"); l != Forward {
		t.Fatalf("alice lists bob on %d", l)
	}
	if l := listed(t, s, "bob@example.com", "alice@example.com"); l != Reverse {
		t.Fatalf("bob lists alice on %d", l)
	}
	if l := listed(t, s, "bob@example.com", "nobody@example.com"); l != 0 {
		t.Fatalf("Listed of a stranger = %d", l)
	}
	_, err = s.Listed(ctx, "nobody@example.com", "bob@example.com")
	wantErr(t, "Listed unknown owner", err, ErrNotFound)

	// Bob's RL entry carries Alice's name at the time.
	cs, _, err := s.Contacts(ctx, "bob@example.com")
	if err != nil || len(cs) != 1 || cs[0].Email != "alice@example.com" || cs[0].FriendlyName != "Alice" || cs[0].Lists != Reverse {
		t.Fatalf("bob's contacts = %+v, %v", cs, err)
	}

	ws, err := s.Watchers(ctx, "BOB@example.com")
	if err != nil || len(ws) != 1 || ws[0].Email != "alice@example.com" || ws[0].FriendlyName != "Alice" ||
		ws[0].Lists != Reverse || ws[0].GUID != cs[0].GUID {
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
	if v := version(t, s, "alice@example.com"); v != 2 {
		t.Fatalf("failed calls changed alice's version to %d", v)
	}

	// Both directions at once.
	ch = mustAdd(t, s, "bob@example.com", "alice@example.com", Forward, "")
	if ch.Contact.Lists != Forward|Reverse || ch.Version != 2 || ch.ReverseVersion != 3 {
		t.Fatalf("bob adds alice: %+v", ch)
	}

	ch, err = s.RemoveFromList(ctx, "alice@example.com", "Bob@example.com", Forward, "")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != 4 || !ch.Reverse || ch.ReverseVersion != 3 || ch.Contact.Lists != Reverse {
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

func TestAddSelf(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	mustCreate(t, s, "me@example.com")
	ch := mustAdd(t, s, "me@example.com", "me@example.com", Forward, "")
	if ch.Contact.Lists != Forward|Reverse || ch.Version != 1 || ch.ReverseVersion != 1 {
		t.Fatalf("self add: %+v", ch)
	}
	ch, err := s.RemoveFromList(ctx, "me@example.com", "me@example.com", Forward, "")
	if err != nil || ch.Version != 2 || ch.Contact.Email != "" {
		t.Fatalf("self remove: %+v, %v", ch, err)
	}
}

func TestAllowBlock(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")

	ch := mustAdd(t, s, "alice@example.com", "bob@example.com", Allow, "")
	if ch.Version != 1 || ch.Reverse || ch.Contact.Lists != Allow {
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
	if l := listed(t, s, "bob@example.com", "alice@example.com"); l != Reverse {
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

	// AL/BL of handles without accounts are allowed.
	ch = mustAdd(t, s, "alice@example.com", "Ghost@Example.com", Block, "")
	if ch.Contact.Email != "ghost@example.com" || ch.Contact.FriendlyName != "ghost@example.com" {
		t.Fatalf("ghost: %+v", ch)
	}
	ch, err = s.RemoveFromList(ctx, "alice@example.com", "ghost@example.com", Block, "")
	if err != nil || ch.Contact.Email != "" {
		t.Fatalf("ghost removal = %+v, %v", ch, err)
	}
	_, err = s.RemoveFromList(ctx, "alice@example.com", "ghost@example.com", Block, "")
	wantErr(t, "ghost removal again", err, ErrNotOnList)
	_, err = s.RemoveFromList(ctx, "alice@example.com", "bob@example.com", Allow, "")
	wantErr(t, "not on AL", err, ErrNotOnList)
}

func TestGroups(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")
	mustCreate(t, s, "carol@example.com")

	work, v, err := s.AddGroup(ctx, "alice@example.com", "Work")
	if err != nil || work.Number != 1 || work.Name != "Work" || !guidRE.MatchString(work.GUID) || v != 1 {
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

func TestContactByGUIDAndName(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
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
func TestVersions(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	mustCreate(t, s, "alice@example.com")
	mustCreate(t, s, "bob@example.com")
	const a = "alice@example.com"
	last := int64(0)
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
	if v := version(t, s, "bob@example.com"); v != 2 {
		t.Fatalf("bob's version %d, want 2 (RL add and remove)", v)
	}
}

// seedForward creates n accounts named prefix0000@example.com… and puts
// them all on owner's FL in one transaction, through the same helpers
// AddToList uses; a fast way to fill big lists in tests.
func seedForward(t testing.TB, s *SQLite, owner, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	var emails []string
	err := s.write(ctx, func(tx *sql.Tx) error {
		me, err := accountRef(ctx, tx, owner)
		if err != nil {
			return err
		}
		for i := range n {
			e := fmt.Sprintf("%s%04d@example.com", prefix, i)
			emails = append(emails, e)
			var id int64
			if err := tx.QueryRowContext(ctx, `
				INSERT INTO accounts (email, friendly_name, password_hash, md5_salt, md5_digest, created)
				VALUES (?, ?, ?, '1.1', '', 0) RETURNING id`, e, "Name "+e, hash).Scan(&id); err != nil {
				return err
			}
			if _, err := setBits(ctx, tx, me.id, e, Forward, e, false); err != nil {
				return err
			}
			if _, err := setBits(ctx, tx, id, owner, Reverse, me.name, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return emails
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
	mustCreate(t, s, "full@example.com")
	mustCreate(t, s, "extra@example.com")
	seedForward(t, s, "full@example.com", "f", MaxForward)
	_, err := s.AddToList(ctx, "full@example.com", "extra@example.com", Forward, "", "")
	wantErr(t, "FL full", err, ErrListFull)
	// AL and BL are not limited by FL's size.
	mustAdd(t, s, "full@example.com", "extra@example.com", Allow, "")

	// Popular: as many people as the RL may hold have them on FL already.
	const maxReverse = 50
	s = openTestOpts(t, filepath.Join(t.TempDir(), "rl.db"), Options{BcryptCost: testOpts.BcryptCost, MaxReverse: maxReverse})
	pop := mustCreate(t, s, "popular@example.com").Email
	mustCreate(t, s, "fan0@example.com")
	// Fill popular's RL directly: MaxReverse watchers.
	err = s.write(ctx, func(tx *sql.Tx) error {
		p, _ := accountRef(ctx, tx, pop)
		for i := range maxReverse {
			if _, err := setBits(ctx, tx, p.id, fmt.Sprintf("w%04d@example.com", i), Reverse, "w", false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.AddToList(ctx, "fan0@example.com", pop, Forward, "", "")
	wantErr(t, "RL full", err, ErrListFull)
	if l := listed(t, s, "fan0@example.com", pop); l != 0 {
		t.Fatalf("failed add left %d", l)
	}
}

func TestDeleteAccountCleanup(t *testing.T) {
	ctx := context.Background()
	s := newTest(t)
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
	if l := listed(t, s, "carol@example.com", "bob@example.com"); l != Block {
		t.Fatalf("carol's block of bob: %d", l)
	}
	if l := listed(t, s, "dave@example.com", "bob@example.com"); l != Allow {
		t.Fatalf("dave lists bob on %d, want AL only", l)
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
	if v := version(t, s, "carol@example.com"); v != vc {
		t.Fatalf("carol version %d, want unchanged %d", v, vc)
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
		`SELECT count(*) FROM contacts WHERE lists & 9 != 0 AND email = 'bob@example.com'`,
	} {
		var n int
		if err := s.r.QueryRow(q).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s = %d, %v", q, n, err)
		}
	}
	// Re-registering the handle starts clean, and carol's block still holds.
	mustCreate(t, s, "bob@example.com")
	if cs, gs, _ := s.Contacts(ctx, "bob@example.com"); len(cs) != 0 || len(gs) != 0 {
		t.Fatalf("new bob inherits %+v %+v", cs, gs)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a", "b", "nudge.db")
	s := openTest(t, path)
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

	s = openTest(t, path)
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
	if l := listed(t, s, "bob@example.com", "alice@example.com"); l != Reverse {
		t.Fatalf("RL after reopen: %d", l)
	}
}

// TestCrash kills a process right after its calls return, without Close,
// and checks that a new process finds everything (WAL recovery).
func TestCrash(t *testing.T) {
	if path := os.Getenv("NUDGE_STORE_CRASH_DB"); path != "" {
		// The child: write, then die without closing anything.
		s := openTest(t, path)
		mustCreate(t, s, "alice@example.com")
		mustCreate(t, s, "bob@example.com")
		mustAdd(t, s, "alice@example.com", "bob@example.com", Forward, "")
		os.Exit(3)
	}
	path := filepath.Join(t.TempDir(), "nudge.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$")
	cmd.Env = append(os.Environ(), "NUDGE_STORE_CRASH_DB="+path)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := openTest(t, path)
	defer s.Close()
	if l := listed(t, s, "bob@example.com", "alice@example.com"); l != Reverse {
		t.Fatalf("after crash bob lists alice on %d", l)
	}
}

func TestOpenSettings(t *testing.T) {
	s := newTest(t)
	for q, want := range map[string]string{
		"PRAGMA journal_mode": "wal",
		"PRAGMA foreign_keys": "1",
		"PRAGMA synchronous":  "2", // FULL
	} {
		var got string
		if err := s.w.QueryRow(q).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", q, got, err, want)
		}
	}
	// Readers cannot write.
	if _, err := s.r.Exec(`DELETE FROM accounts`); err == nil {
		t.Error("a read connection could write")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), Options{BcryptCost: 99}); err == nil {
		t.Error("Open accepted bcrypt cost 99")
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nudge.db")

	s := openTest(t, path)
	mustCreate(t, s, "alice@example.com")
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	s.Close()

	// A later program adds a step: it runs once, on the existing data.
	next := append(slices.Clip(migrations), `ALTER TABLE accounts ADD COLUMN note TEXT NOT NULL DEFAULT 'hi'`)
	s, err := open(ctx, path, testOpts, next)
	if err != nil {
		t.Fatal(err)
	}
	var note string
	if err := s.r.QueryRow(`SELECT note FROM accounts WHERE email = 'alice@example.com'`).Scan(&note); err != nil || note != "hi" {
		t.Fatalf("migrated row: %q, %v", note, err)
	}
	if v, _ := s.SchemaVersion(ctx); v != len(next) {
		t.Fatalf("version %d, want %d", v, len(next))
	}
	s.Close()
	// Opening again applies nothing (ALTER TABLE would fail if it ran twice).
	s, err = open(ctx, path, testOpts, next)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A failing step leaves the file as it was.
	broken := append(slices.Clip(next), `CREATE TABLE t (x INTEGER)`, `THIS IS NOT SQL`)
	_, err = open(ctx, path, testOpts, broken)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d", len(broken))) {
		t.Fatalf("broken migration: %v", err)
	}
	s, err = open(ctx, path, testOpts, next)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	s.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 't'`).Scan(&n)
	if v, _ := s.SchemaVersion(ctx); v != len(next) || n != 0 {
		t.Fatalf("after failed upgrade: version %d, table t exists: %v", v, n == 1)
	}
	s.Close()

	// The current program refuses a file from the later one.
	_, err = Open(ctx, path, testOpts)
	wantErr(t, "newer schema", err, ErrSchemaTooNew)
	if !strings.Contains(err.Error(), fmt.Sprint(len(next))) {
		t.Fatalf("error does not say the version: %v", err)
	}
}

// TestHotQueriesUseIndexes guards the presence path: Listed and Watchers
// must never scan a table.
func TestHotQueriesUseIndexes(t *testing.T) {
	s := newTest(t)
	for name, q := range map[string]string{"Listed": listedQuery, "Watchers": watchersQuery} {
		rows, err := s.r.Query("EXPLAIN QUERY PLAN "+q, "a@example.com", 1)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(detail, "SCAN ") {
				t.Errorf("%s: %s", name, detail)
			}
		}
		rows.Close()
	}
}
