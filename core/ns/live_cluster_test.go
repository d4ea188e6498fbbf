package ns_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/coretest/clustertest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
)

// Several points of presence (MSNP16+) on two nodes of a cluster: Alice at
// home on n1 and at work on n2 is one user to Bob, each endpoint hears what
// is sent to it, one leaving does not take her offline, and a client
// without a GUID ends both, wherever they are.
func TestMultiplePointsOfPresenceAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and NATS")
	}
	nodes := clustertest.Start(t, 2, nil, coretest.WithoutChallenges())
	n1, n2 := nodes[0], nodes[1]
	n1.AddUser(t, "alice@example.com", "pw", "Alice")
	n1.AddUser(t, "bob@example.com", "pw", "Bob")
	befriend(t, n1, "alice@example.com", "bob@example.com")

	bob := settledLive(t, n1, "bob@example.com", guid(9), "0:0")

	home := loginLive(t, n1, 18, "alice@example.com", "pw", guid(1))
	home.online(18, 5, "2788999228:48")
	home.expectSkip("UBX 1:alice@example.com")
	bob.expectSkip("NLN NLN 1:alice@example.com Alice 2788999228:48 0")

	work := loginLive(t, n2, 18, "alice@example.com", "pw", guid(2))
	work.online(18, 5, "2788999228:48")
	endpointsIn := func(w *wire, n int) {
		t.Helper()
		for {
			ubx := w.expectSkip("UBX 1:alice@example.com")
			eps, err := msnp.Endpoints(ubx.Payload)
			if err != nil {
				t.Fatalf("%s: %v", ubx.Payload, err)
			}
			if len(eps) == n {
				return
			}
		}
	}
	endpointsIn(work, 2) // its own UBX lists home, on n1, too
	endpointsIn(bob, 2)
	// Not replaced by the sign-in on another node.
	for {
		home.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		c, err := home.r.ReadCommand()
		if err != nil {
			break
		}
		if line := lineOf(c); strings.HasPrefix(line, "OUT") {
			t.Fatalf("home: %q after a sign-in at work on n2", line)
		}
	}

	// Bob's notice reaches each endpoint once, the one on n2 too.
	bob.sendMsg("UUN 9 alice@example.com 1", "<x/>")
	bob.expectSkip("UUN 9 OK")
	work.expectSkip("UBN bob@example.com;" + guid(9) + " 1")
	home.expectSkip("UBN bob@example.com;" + guid(9) + " 1")

	// Work signs home out, across the nodes (UUN type 4 to that endpoint).
	work.sendMsg("UUN 10 alice@example.com;"+guid(1)+" 4", "goawyplzthxbye")
	work.expectSkip("UUN 10 OK")
	home.expectSkip("UBN alice@example.com;" + guid(2) + " 4")
	home.expect("OUT")
	home.expectClosed()
	// Bob still sees her: she is at work, and says so.
	work.send("CHG 11 BSY 2788999228:48")
	work.expectSkip("CHG 11 BSY 2788999228:48")
	for {
		line := lineOf(bob.next())
		if strings.HasPrefix(line, "FLN") {
			t.Fatalf("bob: %q while alice is still signed in on n2", line)
		}
		if strings.HasPrefix(line, "NLN BSY 1:alice@example.com") {
			break
		}
	}

	// Home again, on n1, then a client without a GUID on n1: both
	// endpoints end, the one on n2 too.
	home = loginLive(t, n1, 18, "alice@example.com", "pw", guid(1))
	home.online(18, 5, "2788999228:48")
	endpointsIn(bob, 2)
	old := loginLive(t, n1, 15, "alice@example.com", "pw", "")
	home.expectSkip("OUT OTH")
	home.expectClosed()
	work.expectSkip("OUT OTH")
	work.expectClosed()
	old.send("OUT")
	bob.expectSkip("FLN 1:alice@example.com 0:0")
}

// One user at two endpoints on two nodes has one presence, as on one node:
// a status, personal message or name set at home on n1 comes back to work
// on n2 as the user's own UBX, and once home leaves, work shows the
// watchers (on either node) what home set.
func TestEndpointsShareStatusAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and NATS")
	}
	nodes := clustertest.Start(t, 2, nil, coretest.WithoutChallenges())
	n1, n2 := nodes[0], nodes[1]
	for _, u := range []string{"alice", "bob", "carol"} {
		n1.AddUser(t, u+"@example.com", "pw", strings.ToUpper(u[:1])+u[1:])
	}
	befriend(t, n1, "alice@example.com", "bob@example.com")
	befriend(t, n1, "alice@example.com", "carol@example.com")

	bob := settledLive(t, n2, "bob@example.com", guid(9), "0:0")
	home := loginLive(t, n1, 18, "alice@example.com", "pw", guid(1))
	home.online(18, 5, "2788999228:48")
	work := loginLive(t, n2, 18, "alice@example.com", "pw", guid(2))
	work.online(18, 5, "2788999228:48")
	ownUBX := func(w *wire, endpoints int, has string) {
		t.Helper()
		for {
			ubx := w.expectSkip("UBX 1:alice@example.com")
			eps, err := msnp.Endpoints(ubx.Payload)
			if err != nil {
				t.Fatalf("%s: %v", ubx.Payload, err)
			}
			if len(eps) == endpoints && strings.Contains(string(ubx.Payload), has) {
				return
			}
		}
	}
	// Home, on n1, hears that work signed in on n2.
	ownUBX(home, 2, "")
	ownUBX(work, 2, "")

	home.send("CHG 10 BSY 2788999228:48")
	home.expectSkip("CHG 10 BSY 2788999228:48")
	ownUBX(work, 2, "")
	home.sendMsg("UUX 11", `<Data><PSM>at home</PSM><CurrentMedia></CurrentMedia></Data>`)
	home.expectSkip("UUX 11 0")
	ownUBX(work, 2, "<PSM>at home</PSM>")
	home.send("PRP 12 MFN Alice%20Home")
	home.expectSkip("PRP 12 MFN Alice%20Home")
	ownUBX(work, 2, "<PSM>at home</PSM>")
	bob.expectSkip("NLN BSY 1:alice@example.com Alice%20Home 2788999228:48 0")

	// Home leaves: work, on n2, is what the watchers see now, and it shows
	// what home set.
	home.send("OUT")
	ownUBX(work, 1, "<PSM>at home</PSM>")
	// (Which endpoints that UBX lists depends on whether n2 heard of
	// home's sign-out before n1 asked it: announcements and questions
	// travel apart.)
	told := false
	for !told {
		line := lineOf(bob.next())
		if strings.HasPrefix(line, "NLN") || strings.HasPrefix(line, "FLN") {
			if !strings.HasPrefix(line, "NLN BSY 1:alice@example.com Alice%20Home ") {
				t.Fatalf("bob: %q after home signed out, want her busy as Alice Home", line)
			}
			told = true
		}
	}
	if ubx := bob.expect("UBX 1:alice@example.com"); !strings.Contains(string(ubx.Payload), "<PSM>at home</PSM>") {
		t.Fatalf("bob: UBX %s, want the personal message set at home", ubx.Payload)
	}
	// Someone signing in on n1 now asks work, on n2.
	carol := loginLive(t, n1, 18, "carol@example.com", "pw", guid(3))
	carol.online(18, 5, "0:0")
	carol.expectSkip("NLN BSY 1:alice@example.com Alice%20Home 2788999228:48 0")
	if ubx := carol.expectSkip("UBX 1:alice@example.com"); !strings.Contains(string(ubx.Payload), "<PSM>at home</PSM>") {
		t.Fatalf("carol: UBX %s, want the personal message set at home", ubx.Payload)
	}
}

// A contact added to Alice's address book is shown online at once at her
// endpoint on the other node too (which sends no ADL for it); a contact
// appearing offline is not.
func TestBookChangeShowsPresenceAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and NATS")
	}
	nodes := clustertest.Start(t, 2, nil, coretest.WithoutChallenges())
	n1, n2 := nodes[0], nodes[1]
	for _, u := range []string{"alice", "bob", "carol"} {
		n1.AddUser(t, u+"@example.com", "pw", strings.ToUpper(u[:1])+u[1:])
	}
	settledLive(t, n1, "bob@example.com", guid(9), "0:0") // bob, online throughout
	carol := settledLive(t, n1, "carol@example.com", guid(8), "0:0")
	carol.send("CHG 6 HDN 0:0")
	carol.expectSkip("CHG 6 HDN 0:0")

	home := loginLive(t, n1, 18, "alice@example.com", "pw", guid(1))
	home.online(18, 5, "2788999228:48")
	home.expectSkip("UBX 1:alice@example.com")
	work := loginLive(t, n2, 18, "alice@example.com", "pw", guid(2))
	work.online(18, 5, "2788999228:48")
	work.expectSkip("UBX 1:alice@example.com")

	// What the address book does for ABContactAdd at home: Carol, then Bob.
	for _, c := range []string{"carol@example.com", "bob@example.com"} {
		if _, err := n1.Store.AddToList(context.Background(), "alice@example.com", c, store.Forward, c, ""); err != nil {
			t.Fatal(err)
		}
		n1.Dir.Lookup("alice@example.com").BookChanged(c)
	}
	for _, w := range []*wire{home, work} {
		for {
			line := lineOf(w.next())
			if strings.Contains(line, "carol@example.com") {
				t.Fatalf("%s: %q from Carol, appearing offline", w.name, line)
			}
			if match("NLN NLN 1:bob@example.com Bob 0:0 0", line) {
				break
			}
		}
	}
}

// Alice, signed in on two nodes, blocks Bob and lets him in again through
// the address book: Bob hears each change once, not once per node.
func TestBookUnblockAcrossNodesTellsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and NATS")
	}
	nodes := clustertest.Start(t, 2, nil, coretest.WithoutChallenges())
	n1, n2 := nodes[0], nodes[1]
	n1.AddUser(t, "alice@example.com", "pw", "Alice")
	n1.AddUser(t, "bob@example.com", "pw", "Bob")
	befriend(t, n1, "alice@example.com", "bob@example.com")
	bob := settledLive(t, n1, "bob@example.com", guid(9), "0:0")
	home := loginLive(t, n1, 18, "alice@example.com", "pw", guid(1))
	home.online(18, 5, "0:0")
	bob.expectSkip("NLN NLN 1:alice@example.com Alice 0:0 0")
	work := loginLive(t, n2, 18, "alice@example.com", "pw", guid(2))
	work.online(18, 5, "0:0")

	ctx := context.Background()
	if _, err := n1.Store.RemoveFromList(ctx, "alice@example.com", "bob@example.com", store.Allow, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Store.AddToList(ctx, "alice@example.com", "bob@example.com", store.Block, "", ""); err != nil {
		t.Fatal(err)
	}
	n1.Dir.Lookup("alice@example.com").BookChanged("bob@example.com")
	bob.expectSkip("FLN 1:alice@example.com 0:0")
	if _, err := n1.Store.RemoveFromList(ctx, "alice@example.com", "bob@example.com", store.Block, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Store.AddToList(ctx, "alice@example.com", "bob@example.com", store.Allow, "", ""); err != nil {
		t.Fatal(err)
	}
	n1.Dir.Lookup("alice@example.com").BookChanged("bob@example.com")
	bob.expectSkip("NLN NLN 1:alice@example.com Alice 0:0 0")
	for {
		bob.conn.SetReadDeadline(time.Now().Add(time.Second))
		c, err := bob.r.ReadCommand()
		if err != nil {
			break
		}
		if line := lineOf(c); strings.HasPrefix(line, "NLN") || strings.HasPrefix(line, "FLN") {
			t.Fatalf("bob: %q, a second time", line)
		}
	}
}

// Alice, at home on n1 and at work on n2, blocks Bob, lets only her allow
// list see her and undoes both through the Notification Server alone (ADL,
// RML, BLP, as bitlbee does, with no address book call): work, on n2,
// decides as home does, so her status changes made at work reach whom
// home's settings say. A notice home sends to work after each change is
// behind it on the bus, so work has it once the notice is there.
func TestListChangesAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and NATS")
	}
	nodes := clustertest.Start(t, 2, nil, coretest.WithoutChallenges())
	n1, n2 := nodes[0], nodes[1]
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		n1.AddUser(t, u+"@example.com", "pw", strings.ToUpper(u[:1])+u[1:])
	}
	befriend(t, n1, "alice@example.com", "bob@example.com")
	befriend(t, n1, "alice@example.com", "carol@example.com")
	// Dave has Alice on his list; she has not put him on hers.
	if _, err := n1.Store.AddToList(t.Context(), "dave@example.com", "alice@example.com", store.Forward, "", ""); err != nil {
		t.Fatal(err)
	}
	bob := settledLive(t, n1, "bob@example.com", guid(9), "0:0")
	carol := settledLive(t, n1, "carol@example.com", guid(8), "0:0")
	dave := settledLive(t, n1, "dave@example.com", guid(7), "0:0")
	home := loginLive(t, n1, 18, "alice@example.com", "pw", guid(1))
	home.online(18, 5, "0:0")
	work := loginLive(t, n2, 18, "alice@example.com", "pw", guid(2))
	work.online(18, 5, "0:0")
	for _, w := range []*wire{bob, carol, dave} {
		w.expectSkip("NLN NLN 1:alice@example.com Alice 0:0 0")
	}

	trid := 20
	// atHome sends a change at home, then a notice to work behind it.
	atHome := func(line, payload string) {
		t.Helper()
		trid++
		if payload != "" {
			home.sendMsg(fmt.Sprintf(line, trid), payload)
		} else {
			home.send(fmt.Sprintf(line, trid))
		}
		home.expectSkip(fmt.Sprintf(strings.Fields(line)[0]+" %d **", trid))
		trid++
		home.sendMsg(fmt.Sprintf("UUN %d alice@example.com;%s 1", trid, guid(2)), "<x/>")
		home.expectSkip(fmt.Sprintf("UUN %d OK", trid))
		work.expectSkip("UBN alice@example.com;" + guid(1) + " 1")
	}
	// atWork sets a status at work; see hear it, the others hear nothing
	// of Alice.
	atWork := func(status string, see []*wire, not ...*wire) {
		t.Helper()
		trid++
		work.send(fmt.Sprintf("CHG %d %s 0:0", trid, status))
		work.expectSkip(fmt.Sprintf("CHG %d %s 0:0", trid, status))
		for _, w := range see {
			w.expectSkip("NLN " + status + " 1:alice@example.com Alice 0:0 0")
		}
		for _, w := range not {
			for {
				w.conn.SetReadDeadline(time.Now().Add(time.Second))
				c, err := w.r.ReadCommand()
				if err != nil {
					break
				}
				if line := lineOf(c); strings.Contains(line, "alice@example.com") {
					t.Fatalf("%s: %q, though home's settings hide Alice from them", w.name, line)
				}
			}
		}
	}

	atHome("ADL %d", `<ml><d n="example.com"><c n="bob" l="4" t="1"/></d></ml>`)
	bob.expectSkip("FLN 1:alice@example.com 0:0")
	atWork("BSY", []*wire{carol, dave}, bob)

	atHome("BLP %d BL", "")
	dave.expectSkip("FLN 1:alice@example.com 0:0")
	atWork("AWY", []*wire{carol}, bob, dave)

	atHome("RML %d", `<ml><d n="example.com"><c n="bob" l="4" t="1"/></d></ml>`)
	atHome("ADL %d", `<ml><d n="example.com"><c n="bob" l="2" t="1"/></d></ml>`)
	bob.expectSkip("NLN AWY 1:alice@example.com Alice 0:0 0")
	atHome("BLP %d AL", "")
	dave.expectSkip("NLN AWY 1:alice@example.com Alice 0:0 0")
	atWork("NLN", []*wire{bob, carol, dave})
}
