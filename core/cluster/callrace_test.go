package cluster_test

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp/auth"
)

// line is a raw MSNP connection that reads line by line.
type line struct {
	t    *testing.T
	name string
	c    net.Conn
	r    *bufio.Reader
}

func dialLine(t *testing.T, addr, name string) *line {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &line{t: t, name: name, c: c, r: bufio.NewReader(c)}
}

func (l *line) send(s string) {
	l.t.Helper()
	if _, err := l.c.Write([]byte(s + "\r\n")); err != nil {
		l.t.Fatalf("%s: %v", l.name, err)
	}
}

// until reads lines until one matches re and returns its groups.
func (l *line) until(re string) []string {
	l.t.Helper()
	rx := regexp.MustCompile("^" + re + "$")
	l.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		s, err := l.r.ReadString('\n')
		if err != nil {
			l.t.Fatalf("%s: waiting for %q: %v", l.name, re, err)
		}
		if m := rx.FindStringSubmatch(strings.TrimRight(s, "\r\n")); m != nil {
			return m
		}
	}
}

// md5SignIn signs email in with MSNP7 at addr and sets it online.
func md5SignIn(t *testing.T, addr, email string) *line {
	t.Helper()
	l := dialLine(t, addr, email)
	l.send("VER 1 MSNP7 CVR0")
	l.until("VER 1 MSNP7 CVR0")
	l.send("USR 2 MD5 I " + email)
	salt := l.until(`USR 2 MD5 S (\S+)`)[1]
	l.send("USR 3 MD5 S " + auth.MD5Digest(salt, "pw"))
	l.until(`USR 3 OK .*`)
	l.send("CHG 4 NLN")
	l.until("CHG 4 NLN")
	return l
}

// A CAL that follows the NLN of a contact who just signed in is answered
// RINGING, also when the switchboard is on another node than the one
// both are signed in at, which hears of the sign-in over the bus a moment
// after the contact's own node shows it: the real service, through XFR,
// the switchboard and CAL, again and again (TestSwitchboardNodeHearsWhat-
// TheCallerSaw makes that node late on purpose).
func TestCallRightAfterSignInOnAnotherNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and NATS")
	}
	nodes := inProcess(t, 2) // n1: the only switchboard; n2: NS only
	n1, n2 := nodes[0], nodes[1]
	n1.AddUser(t, "alice@example.com", "pw", "Alice")
	n1.AddUser(t, "bob@example.com", "pw", "Bob")
	for _, p := range [][2]string{{"alice@example.com", "bob@example.com"}, {"bob@example.com", "alice@example.com"}} {
		for _, l := range []store.List{store.Forward, store.Allow} {
			if _, err := n1.Store.AddToList(t.Context(), p[0], p[1], l, "", ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	alice := md5SignIn(t, n2.NSAddr, "alice@example.com")
	refused := 0
	const rounds = 20
	for i := range rounds {
		bob := md5SignIn(t, n2.NSAddr, "bob@example.com")
		alice.until(`NLN NLN bob@example.com .*`)
		alice.send(fmt.Sprintf("XFR %d SB", 10+i))
		x := alice.until(fmt.Sprintf(`XFR %d SB (\S+) CKI (\S+)`, 10+i))
		sb := dialLine(t, x[1], "alice-sb")
		sb.send("USR 1 alice@example.com " + x[2])
		sb.until(`USR 1 OK .*`)
		sb.send("CAL 2 bob@example.com")
		if got := sb.until(`CAL 2 RINGING \S+|217 2`)[0]; got == "217 2" {
			refused++
		}
		sb.send("OUT")
		bob.send("OUT")
		alice.until(`FLN bob@example.com`)
	}
	if refused > 0 {
		t.Fatalf("%d of %d calls right after Bob's NLN were refused (217)", refused, rounds)
	}
}
