package store

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

// checkSizes verifies that every account's list sizes, kept as counters,
// are what its list holds.
func checkSizes(t *testing.T, s Store, emails []string) {
	t.Helper()
	ctx := context.Background()
	for _, e := range emails {
		a, err := s.Account(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		cs, _, err := s.Contacts(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		var want ListSizes
		for _, c := range cs {
			want.move(0, c.Lists)
		}
		if a.Sizes != want {
			t.Errorf("%s: sizes %+v, but the list holds %+v", e, a.Sizes, want)
		}
	}
}

func TestPending(t *testing.T) { eachEngine(t, testPending) }

// testPending: adding someone puts you on their RL and PL; their AL or BL
// (or declining) answers it; taking them off your FL takes you off both.
func testPending(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	const a, b, c = "alice@example.com", "bob@example.com", "carol@example.com"
	for _, x := range []string{a, b, c} {
		mustCreate(t, s, x)
	}
	mustAdd(t, s, a, b, Forward, "")
	if l := listed(t, s, b, a); l != Reverse|Pending {
		t.Fatalf("bob lists alice on %05b, want RL|PL", l)
	}
	ch := mustAdd(t, s, b, a, Allow, "")
	if ch.Contact.Lists != Reverse|Allow {
		t.Fatalf("bob allows alice: %05b, want RL|AL", ch.Contact.Lists)
	}
	// Someone already allowed is not pending when they add you.
	mustAdd(t, s, b, a, Forward, "")
	if l := listed(t, s, a, b); l != Forward|Reverse|Pending {
		t.Fatalf("alice lists bob on %05b", l)
	}
	mustAdd(t, s, c, a, Block, "")
	mustAdd(t, s, a, c, Forward, "")
	if l := listed(t, s, c, a); l != Reverse|Block {
		t.Fatalf("carol blocked alice before her add: %05b, want RL|BL", l)
	}

	// Declining: off PL, still on RL.
	ch, err := s.RemoveFromList(ctx, a, b, Pending, "")
	if err != nil || ch.Contact.Lists != Forward|Reverse {
		t.Fatalf("decline = %+v, %v", ch, err)
	}
	_, err = s.RemoveFromList(ctx, a, b, Pending, "")
	wantErr(t, "decline twice", err, ErrNotOnList)
	_, err = s.AddToList(ctx, a, b, Pending, "", "")
	wantErr(t, "client PL add", err, ErrInvalidList)

	// Taking someone off FL takes you off their RL and PL.
	mustAdd(t, s, c, b, Forward, "")
	if _, err := s.RemoveFromList(ctx, c, b, Forward, ""); err != nil {
		t.Fatal(err)
	}
	if l := listed(t, s, b, c); l != 0 {
		t.Fatalf("bob still lists carol on %05b", l)
	}
	// Nobody is pending their own answer.
	ch = mustAdd(t, s, c, c, Forward, "")
	if ch.Contact.Lists != Forward|Reverse {
		t.Fatalf("self add: %05b", ch.Contact.Lists)
	}
	checkSizes(t, s, []string{a, b, c})
}

func TestListSizes(t *testing.T) { eachEngine(t, testListSizes) }

// testListSizes: the counters follow every kind of change, including the
// removals a deleted account makes in others' lists.
func testListSizes(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	emails := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"}
	for _, x := range emails {
		mustCreate(t, s, x)
	}
	a, b, c, d := emails[0], emails[1], emails[2], emails[3]
	mustAdd(t, s, a, b, Forward, "")
	mustAdd(t, s, a, c, Forward, "")
	mustAdd(t, s, b, a, Forward, "")
	mustAdd(t, s, b, a, Allow, "")
	mustAdd(t, s, c, a, Block, "")
	mustAdd(t, s, d, a, Forward, "")
	mustAdd(t, s, d, b, Forward, "")
	mustAdd(t, s, a, a, Forward, "")
	checkSizes(t, s, emails)
	got, _ := s.Account(ctx, a)
	if want := (ListSizes{Forward: 3, Reverse: 3, Pending: 2}); got.Sizes != want {
		t.Fatalf("a's sizes %+v, want %+v", got.Sizes, want)
	}
	if _, err := s.RemoveFromList(ctx, a, c, Forward, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveFromList(ctx, a, a, Forward, ""); err != nil {
		t.Fatal(err)
	}
	checkSizes(t, s, emails)
	if err := s.DeleteAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	checkSizes(t, s, emails[1:])
	if err := s.DeleteAccounts(ctx, []string{b}); err != nil {
		t.Fatal(err)
	}
	checkSizes(t, s, emails[2:])
	if got, _ := s.Account(ctx, d); got.Sizes != (ListSizes{}) {
		t.Fatalf("d's lists after a and b went: %+v", got.Sizes)
	}
}

func TestAddressBook(t *testing.T) { eachEngine(t, testAddressBook) }

func testAddressBook(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	const a, b, c = "alice@example.com", "bob@example.com", "carol@example.com"
	alice := mustCreate(t, s, a)
	bob := mustCreate(t, s, b)
	mustCreate(t, s, c)
	if alice.CID <= 0 || bob.CID <= 0 || alice.CID == bob.CID || alice.Changed != alice.Created {
		t.Fatalf("new accounts: %+v %+v", alice, bob)
	}
	if got, err := s.AccountByCID(ctx, bob.CID); err != nil || got.Email != b {
		t.Fatalf("AccountByCID = %+v, %v", got, err)
	}
	_, err := s.AccountByCID(ctx, 0)
	wantErr(t, "AccountByCID(0)", err, ErrNotFound)

	g, _, _ := s.AddGroup(ctx, a, "Friends")
	mustAdd(t, s, a, b, Forward, g.GUID)
	mustAdd(t, s, a, c, Block, "")
	if _, err := s.Annotate(ctx, a, b, map[string]string{"AB.NickName": "Bobby"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Annotate(ctx, a, "", map[string]string{"MSN.IM.MPOP": "1", "MSN.IM.BLP": "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetContactType(ctx, a, b, "LivePending"); err != nil {
		t.Fatal(err)
	}

	full, err := s.AddressBook(ctx, a, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if full.Owner.Email != a || full.Owner.CID != alice.CID || !full.Owner.Changed.After(alice.Changed) ||
		!maps.Equal(full.Annotations, map[string]string{"MSN.IM.MPOP": "1", "MSN.IM.BLP": "1"}) {
		t.Fatalf("owner: %+v %v", full.Owner, full.Annotations)
	}
	if len(full.Groups) != 1 || full.Groups[0].GUID != g.GUID || full.Groups[0].Changed.IsZero() {
		t.Fatalf("groups: %+v", full.Groups)
	}
	if len(full.Entries) != 2 || len(full.Removed) != 0 {
		t.Fatalf("full book: %+v", full)
	}
	eb, ec := full.Entries[0], full.Entries[1]
	if eb.Email != b || eb.CID != bob.CID || eb.Type != "LivePending" || eb.Lists != Forward ||
		len(eb.Groups) != 1 || eb.Groups[0] != g.GUID || eb.Annotations["AB.NickName"] != "Bobby" {
		t.Fatalf("bob's entry: %+v", eb)
	}
	if ec.Email != c || ec.Type != "Regular" || ec.Lists != Block || ec.Annotations != nil {
		t.Fatalf("carol's entry: %+v", ec)
	}
	// The book's time is its last change, and no entry is newer.
	if eb.Changed.After(full.Owner.Changed) || ec.Changed.After(full.Owner.Changed) {
		t.Fatalf("entries newer than the book: %v %v > %v", eb.Changed, ec.Changed, full.Owner.Changed)
	}

	// A delta since the book's time is empty; then it holds exactly what
	// changed, and the removals.
	since := full.Owner.Changed
	delta, err := s.AddressBook(ctx, a, since)
	if err != nil || len(delta.Entries)+len(delta.Groups)+len(delta.Removed) != 0 || delta.Owner.Changed != since {
		t.Fatalf("delta of nothing: %+v, %v", delta, err)
	}
	if _, err := s.SetContactName(ctx, a, c, "Carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveGroup(ctx, a, g.GUID); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "dave@example.com")
	mustAdd(t, s, a, "dave@example.com", Allow, "")
	if _, err := s.RemoveFromList(ctx, a, "dave@example.com", Allow, ""); err != nil {
		t.Fatal(err)
	}
	delta, err = s.AddressBook(ctx, a, since)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range delta.Entries {
		names = append(names, e.Email)
	}
	// Bob changed too: he left the removed group.
	if strings.Join(names, " ") != b+" "+c || delta.Entries[1].FriendlyName != "Carol" || delta.Entries[0].Groups != nil {
		t.Fatalf("delta entries: %+v", delta.Entries)
	}
	if len(delta.Removed) != 2 || delta.Removed[0].GUID != g.GUID || delta.Removed[0].Email != "" ||
		delta.Removed[1].Email != "dave@example.com" || delta.Removed[1].Lists != Allow {
		t.Fatalf("delta removals: %+v", delta.Removed)
	}
	if !delta.Owner.Changed.After(since) {
		t.Fatalf("the book's time did not move: %v", delta.Owner.Changed)
	}

	// A deleted account leaves the books of everyone who listed it.
	before := delta.Owner.Changed
	if err := s.DeleteAccount(ctx, b); err != nil {
		t.Fatal(err)
	}
	delta, err = s.AddressBook(ctx, a, before)
	if err != nil || len(delta.Removed) != 1 || delta.Removed[0].Email != b || delta.Removed[0].Lists != Forward {
		t.Fatalf("after bob's deletion: %+v, %v", delta, err)
	}

	_, err = s.AddressBook(ctx, a, time.Now().Add(-RemovalMemory-time.Hour))
	wantErr(t, "too old a delta", err, ErrFullSync)
	_, err = s.AddressBook(ctx, "nobody@example.com", time.Time{})
	wantErr(t, "unknown owner", err, ErrNotFound)
}

func TestAnnotations(t *testing.T) { eachEngine(t, testAnnotations) }

func testAnnotations(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	const a, b = "alice@example.com", "bob@example.com"
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	mustAdd(t, s, a, b, Forward, "")
	v0 := version(t, s, a)
	v, err := s.Annotate(ctx, a, b, map[string]string{"AB.NickName": "B", "MSN.IM.InviteMessage": "hi\nthere"})
	if err != nil || v != v0+1 {
		t.Fatalf("Annotate = %d, %v", v, err)
	}
	// The same again changes nothing; an empty value removes.
	if v, err = s.Annotate(ctx, a, b, map[string]string{"AB.NickName": "B"}); err != nil || v != v0+1 {
		t.Fatalf("Annotate same = %d, %v", v, err)
	}
	if v, err = s.Annotate(ctx, a, b, map[string]string{"AB.NickName": ""}); err != nil || v != v0+2 {
		t.Fatalf("Annotate remove = %d, %v", v, err)
	}
	book, _ := s.AddressBook(ctx, a, time.Time{})
	if !maps.Equal(book.Entries[0].Annotations, map[string]string{"MSN.IM.InviteMessage": "hi\nthere"}) {
		t.Fatalf("annotations: %v", book.Entries[0].Annotations)
	}

	for _, bad := range []map[string]string{
		{"": "x"}, {"a\x00": "x"}, {"a": "x\x00"}, {"a": "\xff"},
		{strings.Repeat("n", MaxAnnotationName+1): "x"}, {"a": strings.Repeat("v", MaxAnnotationValue+1)},
	} {
		_, err := s.Annotate(ctx, a, "", bad)
		wantErr(t, fmt.Sprintf("Annotate(%q)", bad), err, ErrInvalidAnnotation)
	}
	many := map[string]string{}
	for i := range MaxAnnotations + 1 {
		many[fmt.Sprint("n", i)] = "v"
	}
	_, err = s.Annotate(ctx, a, "", many)
	wantErr(t, "too many", err, ErrInvalidAnnotation)
	_, err = s.Annotate(ctx, a, "nobody@example.com", map[string]string{"a": "b"})
	wantErr(t, "not on the list", err, ErrNotOnList)
	_, err = s.Annotate(ctx, "nobody@example.com", "", map[string]string{"a": "b"})
	wantErr(t, "unknown owner", err, ErrNotFound)
	_, err = s.SetContactType(ctx, a, b, "")
	wantErr(t, "empty type", err, ErrInvalidName)
	_, err = s.SetContactType(ctx, a, "nobody@example.com", "Regular")
	wantErr(t, "type of a stranger", err, ErrNotOnList)
	if v := version(t, s, a); v != v0+2 {
		t.Fatalf("failed calls moved the version to %d", v)
	}
	// Annotations go with the entry.
	if _, err := s.RemoveFromList(ctx, a, b, Forward, ""); err != nil {
		t.Fatal(err)
	}
	if n, err := s.count(ctx, `SELECT count(*) FROM contact_annotations`); err != nil || n != 0 {
		t.Fatalf("%d annotations left, %v", n, err)
	}
}

func TestOfflineMessages(t *testing.T) { eachEngine(t, testOfflineMessages) }

func testOfflineMessages(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTestOpts(t, Options{BcryptCost: testOpts.BcryptCost, MaxOffline: 3})
	const a, b = "alice@example.com", "bob@example.com"
	mustCreate(t, s, a)
	mustCreate(t, s, b)

	m, err := s.StoreOffline(ctx, OfflineMessage{To: "Bob@Example.com", From: a, FromName: "Alice", Body: []byte("hi ☺")})
	if err != nil {
		t.Fatal(err)
	}
	if !guidRE.MatchString(m.ID) || m.To != b || m.Sent.IsZero() || m.ContentType != "text/plain; charset=UTF-8" {
		t.Fatalf("stored %+v", m)
	}
	sent := time.Date(2009, 1, 2, 3, 4, 5, 6e6, time.UTC)
	m2, err := s.StoreOffline(ctx, OfflineMessage{ID: "{ABC}", To: b, From: a, Sent: sent, ContentType: "text/x-msmsgscontrol", Body: nil})
	if err != nil || m2.ID != "{abc}" || m2.FromName != a {
		t.Fatalf("second: %+v, %v", m2, err)
	}
	got, err := s.OfflineMessages(ctx, "BOB@example.com")
	if err != nil || len(got) != 2 {
		t.Fatalf("OfflineMessages = %+v, %v", got, err)
	}
	// Oldest first, as stored.
	if got[0].ID != m2.ID || !got[0].Sent.Equal(sent) || len(got[0].Body) != 0 || got[0].ContentType != "text/x-msmsgscontrol" ||
		got[1].ID != m.ID || string(got[1].Body) != "hi ☺" || got[1].FromName != "Alice" || got[1].From != a {
		t.Fatalf("OfflineMessages = %+v", got)
	}
	if ms, err := s.OfflineMessages(ctx, a); err != nil || len(ms) != 0 {
		t.Fatalf("alice's = %+v, %v", ms, err)
	}
	if ms, err := s.OfflineMessages(ctx, "nobody@example.com"); err != nil || len(ms) != 0 {
		t.Fatalf("nobody's = %+v, %v", ms, err)
	}
	for who, want := range map[string]bool{"BOB@example.com": true, a: false, "nobody@example.com": false} {
		if waiting, err := s.OfflineWaiting(ctx, who); err != nil || waiting != want {
			t.Fatalf("OfflineWaiting(%s) = %v, %v; want %v", who, waiting, err, want)
		}
	}

	// Bounded per recipient.
	if _, err := s.StoreOffline(ctx, OfflineMessage{To: b, From: a}); err != nil {
		t.Fatal(err)
	}
	_, err = s.StoreOffline(ctx, OfflineMessage{To: b, From: a})
	wantErr(t, "full", err, ErrMailboxFull)
	_, err = s.StoreOffline(ctx, OfflineMessage{To: "nobody@example.com", From: a})
	wantErr(t, "unknown recipient", err, ErrNotFound)
	for _, bad := range []OfflineMessage{
		{To: b, From: "not an address"},
		{To: b, From: a, Body: make([]byte, MaxOfflineBody+1)},
		{To: b, From: a, ContentType: "text/plain\r\nX: y"},
		{To: b, From: a, FromName: "bad\x01name"},
		{To: b, From: a, ID: strings.Repeat("x", 65)},
	} {
		_, err := s.StoreOffline(ctx, bad)
		wantErr(t, fmt.Sprintf("StoreOffline(%+v)", bad.ContentType), err, ErrInvalidMessage)
	}

	// Deleting: only the recipient's, by ID, in any case.
	if n, err := s.DeleteOfflineMessages(ctx, a, []string{m.ID}); err != nil || n != 0 {
		t.Fatalf("someone else deleting = %d, %v", n, err)
	}
	if n, err := s.DeleteOfflineMessages(ctx, b, []string{strings.ToUpper(m.ID), "{abc}", "nope"}); err != nil || n != 2 {
		t.Fatalf("DeleteOfflineMessages = %d, %v", n, err)
	}
	if ms, _ := s.OfflineMessages(ctx, b); len(ms) != 1 {
		t.Fatalf("left: %+v", ms)
	}
	// They go with the account.
	if err := s.DeleteAccount(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n, err := s.count(ctx, `SELECT count(*) FROM offline_messages`); err != nil || n != 0 {
		t.Fatalf("%d offline messages outlived their recipient, %v", n, err)
	}
}

func TestOfflineExpiry(t *testing.T) { eachEngine(t, testOfflineExpiry) }

func testOfflineExpiry(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTestOpts(t, Options{BcryptCost: testOpts.BcryptCost, MaxOffline: 2, OfflineLifetime: 200 * time.Millisecond})
	const a, b = "alice@example.com", "bob@example.com"
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	for range 2 {
		if _, err := s.StoreOffline(ctx, OfflineMessage{To: b, From: a}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if ms, err := s.OfflineMessages(ctx, b); err != nil || len(ms) != 0 {
		t.Fatalf("expired messages read: %+v, %v", ms, err)
	}
	if waiting, err := s.OfflineWaiting(ctx, b); err != nil || waiting {
		t.Fatalf("OfflineWaiting with only expired messages = %v, %v", waiting, err)
	}
	// Expired ones make room.
	if _, err := s.StoreOffline(ctx, OfflineMessage{To: b, From: a}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StoreOffline(ctx, OfflineMessage{To: a, From: b}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n, err := s.ExpireOffline(ctx); err != nil || n != 2 {
		t.Fatalf("ExpireOffline = %d, %v", n, err)
	}
}

func TestUpgrade(t *testing.T) { eachEngine(t, testUpgrade) }

// testUpgrade: a database written before list versions started at 1 and
// before the address book upgrades with what it holds: versions, CIDs,
// change times, list sizes.
func testUpgrade(t *testing.T, e engine) {
	ctx := context.Background()
	at := e.fresh(t)
	old, err := e.openOld(ctx, at, e.steps["first"])
	if err != nil {
		t.Fatal(err)
	}
	created := time.UnixMilli(1_200_000_000_000).UTC()
	for _, x := range []string{"alice@example.com", "bob@example.com"} {
		if err := old.exec(ctx, `
			INSERT INTO accounts (email, friendly_name, password_hash, md5_salt, md5_digest, created)
			VALUES ($1, $1, $2, 's', 'd', $3)`, x, []byte("h"), old.timeValue(created)); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct {
		owner, handle string
		lists         List
	}{{"alice@example.com", "bob@example.com", Forward}, {"bob@example.com", "alice@example.com", Reverse}} {
		if err := old.exec(ctx, `
			INSERT INTO contacts (owner, email, guid, friendly_name, lists)
			VALUES ((SELECT id FROM accounts WHERE email = $1), $2, $3, $2, $4)`,
			r.owner, r.handle, newGUID(), int64(r.lists)); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	s := e.openTest(t, at)
	defer s.Close()
	alice, err := s.Account(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := s.Account(ctx, "bob@example.com")
	if alice.ListVersion != FirstListVersion || alice.CID <= 0 || alice.CID == bob.CID ||
		!alice.Changed.Equal(created) || alice.Sizes != (ListSizes{Forward: 1}) || bob.Sizes != (ListSizes{Reverse: 1}) {
		t.Fatalf("after the upgrade: %+v %+v", alice, bob)
	}
	book, err := s.AddressBook(ctx, "alice@example.com", time.Time{})
	if err != nil || len(book.Entries) != 1 || book.Entries[0].Type != "Regular" || !book.Entries[0].Changed.Equal(created) ||
		book.Entries[0].CID != bob.CID {
		t.Fatalf("book after the upgrade: %+v, %v", book, err)
	}
	// And it works on.
	if _, err := s.RemoveFromList(ctx, "alice@example.com", "bob@example.com", Forward, ""); err != nil {
		t.Fatal(err)
	}
	checkSizes(t, s, []string{"alice@example.com", "bob@example.com"})
}
