// Package clustertest runs the nodes of a cluster in a test process: each
// a whole service (coretest.Server) on its own loopback ports, joined over
// a real nats-server and one throw-away PostgreSQL database, as nodes on
// separate machines are.
//
//	nodes := clustertest.Start(t, 2, nil, coretest.WithoutChallenges())
//	alice signs in at nodes[0].NSAddr, bob at nodes[1].NSAddr
package clustertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/bus/natstest"
	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/coretest/pgtest"
)

// Start starts n nodes named n1, n2, … on one new database and returns once
// each sees all the others. node, when set, changes the configuration of
// node i (0-based) after opts. With n 1 the node is a service of its own on
// PostgreSQL, for comparisons: no cluster, no NATS.
func Start(t testing.TB, n int, node func(i int, c *config.Config), opts ...coretest.Option) []*coretest.Server {
	t.Helper()
	db := pgtest.Start(t)
	var urls []string
	if n > 1 {
		urls = natstest.Start(t, 1).URLs()
	}
	var nodes []*coretest.Server
	for i := range n {
		o := append([]coretest.Option{coretest.WithConfig(func(c *config.Config) {
			c.Database.URL = db
			c.Web.Enabled = false
			if n > 1 {
				c.Cluster.Node = fmt.Sprintf("n%d", i+1)
				c.Cluster.NATS.URLs = urls
				c.Cluster.Heartbeat = config.Duration(100 * time.Millisecond)
			}
		})}, opts...)
		if node != nil {
			o = append(o, coretest.WithConfig(func(c *config.Config) { node(i, c) }))
		}
		nodes = append(nodes, coretest.Start(t, o...))
	}
	for _, s := range nodes {
		if s.Cluster == nil {
			continue
		}
		deadline := time.Now().Add(60 * time.Second)
		for len(s.Cluster.Nodes()) < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("clustertest: a node sees %d of the %d others", len(s.Cluster.Nodes()), n-1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nodes
}
