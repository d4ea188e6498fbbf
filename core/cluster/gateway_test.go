package cluster_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp/auth"
	"github.com/nudge-im/nudge/msnp/client"
)

// gatewaySession is one HTTP gateway session (Action=open, then polls).
type gatewaySession struct {
	t   *testing.T
	url string
	id  string
	all string // everything the server sent
}

var gatewayHeader = regexp.MustCompile(`^SessionID=([^;]+); GW-IP=[^;]+(; Session=close)?$`)

func (g *gatewaySession) post(query, body string) {
	g.t.Helper()
	resp, err := http.Post(g.url+"/gateway/gateway.dll?"+query, "application/x-msn-messenger", strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		g.t.Fatalf("gateway %s: %s %s", query, resp.Status, out)
	}
	m := gatewayHeader.FindStringSubmatch(resp.Header.Get("X-MSN-Messenger"))
	if m == nil {
		g.t.Fatalf("X-MSN-Messenger %q", resp.Header.Get("X-MSN-Messenger"))
	}
	g.id = m[1]
	g.all += string(out)
}

func (g *gatewaySession) send(body string) { g.t.Helper(); g.post("SessionID="+g.id, body) }

// until polls until what the server sent matches re, and returns the match.
func (g *gatewaySession) until(re string) []string {
	g.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := rx.FindStringSubmatch(g.all); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("never got %s; got %q", re, g.all)
		}
		time.Sleep(20 * time.Millisecond)
		g.post("Action=poll&SessionID="+g.id, "")
	}
}

// A user of the HTTP gateway of a node without a switchboard talks with
// someone on another node: the gateway connects the conversation to the
// node that holds it, both for a call the user makes (XFR SB gives the
// host and port) and for one they answer (RNG; the client sends the host
// alone, as Pidgin and msn-pecan do).
func TestGatewaySwitchboardOnAnotherNode(t *testing.T) {
	nodes := inProcess(t, 2) // n1: NS and the switchboard; n2: NS only
	n1, n2 := nodes[0], nodes[1]
	n1.AddUser(t, "alice@example.com", "pw", "Alice")
	n1.AddUser(t, "bob@example.com", "pw", "Bob")
	bob, bobEv := benchUser(t, n1, "bob@example.com")
	ctx := context.Background()
	if err := bob.AddContact(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}

	ns := &gatewaySession{t: t, url: n2.HTTPURL}
	ns.post("Action=open&Server=NS&IP=messenger.hotmail.com", "VER 1 MSNP7 CVR0\r\nINF 2\r\nUSR 3 MD5 I alice@example.com\r\n")
	salt := ns.until(`USR 3 MD5 S (\S+)\r\n`)[1]
	ns.send("USR 4 MD5 S " + auth.MD5Digest(salt, "pw") + "\r\n")
	ns.until(`USR 4 OK alice@example.com`)
	ns.send("ADD 5 FL bob@example.com bob\r\nADD 6 AL bob@example.com bob\r\nCHG 7 NLN\r\nXFR 8 SB\r\n")
	xfr := ns.until(`XFR 8 SB (\S+) CKI (\S+)\r\n`)
	if _, port, _ := net.SplitHostPort(xfr[1]); port == "" || xfr[1] != n1.SBAddr {
		t.Fatalf("XFR SB names %s, want n1's switchboard %s", xfr[1], n1.SBAddr)
	}

	// Alice calls from n2's gateway; the conversation is on n1.
	call := &gatewaySession{t: t, url: n2.HTTPURL}
	call.post("Action=open&Server=SB&IP="+xfr[1], "USR 1 alice@example.com "+xfr[2]+"\r\n")
	call.until(`USR 1 OK alice@example.com`)
	call.send("CAL 2 bob@example.com\r\n")
	call.until(`JOI bob@example.com`)
	msg := "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nfrom the gateway on n2"
	call.send("MSG 3 N " + strconv.Itoa(len(msg)) + "\r\n" + msg)
	awaitEvent(t, bobEv, "alice's message", func(ev client.Event) bool {
		m, ok := ev.(*client.Message)
		return ok && m.From == "alice@example.com" && m.Text == "from the gateway on n2"
	})

	// She leaves; Bob calls her again. The RNG reaches her through n2's
	// gateway, and she answers with the host alone.
	call.send("OUT\r\n")
	awaitEvent(t, bobEv, "alice leaving", func(ev client.Event) bool {
		l, ok := ev.(*client.Left)
		return ok && l.Email == "alice@example.com"
	})
	called := make(chan error, 1)
	go func() {
		// Returns once she has joined.
		cv, err := bob.Conversation(ctx, "alice@example.com")
		if err == nil {
			err = cv.Send(ctx, "from n1 to the gateway")
		}
		called <- err
	}()
	rng := ns.until(`RNG (\S+) (\S+) CKI (\S+) bob@example.com`)
	host, _, err := net.SplitHostPort(rng[2])
	if err != nil {
		t.Fatalf("RNG address %q: %v", rng[2], err)
	}
	answer := &gatewaySession{t: t, url: n2.HTTPURL}
	answer.post("Action=open&Server=SB&IP="+host, "ANS 1 alice@example.com "+rng[3]+" "+rng[1]+"\r\n")
	answer.until(`ANS 1 OK`)
	if err := <-called; err != nil {
		t.Fatal(err)
	}
	answer.until(`from n1 to the gateway`)
}
