package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/message"
)

// signedIn returns a client signed in to a scripted MSNP7 server, and the
// server's side of the notification connection.
func signedIn(t *testing.T) (*Client, *sconn) {
	t.Helper()
	ns := newScriptServer(t)
	cc, ec := dialAsync(testConfig(ns.addr(), 7))
	n := ns.accept()
	n.quietLogin("alice@example.com")
	return dialResult(t, cc, ec), n
}

func textPayload(text string) string {
	return "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=B; CO=ff; CS=0; PF=22\r\n\r\n" + text
}

// Opening a conversation, chatting both ways, the switchboard closing, and
// the next Send reopening it (switchboard transcript shapes of MSNP2–12).
func TestConversationOpenSendReopen(t *testing.T) {
	c, n := signedIn(t)
	sbs := newScriptServer(t)
	ctx := context.Background()

	type result struct {
		cv  *Conversation
		err error
	}
	rc := make(chan result, 1)
	go func() {
		cv, err := c.Conversation(ctx, "bob@example.com")
		rc <- result{cv, err}
	}()
	n.expect("XFR 7 SB")
	n.send("XFR 7 SB " + sbs.addr() + " CKI 17262740.1050826919.32308")
	sb := sbs.accept()
	sb.expect("USR 1 alice@example.com 17262740.1050826919.32308")
	sb.send("USR 1 OK alice@example.com Alice")
	sb.expect("CAL 2 bob@example.com")
	sb.send("CAL 2 RINGING 17342299", "JOI bob@example.com Bob%20B")
	r := <-rc
	if r.err != nil {
		t.Fatal(r.err)
	}
	cv := r.cv
	if j := waitEvent[*Joined](t, c); j.Conversation != cv || j.Email != "bob@example.com" || j.FriendlyName != "Bob B" {
		t.Errorf("joined %+v", j)
	}
	if p := cv.Participants(); len(p) != 1 || p[0].Email != "bob@example.com" {
		t.Errorf("participants %+v", p)
	}
	if again, err := c.Conversation(ctx, "bob@example.com"); err != nil || again != cv {
		t.Errorf("second Conversation: %v %v", again, err)
	}

	errc := make(chan error, 1)
	go func() { errc <- cv.Send(ctx, "hi bob") }()
	m := sb.expect("MSG 3 A *")
	if mm, err := message.Parse(m.Payload); err != nil || mm.Text() != "hi bob" || mm.Kind() != message.KindText {
		t.Errorf("sent %q", m.Payload)
	}
	sb.send("ACK 3")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	go func() { errc <- cv.SendTyping(ctx) }()
	m = sb.expect("MSG 4 U *")
	if !strings.Contains(string(m.Payload), "TypingUser: alice@example.com") {
		t.Errorf("typing %q", m.Payload)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	go func() { errc <- cv.SendNudge(ctx) }()
	m = sb.expect("MSG 5 A *")
	if mm, _ := message.Parse(m.Payload); mm.Kind() != message.KindNudge {
		t.Errorf("nudge %q", m.Payload)
	}
	sb.send("NAK 5")
	if err := <-errc; !errors.Is(err, ErrNotDelivered) {
		t.Errorf("NAK gave %v", err)
	}

	sb.sendPayload("MSG bob@example.com Bob%20B", textPayload("hello alice"))
	sb.sendPayload("MSG bob@example.com Bob%20B", "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: bob@example.com\r\n\r\n\r\n")
	sb.sendPayload("MSG bob@example.com Bob%20B", "MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 1\r\n\r\n")
	sb.sendPayload("MSG bob@example.com Bob%20B", "MIME-Version: 1.0\r\nContent-Type: text/x-mms-emoticon\r\n\r\n:)\tabc\t")
	msg := waitEvent[*Message](t, c)
	if msg.Conversation != cv || msg.From != "bob@example.com" || msg.Text != "hello alice" || !msg.Format.Bold || msg.Format.Font != "Arial" {
		t.Errorf("message %+v", msg)
	}
	if ty := nextEvent(t, c).(*Typing); ty.From != "bob@example.com" {
		t.Errorf("typing %+v", ty)
	}
	if nu := nextEvent(t, c).(*Nudge); nu.From != "bob@example.com" {
		t.Errorf("nudge %+v", nu)
	}
	if raw := nextEvent(t, c).(*RawMessage); raw.Message.Kind() != message.KindEmoticon {
		t.Errorf("raw %+v", raw)
	}

	// Bob leaves and the server closes the switchboard.
	sb.send("BYE bob@example.com 1")
	if l := nextEvent(t, c).(*Left); l.Email != "bob@example.com" || !l.Idle {
		t.Errorf("left %+v", l)
	}
	sb.nc.Close()
	if cc := nextEvent(t, c).(*ConversationClosed); cc.Conversation != cv || cc.Err == nil {
		t.Errorf("closed %+v", cc)
	}

	// The next Send reopens it.
	go func() { errc <- cv.Send(ctx, "still there?") }()
	n.expect("XFR 8 SB")
	n.send("XFR 8 SB " + sbs.addr() + " CKI 2.2.2")
	sb2 := sbs.accept()
	sb2.expect("USR 1 alice@example.com 2.2.2")
	sb2.send("USR 1 OK alice@example.com Alice")
	sb2.expect("CAL 2 bob@example.com")
	sb2.send("CAL 2 RINGING 99", "JOI bob@example.com Bob")
	m = sb2.expect("MSG 3 A *")
	if !strings.HasSuffix(string(m.Payload), "still there?") {
		t.Errorf("sent %q", m.Payload)
	}
	sb2.send("ACK 3")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	// An offline contact.
	go func() {
		_, err := c.Conversation(ctx, "carol@example.com")
		errc <- err
	}()
	n.expect("XFR 9 SB")
	n.send("XFR 9 SB " + sbs.addr() + " CKI 3.3.3")
	sb3 := sbs.accept()
	sb3.expect("USR 1 alice@example.com 3.3.3")
	sb3.send("USR 1 OK alice@example.com Alice")
	sb3.expect("CAL 2 carol@example.com")
	sb3.send("217 2")
	if err := <-errc; !errors.Is(err, msnp.ErrNotOnline) {
		t.Errorf("offline contact: %v", err)
	}
	sb3.expectClosed()

	// Close leaves; later sends fail.
	cv.Close()
	sb2.expectClosed()
	if err := cv.Send(ctx, "x"); !errors.Is(err, ErrConversationClosed) {
		t.Errorf("send after close: %v", err)
	}
}

// Long text is split into messages a switchboard relays.
func TestConversationSplitsLongText(t *testing.T) {
	c, n := signedIn(t)
	sbs := newScriptServer(t)
	ctx := context.Background()
	errc := make(chan error, 1)
	long := strings.Repeat("ä", 1500) // 3000 bytes
	go func() {
		cv, err := c.Conversation(ctx, "bob@example.com")
		if err == nil {
			err = cv.Send(ctx, long)
		}
		errc <- err
	}()
	n.expect("XFR 7 SB")
	n.send("XFR 7 SB " + sbs.addr() + " CKI 1.1.1")
	sb := sbs.accept()
	sb.expect("USR 1 alice@example.com 1.1.1")
	sb.send("USR 1 OK alice@example.com Alice")
	sb.expect("CAL 2 bob@example.com")
	sb.send("CAL 2 RINGING 1", "JOI bob@example.com Bob")
	var got strings.Builder
	for i := 3; got.Len() < len(long); i++ {
		m := sb.expect("MSG " + itoa(uint32(i)) + " A *")
		if len(m.Payload) > msnp.MaxMessagePayload {
			t.Fatalf("payload of %d bytes", len(m.Payload))
		}
		mm, _ := message.Parse(m.Payload)
		got.WriteString(mm.Text())
		sb.send("ACK " + itoa(uint32(i)))
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got.String() != long {
		t.Error("text changed in transit")
	}
}

// An invitation (RNG) is answered; Invited comes before the messages of
// the conversation.
func TestConversationInvited(t *testing.T) {
	c, n := signedIn(t)
	sbs := newScriptServer(t)
	ctx := context.Background()
	n.send("RNG 11752013 " + sbs.addr() + " CKI 849102291.520491932 bob@example.com Bob%20B")
	sb := sbs.accept()
	sb.expect("ANS 1 alice@example.com 849102291.520491932 11752013")
	sb.send("IRO 1 1 2 bob@example.com Bob%20B", "IRO 1 2 2 carol@example.com Carol", "ANS 1 OK")
	sb.sendPayload("MSG bob@example.com Bob%20B", textPayload("yo"))
	inv := nextEvent(t, c).(*Invited)
	if inv.From != "bob@example.com" || inv.FriendlyName != "Bob B" {
		t.Errorf("invited %+v", inv)
	}
	cv := inv.Conversation
	if p := cv.Participants(); len(p) != 2 || p[1].Email != "carol@example.com" {
		t.Errorf("participants %+v", p)
	}
	if p := inv.Participants; len(p) != 2 || p[0].Email != "bob@example.com" || p[1].Email != "carol@example.com" {
		t.Errorf("the invitation's participants %+v", p)
	}
	if m := nextEvent(t, c).(*Message); m.Conversation != cv || m.Text != "yo" {
		t.Errorf("message %+v", m)
	}
	errc := make(chan error, 1)
	go func() { errc <- cv.Invite(ctx, "dave@example.com") }()
	sb.expect("CAL 2 dave@example.com")
	sb.send("CAL 2 RINGING 11752013", "JOI dave@example.com Dave")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if j := nextEvent(t, c).(*Joined); j.Email != "dave@example.com" {
		t.Errorf("joined %+v", j)
	}
	sb.send("BYE carol@example.com")
	if l := nextEvent(t, c).(*Left); l.Email != "carol@example.com" || l.Idle {
		t.Errorf("left %+v", l)
	}
	if p := cv.Participants(); len(p) != 2 {
		t.Errorf("participants %+v", p)
	}
}

func TestSplitText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want []string
	}{
		{"hello", 10, []string{"hello"}},
		{"hello world foo", 12, []string{"hello world ", "foo"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"ääää", 3, []string{"ä", "ä", "ä", "ä"}},
	} {
		got := splitText(tc.in, tc.n)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("splitText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// openWithBob opens a conversation with bob on a scripted switchboard and
// returns it with the switchboard's side; the next transaction ID is 3.
func openWithBob(t *testing.T, c *Client, n *sconn) (*Conversation, *sconn) {
	t.Helper()
	sbs := newScriptServer(t)
	type result struct {
		cv  *Conversation
		err error
	}
	rc := make(chan result, 1)
	go func() {
		cv, err := c.Conversation(context.Background(), "bob@example.com")
		rc <- result{cv, err}
	}()
	n.expect("XFR 7 SB")
	n.send("XFR 7 SB " + sbs.addr() + " CKI 1.2.3")
	sb := sbs.accept()
	sb.expect("USR 1 alice@example.com 1.2.3")
	sb.send("USR 1 OK alice@example.com Alice")
	sb.expect("CAL 2 bob@example.com")
	sb.send("CAL 2 RINGING 42", "JOI bob@example.com Bob")
	r := <-rc
	if r.err != nil {
		t.Fatal(r.err)
	}
	waitEvent[*Joined](t, c)
	return r.cv, sb
}

// While someone invited into a conversation has not answered yet, what is
// sent reaches those already there at once.
func TestInviteDoesNotHoldSends(t *testing.T) {
	c, n := signedIn(t)
	cv, sb := openWithBob(t, c, n)
	ctx := context.Background()
	invited := make(chan error, 1)
	go func() { invited <- cv.Invite(ctx, "carol@example.com") }()
	sb.expect("CAL 3 carol@example.com")
	sb.send("CAL 3 RINGING 42")

	sent := make(chan error, 1)
	go func() { sent <- cv.Send(ctx, "hi bob") }()
	sb.expect("MSG 4 A *")
	sb.send("ACK 4")
	if err := <-sent; err != nil {
		t.Fatalf("send while carol had not answered: %v", err)
	}
	select {
	case err := <-invited:
		t.Fatalf("Invite returned %v before carol joined", err)
	default:
	}
	sb.send("JOI carol@example.com Carol")
	if err := <-invited; err != nil {
		t.Fatal(err)
	}
}

// Group invites everyone in one go and returns once the first joined; an
// offline contact is left out, one slow to answer joins later.
func TestGroup(t *testing.T) {
	c, n := signedIn(t)
	sbs := newScriptServer(t)
	ctx := context.Background()
	type result struct {
		cv  *Conversation
		err error
	}
	rc := make(chan result, 1)
	go func() {
		cv, err := c.Group(ctx, "bob@example.com", "carol@example.com", "dave@example.com")
		rc <- result{cv, err}
	}()
	n.expect("XFR 7 SB")
	n.send("XFR 7 SB " + sbs.addr() + " CKI 1.2.3")
	sb := sbs.accept()
	sb.expect("USR 1 alice@example.com 1.2.3")
	sb.send("USR 1 OK alice@example.com Alice")
	sb.expect("CAL 2 bob@example.com")
	sb.send("217 2")
	sb.expect("CAL 3 carol@example.com")
	sb.send("CAL 3 RINGING 42")
	sb.expect("CAL 4 dave@example.com")
	sb.send("CAL 4 RINGING 42", "JOI dave@example.com Dave")
	r := <-rc
	if r.err != nil {
		t.Fatal(r.err)
	}
	if p := r.cv.Participants(); len(p) != 1 || p[0].Email != "dave@example.com" {
		t.Fatalf("participants %+v, want dave alone so far", p)
	}
	sent := make(chan error, 1)
	go func() { sent <- r.cv.Send(ctx, "hello") }()
	sb.expect("MSG 5 A *")
	sb.send("ACK 5")
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	sb.send("JOI carol@example.com Carol")
	if j := waitEvent[*Joined](t, c); j.Email != "dave@example.com" {
		t.Fatalf("joined %+v, want dave first", j)
	}
	if j := waitEvent[*Joined](t, c); j.Email != "carol@example.com" {
		t.Fatalf("joined %+v", j)
	}
	// Carol joined after "hello" was written: it reached Dave alone.
	if p := r.cv.Participants(); len(p) != 2 {
		t.Fatalf("participants %+v, want dave and carol", p)
	}
	if p := r.cv.Reached(); len(p) != 1 || p[0].Email != "dave@example.com" {
		t.Fatalf("reached %+v, want dave alone", p)
	}
	if _, err := c.Group(ctx); err == nil {
		t.Error("a group with nobody in it")
	}
}

// SignOut signs out like Close, but what already arrived is still
// delivered, followed by a Disconnected; Close drops it.
func TestSignOutKeepsEvents(t *testing.T) {
	for _, signOut := range []bool{true, false} {
		c, n := signedIn(t)
		sbs := newScriptServer(t)
		n.send("RNG 1 " + sbs.addr() + " CKI 9.9 bob@example.com Bob")
		sb := sbs.accept()
		sb.expect("ANS 1 alice@example.com 9.9 1")
		sb.send("IRO 1 1 1 bob@example.com Bob", "ANS 1 OK")
		sb.sendPayload("MSG bob@example.com Bob", textPayload("last words"))
		deadline := time.Now().Add(10 * time.Second)
		for c.Backlog() < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if signOut {
				c.SignOut()
			} else {
				c.Close()
			}
		}()
		if signOut {
			// A message the switchboard had sent before it read the OUT.
			sb.expect("OUT")
			sb.sendPayload("MSG bob@example.com Bob", textPayload("in flight"))
			sb.nc.Close()
		} else {
			sb.expectClosed()
		}
		n.expectClosed()
		<-done
		var got []string
		for ev := range c.Events() {
			switch ev := ev.(type) {
			case *Message:
				got = append(got, ev.Text)
			case *Disconnected:
				if !errors.Is(ev.Err, ErrClosed) || ev.Reconnecting {
					t.Errorf("disconnected %+v", ev)
				}
				got = append(got, "disconnected")
			}
		}
		want := "[last words in flight disconnected]"
		if !signOut {
			want = "[]"
		}
		if fmt.Sprint(got) != want {
			t.Errorf("signOut %v: events %q, want %s", signOut, got, want)
		}
	}
}
