package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/nudge-im/nudge/core/passport"
)

// certCheck is how often the running service checks whether the Passport
// server certificate is due for renewal.
const certCheck = 24 * time.Hour

// passportTLS is the HTTPS listener's TLS configuration: with the
// operator's certificate when passport.cert is set, else with the one the
// Passport CA in the data directory issues, which the service renews
// while it runs.
func (s *Server) passportTLS() (*tls.Config, error) {
	if s.cfg.Passport.Cert != "" {
		c, err := tls.LoadX509KeyPair(s.cfg.Passport.Cert, s.cfg.Passport.Key)
		if err != nil {
			return nil, fmt.Errorf("cannot load the Passport certificate (passport.cert %s, passport.key %s): %w",
				s.cfg.Passport.Cert, s.cfg.Passport.Key, err)
		}
		return passport.TLSConfig(c), nil
	}
	certs, err := passport.OpenCertificates(s.cfg.Data, passport.CertOptions{Hosts: s.certHosts(), SHA1: s.cfg.Passport.SHA1})
	if err != nil {
		return nil, err
	}
	log := s.log.With().Str("component", "passport").Logger()
	told := 0
	tell := func() {
		for ; told < len(certs.Notes); told++ {
			log.Info().Msg(certs.Notes[told])
		}
	}
	tell()
	for _, w := range certs.Warnings {
		log.Warn().Msg(w)
	}
	s.serve("certificate renewal", func() error {
		t := time.NewTicker(certCheck)
		defer t.Stop()
		for {
			select {
			case <-s.bg.Done():
				return nil
			case now := <-t.C:
				if _, err := certs.Renew(now); err != nil {
					log.Error().Err(err).Msg("cannot renew the Passport server certificate; trying again tomorrow")
				}
				tell()
			}
		}
	})
	return certs.TLSConfig(), nil
}

// certHosts are the names and addresses the Passport server certificate
// is for: the Passport host names, the public host, and the address the
// HTTPS listener is on — every address of the machine when it listens on
// all of them, so a client that is told an address by a referral finds
// it in the certificate.
func (s *Server) certHosts() []string {
	hosts := passport.DefaultHosts()
	if s.cfg.PublicHost != "" {
		hosts = append(hosts, s.cfg.PublicHost)
	}
	host, _, _ := net.SplitHostPort(s.Addrs().HTTPS)
	ip := net.ParseIP(host)
	switch {
	case ip == nil && host != "":
		hosts = append(hosts, host)
	case ip != nil && !ip.IsUnspecified():
		hosts = append(hosts, ip.String())
	case ip != nil:
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
				hosts = append(hosts, n.IP.String())
			}
		}
	}
	seen := map[string]bool{}
	out := hosts[:0]
	for _, h := range hosts {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}
