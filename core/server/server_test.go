package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/passport"
	"github.com/nudge-im/nudge/core/server"
)

// testConfig is the defaults on ephemeral loopback ports in a temp dir.
func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Listen = config.Listen{NS: "127.0.0.1:0", SB: "127.0.0.1:0", HTTP: "127.0.0.1:0", HTTPS: "127.0.0.1:0"}
	cfg.Login.BcryptCost = 4
	return cfg
}

// insecure reaches the self-signed HTTPS listener too.
var insecure = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

func get(t *testing.T, c *http.Client, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A port in use fails the start with one line that names the address and
// the flag that moves it, and leaves nothing behind: once the port is free
// the same data directory starts.
func TestPortInUse(t *testing.T) {
	for _, tc := range []struct {
		flag string
		set  func(*config.Listen, string)
	}{
		{"--ns", func(l *config.Listen, a string) { l.NS = a }},
		{"--ds", func(l *config.Listen, a string) { l.DS = a }},
		{"--sb", func(l *config.Listen, a string) { l.SB = a }},
		{"--http", func(l *config.Listen, a string) { l.HTTP = a }},
		{"--https", func(l *config.Listen, a string) { l.HTTPS = a }},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			busy, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := busy.Addr().String()
			cfg := testConfig(t)
			tc.set(&cfg.Listen, addr)

			srv, err := server.Start(context.Background(), cfg, zerolog.Nop())
			if err == nil {
				srv.Close()
				busy.Close()
				t.Fatalf("Start with %s on a busy port succeeded", tc.flag)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is more than one line: %q", msg)
			}
			if !strings.Contains(msg, addr) || !strings.Contains(msg, tc.flag) || !strings.Contains(msg, "in use") {
				t.Errorf("error %q should name %s, %s and say it is in use", msg, addr, tc.flag)
			}

			// The failed start released its other ports and the database.
			busy.Close()
			srv, err = server.Start(context.Background(), cfg, zerolog.Nop())
			if err != nil {
				t.Fatalf("Start after the port was freed: %v", err)
			}
			srv.Close()
		})
	}
}

func TestHealthz(t *testing.T) {
	srv := coretest.Start(t)
	// The public port says ok and nothing else; the operator port adds
	// the session count.
	code, body := get(t, http.DefaultClient, srv.HTTPURL+"/healthz", "")
	if code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok alone", code, body)
	}
	code, body = get(t, http.DefaultClient, srv.OperatorURL+"/healthz", "")
	if code != http.StatusOK || !strings.HasPrefix(body, "ok\n") || !strings.Contains(body, "sessions 0") {
		t.Errorf("operator /healthz = %d %q, want ok and the session count", code, body)
	}
	// No token needed; and POST is not served.
	resp, err := http.Post(srv.HTTPURL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	srv := coretest.Start(t)

	// One open client connection shows in nudge_connections.
	conn, err := net.Dial("tcp", srv.NSAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Speak to it so the server has surely accepted and counted it.
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "VER 1 MSNP8 CVR0\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "VER 1 MSNP8") {
		t.Fatalf("VER answered %q, %v", line, err)
	}

	code, body := get(t, http.DefaultClient, srv.OperatorURL+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`nudge_connections{server="ns"} 1`,
		`nudge_connections{server="sb"} 0`,
		`nudge_sessions 0`,
		`nudge_switchboards 0`,
		`nudge_messages_total 0`,
		`nudge_commands_total{server="ns"}`,
		// Vectors appear once they have a child; the switchboard makes
		// its own at start. (nudge_logins_total, nudge_errors_total and
		// nudge_passport_requests_total appear after their first event.)
		`nudge_slow_consumers_total{server="sb"} 0`,
		"go_goroutines ",
		"process_open_fds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// On the listeners clients reach, operator endpoints need the token.
	for _, base := range []string{srv.HTTPURL, srv.HTTPSURL} {
		for _, path := range []string{"/metrics", "/admin/v1/accounts", "/debug/pprof/"} {
			if code, _ := get(t, insecure, base+path, ""); code != http.StatusUnauthorized {
				t.Errorf("%s%s without a token: %d, want 401", base, path, code)
			}
		}
		if code, _ := get(t, insecure, base+"/metrics", srv.AdminToken); code != http.StatusOK {
			t.Errorf("%s/metrics with the token: %d, want 200", base, code)
		}
	}
	// On the operator listener, metrics and profiles are open.
	if code, _ := get(t, http.DefaultClient, srv.OperatorURL+"/debug/pprof/", ""); code != http.StatusOK {
		t.Errorf("operator /debug/pprof/: %d, want 200", code)
	}
}

// TestPublicMetrics: admin.public_metrics opens /metrics on the shared
// listeners, and nothing else.
func TestPublicMetrics(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) { c.Admin.PublicMetrics = true }))
	if code, _ := get(t, http.DefaultClient, srv.HTTPURL+"/metrics", ""); code != http.StatusOK {
		t.Errorf("/metrics: %d, want 200", code)
	}
	if code, _ := get(t, http.DefaultClient, srv.HTTPURL+"/debug/pprof/", ""); code != http.StatusUnauthorized {
		t.Errorf("/debug/pprof/: %d, want 401", code)
	}
}

// The admin token is made on first start, private to the service's user,
// works on the admin API, and stays the same across restarts (bridges and
// scripts keep it).
func TestAdminTokenFile(t *testing.T) {
	srv := coretest.Start(t)
	path := filepath.Join(srv.Data, "admin.token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("admin token file: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("admin.token mode = %v, want 0600", mode)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if token != srv.AdminToken || len(token) < 32 {
		t.Fatalf("token file %q, server token %q", token, srv.AdminToken)
	}
	if code, body := get(t, http.DefaultClient, srv.HTTPURL+"/admin/v1/accounts", token); code != http.StatusOK {
		t.Errorf("admin API with the file's token: %d %s", code, body)
	}

	srv.Restart(t)
	if srv.AdminToken != token {
		t.Errorf("token after restart = %q, want the same %q", srv.AdminToken, token)
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Errorf("admin.token rewritten on restart: %q → %q", b, b2)
	}
	if code, _ := get(t, http.DefaultClient, srv.HTTPURL+"/admin/v1/accounts", token); code != http.StatusOK {
		t.Errorf("admin API with the old token after restart: %d", code)
	}

	// Two services never share a generated token.
	other := coretest.Start(t)
	if other.AdminToken == token {
		t.Error("two data directories got the same admin token")
	}
}

// An operator's token in the config is used and no file is written.
func TestAdminTokenFromConfig(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) { c.Admin.Token = "operator-token" }))
	if srv.AdminToken != "operator-token" {
		t.Errorf("AdminToken = %q", srv.AdminToken)
	}
	if code, _ := get(t, http.DefaultClient, srv.HTTPURL+"/admin/v1/accounts", "operator-token"); code != http.StatusOK {
		t.Errorf("admin API with the configured token: %d", code)
	}
	if _, err := os.Stat(filepath.Join(srv.Data, "admin.token")); err == nil {
		t.Error("admin.token written although the config sets the token")
	}
}

// The first start makes the Passport CA and a server certificate it issues
// for the Passport names; the HTTPS port serves the nexus with it to a
// client that trusts only the CA; a restart keeps both (clients have
// imported the CA as a trusted root).
func TestPassportCertificates(t *testing.T) {
	srv := coretest.Start(t)
	certPath := filepath.Join(srv.Data, passport.CertFile)
	keyPath := filepath.Join(srv.Data, passport.KeyFile)
	caPath := filepath.Join(srv.Data, passport.CAFile)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatalf("certificate not made on first start: %v", err)
	}
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatalf("CA not made on first start: %v", err)
	}
	for _, k := range []string{keyPath, filepath.Join(srv.Data, passport.CAKeyFile)} {
		if fi, err := os.Stat(k); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file %s: %v (mode %v), want mode 0600", k, err, fi.Mode().Perm())
		}
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatalf("%s is not PEM", certPath)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nexus.passport.com", "login.passport.com", "localhost", "127.0.0.1"} {
		if err := cert.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not cover %s: %v", name, err)
		}
	}

	// Trust exactly the CA, as a user who imported it does.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s is not PEM", caPath)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	nexus := func() (*http.Response, []byte) {
		t.Helper()
		resp, err := client.Get(srv.HTTPSURL + "/rdr/pprdr.asp")
		if err != nil {
			t.Fatalf("GET nexus over HTTPS with the CA trusted: %v", err)
		}
		defer resp.Body.Close()
		if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
			t.Fatal("no TLS state")
		}
		return resp, resp.TLS.PeerCertificates[0].Raw
	}
	resp, served := nexus()
	if string(served) != string(cert.Raw) {
		t.Error("the HTTPS port serves another certificate than data/passport.crt")
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("nexus = %d", resp.StatusCode)
	}
	urls := resp.Header.Get("PassportURLs")
	if _, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.HTTPSURL, "https://")); !regexp.MustCompile(`DALogin=127\.0\.0\.1:` + port + `/login2\.srf`).MatchString(urls) {
		t.Errorf("PassportURLs = %q; want DALogin at the HTTPS address", urls)
	}

	srv.Restart(t)
	if b, _ := os.ReadFile(certPath); string(b) != string(certPEM) {
		t.Error("the certificate was replaced on restart")
	}
	if b, _ := os.ReadFile(caPath); string(b) != string(caPEM) {
		t.Error("the CA was replaced on restart")
	}
	client.CloseIdleConnections()
	if _, served := nexus(); string(served) != string(cert.Raw) {
		t.Error("after a restart the HTTPS port serves another certificate")
	}
}

func TestPassportCertWithoutKey(t *testing.T) {
	cfg := testConfig(t)
	cfg.Passport.Cert = filepath.Join(cfg.Data, "mine.crt")
	srv, err := server.Start(context.Background(), cfg, zerolog.Nop())
	if err == nil {
		srv.Close()
		t.Fatal("Start with passport.cert and no passport.key succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "passport.key") || strings.Contains(msg, "\n") {
		t.Errorf("error %q; want one line naming passport.key", msg)
	}

	// Both named but missing: the error names the files.
	cfg.Passport.Key = filepath.Join(cfg.Data, "mine.key")
	srv, err = server.Start(context.Background(), cfg, zerolog.Nop())
	if err == nil {
		srv.Close()
		t.Fatal("Start with missing certificate files succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "mine.crt") {
		t.Errorf("error %q; want it to name the certificate file", msg)
	}
	// And nothing is left listening or holding the database.
	cfg.Passport = config.Passport{}
	srv, err = server.Start(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("Start after the failed ones: %v", err)
	}
	srv.Close()
}

// HTTP and HTTPS can be turned off; the service then runs without them.
func TestListenersOff(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listen.HTTP, cfg.Listen.HTTPS = "", ""
	srv, err := server.Start(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a := srv.Addrs()
	if a.NS == "" || a.SB == "" || a.HTTP != "" || a.HTTPS != "" || a.DS != "" {
		t.Errorf("Addrs = %+v", a)
	}
	if _, err := os.Stat(filepath.Join(cfg.Data, passport.CertFile)); err == nil {
		t.Error("a certificate was made with HTTPS off")
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.Log.Level = "chatty"
	if srv, err := server.Start(context.Background(), cfg, zerolog.Nop()); err == nil {
		srv.Close()
		t.Fatal("Start accepted an invalid config")
	}
}

func TestCloseTwice(t *testing.T) {
	srv, err := server.Start(context.Background(), testConfig(t), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ns := srv.Addrs().NS
	srv.Close()
	srv.Close()
	if c, err := net.DialTimeout("tcp", ns, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts after Close", ns)
	}
}

// TestProfilesNeedTheToken: pprof shows the program's insides, so only the
// admin may read it.
func TestProfilesNeedTheToken(t *testing.T) {
	srv := coretest.Start(t)
	get := func(auth string) int {
		req, _ := http.NewRequest("GET", srv.HTTPURL+"/debug/pprof/goroutine?debug=1", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(""); code != http.StatusUnauthorized {
		t.Errorf("without token: %d", code)
	}
	if code := get("Bearer " + srv.AdminToken); code != http.StatusOK {
		t.Errorf("with token: %d", code)
	}
}

// TestReferralWarnings: the start says when the address clients are
// referred to cannot be known (every address, no public host) or cannot
// be reached (a switchboard on loopback behind a reachable server), and is
// quiet when it can.
func TestReferralWarnings(t *testing.T) {
	for _, tc := range []struct {
		ns, sb, public string
		want           []string
	}{
		{"0.0.0.0:0", "0.0.0.0:0", "", []string{"--public-host"}},
		{"0.0.0.0:0", "0.0.0.0:0", "192.0.2.10", nil},
		{"0.0.0.0:0", "127.0.0.1:0", "192.0.2.10", []string{"switchboard listens on loopback"}},
		{"127.0.0.1:0", "127.0.0.1:0", "", nil},
	} {
		cfg := testConfig(t)
		cfg.Listen.NS, cfg.Listen.SB, cfg.PublicHost = tc.ns, tc.sb, tc.public
		var logs bytes.Buffer
		srv, err := server.Start(context.Background(), cfg, zerolog.New(&logs).Level(zerolog.WarnLevel))
		if err != nil {
			t.Fatal(err)
		}
		srv.Close()
		got := logs.String()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("ns %s sb %s public %q: no warning with %q in\n%s", tc.ns, tc.sb, tc.public, w, got)
			}
		}
		if len(tc.want) == 0 && strings.Contains(got, "referred") || len(tc.want) == 0 && strings.Contains(got, "loopback only") {
			t.Errorf("ns %s sb %s public %q: warned\n%s", tc.ns, tc.sb, tc.public, got)
		}
	}
}
