package gateway_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/auth"
)

// sessionRE is the X-MSN-Messenger header. The SessionID has a dot in the
// middle, as the MSN gateway's had: msn-pecan and Pidgin's MSN plugin split
// it there, and crash on the first reply without one.
var sessionRE = regexp.MustCompile(`^SessionID=([0-9a-f]+\.[0-9a-f]+); GW-IP=([^;]+)(; Session=close)?$`)

type gw struct {
	t   *testing.T
	url string
	id  string
}

// post sends one gateway request and returns the body and whether the
// server ended the session.
func (g *gw) post(query, body string) (string, bool) {
	g.t.Helper()
	resp, err := http.Post(g.url+"/gateway/gateway.dll?"+query, "application/x-msn-messenger", strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		g.t.Fatalf("%s: %s %s", query, resp.Status, out)
	}
	raw := resp.Header.Get("X-MSN-Messenger")
	m := sessionRE.FindStringSubmatch(raw)
	if m == nil {
		g.t.Fatalf("header %q", raw)
	}
	g.id = m[1]
	return string(out), m[3] != ""
}

// until polls until the body so far contains want.
func (g *gw) until(want string) string {
	g.t.Helper()
	var all string
	for i := 0; i < 50; i++ {
		out, _ := g.post("Action=poll&SessionID="+g.id, "")
		all += out
		if strings.Contains(all, want) {
			return all
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.t.Fatalf("never got %q; got %q", want, all)
	return ""
}

func TestGatewayLoginAndChat(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")

	a := &gw{t: t, url: srv.HTTPURL}
	out, _ := a.post("Action=open&Server=NS&IP=messenger.hotmail.com", "VER 1 MSNP7 CVR0\r\nINF 2\r\nUSR 3 MD5 I alice@example.com\r\n")
	if !strings.Contains(out, "VER 1 MSNP7 CVR0\r\n") {
		out += a.until("USR 3 MD5 S ")
	}
	if !strings.Contains(out, "USR 3 MD5 S ") {
		out += a.until("USR 3 MD5 S ")
	}
	salt := regexp.MustCompile(`USR 3 MD5 S (\S+)\r\n`).FindStringSubmatch(out)[1]
	out, _ = a.post("SessionID="+a.id, "USR 4 MD5 S "+auth.MD5Digest(salt, "pw")+"\r\n")
	if !strings.Contains(out, "USR 4 OK alice@example.com Alice 1\r\n") {
		out += a.until("USR 4 OK alice@example.com Alice 1")
	}
	out, _ = a.post("SessionID="+a.id, "CHG 5 NLN\r\nXFR 6 SB\r\n")
	if !strings.Contains(out, "XFR 6 SB") {
		out += a.until("XFR 6 SB")
	}
	m := regexp.MustCompile(`XFR 6 SB (\S+) CKI (\S+)\r\n`).FindStringSubmatch(out)

	// The switchboard over the gateway too.
	sb := &gw{t: t, url: srv.HTTPURL}
	out, _ = sb.post("Action=open&Server=SB&IP="+m[1], "USR 1 alice@example.com "+m[2]+"\r\n")
	if !strings.Contains(out, "USR 1 OK alice@example.com Alice") {
		sb.until("USR 1 OK alice@example.com Alice")
	}

	// OUT ends the session: the response says Session=close, after which
	// the session is unknown.
	_, closed := a.post("SessionID="+a.id, "OUT\r\n")
	for i := 0; i < 50 && !closed; i++ {
		_, closed = a.post("Action=poll&SessionID="+a.id, "")
		time.Sleep(10 * time.Millisecond)
	}
	if !closed {
		t.Fatal("no Session=close after OUT")
	}
	resp, err := http.Post(srv.HTTPURL+"/gateway/gateway.dll?Action=poll&SessionID="+a.id, "application/x-msn-messenger", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("closed session answered %s", resp.Status)
	}
}

func TestGatewayRejects(t *testing.T) {
	srv := coretest.Start(t)
	for _, q := range []string{"SessionID=unknown", "Action=poll", ""} {
		resp, err := http.Post(srv.HTTPURL+"/gateway/gateway.dll?"+q, "application/x-msn-messenger", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: %s", q, resp.Status)
		}
	}
	resp, err := http.Post(srv.HTTPURL+"/gateway/gateway.dll?Action=open&Server=NS", "application/x-msn-messenger", bytes.NewReader(make([]byte, 70<<10)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %s", resp.Status)
	}
}

// TestGatewayOneRequestAtATime: a second request while one is pending is
// refused, as on the official gateway.
func TestGatewayOneRequestAtATime(t *testing.T) {
	srv := coretest.Start(t)
	g := &gw{t: t, url: srv.HTTPURL}
	g.post("Action=open&Server=NS", "")
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A body with no reply from the server keeps the request
			// waiting for the full time.
			resp, err := http.Post(srv.HTTPURL+"/gateway/gateway.dll?SessionID="+g.id, "application/x-msn-messenger", strings.NewReader("\r\n"))
			if err == nil {
				resp.Body.Close()
				codes <- resp.StatusCode
			}
		}()
	}
	wg.Wait()
	close(codes)
	refused := 0
	for c := range codes {
		if c == http.StatusBadRequest {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("concurrent requests for one session were all accepted")
	}
}

// TestGatewayHeaderCase reads the raw response: msn-pecan and the official
// clients compare "X-MSN-Messenger" case-sensitively.
func TestGatewayHeaderCase(t *testing.T) {
	srv := coretest.Start(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.HTTPURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "VER 1 MSNP8 CVR0\r\n"
	fmt.Fprintf(conn, "POST /gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	raw, _ := io.ReadAll(conn)
	if !bytes.Contains(raw, []byte("\r\nX-MSN-Messenger: SessionID=")) || !bytes.HasSuffix(raw, []byte("VER 1 MSNP8 CVR0\r\n")) {
		t.Fatalf("response:\n%s", raw)
	}
}
