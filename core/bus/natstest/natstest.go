// Package natstest runs a real NATS cluster inside a test process: nats-server
// (the same code as the nats-server binary) on loopback ports, which a test
// can stop and start again on the same ports to see what nodes do when NATS
// goes away.
package natstest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is n nats-servers routed to each other.
type Cluster struct {
	t       testing.TB
	opts    []*server.Options
	servers []*server.Server
}

// Start starts a cluster of n servers (n ≥ 1) and stops it when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	for attempt := 0; ; attempt++ {
		c.opts = c.opts[:0]
		ports := freePorts(2 * n)
		for i := 0; i < n; i++ {
			o := &server.Options{
				ServerName: fmt.Sprintf("nats-%d", i),
				Host:       "127.0.0.1",
				Port:       ports[2*i],
				NoLog:      true,
				NoSigs:     true,
				MaxPayload: 1 << 20,
			}
			if n > 1 {
				o.Cluster = server.ClusterOpts{Name: "nudge-test", Host: "127.0.0.1", Port: ports[2*i+1]}
				for j := 0; j < n; j++ {
					if j != i {
						o.Routes = append(o.Routes, server.RoutesFromStr(fmt.Sprintf("nats://127.0.0.1:%d", ports[2*j+1]))...)
					}
				}
			}
			c.opts = append(c.opts, o)
		}
		c.servers = make([]*server.Server, n)
		err := error(nil)
		for i := range c.opts {
			if err = c.start(i); err != nil {
				break
			}
		}
		if err == nil {
			break
		}
		c.Close()
		if attempt == 10 {
			t.Fatalf("natstest: %v", err)
		}
	}
	t.Cleanup(c.Close)
	if n > 1 {
		c.waitRoutes()
	}
	return c
}

func (c *Cluster) start(i int) error {
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		return err
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		return fmt.Errorf("nats-server %d did not start on port %d", i, c.opts[i].Port)
	}
	c.servers[i] = s
	return nil
}

// waitRoutes waits until every server has a route to every other.
func (c *Cluster) waitRoutes() {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, s := range c.servers {
			if s != nil && s.NumRoutes() < len(c.servers)-1 {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("natstest: the servers did not route to each other")
}

// URLs are the client URLs of the servers, stopped ones included.
func (c *Cluster) URLs() []string {
	var out []string
	for _, o := range c.opts {
		out = append(out, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return out
}

// Stop stops server i, as if it had died.
func (c *Cluster) Stop(i int) {
	if s := c.servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.servers[i] = nil
	}
}

// Restart starts server i again on its ports.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Stop(i)
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.start(i)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("natstest: restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Close stops every server.
func (c *Cluster) Close() {
	for i := range c.servers {
		c.Stop(i)
	}
}

// freePorts returns n ports below Linux's ephemeral range (from 32768),
// free now, so that a restart can bind them again without another test's
// outgoing connection holding one.
func freePorts(n int) []int {
	var out []int
	for len(out) < n {
		p := 20000 + rand.IntN(12768)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		out = append(out, p)
	}
	return out
}
