package server

import (
	"crypto/tls"
	"fmt"
)

type tlsCert = tls.Certificate

func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return c, fmt.Errorf("cannot load the Passport certificate (passport.cert %s, passport.key %s): %w", certFile, keyFile, err)
	}
	return c, nil
}
