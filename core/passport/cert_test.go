package passport

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s is not a PEM certificate", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func leafOf(t *testing.T, c *Certificates) *x509.Certificate {
	t.Helper()
	cert, _ := c.Get(nil)
	return cert.Leaf
}

// TestOpenCertificates: the first start makes a CA (what clients trust) and
// a server certificate it issues, shaped as every TLS stack expects; later
// starts load both as they are.
func TestOpenCertificates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c, err := OpenCertificates(dir, CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], CAFile) || len(c.Warnings) != 0 {
		t.Errorf("notes %q, warnings %q", c.Notes, c.Warnings)
	}
	ca := readCert(t, filepath.Join(dir, CAFile))
	if !ca.IsCA || !ca.BasicConstraintsValid || ca.MaxPathLen != 0 || !ca.MaxPathLenZero ||
		ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || len(ca.ExtKeyUsage) != 0 ||
		ca.SignatureAlgorithm != x509.SHA256WithRSA || !bytes.Equal(ca.RawIssuer, ca.RawSubject) {
		t.Errorf("CA: IsCA %v, MaxPathLen %d, KeyUsage %b, ExtKeyUsage %v, %s", ca.IsCA, ca.MaxPathLen, ca.KeyUsage, ca.ExtKeyUsage, ca.SignatureAlgorithm)
	}
	if years := time.Until(ca.NotAfter).Hours() / 24 / 365; years < 19.9 {
		t.Errorf("CA valid for %.1f years, want 20", years)
	}
	leaf := readCert(t, filepath.Join(dir, CertFile))
	if !bytes.Equal(leaf.Raw, leafOf(t, c).Raw) {
		t.Error("the certificate served is not the one saved")
	}
	if leaf.IsCA || !leaf.BasicConstraintsValid || !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) ||
		leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment || leaf.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("server certificate: IsCA %v, ExtKeyUsage %v, KeyUsage %b, %s", leaf.IsCA, leaf.ExtKeyUsage, leaf.KeyUsage, leaf.SignatureAlgorithm)
	}
	for _, cert := range []*x509.Certificate{ca, leaf} {
		if k, ok := cert.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
			t.Errorf("%s: key %T, want RSA 2048", cert.Subject, cert.PublicKey)
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, h := range DefaultHosts() {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots}); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	for _, name := range []string{CAKeyFile, KeyFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", name, err, fi.Mode().Perm())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("%d files in the directory, want 4", len(entries))
	}

	again, err := OpenCertificates(dir, CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.CA().Raw, ca.Raw) || !bytes.Equal(leafOf(t, again).Raw, leaf.Raw) || len(again.Notes)+len(again.Warnings) != 0 {
		t.Fatalf("a second start changed something: notes %q", again.Notes)
	}
}

// TestRenewal: the server certificate is issued again, by the same CA, when
// it nears its end, lacks a host, or is signed with another algorithm than
// asked — so clients never import anything again.
func TestRenewal(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCertificates(dir, CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca, first := c.CA(), leafOf(t, c)
	if did, err := c.Renew(time.Now().Add(certValidity - renewBefore - 24*time.Hour)); did || err != nil {
		t.Fatalf("renewed early: %v, %v", did, err)
	}
	later := time.Now().Add(certValidity - renewBefore + 24*time.Hour)
	if did, err := c.Renew(later); !did || err != nil {
		t.Fatalf("not renewed near the end: %v, %v", did, err)
	}
	second := leafOf(t, c)
	if bytes.Equal(second.Raw, first.Raw) || second.NotAfter.Before(later.Add(renewBefore)) || second.CheckSignatureFrom(ca) != nil {
		t.Fatal("the renewed certificate is not a new one from the same CA")
	}
	if !bytes.Equal(readCert(t, filepath.Join(dir, CertFile)).Raw, second.Raw) {
		t.Error("the renewed certificate was not saved")
	}

	// A new host (a public address set later) issues again at start.
	c, err = OpenCertificates(dir, CertOptions{Hosts: append(DefaultHosts(), "192.0.2.10")})
	if err != nil {
		t.Fatal(err)
	}
	third := leafOf(t, c)
	if bytes.Equal(third.Raw, second.Raw) || third.VerifyHostname("192.0.2.10") != nil || !bytes.Equal(c.CA().Raw, ca.Raw) {
		t.Fatal("a new host did not give a new certificate from the same CA")
	}

	// SHA-1 asked after the CA was made: the server certificate follows,
	// and the operator is told the CA does not.
	c, err = OpenCertificates(dir, CertOptions{SHA1: true})
	if err != nil {
		t.Fatal(err)
	}
	if leafOf(t, c).SignatureAlgorithm != x509.SHA1WithRSA || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], CAFile) {
		t.Fatalf("SHA-1 after the CA: %s, warnings %q", leafOf(t, c).SignatureAlgorithm, c.Warnings)
	}
}

// TestSHA1: with passport.sha1 on from the first start, both certificates
// are signed with SHA-1, which Windows XP before SP3 can check. Go refuses
// SHA-1 chains, so the signatures are checked here by hand.
func TestSHA1(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCertificates(dir, CertOptions{SHA1: true})
	if err != nil {
		t.Fatal(err)
	}
	ca, leaf := c.CA(), leafOf(t, c)
	if ca.SignatureAlgorithm != x509.SHA1WithRSA || leaf.SignatureAlgorithm != x509.SHA1WithRSA || len(c.Warnings) != 0 {
		t.Fatalf("CA %s, server %s, warnings %q", ca.SignatureAlgorithm, leaf.SignatureAlgorithm, c.Warnings)
	}
	if !c.signedBySHA1CA(leaf) {
		t.Fatal("the server certificate's SHA-1 signature does not check against the CA")
	}
	forged := *leaf
	forged.RawTBSCertificate = append([]byte(nil), leaf.RawTBSCertificate...)
	forged.RawTBSCertificate[len(forged.RawTBSCertificate)-1] ^= 1
	if c.signedBySHA1CA(&forged) {
		t.Fatal("a changed certificate checks")
	}
	again, err := OpenCertificates(dir, CertOptions{SHA1: true})
	if err != nil || !bytes.Equal(leafOf(t, again).Raw, leaf.Raw) {
		t.Fatalf("a second start issued again (%v): the SHA-1 signature was not recognised", err)
	}
}

// oldSelfSigned is what Nudge made before the CA: self-signed, CA:TRUE and
// the serverAuth usage together, which NSS refuses.
func oldSelfSigned(t *testing.T, dir, org string) {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nexus.passport.com", Organization: []string{org}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		DNSNames: DefaultHosts()[:5],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := save(dir, CertFile, KeyFile, der, key); err != nil {
		t.Fatal(err)
	}
}

func TestOlderCertificates(t *testing.T) {
	// An older Nudge's self-signed certificate is replaced by one from
	// the new CA, and the operator told what clients import now.
	dir := t.TempDir()
	oldSelfSigned(t, dir, organization)
	c, err := OpenCertificates(dir, CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if leafOf(t, c).IsCA || leafOf(t, c).CheckSignatureFrom(c.CA()) != nil || !strings.Contains(strings.Join(c.Notes, "\n"), "replaced the self-signed") {
		t.Fatalf("old certificate kept; notes %q", c.Notes)
	}

	// Somebody else's certificate in the directory stays, unrenewed.
	dir = t.TempDir()
	oldSelfSigned(t, dir, "Example Corp")
	theirs := readCert(t, filepath.Join(dir, CertFile))
	c, err = OpenCertificates(dir, CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(leafOf(t, c).Raw, theirs.Raw) || len(c.Warnings) != 1 {
		t.Fatalf("an operator's certificate was replaced; warnings %q", c.Warnings)
	}
	if did, _ := c.Renew(time.Now().AddDate(20, 0, 0)); did || !bytes.Equal(readCert(t, filepath.Join(dir, CertFile)).Raw, theirs.Raw) {
		t.Fatal("an operator's certificate was renewed")
	}
}

func TestCertificateErrors(t *testing.T) {
	for _, name := range []string{CAFile, KeyFile} {
		dir := t.TempDir()
		if _, err := OpenCertificates(dir, CertOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCertificates(dir, CertOptions{}); err == nil || !strings.Contains(err.Error(), "only one of") {
			t.Errorf("%s missing: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not PEM"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCertificates(dir, CertOptions{}); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s garbage: %v", name, err)
		}
	}
}

// TestTLSOldClient shakes hands the way Windows XP does — TLS 1.0, RSA key
// exchange, 3DES — and signs in over it, trusting only the CA.
func TestTLSOldClient(t *testing.T) {
	certs, err := OpenCertificates(t.TempDir(), CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tk := NewTickets(time.Minute)
	srv := httptest.NewUnstartedServer(Handler(Config{Auth: testAuth, Tickets: tk}))
	srv.TLS = certs.TLSConfig()
	srv.StartTLS()
	defer srv.Close()

	roots := x509.NewCertPool()
	roots.AddCert(certs.CA())
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

// TestCertificateNamesClientHosts: the HTTPS names the open-source MSNP15–18
// clients have built in are all in the certificate, or the client refuses
// (libpurple asks the user) before its first request.
func TestCertificateNamesClientHosts(t *testing.T) {
	c, err := OpenCertificates(t.TempDir(), CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leaf := leafOf(t, c)
	for client, hosts := range map[string][]string{
		"Pidgin 2.5.0":           {"login.live.com", "contacts.msn.com", "rsi.hotmail.com", "ows.messenger.msn.com"},
		"Pidgin 2.5.9 – 2.10.0":  {"omega.contacts.msn.com"},
		"Pidgin 2.10.2 – 2.10.9": {"local-bay.contacts.msn.com"},
		"bitlbee 3.x":            {"login.live.com", "msnia.login.live.com", "storage.msn.com"},
		"aMSN 0.98":              {"login.live.com", "byrdr.omega.contacts.msn.com", "storage.msn.com", "rsi.hotmail.com", "ows.messenger.msn.com"},
		"papyon":                 {"login.live.com", "storage.msn.com", "rsi.hotmail.com", "ows.messenger.msn.com"},
	} {
		for _, h := range hosts {
			if err := leaf.VerifyHostname(h); err != nil {
				t.Errorf("%s: %s: %v", client, h, err)
			}
		}
	}
}
