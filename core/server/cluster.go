package server

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nudge-im/nudge/core/bus"
	"github.com/nudge-im/nudge/core/cluster"
	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/core/throttle"
)

// joinCluster connects to NATS, shares the Passport tickets through the
// database and joins the directory to the other nodes. It runs before any
// listener serves; startCluster announces the node once they do.
func (s *Server) joinCluster() error {
	c := s.cfg.Cluster
	shared, ok := s.Store.(store.Shared)
	if !ok {
		return fmt.Errorf("cluster: the database cannot hold shared tickets")
	}
	tlsCfg, err := natsTLS(c.NATS)
	if err != nil {
		return err
	}
	log := s.log.With().Str("node", c.Node).Logger()
	b, err := bus.DialNATS(bus.NATSOptions{
		URLs: c.NATS.URLs, Name: "nudge " + c.Node,
		Credentials: c.NATS.Credentials, User: c.NATS.User, Password: c.NATS.Password, Token: c.NATS.Token,
		TLS: tlsCfg, Log: log,
	})
	if err != nil {
		return fmt.Errorf("cannot use NATS (cluster.nats): %w", err)
	}
	s.bus = b
	plog := log.With().Str("component", "passport").Logger()
	s.Tickets.Share(shared, plog)
	s.Grants.Share(shared, plog)

	addrs := s.Addrs()
	ns, sb := c.Advertise.NS, c.Advertise.SB
	if ns == "" {
		ns = s.public(addrs.NS)
	}
	if sb == "" {
		sb = s.public(addrs.SB)
	}
	cfg := cluster.Config{
		Node: c.Node, Bus: b, Directory: s.Dir, NS: ns, SB: sb,
		Heartbeat: time.Duration(c.Heartbeat), Timeout: time.Duration(c.NodeTimeout),
		Log: log,
		Handle: func(kind string, payload []byte) {
			if kind == kindSignIn {
				var o throttle.Outcome
				if json.Unmarshal(payload, &o) == nil {
					s.SignIn.Observe(o)
				}
			}
		},
	}
	if s.sb != nil {
		cfg.Switchboards = s.sb
	} else {
		cfg.SB = ""
	}
	if addrs.NS == "" {
		cfg.NS = ""
	}
	cl, err := cluster.New(cfg)
	if err != nil {
		return err
	}
	s.Cluster = cl
	s.Dir.SetRemote(cl)
	// Failed sign-ins count on every node: a guesser behind a load
	// balancer meets the limits of one node, not of each.
	s.SignIn.Share(func(o throttle.Outcome) {
		if b, err := json.Marshal(o); err == nil {
			cl.Broadcast(kindSignIn, b)
		}
	})
	return nil
}

const kindSignIn = "signin"

// startCluster announces the node, now that its servers run.
func (s *Server) startCluster() error {
	if s.ns != nil {
		s.Cluster.SetWatchers(s.ns)
	}
	return s.Cluster.Start()
}

// natsTLS is the TLS configuration of cluster.nats, or nil when it names
// no CA or certificate (a tls:// URL then checks the servers against the
// system's CAs).
func natsTLS(n config.ClusterNATS) (*tls.Config, error) {
	if n.CA == "" && n.Cert == "" {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if n.CA != "" {
		pem, err := os.ReadFile(n.CA)
		if err != nil {
			return nil, fmt.Errorf("cannot read cluster.nats.ca: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster.nats.ca %s holds no PEM certificate", n.CA)
		}
	}
	if n.Cert != "" {
		cert, err := tls.LoadX509KeyPair(n.Cert, n.Key)
		if err != nil {
			return nil, fmt.Errorf("cannot load cluster.nats.cert and key: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}
