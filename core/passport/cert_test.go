package passport

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestEnsureCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	cert, err := EnsureCertificate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || leaf.PublicKey.(*rsa.PublicKey).N.BitLen() != 2048 {
		t.Fatalf("key is %T, want RSA 2048", leaf.PublicKey)
	}
	for _, h := range DefaultHosts() {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate not valid for %s: %v", h, err)
		}
	}
	if years := time.Until(leaf.NotAfter).Hours() / 24 / 365; years < 9.9 {
		t.Errorf("valid for %.1f years, want 10", years)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %o, want 600", perm)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files in the certificate directory, want 2", len(entries))
	}

	again, err := EnsureCertificate(dir, []string{"other.example"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Certificate[0], cert.Certificate[0]) {
		t.Fatal("second call made a new certificate instead of loading the saved one")
	}
}

func TestEnsureCertificateHostsAndErrors(t *testing.T) {
	dir := t.TempDir()
	cert, err := EnsureCertificate(dir, []string{"passport.example.org", "10.1.2.3", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	if !slices.Equal(leaf.DNSNames, []string{"passport.example.org"}) || len(leaf.IPAddresses) != 2 {
		t.Fatalf("DNS %v IP %v", leaf.DNSNames, leaf.IPAddresses)
	}

	if err := os.Remove(filepath.Join(dir, CertFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureCertificate(dir, nil); err == nil {
		t.Fatal("key without certificate accepted")
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureCertificate(dir, nil); err == nil {
		t.Fatal("garbage certificate accepted")
	}
}

// TestTLSOldClient shakes hands the way Windows XP does — TLS 1.0, RSA key
// exchange, 3DES — and signs in over it.
func TestTLSOldClient(t *testing.T) {
	cert, err := EnsureCertificate(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tk := NewTickets(time.Minute)
	srv := httptest.NewUnstartedServer(Handler(Config{Auth: testAuth, Tickets: tk}))
	srv.TLS = TLSConfig(cert)
	srv.StartTLS()
	defer srv.Close()

	roots := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	roots.AddCert(leaf)
	for _, suite := range []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA} {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs:      roots,
			ServerName:   "login.passport.com",
			MinVersion:   tls.VersionTLS10,
			MaxVersion:   tls.VersionTLS10,
			CipherSuites: []uint16{suite},
		}}}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/login2.srf", nil)
		req.Header.Set("Authorization", authHeader(testEmail, testPassword))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tls.CipherSuiteName(suite), err)
		}
		resp.Body.Close()
		if resp.TLS.Version != tls.VersionTLS10 || resp.TLS.CipherSuite != suite || resp.StatusCode != http.StatusOK {
			t.Fatalf("version %x suite %s status %d", resp.TLS.Version, tls.CipherSuiteName(resp.TLS.CipherSuite), resp.StatusCode)
		}
		client.CloseIdleConnections()
	}

	// A modern client still gets TLS 1.3.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}}
	resp, err := client.Get(srv.URL + "/rdr/pprdr.asp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("modern client got version %x", resp.TLS.Version)
	}
	client.CloseIdleConnections()
}
