package ns_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/coretest/clustertest"
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

	bob := loginLive(t, n1, 18, "bob@example.com", "pw", guid(9))
	bob.online(18, 5, "0:0")
	bob.expect("UBX 1:bob@example.com")
	bob.mailData()

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
