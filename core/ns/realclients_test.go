package ns_test

import (
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
)

// bitlbee 3.2.2 (MSNP18) blocks with "ADL l=4" alone when it does not
// know the contact is on AL, which it does not after adding him (its
// ABContactAdd puts him there), and unblocks with "RML l=4" then
// "ADL l=2". A WLM-era client keeps AL and BL apart itself; the server
// moves the contact across instead of answering 219, which bitlbee shows
// as an error although its AddMember has blocked him anyway.
func TestBitlbeeBlockMovesAcross(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	befriend(t, srv, "alice@example.com", "bob@example.com")
	bob := loginLive(t, srv, 18, "bob@example.com", "pw", guid(2))
	bob.online(18, 5, "0:0")
	bob.expectSkip("UBX 1:bob@example.com")
	bob.mailData()
	alice := loginLive(t, srv, 18, "alice@example.com", "pw", guid(1))
	alice.online(18, 5, "49152:00")
	bob.expect("NLN NLN 1:alice@example.com Alice 49152:0 0")
	alice.sendMsg("ADL 14", `<ml><d n="example.com"><c n="bob" l="4" t="1"/></d></ml>`)
	alice.expectSkip("ADL 14 OK")
	bob.expectSkip("FLN 1:alice@example.com 0:0")
	if l, _ := srv.Store.Listed(t.Context(), "alice@example.com", "bob@example.com"); l&(store.Allow|store.Block) != store.Block {
		t.Fatalf("alice lists bob on %d after blocking him", l)
	}
	alice.sendMsg("RML 15", `<ml><d n="example.com"><c n="bob" l="4" t="1"/></d></ml>`)
	alice.sendMsg("ADL 16", `<ml><d n="example.com"><c n="bob" l="2" t="1"/></d></ml>`)
	alice.expectSkip("RML 15 OK")
	alice.expectSkip("ADL 16 OK")
	bob.expectSkip("NLN NLN 1:alice@example.com Alice 49152:0 0")
	// And "ADL l=2" alone, while blocked, unblocks too.
	alice.sendMsg("ADL 17", `<ml><d n="example.com"><c n="bob" l="4" t="1"/></d></ml>`)
	alice.expectSkip("ADL 17 OK")
	bob.expectSkip("FLN 1:alice@example.com 0:0")
	alice.sendMsg("ADL 18", `<ml><d n="example.com"><c n="bob" l="2" t="1"/></d></ml>`)
	alice.expectSkip("ADL 18 OK")
	bob.expectSkip("NLN NLN 1:alice@example.com Alice 49152:0 0")
	if l, _ := srv.Store.Listed(t.Context(), "alice@example.com", "bob@example.com"); l&(store.Forward|store.Allow|store.Block) != store.Forward|store.Allow {
		t.Fatalf("alice lists bob on %d after unblocking him", l)
	}
}
