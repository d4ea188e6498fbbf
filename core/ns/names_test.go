package ns_test

import (
	"context"
	"testing"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/coretest"
)

// TestNamesAreURLEncodedUTF8: a friendly name with letters outside ASCII
// goes out as URL-encoded UTF-8 ("Café" is "Caf%C3%A9") in every command
// that carries one, however the name was made — `nudge user add --name`
// (the store), the admin API, REA or PRP MFN from a client, encoded or
// sent as raw UTF-8 — as the official servers sent names and as
// msn-pecan, Pidgin and aMSN decode them.
func TestNamesAreURLEncodedUTF8(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "carol@example.com", "pw", "Carol Café")
	if _, err := adminapi.New(srv.HTTPURL, srv.AdminToken).CreateAccount(context.Background(),
		adminapi.NewAccount{Email: "dave@example.com", Password: "pw", FriendlyName: "♥ Dävé"}); err != nil {
		t.Fatal(err)
	}
	srv.AddUser(t, "erin@example.com", "pw", "Erin")
	srv.AddUser(t, "frank@example.com", "pw", "Frank")
	const carolName, daveName = "Carol%20Caf%C3%A9", "%E2%99%A5%20D%C3%A4v%C3%A9"

	// USR OK (MSNP8 carries the name), ADD and the other side's ADD RL.
	carol, ok := loginOK(t, srv, 8, "carol@example.com", "pw")
	if ok != "USR 4 OK carol@example.com "+carolName+" 1 0" {
		t.Fatalf("USR OK: %q", ok)
	}
	dave := login(t, srv, 9, "dave@example.com", "pw")
	carol.send("ADD 5 FL dave@example.com " + daveName)
	carol.expect("ADD 5 FL * dave@example.com " + daveName + " 0")
	dave.expect("ADD 0 RL * carol@example.com " + carolName)
	dave.send("ADD 5 FL carol@example.com Carol%20Caf\xc3\xa9") // raw UTF-8 from the client
	dave.expect("ADD 5 FL * carol@example.com " + carolName + " 0")
	carol.expect("ADD 0 RL * dave@example.com " + daveName)

	// LST, then ILN and NLN.
	carol.send("SYN 6 0")
	carol.expect("SYN 6 * 1 1")
	carol.expect("GTC A")
	carol.expect("BLP AL")
	carol.expect("LSG 0 Other%20Contacts 0")
	carol.expect("LST dave@example.com " + daveName + " 9 0")
	carol.send("CHG 7 NLN 0")
	carol.expect("CHG 7 NLN 0")
	carol.send("PNG") // answered once Carol's session has told her watchers
	carol.expect("QNG")
	dave.send("CHG 6 NLN 0")
	dave.expect("CHG 6 NLN 0")
	dave.expect("ILN 6 NLN carol@example.com " + carolName + " 0")
	carol.expect("NLN NLN dave@example.com " + daveName + " 0")

	// The switchboard: USR OK, RNG, IRO, JOI and the sender of MSG.
	carol.send("XFR 8 SB")
	x := carol.expect("XFR 8 SB * CKI *")
	csb := dial(t, x.Param(1), "carol-sb")
	csb.send("USR 1 carol@example.com " + x.Param(3))
	csb.expect("USR 1 OK carol@example.com " + carolName)
	csb.send("CAL 2 dave@example.com")
	session := csb.expect("CAL 2 RINGING *").Param(1)
	rng := dave.expect("RNG " + session + " * CKI * carol@example.com " + carolName)
	dsb := dial(t, x.Param(1), "dave-sb")
	dsb.send("ANS 1 dave@example.com " + rng.Param(3) + " " + session)
	dsb.expect("IRO 1 1 1 carol@example.com " + carolName)
	dsb.expect("ANS 1 OK")
	csb.expect("JOI dave@example.com " + daveName)
	csb.sendMsg("MSG 3 N", "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nSalut")
	dsb.expect("MSG carol@example.com " + carolName)

	// REA (MSNP2–9), encoded or raw, and the NLN that follows.
	dave.send("REA 7 dave@example.com %C3%89ric")
	dave.expect("REA 7 * dave@example.com %C3%89ric")
	carol.expect("NLN NLN dave@example.com %C3%89ric 0")
	dave.send("REA 8 dave@example.com \xc3\x89mile")
	dave.expect("REA 8 * dave@example.com %C3%89mile")
	carol.expect("NLN NLN dave@example.com %C3%89mile 0")

	// PRP MFN and ADC (MSNP10+), and the LST of MSNP12.
	erin := login(t, srv, 12, "erin@example.com", "pw")
	erin.send("PRP 5 MFN \xc3\x89rin")
	erin.expect("PRP 5 MFN %C3%89rin")
	erin.send("ADC 6 FL N=carol@example.com F=Carol%20Caf\xc3\xa9")
	erin.expect("ADC 6 FL N=carol@example.com F=" + carolName + " C=*")
	erin.send("SYN 7 0 0")
	erin.expect("SYN 7 * * 1 0")
	erin.expect("GTC A")
	erin.expect("BLP AL")
	erin.expect("PRP MFN %C3%89rin")
	erin.expect("LST N=carol@example.com F=" + carolName + " C=* 1 1")
	// The name Erin chose reaches the people who add her.
	frank := login(t, srv, 10, "frank@example.com", "pw")
	frank.send("ADC 5 FL N=erin@example.com F=Erin")
	frank.expect("ADC 5 FL N=erin@example.com F=Erin C=*")
	erin.expect("ADC 0 RL N=frank@example.com F=Frank")
}
