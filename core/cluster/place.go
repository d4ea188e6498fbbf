package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"net"

	"github.com/nudge-im/nudge/core/switchboard"
)

func jsonMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// ErrNoSwitchboard is Open's error when no live node serves switchboards.
var ErrNoSwitchboard = errors.New("cluster: no switchboard server is up")

// Open places a switchboard session for u, for XFR SB: on the node that
// has the fewest sessions among those that serve switchboards, this one
// when it is as good as any. It implements ns.Switchboards.
func (c *Cluster) Open(u switchboard.User) (address, cookie string, err error) {
	target := c.pick(func(n *node) (int, bool) { return n.switchboards, n.sb != "" }, c.localSwitchboards)
	if target == "" {
		return c.cfg.Switchboards.Open(u)
	}
	if target == noTarget {
		return "", "", ErrNoSwitchboard
	}
	a, err := c.ask(context.Background(), target, &envelope{Op: opAskOpen, User: &u, Heard: c.heard(target)})
	if err != nil {
		// The node went away or refused: here, if this node can.
		if c.cfg.Switchboards != nil {
			return c.cfg.Switchboards.Open(u)
		}
		return "", "", err
	}
	return a.Address, a.Cookie, nil
}

func (c *Cluster) localSwitchboards() (int, bool) {
	if c.cfg.Switchboards == nil || c.cfg.SB == "" {
		return 0, false
	}
	return c.cfg.Switchboards.Sessions(), true
}

// Refer names the Notification Server a Dispatch Server sends a new client
// to: the live one with the fewest users (this node's own when it is as
// good as any), or "" when there is none.
func (c *Cluster) Refer() string {
	target := c.pick(func(n *node) (int, bool) { return n.sessions, n.ns != "" }, func() (int, bool) {
		return c.cfg.Sessions(), c.cfg.NS != "" && c.cfg.Watchers != nil
	})
	switch target {
	case "":
		return c.cfg.NS
	case noTarget:
		return ""
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if n := c.nodes[target]; n != nil {
		return n.ns
	}
	return ""
}

const noTarget = "\x00"

// pick returns the node with the least load (counting what was sent its
// way since it last said), "" for this one, or noTarget.
func (c *Cluster) pick(load func(*node) (int, bool), self func() (int, bool)) string {
	best, bestLoad := noTarget, 0
	if l, ok := self(); ok {
		best, bestLoad = "", l
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var chosen *node
	for _, n := range c.nodes {
		l, ok := load(n)
		if !ok {
			continue
		}
		l += n.placed
		if best == noTarget || l < bestLoad || (l == bestLoad && best != "" && n.name < best) {
			best, bestLoad, chosen = n.name, l, n
		}
	}
	if chosen != nil && best == chosen.name {
		chosen.placed++
	}
	return best
}

// SwitchboardAt names the switchboard of another node that a client asked
// for at addr (the host:port of its XFR or RNG, or the host alone, as the
// HTTP gateway's IP= has it), for a gateway on this node that must reach
// that node's switchboard. It returns "" for this node's own, and for an
// address no live node serves (then this node's own is the best guess);
// a host alone that more than one node serves is matched by none.
func (c *Cluster) SwitchboardAt(addr string) string {
	if addr == "" || addr == c.cfg.SB {
		return ""
	}
	host, _, err := net.SplitHostPort(addr)
	hostOnly := err != nil
	if hostOnly {
		host = addr
	}
	if hostOnly && c.cfg.SB != "" && hostOf(c.cfg.SB) == host {
		return ""
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	found := ""
	for _, n := range c.nodes {
		switch {
		case n.sb == "":
		case n.sb == addr:
			return n.sb
		case hostOnly && hostOf(n.sb) == host:
			if found != "" {
				return ""
			}
			found = n.sb
		}
	}
	return found
}

func hostOf(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return host
}
