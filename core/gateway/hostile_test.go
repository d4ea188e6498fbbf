package gateway_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/auth"
)

// clientFrom is an HTTP client whose connections come from a loopback
// address of its own, standing in for another machine.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// open posts Action=open from c and returns the status and the session id.
func open(t *testing.T, c *http.Client, url, body string) (int, string, string) {
	t.Helper()
	resp, err := c.Post(url+"/gateway/gateway.dll?Action=open&Server=NS&IP=messenger.hotmail.com", "application/x-msn-messenger", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	id := ""
	if m := sessionRE.FindStringSubmatch(resp.Header.Get("X-MSN-Messenger")); m != nil {
		id = m[1]
	}
	return resp.StatusCode, id, string(out)
}

// TestGatewaySessionCaps: sessions are capped per client address and in
// total; past a cap, opening answers 503.
func TestGatewaySessionCaps(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) {
		c.Limits.GatewaySessionsPerAddress = 2
		c.Limits.GatewaySessions = 3
	}))
	for i := 0; i < 2; i++ {
		if code, _, _ := open(t, clientFrom("127.0.0.1"), srv.HTTPURL, "VER 1 MSNP7 CVR0\r\n"); code != 200 {
			t.Fatalf("session %d: %d", i, code)
		}
	}
	if code, _, _ := open(t, clientFrom("127.0.0.1"), srv.HTTPURL, "VER 1 MSNP7 CVR0\r\n"); code != http.StatusServiceUnavailable {
		t.Fatalf("third from one address: %d, want 503", code)
	}
	if code, _, _ := open(t, clientFrom("127.0.0.2"), srv.HTTPURL, "VER 1 MSNP7 CVR0\r\n"); code != 200 {
		t.Fatalf("another address: %d", code)
	}
	if code, _, _ := open(t, clientFrom("127.0.0.3"), srv.HTTPURL, "VER 1 MSNP7 CVR0\r\n"); code != http.StatusServiceUnavailable {
		t.Fatalf("fourth in all: %d, want 503", code)
	}
}

// TestGatewayCORS: only configured origins get Access-Control-Allow-Origin;
// the service's own pages are the same origin and need none.
func TestGatewayCORS(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) {
		c.Gateway.AllowOrigins = []string{"https://chat.example.org"}
	}))
	for origin, want := range map[string]string{
		"https://evil.example":     "",
		"https://chat.example.org": "https://chat.example.org",
		"":                         "",
	} {
		req, _ := http.NewRequest("OPTIONS", srv.HTTPURL+"/gateway/gateway.dll", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("Origin %q: Access-Control-Allow-Origin %q, want %q", origin, got, want)
		}
	}
}

// client is one gateway session from its own address.
type client struct {
	t   *testing.T
	c   *http.Client
	url string
	id  string
	out string // everything received so far
}

// post sends body (opening the session first) and keeps what comes back.
func (cl *client) post(body string) {
	cl.t.Helper()
	q := "SessionID=" + cl.id
	if cl.id == "" {
		q = "Action=open&Server=NS&IP=messenger.hotmail.com"
	} else if body == "" {
		q = "Action=poll&" + q
	}
	resp, err := cl.c.Post(cl.url+"/gateway/gateway.dll?"+q, "application/x-msn-messenger", strings.NewReader(body))
	if err != nil {
		cl.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		cl.t.Fatalf("%s: %s", q, resp.Status)
	}
	if m := sessionRE.FindStringSubmatch(resp.Header.Get("X-MSN-Messenger")); m != nil {
		cl.id = m[1]
	}
	cl.out += string(b)
}

// until polls until the output holds a line starting with prefix, and
// returns that line.
func (cl *client) until(prefix string) string {
	cl.t.Helper()
	for i := 0; i < 100; i++ {
		for _, line := range strings.Split(cl.out, "\r\n") {
			if strings.HasPrefix(line, prefix) {
				return line
			}
		}
		time.Sleep(10 * time.Millisecond)
		cl.post("")
	}
	cl.t.Fatalf("never got %q; got %q", prefix, cl.out)
	return ""
}

// TestGatewaySignInThrottledPerClient: the Notification server sees each
// gateway client's own address, so guessing through the gateway refuses
// the guesser and nobody else behind the same gateway.
func TestGatewaySignInThrottledPerClient(t *testing.T) {
	srv := coretest.Start(t, coretest.WithoutChallenges(), coretest.WithConfig(func(c *config.Config) {
		c.Limits.SignIn.Free = 0
		c.Limits.SignIn.Delay = config.Duration(time.Millisecond)
		c.Limits.SignIn.MaxDelay = config.Duration(5 * time.Millisecond)
		c.Limits.SignIn.AddressFailures = 2
		c.Limits.SignIn.AccountFailures = 100
	}))
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	try := func(from, password string) string {
		t.Helper()
		cl := &client{t: t, c: clientFrom(from), url: srv.HTTPURL}
		cl.post("VER 1 MSNP7 CVR0\r\nUSR 3 MD5 I alice@example.com\r\n")
		salt := strings.TrimPrefix(cl.until("USR 3 MD5 S "), "USR 3 MD5 S ")
		cl.post("USR 4 MD5 S " + auth.MD5Digest(salt, password) + "\r\n")
		for i := 0; i < 100; i++ {
			for _, p := range []string{"USR 4 ", "911 4", "600 4"} {
				if strings.Contains(cl.out, p) {
					return p
				}
			}
			time.Sleep(10 * time.Millisecond)
			cl.post("")
		}
		t.Fatalf("no answer to USR S; got %q", cl.out)
		return ""
	}
	for i := 0; i < 2; i++ {
		if got := try("127.0.0.5", "wrong"); got != "911 4" {
			t.Fatalf("guess %d: %q", i, got)
		}
	}
	if got := try("127.0.0.5", "pw"); got != "600 4" {
		t.Fatalf("the guesser with the right password: %q, want 600", got)
	}
	if got := try("127.0.0.6", "pw"); got != "USR 4 " {
		t.Fatalf("someone else through the same gateway: %q, want USR OK", got)
	}
}
