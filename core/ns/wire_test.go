package ns_test

import (
	"crypto/tls"
	"github.com/nudge-im/nudge/core/config"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// wire is a client connection driven line by line, the way the protocol
// transcripts are written: send "C:" lines, expect "S:" lines.
type wire struct {
	t    testing.TB
	conn net.Conn
	r    *msnp.Reader
	w    *msnp.Writer
	name string
}

func dial(t testing.TB, addr, name string) *wire {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &wire{t: t, conn: conn, r: msnp.NewReader(conn, msnp.FromServer), w: msnp.NewWriter(conn), name: name}
}

// send writes a raw line (CRLF added) and any payload after it.
func (w *wire) send(line string, payload ...string) {
	w.t.Helper()
	data := line + "\r\n" + strings.Join(payload, "")
	if _, err := w.conn.Write([]byte(data)); err != nil {
		w.t.Fatalf("%s: send %q: %v", w.name, line, err)
	}
}

// sendMsg writes a payload command with its length filled in.
func (w *wire) sendMsg(head, payload string) {
	w.send(head+" "+strconv.Itoa(len(payload)), payload)
}

// next reads the next command, skipping asynchronous ones the test did not
// ask about (CHL is answered by the caller when it matters).
func (w *wire) next() *msnp.Command {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	c, err := w.r.ReadCommand()
	if err != nil {
		w.t.Fatalf("%s: read: %v", w.name, err)
	}
	return c
}

// expect reads the next command and matches its line against pattern, a
// regular expression anchored at both ends where "*" stands for one
// parameter. It returns the command.
func (w *wire) expect(pattern string) *msnp.Command {
	w.t.Helper()
	c := w.next()
	line := lineOf(c)
	if !match(pattern, line) {
		w.t.Fatalf("%s: got %q, want %q", w.name, line, pattern)
	}
	return c
}

// expectSkip reads until a command matches, failing after 50 others.
func (w *wire) expectSkip(pattern string) *msnp.Command {
	w.t.Helper()
	for i := 0; i < 50; i++ {
		c := w.next()
		if match(pattern, lineOf(c)) {
			return c
		}
	}
	w.t.Fatalf("%s: no %q", w.name, pattern)
	return nil
}

// expectNothing checks that no command arrives for a short while.
func (w *wire) expectNothing() {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	c, err := w.r.ReadCommand()
	if err == nil {
		w.t.Fatalf("%s: unexpected %q", w.name, c.String())
	}
}

// expectClosed checks that the server closes the connection.
func (w *wire) expectClosed() {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < 100; i++ {
		if _, err := w.r.ReadCommand(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				w.t.Fatalf("%s: connection still open", w.name)
			}
			return
		}
	}
	w.t.Fatalf("%s: connection still open", w.name)
}

// match reports whether line fits pattern: "*" is one parameter, a final
// "**" is any number of them.
func match(pattern, line string) bool {
	re := regexp.QuoteMeta(pattern)
	re = strings.ReplaceAll(re, `\*\*`, `.*`)
	re = strings.ReplaceAll(re, `\*`, `\S+`)
	return regexp.MustCompile("^" + re + "$").MatchString(line)
}

// lineOf is a command's line without the payload length, as the
// transcripts write it.
func lineOf(c *msnp.Command) string {
	cc := *c
	cc.Payload = nil
	return cc.String()
}

// login signs email in at version v the way a real client of that version
// does: MD5 for MSNP2–7, Passport 1.4 (nexus + login2.srf) for MSNP8+. It
// stops after USR OK and the profile (and SBS).
func login(t testing.TB, srv *coretest.Server, v int, email, password string) *wire {
	t.Helper()
	w, _ := loginOK(t, srv, v, email, password)
	return w
}

// loginOK is login that also returns the USR OK line.
func loginOK(t testing.TB, srv *coretest.Server, v int, email, password string) (*wire, string) {
	t.Helper()
	w := dial(t, srv.NSAddr, email)
	ver := "MSNP" + strconv.Itoa(v)
	w.send("VER 1 " + ver + " CVR0")
	w.expect("VER 1 " + ver + " CVR0")
	if v <= 7 {
		w.send("INF 2")
		w.expect("INF 2 MD5")
		w.send("USR 3 MD5 I " + email)
		salt := w.expect("USR 3 MD5 S *").Param(2)
		w.send("USR 4 MD5 S " + auth.MD5Digest(salt, password))
	} else {
		w.send("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.5.0324 MSMSGS " + email)
		w.expect("CVR 2 7.5.0324 7.5.0324 7.5.0324 * *")
		w.send("USR 3 TWN I " + email)
		params := w.expect("USR 3 TWN S *").Param(2)
		ticket := passportLogin(t, srv, email, password, params)
		w.send("USR 4 TWN S " + ticket)
	}
	ok := lineOf(w.expect("USR 4 OK **"))
	if v >= 11 {
		w.expect("SBS 0 null")
	}
	if c := w.expect("MSG Hotmail Hotmail"); !strings.Contains(string(c.Payload), "text/x-msmsgsprofile") {
		t.Fatalf("profile: %q", c.Payload)
	}
	return w, ok
}

// passportLogin does the HTTPS part of a TWN login and returns the from-PP
// ticket string.
func passportLogin(t testing.TB, srv *coretest.Server, email, password, params string) string {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get(srv.HTTPSURL + "/rdr/pprdr.asp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	urls, err := auth.ParsePassportURLs(resp.Header.Get("PassportURLs"))
	if err != nil {
		t.Fatalf("nexus: %v", err)
	}
	req, _ := http.NewRequest("GET", "https://"+urls.DALogin, nil)
	req.Header.Set("Authorization", "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in="+
		url.QueryEscape(email)+",pwd="+url.QueryEscape(password)+","+params)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login2.srf: %s", resp.Status)
	}
	info, err := auth.ParseAuthenticationInfo(resp.Header.Get("Authentication-Info"))
	if err != nil {
		t.Fatal(err)
	}
	return info.FromPP
}

// answerChallenge answers a CHL the way a client of version v does.
func (w *wire) answerChallenge(v int, trid int, chl *msnp.Command) {
	w.t.Helper()
	product, answer, ok := auth.AnswerChallenge(v, chl.Param(0))
	if !ok {
		w.t.Fatalf("no product key for MSNP%d", v)
	}
	w.sendMsg("QRY "+strconv.Itoa(trid)+" "+product, answer)
	w.expect("QRY " + strconv.Itoa(trid))
}

type coretestConfig = config.Config
