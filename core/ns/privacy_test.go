package ns_test

import (
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
)

// TestSettingRepeatsAcknowledged: libpurple clients send their privacy
// setting at every sign-on, right after the list gave it; msn-pecan treats
// any error but 913 and 208 as fatal. A BLP or GTC that repeats the value
// already set is acknowledged like a change, in every version.
func TestSettingRepeatsAcknowledged(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "pecan@example.com", "pw", "Pecan")
	srv.AddUser(t, "bitlbee@example.com", "pw", "Bitlbee")
	srv.AddUser(t, "amsn@example.com", "pw", "aMSN")

	// msn-pecan at MSNP12.
	w := login(t, srv, 12, "pecan@example.com", "pw")
	w.send("SYN 5 0 0")
	w.expect("SYN 5 * * 0 0")
	w.expect("GTC A")
	w.expect("BLP AL")
	w.expect("PRP MFN Pecan")
	w.send("CHG 6 NLN 1342177280")
	w.expect("CHG 6 NLN 1342177280")
	w.send("BLP 7 AL")
	w.expect("BLP 7 AL")
	w.send("GTC 8 A")
	w.expect("GTC 8 A")
	w.send("PNG")
	w.expect("QNG 60")

	// bitlbee at MSNP8: list replies carry the version, which a repeat
	// leaves where it was.
	w = login(t, srv, 8, "bitlbee@example.com", "pw")
	w.send("SYN 5 0")
	w.expect("SYN 5 1 0 1")
	w.expectSkip("LSG 0 Other%20Contacts 0")
	w.send("BLP 6 AL")
	w.expect("BLP 6 1 AL")
	w.send("GTC 7 A")
	w.expect("GTC 7 1 A")
	w.send("BLP 8 BL")
	w.expect("BLP 8 2 BL")
	w.send("BLP 9 BL")
	w.expect("BLP 9 2 BL")
	w.send("PNG")
	w.expect("QNG")

	// aMSN at MSNP7.
	w = login(t, srv, 7, "amsn@example.com", "pw")
	w.send("BLP 5 AL")
	w.expect("BLP 5 1 AL")
	w.send("GTC 6 N")
	w.expect("GTC 6 2 N")
	w.send("GTC 7 N")
	w.expect("GTC 7 2 N")
}

// TestPresenceOnlyWhenTheViewChanges: a change of the user's AL, BL or
// privacy mode sends a watcher NLN or FLN only when it changes what that
// watcher may see. With BLP AL, taking Bob off the AL leaves him seeing the
// user as before, so he gets nothing.
func TestPresenceOnlyWhenTheViewChanges(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	srv.AddUser(t, "carol@example.com", "pw", "Carol")

	alice := login(t, srv, 12, "alice@example.com", "pw")
	alice.send("CHG 5 NLN 0")
	alice.expect("CHG 5 NLN 0")
	bob := login(t, srv, 12, "bob@example.com", "pw")
	bob.send("ADC 5 FL N=alice@example.com F=Alice")
	bob.expect("ADC 5 FL N=alice@example.com F=Alice C=*")
	bob.send("CHG 6 NLN 0")
	bob.expect("CHG 6 NLN 0")
	bob.expect("ILN 6 NLN alice@example.com Alice 0")
	carol := login(t, srv, 9, "carol@example.com", "pw")
	carol.send("ADD 5 FL alice@example.com Alice 0")
	carol.expect("ADD 5 FL * alice@example.com Alice 0")
	carol.send("CHG 6 NLN 0")
	carol.expect("CHG 6 NLN 0")
	carol.expect("ILN 6 NLN alice@example.com Alice 0")
	alice.expectSkip("ADC 0 RL N=carol@example.com F=Carol")

	alice.send("ADC 6 AL N=bob@example.com")
	alice.expect("ADC 6 AL N=bob@example.com")
	bob.expectNothing()
	alice.send("REM 7 AL bob@example.com")
	alice.expect("REM 7 AL bob@example.com")
	bob.expectNothing()

	alice.send("ADC 8 BL N=bob@example.com")
	alice.expect("ADC 8 BL N=bob@example.com")
	bob.expect("FLN alice@example.com")
	alice.send("REM 9 BL bob@example.com")
	alice.expect("REM 9 BL bob@example.com")
	bob.expect("NLN NLN alice@example.com Alice 0")

	// Only the AL may see Alice now: Carol loses her, Bob does not.
	alice.send("ADC 10 AL N=bob@example.com")
	alice.expect("ADC 10 AL N=bob@example.com")
	alice.send("BLP 11 BL")
	alice.expect("BLP 11 BL")
	carol.expect("FLN alice@example.com")
	bob.expectNothing()
	alice.send("BLP 12 BL")
	alice.expect("BLP 12 BL")
	alice.send("BLP 13 AL")
	alice.expect("BLP 13 AL")
	carol.expect("NLN NLN alice@example.com Alice 0")
	bob.expectNothing()
	carol.expectNothing()
}
