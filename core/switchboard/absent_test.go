package switchboard

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/mailbox"
	"github.com/nudge-im/nudge/core/store"
)

// Calling a contact who is offline: RINGING and JOI as for anyone, what is
// said (text only) kept for them and acknowledged; calling them again is
// 215. Someone who blocks the caller looks the same, and keeps nothing.
// Someone not on the caller's list, or called by a session that reaches
// signed-in users only (the courier), is 217.
func TestCallAbsent(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "nudge.db"), store.Options{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, u := range []string{"alice", "bob", "carol", "dan", "erin"} {
		if _, err := st.CreateAccount(ctx, u+"@example.com", "pw", u); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"bob", "carol", "dan"} {
		if _, err := st.AddToList(ctx, "alice@example.com", c+"@example.com", store.Forward, c, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AddToList(ctx, "dan@example.com", "alice@example.com", store.Block, "", ""); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, setup{config: func(c *Config) { c.Mailbox = mailbox.New(st, c.Directory, zerolog.Nop()) }})
	alice := e.peer("Alice", 12, "1342177280")
	carol := e.peer("Carol", 9, "")

	a := e.start(alice)
	a.send("CAL 2 bob@example.com")
	cal := a.read()
	if cal.String() != "CAL 2 RINGING "+cal.Param(1) {
		t.Fatalf("CAL: got %q", cal)
	}
	a.expect("JOI bob@example.com bob 0")
	a.send("CAL 3 bob@example.com")
	a.expect("215 3")
	a.send("CAL 4 dan@example.com") // blocks alice: looks offline too
	if cal := a.read(); cal.String() != "CAL 4 RINGING "+cal.Param(1) {
		t.Fatalf("CAL: got %q", cal)
	}
	a.expect("JOI dan@example.com dan 0")
	a.send("CAL 40 erin@example.com") // not on alice's list
	a.expect("217 40")

	a.sendMsg(5, "U", []byte("MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: alice@example.com\r\n\r\n\r\n"))
	a.sendMsg(6, "A", text("see you later"))
	a.expect("ACK 6")
	a.sendMsg(7, "D", p2p("bob@example.com")) // nobody there to answer it
	a.expect("NAK 7")
	// Someone who is there gets it too.
	c, _ := e.invite(a, 17, carol)
	a.expect("JOI carol@example.com Carol 0")
	a.sendMsg(8, "A", text("both of you"))
	c.expect("MSG alice@example.com Alice " + itoa(len(text("both of you"))))
	a.expect("ACK 8")

	msgs, err := st.OfflineMessages(ctx, "bob@example.com")
	if err != nil || len(msgs) != 2 {
		t.Fatalf("kept for bob: %+v, %v", msgs, err)
	}
	for i, want := range []string{"see you later", "both of you"} {
		if m := msgs[i]; string(m.Body) != want || m.From != "alice@example.com" || m.FromName != "Alice" {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	if msgs, _ := st.OfflineMessages(ctx, "dan@example.com"); len(msgs) != 0 {
		t.Errorf("kept for dan, who blocks alice: %+v", msgs)
	}

	// The courier's sessions reach signed-in users only.
	u := alice.user()
	u.OnlyOnline = true
	_, cookie := e.open(u)
	courier := e.dial("courier")
	courier.send("USR 1 %s %s", alice.email(), cookie)
	courier.expect(fmt.Sprintf("USR 1 OK %s %s", alice.email(), alice.wireName()))
	courier.send("CAL 2 bob@example.com")
	courier.expect("217 2")
}
