package coretest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/nudge-im/nudge/core/passport"
)

// HTTPSClient is an HTTP client that trusts the service's own CA, as a
// user who imported it does, and checks the certificate for host (such as
// "storage.msn.com": the name a client whose hosts file maps it here asks
// for) whatever address it connects to.
func (s *Server) HTTPSClient(t testing.TB, host string) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(s.Data, passport.CAFile))
	if err != nil {
		t.Fatalf("coretest: the service's CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("coretest: the service's CA is not PEM")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
