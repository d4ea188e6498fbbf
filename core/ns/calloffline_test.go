package ns_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
)

// Calling a contact who is not there (msnp.md: CAL to an offline contact
// is 217): offline, appearing offline and blocking the caller all get the
// same 217, as on MSN. With offline.accept_calls the three are shown
// joining instead, and what is said is kept for them (dropped for the one
// who blocks the caller); someone not on the caller's list is 217 either
// way.
func TestCallOffline(t *testing.T) {
	for _, accept := range []bool{false, true} {
		name := "default"
		if accept {
			name = "accept_calls"
		}
		t.Run(name, func(t *testing.T) {
			srv := coretest.Start(t, coretest.WithoutChallenges(), coretest.WithConfig(func(c *config.Config) {
				c.Offline.AcceptCalls = accept
			}))
			ctx := context.Background()
			for _, u := range []string{"alice", "bob", "carol", "dan", "erin"} {
				srv.AddUser(t, u+"@example.com", "pw", u)
			}
			for _, c := range []string{"bob", "carol", "dan"} {
				if _, err := srv.Store.AddToList(ctx, "alice@example.com", c+"@example.com", store.Forward, c, ""); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := srv.Store.AddToList(ctx, "dan@example.com", "alice@example.com", store.Block, "", ""); err != nil {
				t.Fatal(err)
			}
			carol := login(t, srv, 12, "carol@example.com", "pw")
			carol.send("CHG 5 HDN 0")
			carol.expect("CHG 5 HDN 0")
			dan := login(t, srv, 12, "dan@example.com", "pw")
			dan.send("CHG 5 NLN 0")
			dan.expect("CHG 5 NLN 0")

			alice := login(t, srv, 12, "alice@example.com", "pw")
			alice.send("CHG 5 NLN 0")
			alice.expectSkip("CHG 5 NLN 0")
			alice.send("XFR 6 SB")
			x := alice.expectSkip("XFR 6 SB * CKI *")
			sb := dial(t, x.Param(1), "alice-sb")
			sb.send("USR 1 alice@example.com " + x.Param(3))
			sb.expect("USR 1 OK alice@example.com alice")
			trid := 2
			call := func(who string) {
				t.Helper()
				cal := "CAL " + strconv.Itoa(trid) + " " + who + "@example.com"
				sb.send(cal)
				if accept {
					sb.expect("CAL " + strconv.Itoa(trid) + " RINGING *")
					sb.expect("JOI " + who + "@example.com " + who + " 0")
				} else {
					sb.expect("217 " + strconv.Itoa(trid))
				}
				trid++
			}
			call("bob")   // offline
			call("carol") // appears offline
			call("dan")   // blocks alice
			sb.send("CAL 9 erin@example.com")
			sb.expect("217 9")
			if !accept {
				return
			}
			hello := "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nsee you later"
			sb.sendMsg("MSG 10 A", hello)
			sb.expect("ACK 10")
			dan.expectNothing()
			if msgs, err := srv.Store.OfflineMessages(ctx, "bob@example.com"); err != nil || len(msgs) != 1 || string(msgs[0].Body) != "see you later" {
				t.Errorf("kept for bob: %+v %v", msgs, err)
			}
			if msgs, err := srv.Store.OfflineMessages(ctx, "dan@example.com"); err != nil || len(msgs) != 0 {
				t.Errorf("kept for dan, who blocks alice: %+v %v", msgs, err)
			}
		})
	}
}
