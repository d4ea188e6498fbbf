package passport_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/passport"
)

// need skips the test when a command is missing, unless CI is set: the
// tools come from scripts/deps.d/30-tls-clients.sh (make test).
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (scripts/deps.d/30-tls-clients.sh installs it)", tool)
			}
			t.Skipf("%s is not installed (run scripts/deps.sh, or make test)", tool)
		}
	}
}

// run runs a command and returns its output; it fails the test when the
// command fails and ok is true, or succeeds and ok is false.
func run(t *testing.T, ok bool, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if (err == nil) != ok {
		t.Fatalf("%s %s: %v (want success %v)\n%s", name, strings.Join(args, " "), err, ok, out)
	}
	return string(out)
}

// tstclnt runs NSS's test client with the request on its standard input
// until its output shows want (it keeps the connection after the answer,
// so it is stopped then). It fails when the output ends without want.
func tstclnt(t *testing.T, request, want string, args ...string) {
	t.Helper()
	cmd := exec.Command("tstclnt", args...)
	cmd.Stdin = strings.NewReader(request)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), want) {
		n, err := out.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("tstclnt %s: no %q in\n%s%s", strings.Join(args, " "), want, got.String(), stderr.String())
		}
	}
}

// nssDB makes an NSS certificate database in a temporary directory that
// trusts caPEM for TLS servers, as a Pidgin user who imported it has.
func nssDB(t *testing.T, caPath string) string {
	t.Helper()
	db := "sql:" + t.TempDir()
	run(t, true, "", "certutil", "-N", "-d", db, "--empty-password")
	run(t, true, "", "certutil", "-A", "-d", db, "-n", "Nudge Passport CA", "-t", "C,,", "-a", "-i", caPath)
	return db
}

// TestTLSStacksTrustTheCA: once a user trusts data/passport-ca.crt, the
// HTTPS listener of the running service is accepted by the TLS stacks
// vintage clients use — NSS (libpurple: Pidgin, msn-pecan, bitlbee with
// libpurple), OpenSSL and GnuTLS (aMSN, bitlbee), and Go (this project's
// client) — under a Passport host name and at TLS 1.0 with the suites of
// Windows XP as well as today's.
func TestTLSStacksTrustTheCA(t *testing.T) {
	srv := coretest.Start(t)
	caPath := filepath.Join(srv.Data, passport.CAFile)
	certPath := filepath.Join(srv.Data, passport.CertFile)
	addr := strings.TrimPrefix(srv.HTTPSURL, "https://")
	host, port, _ := net.SplitHostPort(addr)

	t.Run("NSS", func(t *testing.T) {
		need(t, "certutil", "vfychain", "tstclnt")
		db := nssDB(t, caPath)
		// The chain for the SSL server usage, as libpurple's NSS plugin
		// asks NSS to check it: with the classic API and with PKIX.
		for _, pkix := range [][]string{nil, {"-pp"}} {
			out := run(t, true, "", "vfychain", append(append([]string{"-d", db}, pkix...), "-u", "1", "-a", certPath)...)
			if !strings.Contains(out, "Chain is good") {
				t.Fatalf("vfychain: %s", out)
			}
		}
		// A handshake with the running listener, checking the certificate
		// and the host name (tstclnt without -o refuses a bad one), then
		// the nexus as Pidgin asks it: under every Passport name a
		// libpurple client is told to map, the address itself, and at
		// TLS 1.0 with Windows XP's 3DES suite (0x000A) too.
		names := [][]string{{"-a", host}, {"-a", "login.passport.com", "-V", "tls1.0:tls1.0", "-c", ":000A"}}
		for _, name := range []string{"nexus.passport.com", "login.passport.com", "loginnet.passport.com", "login.live.com"} {
			names = append(names, []string{"-a", name})
		}
		for _, args := range names {
			tstclnt(t, "GET /rdr/pprdr.asp\r\n\r\n", "PassportURLs: DARealm=Passport.Net,DALogin=", append([]string{"-h", host, "-p", port, "-d", db}, args...)...)
		}
		// A name the certificate is not for is refused: the check is real.
		out := run(t, false, "", "tstclnt", "-h", host, "-p", port, "-a", "example.org", "-d", db, "-Q")
		if !strings.Contains(out, "SSL_ERROR_BAD_CERT_DOMAIN") {
			t.Fatalf("tstclnt -a example.org: %s", out)
		}
		// So is the certificate where the CA is not trusted: it is the
		// import that makes libpurple accept it.
		empty := "sql:" + t.TempDir()
		run(t, true, "", "certutil", "-N", "-d", empty, "--empty-password")
		out = run(t, false, "", "tstclnt", "-h", host, "-p", port, "-a", "login.passport.com", "-d", empty, "-Q")
		if !strings.Contains(out, "SEC_ERROR_UNKNOWN_ISSUER") {
			t.Fatalf("tstclnt without the CA: %s", out)
		}
		out = run(t, false, "", "vfychain", "-d", empty, "-v", "-u", "1", "-a", certPath)
		if !strings.Contains(out, "-8179") { // SEC_ERROR_UNKNOWN_ISSUER
			t.Fatalf("vfychain without the CA: %s", out)
		}
	})

	t.Run("OpenSSL", func(t *testing.T) {
		need(t, "openssl")
		run(t, true, "", "openssl", "verify", "-CAfile", caPath, "-purpose", "sslserver", certPath)
		for _, args := range [][]string{
			nil,
			// TLS 1.0 with RSA key exchange, as the OpenSSL of aMSN's
			// and bitlbee's day offered it (OpenSSL 3 needs security
			// level 0 to offer TLS 1.0, and has no 3DES left).
			{"-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0"},
		} {
			out := run(t, true, "GET /rdr/pprdr.asp HTTP/1.0\r\n\r\n", "openssl", append([]string{"s_client", "-connect", addr,
				"-servername", "login.passport.com", "-verify_hostname", "login.passport.com", "-CAfile", caPath,
				"-verify_return_error", "-ign_eof"}, args...)...)
			if !strings.Contains(out, "Verify return code: 0 (ok)") || !strings.Contains(out, "PassportURLs: ") {
				t.Fatalf("openssl s_client %q: %s", args, out)
			}
		}
	})

	t.Run("GnuTLS", func(t *testing.T) {
		need(t, "gnutls-cli")
		for _, prio := range []string{"NORMAL", "NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+3DES-CBC:-KX-ALL:+RSA"} {
			out := run(t, true, "GET /rdr/pprdr.asp HTTP/1.0\r\n\r\n", "gnutls-cli", "--x509cafile="+caPath, "--port="+port,
				"--sni-hostname=login.passport.com", "--verify-hostname=login.passport.com", "--priority="+prio, host)
			if !strings.Contains(out, "PassportURLs: ") {
				t.Fatalf("gnutls-cli %s: %s", prio, out)
			}
		}
	})

	t.Run("Go", func(t *testing.T) {
		pemBytes, err := os.ReadFile(caPath)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			t.Fatal("the CA file is not PEM")
		}
		for _, max := range []uint16{tls.VersionTLS10, tls.VersionTLS13} {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
				RootCAs: roots, ServerName: "login.passport.com", MinVersion: tls.VersionTLS10, MaxVersion: max,
			}}}
			resp, err := c.Get(srv.HTTPSURL + "/rdr/pprdr.asp")
			if err != nil {
				t.Fatalf("TLS up to %x: %v", max, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			c.CloseIdleConnections()
			if resp.Header.Get("PassportURLs") == "" {
				t.Fatal("no PassportURLs")
			}
		}
	})
}

// TestNSSRefusesTheOldCertificate is the control for the test above: the
// self-signed certificate earlier versions made (CA:TRUE with serverAuth),
// trusted the same way, is refused by NSS as not approved for SSL
// (SEC_ERROR_INADEQUATE_CERT_TYPE, -8101), which libpurple treats as fatal.
func TestNSSRefusesTheOldCertificate(t *testing.T) {
	need(t, "certutil", "vfychain")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "nexus.passport.com", Organization: []string{"Nudge"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		DNSNames: []string{"nexus.passport.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	db := nssDB(t, path)
	out := run(t, false, "", "vfychain", "-d", db, "-u", "1", "-a", path)
	if !strings.Contains(out, "-8101") {
		t.Fatalf("vfychain refused it, but not as -8101:\n%s", out)
	}
}
