package ns_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
)

// A Windows Live Messenger user who is signed in — appearing offline, or
// online — is told at once when an offline message is kept for them
// (msnp13-18.md §5.4): MSG Hotmail Hotmail, text/x-msmsgsoimnotification,
// a Mail-Data with the one message (sender, ID, folder .!!OIM, name) and
// no E/Q/RT, which the client reads over rsi as at sign-in.
func TestOIMArrivalNotice(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	alice := loginLive(t, srv, 18, "alice@example.com", "pw", guid(1))
	alice.online(18, 5, "0:0")
	trid := 10
	for _, tc := range []struct {
		v      int
		status string
	}{{13, "HDN"}, {18, "HDN"}, {18, "NLN"}} {
		t.Run(fmt.Sprintf("MSNP%d-%s", tc.v, tc.status), func(t *testing.T) {
			email := fmt.Sprintf("bob%d%s@example.com", tc.v, strings.ToLower(tc.status))
			srv.AddUser(t, email, "pw", "Bob")
			bob := loginLive(t, srv, tc.v, email, "pw", guid(2))
			bob.sendMsg("ADL 5", `<ml l="1"></ml>`)
			bob.expect("ADL 5 OK")
			caps := "0"
			if tc.v >= 16 {
				caps = "0:0"
			}
			bob.send("CHG 6 " + tc.status + " " + caps)
			bob.expect("CHG 6 " + tc.status + " " + caps)
			if tc.v >= 16 {
				bob.expect("UBX 1:" + email) // its own endpoints
			}
			bob.mailData()

			trid++
			alice.sendMsg(fmt.Sprintf("UUM %d %s 1 1", trid, email), "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nare you there?")
			m := bob.expect("MSG Hotmail Hotmail")
			kept, err := srv.Store.OfflineMessages(t.Context(), email)
			if err != nil || len(kept) != 1 {
				t.Fatalf("kept: %+v %v", kept, err)
			}
			want := "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsoimnotification; charset=UTF-8\r\n\r\nMail-Data: "
			p := string(m.Payload)
			md, ok := strings.CutPrefix(p, want)
			if !ok {
				t.Fatalf("notice %q", p)
			}
			re := `^<MD><M><T>11</T><S>6</S><RS>0</RS><SZ>\d+</SZ><E>alice@example\.com</E><I>` + regexp.QuoteMeta(kept[0].ID) +
				`</I><F>\.!!OIM</F><N>=\?utf-8\?B\?QWxpY2U=\?=</N></M><SU> </SU></MD>\r\n$`
			if !regexp.MustCompile(re).MatchString(md) {
				t.Fatalf("Mail-Data %q, want it to match %s", md, re)
			}
		})
	}
}
