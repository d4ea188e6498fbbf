package passport_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
)

// exchange writes one request on a new connection to addr (TLS when
// tlsOn) and reads the answer up to the end of its headers, as Pidgin's
// MSN plugin does.
func exchange(t *testing.T, addr string, tlsOn bool, req string) string {
	t.Helper()
	var c net.Conn
	var err error
	if tlsOn {
		c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	var head strings.Builder
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil || line == "\r\n" {
			return head.String()
		}
	}
}

var (
	daLogin = regexp.MustCompile(`PassportURLs: [^\r]*DALogin=([^,/]+)(/[^,]*),`)
	fromPP  = regexp.MustCompile(`from-PP='([^']*)'`)
)

// TestPidginMSNP9SignIn is the whole sign-in of Pidgin 2.6's MSN plugin
// (MSNP9) against the running service, in the requests it writes: the
// nexus with neither an HTTP version nor a Host, on either Passport port;
// login2.srf on the host DALogin names; USR TWN S with the ticket; and the
// first SYN of a new account, which gets the (empty) list.
func TestPidginMSNP9SignIn(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "pidgin@example.com", "s3cret pw", "Pidgin")
	httpsAddr := strings.TrimPrefix(srv.HTTPSURL, "https://")
	httpAddr := strings.TrimPrefix(srv.HTTPURL, "http://")
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)

	for _, port := range []struct {
		addr  string
		tlsOn bool
	}{{httpsAddr, true}, {httpAddr, false}} {
		ans := exchange(t, port.addr, port.tlsOn, "GET /rdr/pprdr.asp\r\n\r\n")
		m := daLogin.FindStringSubmatch(ans)
		// No Host: the address the client came in on, with the HTTPS
		// port, which is not 443 here.
		if m == nil || m[1] != "127.0.0.1:"+httpsPort || m[2] != "/login2.srf" {
			t.Fatalf("nexus on %s: %q", port.addr, ans)
		}
	}

	ns, err := net.Dial("tcp", srv.NSAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	r := msnp.NewReader(ns, msnp.FromServer)
	send := func(line string) {
		t.Helper()
		if _, err := io.WriteString(ns, line+"\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(want string) *msnp.Command {
		t.Helper()
		ns.SetReadDeadline(time.Now().Add(10 * time.Second))
		c, err := r.ReadCommand()
		if err != nil {
			t.Fatal(err)
		}
		c.Payload = nil
		if got := c.String(); !regexp.MustCompile("^" + want + "$").MatchString(got) {
			t.Fatalf("got %q, want %q", got, want)
		}
		return c
	}
	send("VER 1 MSNP9 MSNP8 CVR0")
	expect(`VER 1 MSNP9 CVR0`)
	send("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.0.0602 MSMSGS pidgin@example.com")
	expect(`CVR 2 6\.0\.0602 6\.0\.0602 6\.0\.0602 \S+ \S+`)
	send("USR 3 TWN I pidgin@example.com")
	challenge := expect(`USR 3 TWN S \S+`).Param(2)

	ans := exchange(t, httpsAddr, true, "GET /login2.srf HTTP/1.1\r\n"+
		"Authorization: Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=pidgin%40example.com,pwd="+
		strings.ReplaceAll(url.QueryEscape("s3cret pw"), "+", "%20")+","+challenge+"\r\n"+
		"User-Agent: MSMSGS\r\nHost: 127.0.0.1\r\nConnection: Keep-Alive\r\nCache-Control: no-cache\r\n\r\n")
	m := fromPP.FindStringSubmatch(ans)
	if !strings.HasPrefix(ans, "HTTP/1.1 200 OK\r\n") || m == nil {
		t.Fatalf("login2.srf: %q", ans)
	}
	send("USR 4 TWN S " + m[1])
	expect(`USR 4 OK pidgin@example\.com Pidgin 1 0`)
	expect(`MSG Hotmail Hotmail`)
	send("SYN 5 0")
	expect(`SYN 5 1 0 1`)
	expect(`GTC A`)
	expect(`BLP AL`)
	expect(`LSG 0 Other%20Contacts 0`)
	send("CHG 6 NLN 0")
	expect(`CHG 6 NLN 0`)
}
