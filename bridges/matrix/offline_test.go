//go:build goolm

package matrix_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nudge-im/nudge/bridges/matrix/matrixtest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// Offline messages both ways, with the bridge's accounts at their default
// MSNP15: what a Matrix user writes in the DM of an MSN contact who is
// offline reaches them when they sign in — at MSNP7 as a conversation
// from the bridged user, at MSNP18 as an OIM — and what an MSNP18 user
// leaves for the bridged user while the bridge is down arrives in the DM
// once the bridge signs her in again, dated when it was sent.
func TestOfflineMessages(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	alice := e.hs.NewUser(t, "alice")
	mgmt := alice.DirectChat(t, bot)
	alice.WaitEvent(t, "the bot joining", joined(mgmt, bot))
	mark := alice.Mark()
	alice.Send(t, mgmt, "login hosted")
	alice.WaitSince(t, mark, "the login", botSays(mgmt, "Signed in to your hosted MSN account, "+aliceMSN))

	var away18 *msnUser
	dm18 := mgmt
	for _, v := range []msnp.Version{7, 18} {
		email := fmt.Sprintf("away%d@example.com", v)
		e.srv.AddUser(t, email, "away-secret", fmt.Sprintf("Away %d", v))
		mark := alice.Mark()
		alice.Send(t, mgmt, "start-chat "+email)
		dm := alice.WaitSince(t, mark, "the DM with "+email, joined("", ghost(email))).RoomID
		alice.WaitSince(t, mark, "alice in the DM with "+email, joined(dm, alice.UserID))
		mark = alice.Mark()
		alice.Send(t, dm, "written while you were away")
		eventually(t, "the message kept for "+email, func() bool {
			kept, err := e.srv.Store.OfflineMessages(ctx, email)
			return err == nil && len(kept) == 1
		})
		if n := alice.Count(botSays(dm, "offline")); n > 0 {
			t.Errorf("the bridge said the message to %s was not delivered", email)
		}
		cl, err := client.Dial(ctx, client.Config{Server: e.srv.NSAddr, Email: email, Password: "away-secret",
			Version: v, MinVersion: v, Passport: client.PassportConfig{URL: e.srv.HTTPURL}})
		if err != nil {
			t.Fatal(err)
		}
		u := watchMSN(t, cl, email)
		if v >= 13 {
			u.wait(t, "the OIM", func(ev client.Event) bool {
				o, ok := ev.(*client.OfflineMessage)
				return ok && o.From == aliceMSN && o.Text == "written while you were away" && !o.Sent.IsZero()
			})
			away18, dm18 = u, dm
		} else {
			u.wait(t, "the offline message as a conversation", text(aliceMSN, "\r\nwritten while you were away"))
		}
	}

	// The other way: the bridge is down, an MSNP18 user leaves alice a
	// message; it arrives when the bridge signs her in again.
	e.bridge.stop()
	if err := away18.SendOffline(ctx, aliceMSN, "left while your bridge was down"); err != nil {
		t.Fatal(err)
	}
	left := time.Now()
	time.Sleep(1100 * time.Millisecond) // so that a time of arrival would differ
	e.bridge.start(t)
	got := alice.WaitEvent(t, "the offline message", matrixtest.Message(dm18, ghost("away18@example.com"), "left while your bridge was down"))
	if ts := time.UnixMilli(got.Timestamp); ts.After(left) {
		t.Errorf("the message is dated %s, after it was left (%s)", ts, left)
	}
}
