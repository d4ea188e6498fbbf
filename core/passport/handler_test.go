package passport

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	testEmail    = "alice@example.com"
	testPassword = "p@ss, w0rd+%&="
)

var errBadLogin = errors.New("wrong e-mail address or password")

// testAuth knows one user.
var testAuth = AuthFunc(func(_ context.Context, email, password string) error {
	if strings.EqualFold(email, testEmail) && password == testPassword {
		return nil
	}
	return errBadLogin
})

func newServer(t *testing.T, ttl time.Duration, loginHost string) (*httptest.Server, *Tickets) {
	t.Helper()
	tk := NewTickets(ttl)
	srv := httptest.NewServer(Handler(Config{Auth: testAuth, Tickets: tk, LoginHost: loginHost}))
	t.Cleanup(srv.Close)
	return srv, tk
}

// rawExchange writes req as-is on a fresh TCP connection and returns the
// whole response; the requests are HTTP/1.0, so the server closes after it.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(resp)
}

// headerLines returns the header lines of a raw response, name exactly as sent.
func headerLines(raw string) (status string, lines []string) {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	all := strings.Split(head, "\r\n")
	return all[0], all[1:]
}

func findHeader(lines []string, exactName string) (string, bool) {
	for _, l := range lines {
		if name, v, ok := strings.Cut(l, ":"); ok && name == exactName {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func authHeader(email, password string) string {
	return "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=" + url.QueryEscape(email) +
		",pwd=" + strings.ReplaceAll(url.QueryEscape(password), "+", "%20") +
		",lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1062764229,kpp=1,kv=5,ver=2.1.0173.1,tpf=43f8a4c8ed940c04e3740be46c4d1619"
}

func TestNexusMinimalHTTP10(t *testing.T) {
	srv, _ := newServer(t, time.Minute, "")
	raw := rawExchange(t, srv.Listener.Addr().String(), "GET /rdr/pprdr.asp HTTP/1.0\r\n\r\n")
	status, lines := headerLines(raw)
	if !strings.Contains(status, " 200 ") {
		t.Fatalf("status %q, want 200\n%s", status, raw)
	}
	v, ok := findHeader(lines, "PassportURLs")
	if !ok {
		t.Fatalf("no header named exactly PassportURLs in\n%s", raw)
	}
	if _, dup := findHeader(lines, "Passporturls"); dup {
		t.Fatal("Passporturls sent besides PassportURLs")
	}
	// No Host: DALogin names the address the connection came to (with no
	// port: this handler was given no LoginPort, so 443).
	host, _, _ := net.SplitHostPort(srv.Listener.Addr().String())
	want := "DALogin=" + host + "/login2.srf,"
	if !strings.HasPrefix(v, "DARealm=Passport.Net,") || !strings.Contains(v, want) || !strings.HasSuffix(v, ",ConfigVersion=15") {
		t.Fatalf("PassportURLs = %q, want DARealm first, %q, ConfigVersion=15 last", v, want)
	}
	for _, key := range []string{"DAReg=", "Properties=", "Privacy=", "GeneralRedir=", "Help="} {
		if !strings.Contains(v, ","+key) {
			t.Errorf("PassportURLs lacks %s: %q", key, v)
		}
	}
}

// TestNexusDALogin: DALogin names the login server as clients take it:
// they split it at the first "/" and connect to what is before, and
// Pidgin's MSNP9 plugin resolves all of that as a host name, so a port is
// written only when the HTTPS listener is not on 443. The host is the one
// the client asked for, else the public host, else the address the
// connection came in on; a configured login host is used as it is.
func TestNexusDALogin(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		req  string
		want string
	}{
		{Config{LoginPort: "443"}, "GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.passport.com\r\nConnection: close\r\n\r\n", "DALogin=nexus.passport.com/login2.srf,"},
		{Config{LoginPort: "443"}, "GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.passport.com:443\r\nConnection: close\r\n\r\n", "DALogin=nexus.passport.com/login2.srf,"},
		{Config{LoginPort: "443"}, "GET /rdr/pprdr.asp HTTP/1.0\r\n\r\n", "DALogin=127.0.0.1/login2.srf,"},
		{Config{LoginPort: "8443"}, "GET /rdr/pprdr.asp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n", "DALogin=127.0.0.1:8443/login2.srf,"},
		{Config{LoginPort: "8443"}, "GET /rdr/pprdr.asp HTTP/1.0\r\n\r\n", "DALogin=127.0.0.1:8443/login2.srf,"},
		{Config{LoginPort: "8443", PublicHost: "192.0.2.7"}, "GET /rdr/pprdr.asp HTTP/1.0\r\n\r\n", "DALogin=192.0.2.7:8443/login2.srf,"},
		{Config{LoginPort: "8443", PublicHost: "192.0.2.7"}, "GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.passport.com\r\nConnection: close\r\n\r\n", "DALogin=nexus.passport.com:8443/login2.srf,"},
		{Config{LoginPort: "8443", LoginHost: "login.passport.com"}, "GET /rdr/pprdr.asp HTTP/1.0\r\n\r\n", "DALogin=login.passport.com/login2.srf,"},
	} {
		tc.cfg.Auth, tc.cfg.Tickets = testAuth, NewTickets(time.Minute)
		srv := httptest.NewServer(Handler(tc.cfg))
		raw := rawExchange(t, srv.Listener.Addr().String(), tc.req)
		srv.Close()
		_, lines := headerLines(raw)
		if v, _ := findHeader(lines, "PassportURLs"); !strings.Contains(v, tc.want) {
			t.Errorf("%+v, %q: PassportURLs = %q, want it to contain %q", tc.cfg, tc.req, v, tc.want)
		}
	}
}

func TestNexusHost(t *testing.T) {
	for _, tc := range []struct{ loginHost, reqHost, want string }{
		{"", "nexus.passport.com", "DALogin=nexus.passport.com/login2.srf,"},
		{"login.example.org:8443", "nexus.passport.com", "DALogin=login.example.org:8443/login2.srf,"},
		{"https://login.example.org/", "x", "DALogin=login.example.org/login2.srf,"},
	} {
		srv, _ := newServer(t, time.Minute, tc.loginHost)
		raw := rawExchange(t, srv.Listener.Addr().String(),
			"GET /RDR/PPRDR.ASP HTTP/1.0\r\nhost: "+tc.reqHost+"\r\nuser-agent: MSMSGS\r\n\r\n")
		_, lines := headerLines(raw)
		if v, _ := findHeader(lines, "PassportURLs"); !strings.Contains(v, tc.want) {
			t.Errorf("LoginHost %q, Host %q: PassportURLs = %q, want it to contain %q", tc.loginHost, tc.reqHost, v, tc.want)
		}
	}
}

var fromPP = regexp.MustCompile(`from-PP='([^']*)'`)

func TestLogin2Success(t *testing.T) {
	srv, tk := newServer(t, time.Minute, "")
	// Minimal HTTP/1.0, lower-case header name, no Host.
	raw := rawExchange(t, srv.Listener.Addr().String(),
		"GET /login2.srf HTTP/1.0\r\nauthorization: "+authHeader(testEmail, testPassword)+"\r\n\r\n")
	status, lines := headerLines(raw)
	if !strings.Contains(status, " 200 ") {
		t.Fatalf("status %q, want 200\n%s", status, raw)
	}
	v, ok := findHeader(lines, "Authentication-Info")
	if !ok {
		t.Fatalf("no Authentication-Info header in\n%s", raw)
	}
	if !strings.HasPrefix(v, "Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec,from-PP='t=") ||
		!strings.HasSuffix(v, "&p=',ru=http://messenger.msn.com") {
		t.Fatalf("Authentication-Info = %q", v)
	}
	if strings.Contains(strings.ToLower(raw), "set-cookie") {
		t.Fatal("login sets a cookie")
	}
	m := fromPP.FindStringSubmatch(v)
	ticket := TicketFromUSR(m[1])
	if !ticketShape.MatchString(ticket) {
		t.Fatalf("ticket %q from %q", ticket, m[1])
	}
	if tk.Redeem(ticket, "mallory@example.com") {
		t.Fatal("ticket redeemed for another address")
	}
	if !tk.Redeem(ticket, testEmail) {
		t.Fatal("ticket from login2.srf refused")
	}
	if tk.Redeem(ticket, testEmail) {
		t.Fatal("ticket redeemed twice")
	}
}

func TestLoginPaths(t *testing.T) {
	srv, _ := newServer(t, time.Minute, "")
	for _, path := range []string{"/login2.srf", "/login", "/ppsecure/login2.srf", "/LOGIN2.SRF", "/login2.srf?lc=1033"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", authHeader(testEmail, testPassword))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Authentication-Info"), "da-status=success") {
			t.Errorf("%s: status %d, Authentication-Info %q", path, resp.StatusCode, resp.Header.Get("Authentication-Info"))
		}
	}
}

func TestLogin2Failures(t *testing.T) {
	srv, tk := newServer(t, time.Minute, "")
	for name, auth := range map[string]string{
		"wrong password":      authHeader(testEmail, "nope"),
		"unknown user":        authHeader("bob@example.com", testPassword),
		"missing":             "",
		"other scheme":        "Basic YWxpY2U6cGFzcw==",
		"scheme only":         "Passport1.4",
		"no password":         "Passport1.4 OrgVerb=GET,sign-in=alice%40example.com",
		"empty values":        "Passport1.4 sign-in=,pwd=",
		"garbage":             "Passport1.4 ,,,===,%%%,sign-in,pwd",
		"bad escapes":         "Passport1.4 sign-in=%zz,pwd=%",
		"binary":              "Passport1.4 \x01\x02\xff\xfe=\x00",
		"very long":           "Passport1.4 sign-in=" + strings.Repeat("a", 5000) + ",pwd=x",
		"password split by ,": "Passport1.4 sign-in=alice%40example.com,pwd=p@ss, w0rd+%&=",
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/login2.srf", nil)
		if auth != "" {
			req.Header["Authorization"] = []string{auth}
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			// A header Go's client refuses to send is not a server test.
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
		}
		if resp.Header.Get("Authentication-Info") != "" {
			t.Errorf("%s: Authentication-Info sent on failure", name)
		}
	}
	if n := tk.Len(); n != 0 {
		t.Fatalf("%d tickets issued by failed logins", n)
	}

	// Exact header case on the wire.
	raw := rawExchange(t, srv.Listener.Addr().String(),
		"GET /login2.srf HTTP/1.0\r\nAuthorization: "+authHeader(testEmail, "wrong")+"\r\n\r\n")
	status, lines := headerLines(raw)
	if !strings.Contains(status, " 401 ") {
		t.Fatalf("status %q, want 401", status)
	}
	v, ok := findHeader(lines, "WWW-Authenticate")
	if !ok {
		t.Fatalf("no header named exactly WWW-Authenticate in\n%s", raw)
	}
	if !strings.HasPrefix(v, "Passport1.4 da-status=failed,srealm=Passport.NET,ts=-3,prompt,cburl=") || !strings.Contains(v, ",cbtxt=") {
		t.Fatalf("WWW-Authenticate = %q", v)
	}
}

func TestLogin2RawGarbage(t *testing.T) {
	srv, _ := newServer(t, time.Minute, "")
	for _, req := range []string{
		"GET /login2.srf HTTP/1.0\r\n\r\n",
		"GET /login2.srf HTTP/1.0\r\nAUTHORIZATION: passport1.4   \r\n\r\n",
		"GET /login2.srf HTTP/1.0\r\nAuthorization: Passport1.4 sign-in=\xff\xfe,pwd=\xc3\r\n\r\n",
	} {
		raw := rawExchange(t, srv.Listener.Addr().String(), req)
		if status, _ := headerLines(raw); !strings.Contains(status, " 401 ") {
			t.Errorf("%q: status %q, want 401", req, status)
		}
	}
}

func TestLogin2TicketExpires(t *testing.T) {
	srv, tk := newServer(t, 50*time.Millisecond, "")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/login2.srf", nil)
	req.Header.Set("Authorization", authHeader(testEmail, testPassword))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m := fromPP.FindStringSubmatch(resp.Header.Get("Authentication-Info"))
	if m == nil {
		t.Fatalf("no from-PP in %q", resp.Header.Get("Authentication-Info"))
	}
	time.Sleep(150 * time.Millisecond)
	if tk.Redeem(TicketFromUSR(m[1]), testEmail) {
		t.Fatal("ticket redeemed after it expired")
	}
}

func TestUnknownPath(t *testing.T) {
	srv, _ := newServer(t, time.Minute, "")
	resp, err := http.Get(srv.URL + "/nothing-here")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
}

func TestHandlerKeepAlive(t *testing.T) {
	// HTTP/1.1 clients reuse the connection across nexus and login.
	srv, _ := newServer(t, time.Minute, "")
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for _, req := range []string{
		"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.passport.com\r\n\r\n",
		"GET /login2.srf HTTP/1.1\r\nHost: login.passport.com\r\nAuthorization: " + authHeader(testEmail, testPassword) + "\r\n\r\n",
	} {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func TestHandlerPanicsWithoutRequiredConfig(t *testing.T) {
	for _, cfg := range []Config{{Tickets: NewTickets(time.Minute)}, {Auth: testAuth}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handler(%+v) did not panic", cfg)
				}
			}()
			Handler(cfg)
		}()
	}
}
