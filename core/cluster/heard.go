package cluster

import "time"

// A switchboard placed on another node must know everyone the caller may
// call: whoever the caller has seen come online. The caller sees a contact
// come online through its own Notification node, which heard of the
// sign-in first (in order, before the NLN it passes on); the switchboard's
// node hears of it on its own, a moment later, and a CAL that comes in
// between got 217. So XFR's question carries how far the asking node had
// heard every node (heard), and the switchboard's node answers once it has
// heard as far (catchUp).

// mark is how far a node's announcements were heard: through Seq, in its
// run Inc.
type mark struct {
	Node string `json:"n"`
	Inc  int64  `json:"i"`
	Seq  uint64 `json:"s"`
}

// heard is how far this node has heard each node, itself included, except
// the node it asks (which knows its own).
func (c *Cluster) heard(except string) []mark {
	c.locMu.Lock()
	ms := []mark{{Node: c.cfg.Node, Inc: c.inc, Seq: c.seq}}
	c.locMu.Unlock()
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, n := range c.nodes {
		if n.name != except && !n.syncing {
			ms = append(ms, mark{Node: n.name, Inc: n.inc, Seq: n.seq})
		}
	}
	return ms
}

// catchUp waits until this node has heard every node as far as ms says,
// or for at most d. A node it does not know, or knows in another run, is
// not waited for: what it heard of that run is of no use here.
func (c *Cluster) catchUp(ms []mark, d time.Duration) {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		c.mu.RLock()
		behind, moved := c.behindLocked(ms), c.moved
		c.mu.RUnlock()
		if !behind {
			return
		}
		select {
		case <-moved:
		case <-timeout.C:
			c.log.Debug().Msg("switchboard placed before this node heard all the asker had")
			return
		case <-c.stop:
			return
		}
	}
}

// behind reports whether this node has not yet heard some node as far as
// ms says.
func (c *Cluster) behind(ms []mark) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.behindLocked(ms)
}

func (c *Cluster) behindLocked(ms []mark) bool {
	for _, m := range ms {
		if n := c.nodes[m.Node]; n != nil && n.inc == m.Inc && (n.syncing || n.seq < m.Seq) {
			return true
		}
	}
	return false
}

// movedLocked wakes those waiting in catchUp; c.mu is held for writing.
func (c *Cluster) movedLocked() {
	close(c.moved)
	c.moved = make(chan struct{})
}
