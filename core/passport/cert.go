package passport

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Certificate file names inside the directory given to EnsureCertificate.
const (
	CertFile = "passport.crt"
	KeyFile  = "passport.key"
)

// DefaultHosts are the names the Passport endpoints were reached by, which
// clients have built in (or are pointed at with a hosts file), plus loopback.
func DefaultHosts() []string {
	return []string{
		"nexus.passport.com", "login.passport.com", "loginnet.passport.com",
		"login.live.com", "msnia.login.live.com",
		"localhost", "127.0.0.1",
	}
}

// EnsureCertificate loads dir/passport.crt and dir/passport.key if both
// exist. If neither does, it makes a self-signed certificate for hosts (DNS
// names and IP addresses; none means DefaultHosts), valid for ten years,
// saves it there (key mode 0600) and returns it. Existing files are never
// replaced — an operator's own certificate stays — so to change the names
// of a generated one, delete both files.
//
// The key is RSA 2048: Windows XP's TLS stack, which MSN Messenger 5–7 use,
// knows neither ECDSA certificates nor ECDHE-ECDSA suites. The certificate
// is its own CA (so it can be imported as a trusted root on the client) and
// is signed with SHA-256, which XP understands from SP3 on.
func EnsureCertificate(dir string, hosts []string) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("passport: loading %s and %s: %w (fix or delete both to make a new one)", certPath, keyPath, err)
		}
		return cert, nil
	case certErr == nil || keyErr == nil:
		return tls.Certificate{}, fmt.Errorf("passport: only one of %s and %s exists; add the other or delete it to make a new certificate", certPath, keyPath)
	case !errors.Is(certErr, fs.ErrNotExist):
		return tls.Certificate{}, fmt.Errorf("passport: %w", certErr)
	case !errors.Is(keyErr, fs.ErrNotExist):
		return tls.Certificate{}, fmt.Errorf("passport: %w", keyErr)
	}

	if len(hosts) == 0 {
		hosts = DefaultHosts()
	}
	certPEM, keyPEM, err := selfSigned(hosts, time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("passport: making certificate directory: %w", err)
	}
	// Key first: a crash in between leaves a key without a certificate,
	// which the next start reports instead of silently pairing wrong files.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

func selfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("passport: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("passport: serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"Nudge"}},
		NotBefore:             now.Add(-24 * time.Hour), // tolerate clients with a slow clock
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("passport: making certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("passport: encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFileAtomic writes data to a temporary file in the same directory and
// renames it into place, so a reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("passport: writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("passport: writing %s: %w", path, err)
	}
	return nil
}

// TLSConfig is a server configuration for the Passport endpoints that old
// clients can complete a handshake with.
//
// MSN Messenger 5–7 on Windows XP use the system TLS stack, which offers
// TLS 1.0 at best and only RSA key exchange with RC4 or 3DES. Go's defaults
// (TLS 1.2 and up, no RSA key exchange, no 3DES) would turn those clients
// away, so this allows TLS 1.0 and adds to Go's suites the RSA key exchange
// ones (3DES for XP, AES for other pre-ECDHE clients) and ECDHE with 3DES.
// They lack forward secrecy and 3DES has a 64-bit block; that is the price
// of serving these clients directly. Still left out: RC4 (broken, and XP
// speaks 3DES) and the CBC-SHA256 suites (no client needs them; Go's CBC
// implementation of them is not constant time). Modern clients still get
// TLS 1.3 or an AEAD suite, since Go picks the strongest suite both sides
// support. SSL 3.0, which Go does not implement, is not possible: put a
// TLS-terminating proxy in front for clients that need it.
func TLSConfig(cert tls.Certificate) *tls.Config {
	var suites []uint16
	for _, s := range tls.CipherSuites() {
		suites = append(suites, s.ID)
	}
	suites = append(suites,
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
		tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
	)
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS10,
		CipherSuites: suites,
	}
}
