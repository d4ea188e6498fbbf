package passport

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// File names inside the directory given to OpenCertificates.
const (
	// CAFile is the local certificate authority: the one file clients
	// import and trust, once.
	CAFile    = "passport-ca.crt"
	CAKeyFile = "passport-ca.key"
	// CertFile is the HTTPS server's certificate, issued by the CA for the
	// Passport host names and renewed by the service when it must.
	CertFile = "passport.crt"
	KeyFile  = "passport.key"
)

// Validity of what OpenCertificates makes. The server certificate is
// renewed when less than renewBefore is left, at start and while running;
// clients trust the CA, so nobody notices.
const (
	caValidity   = 20 * 365 * 24 * time.Hour
	certValidity = 2 * 365 * 24 * time.Hour
	renewBefore  = 90 * 24 * time.Hour
	// backdate tolerates clients whose clock is slow.
	backdate = 24 * time.Hour
)

// organization marks the certificates Nudge makes; files in the directory
// without it are an operator's and are never replaced.
const organization = "Nudge"

// DefaultHosts are the names the Passport endpoints were reached by, which
// clients have built in (or are pointed at with a hosts file), plus loopback.
func DefaultHosts() []string {
	return []string{
		"nexus.passport.com", "login.passport.com", "loginnet.passport.com",
		"login.live.com", "msnia.login.live.com",
		// The web services of MSNP13+ clients: address book, offline
		// messages, storage (Pidgin 2.10.2 on asks local-bay for the
		// address book).
		"contacts.msn.com", "omega.contacts.msn.com", "byrdr.omega.contacts.msn.com", "local-bay.contacts.msn.com",
		"ows.messenger.msn.com", "rsi.hotmail.com", "storage.msn.com", "tkrdr.storage.msn.com",
		"config.messenger.msn.com",
		"localhost", "127.0.0.1",
	}
}

// CertOptions say what the server certificate must be.
type CertOptions struct {
	// Hosts are the DNS names and IP addresses it is for; none means
	// DefaultHosts. A certificate that lacks one is issued again.
	Hosts []string
	// SHA1 signs with SHA-1 instead of SHA-256: Windows XP before Service
	// Pack 3, which MSN Messenger 5–7 use, cannot check SHA-256
	// signatures. Today's TLS stacks refuse SHA-1 (Go's among them), so
	// turn it on only for such clients.
	SHA1 bool
}

// Certificates are the Passport CA and the server certificate it issues,
// kept in a directory.
//
// Why a CA: what users import must work with every client's TLS stack. A
// self-signed server certificate is refused by NSS (libpurple: Pidgin,
// msn-pecan) whether or not it claims to be a CA — as a CA with the
// serverAuth usage it is "not approved for SSL" (SEC_ERROR_INADEQUATE_
// CERT_TYPE), as a plain leaf it cannot be trusted as a root. A small CA
// (no extended key usage) that issues a plain server certificate (CA:FALSE,
// serverAuth) is what NSS, OpenSSL, GnuTLS, Go and Windows' CryptoAPI all
// expect, and the server certificate can be renewed without anyone
// importing anything again.
//
// Keys are RSA 2048: Windows XP's TLS stack knows neither ECDSA
// certificates nor ECDHE-ECDSA suites.
type Certificates struct {
	dir     string
	opts    CertOptions
	ca      *x509.Certificate
	caKey   crypto.Signer
	foreign bool // the server certificate is an operator's: never replaced

	mu   sync.RWMutex
	cert *tls.Certificate

	// Notes say what OpenCertificates did that a person should know;
	// Warnings what they should fix. Log them.
	Notes, Warnings []string
}

// OpenCertificates loads the CA and the server certificate from dir,
// making what is missing and issuing a new server certificate when the one
// there is due (see Renew). Files without Nudge's mark are an operator's:
// they are used as they are and never replaced. A pair of which only one
// file exists is an error that says what to do.
func OpenCertificates(dir string, opts CertOptions) (*Certificates, error) {
	if len(opts.Hosts) == 0 {
		opts.Hosts = DefaultHosts()
	}
	c := &Certificates{dir: dir, opts: opts}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("passport: making certificate directory: %w", err)
	}
	caCert, caKey, err := loadPair(dir, CAFile, CAKeyFile)
	switch {
	case err != nil:
		return nil, err
	case caCert == nil:
		if caCert, caKey, err = makeCA(dir, opts.SHA1, time.Now()); err != nil {
			return nil, err
		}
		c.Notes = append(c.Notes, fmt.Sprintf("made the Passport certificate authority %s: clients import and trust this one file",
			filepath.Join(dir, CAFile)))
	case opts.SHA1 && caCert.SignatureAlgorithm != x509.SHA1WithRSA:
		c.Warnings = append(c.Warnings, fmt.Sprintf("passport.sha1 is on but %s is signed with %s, which Windows XP before SP3 cannot check: "+
			"delete %s and %s to make a SHA-1 one, and import it again on every client",
			filepath.Join(dir, CAFile), caCert.SignatureAlgorithm, CAFile, CAKeyFile))
	}
	c.ca, c.caKey = caCert, caKey

	leaf, key, err := loadPair(dir, CertFile, KeyFile)
	if err != nil {
		return nil, err
	}
	if leaf != nil && !slices.Contains(leaf.Subject.Organization, organization) {
		c.foreign = true
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s is not one Nudge made: it is served as it is and never renewed "+
			"(to serve your own certificate, set passport.cert and passport.key instead)", filepath.Join(dir, CertFile)))
		cert := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
		c.cert = &cert
		return c, nil
	}
	if leaf != nil && leaf.CheckSignatureFrom(caCert) != nil && leaf.IsCA {
		c.Notes = append(c.Notes, fmt.Sprintf("replaced the self-signed %s of an older Nudge with one issued by %s: "+
			"clients that imported the old one import %s instead", CertFile, CAFile, CAFile))
	}
	if leaf != nil {
		cert := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
		c.cert = &cert
	}
	if _, err := c.Renew(time.Now()); err != nil {
		return nil, err
	}
	return c, nil
}

// due says why the server certificate must be issued again, or "".
func (c *Certificates) due(leaf *x509.Certificate, now time.Time) string {
	if leaf == nil {
		return "none yet"
	}
	if leaf.CheckSignatureFrom(c.ca) != nil && !c.signedBySHA1CA(leaf) {
		return "not issued by " + CAFile
	}
	if leaf.NotAfter.Sub(now) < renewBefore {
		return "expires " + leaf.NotAfter.Format(time.DateOnly)
	}
	if want := sigAlg(c.opts.SHA1); leaf.SignatureAlgorithm != want {
		return "signed with " + leaf.SignatureAlgorithm.String() + ", want " + want.String()
	}
	for _, h := range c.opts.Hosts {
		if h != "" && leaf.VerifyHostname(h) != nil {
			return "not for " + h
		}
	}
	return ""
}

// signedBySHA1CA checks a SHA-1 signature by the CA, which
// CheckSignatureFrom refuses to (Go no longer trusts SHA-1).
func (c *Certificates) signedBySHA1CA(leaf *x509.Certificate) bool {
	pub, ok := c.ca.PublicKey.(*rsa.PublicKey)
	if !ok || leaf.SignatureAlgorithm != x509.SHA1WithRSA || !bytes.Equal(leaf.RawIssuer, c.ca.RawSubject) {
		return false
	}
	h := crypto.SHA1.New()
	h.Write(leaf.RawTBSCertificate)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA1, h.Sum(nil), leaf.Signature) == nil
}

// Renew issues a new server certificate when the current one is due —
// missing, not issued by the CA, less than 90 days from expiry, signed with
// another algorithm than CertOptions ask, or not for one of the hosts — and
// saves it. It reports whether it did. An operator's certificate is never
// renewed.
func (c *Certificates) Renew(now time.Time) (bool, error) {
	if c.foreign {
		return false, nil
	}
	c.mu.RLock()
	var leaf *x509.Certificate
	if c.cert != nil {
		leaf = c.cert.Leaf
	}
	c.mu.RUnlock()
	why := c.due(leaf, now)
	if why == "" {
		return false, nil
	}
	cert, err := issue(c.dir, c.ca, c.caKey, c.opts, now)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	c.cert = cert
	c.mu.Unlock()
	if leaf != nil {
		c.Notes = append(c.Notes, fmt.Sprintf("issued a new %s (the old one: %s)", CertFile, why))
	}
	return true, nil
}

// Get returns the server certificate; it is tls.Config.GetCertificate.
func (c *Certificates) Get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

// CA is the certificate authority clients trust.
func (c *Certificates) CA() *x509.Certificate { return c.ca }

// TLSConfig is TLSConfig's configuration serving the current server
// certificate, renewed or not.
func (c *Certificates) TLSConfig() *tls.Config {
	cfg := tlsConfig()
	cfg.GetCertificate = c.Get
	return cfg
}

func sigAlg(sha1 bool) x509.SignatureAlgorithm {
	if sha1 {
		return x509.SHA1WithRSA
	}
	return x509.SHA256WithRSA
}

// loadPair reads a PEM certificate and its key; (nil, nil, nil) when
// neither file exists.
func loadPair(dir, certName, keyName string) (*x509.Certificate, crypto.Signer, error) {
	certPath, keyPath := filepath.Join(dir, certName), filepath.Join(dir, keyName)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
	case certErr == nil || keyErr == nil:
		return nil, nil, fmt.Errorf("passport: only one of %s and %s exists; add the other or delete it to make a new one", certPath, keyPath)
	case !errors.Is(certErr, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("passport: %w", certErr)
	case !errors.Is(keyErr, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("passport: %w", keyErr)
	default:
		return nil, nil, nil
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("passport: loading %s and %s: %w (fix or delete both to make a new one)", certPath, keyPath, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("passport: %s holds a key that cannot sign", keyPath)
	}
	return pair.Leaf, signer, nil
}

// makeCA makes and saves the certificate authority: CA:TRUE, may sign
// certificates (and CRLs), may not issue other CAs, and has no extended
// key usage — NSS will not take a CA restricted to serverAuth as a root
// for servers. Its name carries a random part, so the CAs of two
// installations differ in a client's trust store.
func makeCA(dir string, sha1 bool, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, serial, err := newKeyAndSerial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Nudge Passport CA " + hex.EncodeToString(serial.Bytes()[:3]), Organization: []string{organization}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SignatureAlgorithm:    sigAlg(sha1),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("passport: making the CA: %w", err)
	}
	if err := save(dir, CAFile, CAKeyFile, der, key); err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, key, err
}

// issue makes, saves and returns a server certificate for opts.Hosts:
// CA:FALSE, the serverAuth usage, and the key usages RSA key exchange
// (Windows XP's suites) and ECDHE need.
func issue(dir string, ca *x509.Certificate, caKey crypto.Signer, opts CertOptions, now time.Time) (*tls.Certificate, error) {
	key, serial, err := newKeyAndSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{organization}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		SignatureAlgorithm:    sigAlg(opts.SHA1),
	}
	for _, h := range opts.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if len(tmpl.DNSNames) > 0 {
		tmpl.Subject.CommonName = tmpl.DNSNames[0] // for clients that read only the CN
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("passport: issuing the server certificate: %w", err)
	}
	if err := save(dir, CertFile, KeyFile, der, key); err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func newKeyAndSerial() (*rsa.PrivateKey, *big.Int, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("passport: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("passport: serial number: %w", err)
	}
	serial.SetBit(serial, 126, 1) // at least 16 bytes, for the CA's name
	return key, serial, nil
}

// save writes a certificate and its key as PEM, key first (mode 0600): a
// crash in between leaves a key without a certificate, which the next
// start reports instead of silently pairing wrong files.
func save(dir, certName, keyName string, der []byte, key *rsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("passport: encoding key: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
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

// TLSConfig is a server configuration for the Passport endpoints with the
// certificate cert (an operator's own), that old clients can complete a
// handshake with (see tlsConfig).
func TLSConfig(cert tls.Certificate) *tls.Config {
	cfg := tlsConfig()
	cfg.Certificates = []tls.Certificate{cert}
	return cfg
}

// tlsConfig is what old clients need from the server.
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
// support.
//
// SSL 3.0 is beyond Go's TLS, which has never implemented it. A client that
// speaks nothing newer (Windows 2000 and XP with TLS 1.0 turned off) needs
// a TLS front that does before the service; the README shows one.
func tlsConfig() *tls.Config {
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
		MinVersion:   tls.VersionTLS10,
		CipherSuites: suites,
	}
}
