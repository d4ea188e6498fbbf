package ns_test

import (
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
)

// TestStoreEngines runs the service end to end over real TCP with its
// store on SQLite and on PostgreSQL, and expects the same lines from both:
// sign-ins by MD5 and by Passport, list changes in both dialects (numbered
// groups, GUIDs), presence, a conversation, a block, and a restart that
// keeps all of it.
func TestStoreEngines(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { storeEngineStory(t, coretest.Start(t, coretest.WithoutChallenges())) })
	t.Run("postgres", func(t *testing.T) {
		storeEngineStory(t, coretest.Start(t, coretest.WithoutChallenges(), coretest.WithPostgres(t)))
	})
}

func storeEngineStory(t *testing.T, srv *coretest.Server) {
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")

	// MSNP7 lists: numbered groups, FL with the other side's RL, AL/BL.
	alice := login(t, srv, 7, "alice@example.com", "pw")
	alice.send("ADG 5 Work%20Friends 0")
	alice.expect("ADG 5 2 Work%20Friends 1 0")
	alice.send("ADD 6 FL bob@example.com Bob 1")
	alice.expect("ADD 6 FL 3 bob@example.com Bob 1")
	alice.send("ADD 7 AL bob@example.com bob@example.com")
	alice.expect("ADD 7 AL 4 bob@example.com bob@example.com")
	alice.send("ADD 8 BL bob@example.com bob@example.com")
	alice.expect("219 8")
	alice.send("ADD 9 FL nobody@example.com nobody@example.com 0")
	alice.expect("205 9")
	alice.send("ADD 10 FL bob@example.com Bob 9")
	alice.expect("224 10")
	alice.send("CHG 11 NLN")
	alice.expect("CHG 11 NLN")

	// MSNP12: the RL notice, GUIDs, presence both ways.
	bob := login(t, srv, 12, "bob@example.com", "pw")
	bob.send("SYN 5 0 0")
	bob.expect("SYN 5 * * 1 0")
	bob.expect("GTC A")
	bob.expect("BLP AL")
	bob.expect("PRP MFN Bob")
	bob.expect("LST N=alice@example.com F=Alice 8 1")
	bob.send("ADC 6 FL N=alice@example.com F=Alice")
	cid := bob.expect("ADC 6 FL N=alice@example.com F=Alice C=*").Param(3)[len("C="):]
	bob.send("CHG 7 NLN 1342177280")
	bob.expect("CHG 7 NLN 1342177280")
	bob.expect("ILN 7 NLN alice@example.com Alice 0")
	alice.expect("ADD 0 RL 5 bob@example.com Bob")
	alice.expect("NLN NLN bob@example.com Bob")
	bob.send("ADG 8 Pals")
	gid := bob.expect("ADG 8 Pals *").Param(1)
	bob.send("ADC 9 FL C=" + cid + " " + gid)
	bob.expect("ADC 9 FL C=" + cid + " " + gid)

	// A conversation through the switchboard.
	alice.send("XFR 12 SB")
	x := alice.expect("XFR 12 SB * CKI *")
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
	hello := "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHi Bob!"
	asb.sendMsg("MSG 3 A", hello)
	asb.expect("ACK 3")
	if m := bsb.expect("MSG alice@example.com Alice"); string(m.Payload) != hello {
		t.Fatalf("relayed %q", m.Payload)
	}

	// Bob blocks Alice: she sees him go offline.
	bob.send("ADC 10 BL N=alice@example.com")
	bob.expect("ADC 10 BL N=alice@example.com")
	alice.expect("FLN bob@example.com")

	// All of it is in PostgreSQL: a restart keeps it.
	srv.Restart(t)
	bob = login(t, srv, 12, "bob@example.com", "pw")
	bob.send("SYN 5 0 0")
	bob.expect("SYN 5 * * 1 1")
	bob.expect("GTC A")
	bob.expect("BLP AL")
	bob.expect("PRP MFN Bob")
	bob.expect("LSG Pals " + gid)
	bob.expect("LST N=alice@example.com F=Alice C=" + cid + " 13 1 " + gid)
	alice = login(t, srv, 7, "alice@example.com", "pw")
	alice.send("SYN 5 0")
	alice.expect("SYN 5 5")
	alice.expect("GTC 5 5 A")
	alice.expect("BLP 5 5 AL")
	alice.expect("LSG 5 5 1 2 0 Other%20Contacts 0")
	alice.expect("LSG 5 5 2 2 1 Work%20Friends 0")
	alice.expect("LST 5 FL 5 1 1 bob@example.com Bob 1")
	alice.expect("LST 5 AL 5 1 1 bob@example.com Bob")
	alice.expect("LST 5 BL 5 0 0")
	alice.expect("LST 5 RL 5 1 1 bob@example.com Bob")
}
