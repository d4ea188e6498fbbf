package ns_test

import (
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
)

// TestConversationAcrossVersions is the README's story: an MSNP5 user and
// an MSNP12 user add each other, chat, invite a third, block one, and all
// of it survives a restart.
func TestConversationAcrossVersions(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	srv.AddUser(t, "carol@example.com", "pw", "Carol")

	alice := login(t, srv, 5, "alice@example.com", "pw")
	alice.send("ADD 5 FL bob@example.com Bob")
	alice.expect("ADD 5 FL * bob@example.com Bob")
	alice.send("ADD 6 FL carol@example.com Carol")
	alice.expect("ADD 6 FL * carol@example.com Carol")
	alice.send("CHG 7 NLN")
	alice.expect("CHG 7 NLN")

	bob := login(t, srv, 12, "bob@example.com", "pw")
	bob.send("ADC 5 FL N=alice@example.com F=Alice")
	bob.expect("ADC 5 FL N=alice@example.com F=Alice C=*")
	bob.send("CHG 6 NLN 1342177280")
	bob.expect("CHG 6 NLN 1342177280")
	bob.expect("ILN 6 NLN alice@example.com Alice 0")
	alice.expect("ADD 0 RL * bob@example.com Bob")
	alice.expect("NLN NLN bob@example.com Bob")

	carol := login(t, srv, 8, "carol@example.com", "pw")
	carol.send("CHG 5 NLN 0")
	carol.expect("CHG 5 NLN 0")
	alice.expect("NLN NLN carol@example.com Carol")

	// Alice opens a conversation with Bob.
	alice.send("XFR 8 SB")
	x := alice.expect("XFR 8 SB * CKI *")
	sbAddr, cookie := x.Param(1), x.Param(3)
	asb := dial(t, sbAddr, "alice-sb")
	asb.send("USR 1 alice@example.com " + cookie)
	asb.expect("USR 1 OK alice@example.com Alice")
	asb.send("CAL 2 bob@example.com")
	session := asb.expect("CAL 2 RINGING *").Param(1)
	rng := bob.expect("RNG " + session + " " + sbAddr + " CKI * alice@example.com Alice")

	bsb := dial(t, sbAddr, "bob-sb")
	bsb.send("ANS 1 bob@example.com " + rng.Param(3) + " " + session)
	bsb.expect("IRO 1 1 1 alice@example.com Alice 0")
	bsb.expect("ANS 1 OK")
	asb.expect("JOI bob@example.com Bob")

	hello := "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=B; CO=ff; CS=0; PF=22\r\n\r\nHi Bob!"
	asb.sendMsg("MSG 3 A", hello)
	asb.expect("ACK 3")
	m := bsb.expect("MSG alice@example.com Alice")
	if string(m.Payload) != hello {
		t.Fatalf("relayed %q", m.Payload)
	}
	typing := "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: bob@example.com\r\n\r\n\r\n"
	bsb.sendMsg("MSG 2 U", typing)
	if m := asb.expect("MSG bob@example.com Bob"); string(m.Payload) != typing {
		t.Fatalf("typing relayed as %q", m.Payload)
	}
	nudge := "MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n"
	bsb.sendMsg("MSG 3 N", nudge)
	asb.expect("MSG bob@example.com Bob")

	// Bob invites Carol; she sees both, they see her.
	bsb.send("CAL 4 carol@example.com")
	bsb.expect("CAL 4 RINGING " + session)
	rng = carol.expect("RNG " + session + " " + sbAddr + " CKI * bob@example.com Bob")
	csb := dial(t, sbAddr, "carol-sb")
	csb.send("ANS 7 carol@example.com " + rng.Param(3) + " " + session)
	iro := []string{lineOf(csb.next()), lineOf(csb.next())}
	sort2(iro)
	if !match("IRO 7 * 2 alice@example.com Alice", iro[0]) || !match("IRO 7 * 2 bob@example.com Bob", iro[1]) {
		t.Fatalf("roster %q", iro)
	}
	csb.expect("ANS 7 OK")
	asb.expect("JOI carol@example.com Carol")
	bsb.expect("JOI carol@example.com Carol 0")
	csb.sendMsg("MSG 8 A", hello)
	csb.expect("ACK 8")
	asb.expect("MSG carol@example.com Carol")
	bsb.expect("MSG carol@example.com Carol")

	// Carol leaves.
	csb.send("OUT")
	asb.expect("BYE carol@example.com")
	bsb.expect("BYE carol@example.com")

	// Bob blocks Alice: she can no longer call him, and cannot tell why.
	bob.send("ADC 7 BL N=alice@example.com")
	bob.expect("ADC 7 BL N=alice@example.com")
	alice.expect("FLN bob@example.com")
	alice.send("XFR 9 SB")
	x = alice.expect("XFR 9 SB * CKI *")
	asb2 := dial(t, x.Param(1), "alice-sb2")
	asb2.send("USR 1 alice@example.com " + x.Param(3))
	asb2.expect("USR 1 OK alice@example.com Alice")
	asb2.send("CAL 2 bob@example.com")
	asb2.expect("217 2")
	asb2.send("CAL 3 nobody@example.com")
	asb2.expect("217 3")

	// A cookie works once.
	again := dial(t, x.Param(1), "replay")
	again.send("USR 1 alice@example.com " + x.Param(3))
	again.expect("911 1")

	// Everything persists over a restart.
	srv.Restart(t)
	bob = login(t, srv, 12, "bob@example.com", "pw")
	bob.send("SYN 5 0 0")
	bob.expect("SYN 5 * * 1 0")
	bob.expect("GTC A")
	bob.expect("BLP AL")
	bob.expect("PRP MFN Bob")
	bob.expect("LST N=alice@example.com F=Alice C=* 13 1")
	alice = login(t, srv, 5, "alice@example.com", "pw")
	alice.send("SYN 5 0")
	alice.expect("SYN 5 *")
	alice.expect("GTC 5 * A")
	alice.expect("BLP 5 * AL")
	alice.expect("LST 5 FL * 1 2 bob@example.com Bob")
	alice.expect("LST 5 FL * 2 2 carol@example.com Carol")
}

func sort2(s []string) {
	if strings.Compare(s[0], s[1]) > 0 {
		s[0], s[1] = s[1], s[0]
	}
}
