package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"time"
)

// Cluster joins this node to others that share the PostgreSQL database and
// a NATS cluster (see "Running a cluster" in the README). With no Node,
// the service is one node on its own.
type Cluster struct {
	// Node names this node, unique in the cluster: letters, digits, '-'
	// and '_'.
	Node string      `yaml:"node"`
	NATS ClusterNATS `yaml:"nats"`
	// Advertise are the addresses other nodes send clients to (XFR, RNG)
	// for this node's NS and SB; the default is the public address of
	// listen.ns and listen.sb.
	Advertise ClusterAdvertise `yaml:"advertise"`
	// Heartbeat is how often a node announces itself; a node silent for
	// NodeTimeout is taken for dead and its users shown offline.
	Heartbeat   Duration `yaml:"heartbeat"`
	NodeTimeout Duration `yaml:"node_timeout"`
}

// ClusterNATS says how to reach NATS.
type ClusterNATS struct {
	URLs        []string `yaml:"urls"`        // nats://host:4222, tls://…
	Credentials string   `yaml:"credentials"` // a .creds file
	User        string   `yaml:"user"`
	Password    string   `yaml:"password"`
	Token       string   `yaml:"token"`
	// TLS: a CA to check the servers with, and a client certificate.
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// ClusterAdvertise are the addresses clients reach this node at.
type ClusterAdvertise struct {
	NS string `yaml:"ns"`
	SB string `yaml:"sb"`
}

func defaultCluster() Cluster {
	return Cluster{NATS: ClusterNATS{URLs: []string{}}, Heartbeat: Duration(time.Second), NodeTimeout: Duration(5 * time.Second)}
}

var nodeName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// On reports whether the node is part of a cluster.
func (c Cluster) On() bool { return c.Node != "" }

func (c Cluster) validate(db Database, l Listen) error {
	if !c.On() {
		if len(c.NATS.URLs) > 0 {
			return &keyError{"cluster.node", "must be set when cluster.nats.urls is: a name for this node, unique in the cluster"}
		}
		return nil
	}
	if !nodeName.MatchString(c.Node) {
		return &keyError{"cluster.node", fmt.Sprintf("%q is not a node name: 1 to 64 letters, digits, '-' or '_'", c.Node)}
	}
	if len(c.NATS.URLs) == 0 {
		return &keyError{"cluster.nats.urls", "must list the NATS servers (nats://host:4222) when cluster.node is set"}
	}
	for _, u := range c.NATS.URLs {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || (p.Scheme != "nats" && p.Scheme != "tls") {
			return &keyError{"cluster.nats.urls", fmt.Sprintf("%q is not a NATS URL like nats://host:4222", u)}
		}
	}
	if db.URL == "" {
		return &keyError{"database.url", "must name the PostgreSQL database the nodes share when cluster.node is set"}
	}
	if (c.NATS.Cert == "") != (c.NATS.Key == "") {
		return &keyError{"cluster.nats.cert", "cluster.nats.cert and cluster.nats.key go together: set both or neither"}
	}
	if c.NATS.Token != "" && c.NATS.User != "" {
		return &keyError{"cluster.nats.token", "set cluster.nats.token or cluster.nats.user, not both"}
	}
	for _, a := range []struct{ key, addr string }{{"cluster.advertise.ns", c.Advertise.NS}, {"cluster.advertise.sb", c.Advertise.SB}} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			return &keyError{a.key, fmt.Sprintf("%q is not host:port", a.addr)}
		}
	}
	if l.NS == "" && l.SB == "" && l.DS == "" {
		return &keyError{"listen.ns", "a node must serve at least one of listen.ns, listen.ds and listen.sb"}
	}
	if c.Heartbeat < Duration(100*time.Millisecond) || c.Heartbeat > Duration(time.Minute) {
		return &keyError{"cluster.heartbeat", fmt.Sprintf("%s is outside 100ms..1m", time.Duration(c.Heartbeat))}
	}
	if c.NodeTimeout < 3*c.Heartbeat {
		return &keyError{"cluster.node_timeout", fmt.Sprintf("%s is too short: at least three heartbeats (%s)", time.Duration(c.NodeTimeout), 3*time.Duration(c.Heartbeat))}
	}
	return nil
}
