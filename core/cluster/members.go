package cluster

import (
	"time"

	"github.com/nudge-im/nudge/core/directory"
)

// tick stamps a sign-in here: later than the clock and than every stamp
// this node has heard of.
func (c *Cluster) tick() int64 {
	for {
		old := c.clock.Load()
		next := max(time.Now().UnixNano(), old+1)
		if c.clock.CompareAndSwap(old, next) {
			return next
		}
	}
}

// maxSkew is how far ahead of this node's wall clock a stamp heard from
// another moves the clock: a node whose clock runs far ahead (or a broken
// message) does not push every later sign-in here towards overflow.
const maxSkew = time.Hour

// observe moves the clock past a stamp heard from another node.
func (c *Cluster) observe(gen int64) {
	gen = min(gen, time.Now().Add(maxSkew).UnixNano())
	for {
		old := c.clock.Load()
		if gen <= old || c.clock.CompareAndSwap(old, gen) {
			return
		}
	}
}

// newer reports whether sign-in a (stamp, node) came after b.
func newer(aGen int64, aNode string, bGen int64, bNode string) bool {
	if aGen != bGen {
		return aGen > bGen
	}
	return aNode > bNode
}

// --- directory.Remote ---

// Registered implements directory.Remote: the other nodes hear of the
// sign-in, and end an older session of the user they hold.
func (c *Cluster) Registered(email string, p directory.Peer) {
	gen := c.tick()
	c.locMu.Lock()
	c.local[email] = localUser{peer: p, gen: gen}
	c.seq++
	c.send(subjectAll, &envelope{Op: opIn, Seq: c.seq, Email: email, Gen: gen})
	c.locMu.Unlock()
}

// Unregistered implements directory.Remote.
func (c *Cluster) Unregistered(email string, p directory.Peer) {
	c.locMu.Lock()
	defer c.locMu.Unlock()
	u, ok := c.local[email]
	if !ok || u.peer != p {
		return
	}
	delete(c.local, email)
	c.seq++
	c.send(subjectAll, &envelope{Op: opOut, Seq: c.seq, Email: email, Gen: u.gen})
}

// Lookup implements directory.Remote.
func (c *Cluster) Lookup(email string) directory.Peer {
	c.mu.RLock()
	p := c.where[email]
	c.mu.RUnlock()
	if p == nil {
		return nil
	}
	return p
}

// --- announcements ---

// hello announces this node: its incarnation, how far its announcements
// go, its addresses and its load.
func (c *Cluster) hello() {
	e := &envelope{Op: opHello, NS: c.cfg.NS, SB: c.cfg.SB, Sessions: c.cfg.Sessions()}
	if c.cfg.Switchboards != nil {
		e.Switchboards = c.cfg.Switchboards.Sessions()
	}
	c.locMu.Lock()
	e.Seq = c.seq
	c.send(subjectAll, e)
	c.locMu.Unlock()
}

func (c *Cluster) onHello(e *envelope) {
	var gone map[string]bool
	sync := false
	c.mu.Lock()
	n := c.nodes[e.Node]
	if n != nil && n.inc != e.Inc {
		if e.Inc < n.inc {
			c.mu.Unlock()
			return // a late word from before it restarted
		}
		c.log.Info().Str("peer", e.Node).Msg("node restarted")
		gone = c.dropLocked(n)
		n = nil
	}
	if n == nil {
		n = &node{name: e.Node, inc: e.Inc, users: make(map[string]int64)}
		c.nodes[e.Node] = n
		c.log.Info().Str("peer", e.Node).Str("ns", e.NS).Str("sb", e.SB).Msg("node joined")
	}
	n.ns, n.sb, n.sessions, n.switchboards, n.placed = e.NS, e.SB, e.Sessions, e.Switchboards, 0
	n.seen = time.Now()
	switch {
	case n.syncing && time.Since(n.syncAsked) > c.cfg.Timeout:
		sync = true // the snapshot was lost: ask again
	case !n.syncing && e.Seq != n.seq:
		sync = true // announcements were missed
	}
	if sync {
		n.syncing, n.syncAsked, n.snap, n.pending = true, time.Now(), nil, nil
	}
	c.mu.Unlock()
	c.vanish(gone)
	if sync {
		c.send(subjectNode(e.Node), &envelope{Op: opSync})
	}
}

// onBye forgets a node that left.
func (c *Cluster) onBye(e *envelope) {
	c.mu.Lock()
	n := c.nodes[e.Node]
	if n == nil || n.inc != e.Inc {
		c.mu.Unlock()
		return
	}
	gone := c.dropLocked(n)
	c.mu.Unlock()
	c.log.Info().Str("peer", e.Node).Msg("node left")
	c.vanish(gone)
}

// reap forgets the nodes not heard from for Timeout.
func (c *Cluster) reap() {
	gone := map[string]bool{}
	c.mu.Lock()
	for _, n := range c.nodes {
		if time.Since(n.seen) > c.cfg.Timeout {
			c.log.Warn().Str("peer", n.name).Dur("silent", time.Since(n.seen)).Msg("node stopped answering; its users are offline")
			for e := range c.dropLocked(n) {
				gone[e] = true
			}
		}
	}
	c.mu.Unlock()
	c.vanish(gone)
}

// dropLocked forgets n and returns the users that had no other place.
func (c *Cluster) dropLocked(n *node) map[string]bool {
	delete(c.nodes, n.name)
	gone := map[string]bool{}
	for email := range n.users {
		if p := c.where[email]; p != nil && p.node == n.name {
			c.placeLocked(email)
			if c.where[email] == nil {
				gone[email] = true
			}
		}
	}
	return gone
}

// placeLocked sets where[email] to its newest place on any live node.
func (c *Cluster) placeLocked(email string) {
	var best *node
	var bestGen int64
	for _, n := range c.nodes {
		if g, ok := n.users[email]; ok && (best == nil || newer(g, n.name, bestGen, best.name)) {
			best, bestGen = n, g
		}
	}
	if best == nil {
		delete(c.where, email)
		return
	}
	if p := c.where[email]; p != nil && p.node == best.name && p.gen == bestGen {
		return
	}
	c.where[email] = &remotePeer{c: c, node: best.name, email: email, gen: bestGen}
}

// vanish tells the local users that gone went offline.
func (c *Cluster) vanish(gone map[string]bool) {
	if len(gone) == 0 || c.cfg.Watchers == nil {
		return
	}
	c.cfg.Watchers.Vanished(func(email string) bool { return gone[email] })
}

// onUser applies a sign-in or sign-out on another node.
func (c *Cluster) onUser(e *envelope) {
	c.mu.Lock()
	n := c.nodes[e.Node]
	switch {
	case n == nil || n.inc != e.Inc:
		// Not met yet: its next announcement leads to a snapshot.
		c.mu.Unlock()
		return
	case n.syncing:
		n.pending = append(n.pending, *e)
		c.mu.Unlock()
		return
	case e.Seq <= n.seq:
		c.mu.Unlock()
		return
	case e.Seq != n.seq+1:
		n.syncing, n.syncAsked, n.snap, n.pending = true, time.Now(), nil, nil
		c.mu.Unlock()
		c.log.Info().Str("peer", e.Node).Msg("missed announcements; asking for a snapshot")
		c.send(subjectNode(e.Node), &envelope{Op: opSync})
		return
	}
	gone := map[string]bool{}
	c.applyLocked(n, e, gone)
	c.mu.Unlock()
	if e.Op == opIn {
		c.replaceOlder(e.Email, e.Gen, e.Node)
	}
	c.vanish(gone)
}

// applyLocked applies one announcement in order; a user who signed out
// without another place goes into gone.
func (c *Cluster) applyLocked(n *node, e *envelope, gone map[string]bool) {
	n.seq = e.Seq
	if e.Email == "" {
		return // not a user: counted, and nothing else
	}
	switch e.Op {
	case opIn:
		c.observe(e.Gen)
		n.users[e.Email] = e.Gen
	case opOut:
		if g, ok := n.users[e.Email]; ok && g == e.Gen {
			delete(n.users, e.Email)
		}
	}
	c.placeLocked(e.Email)
	if e.Op == opOut && c.where[e.Email] == nil {
		gone[e.Email] = true
	}
}

// replaceOlder ends the local session of email if it signed in before the
// sign-in (gen, node) elsewhere: one session per account in the cluster.
func (c *Cluster) replaceOlder(email string, gen int64, node string) {
	c.locMu.Lock()
	u, ok := c.local[email]
	c.locMu.Unlock()
	if !ok || newer(u.gen, c.cfg.Node, gen, node) {
		return
	}
	// Out of the directory first: the session then ends as a replaced
	// one, without telling its watchers it went offline.
	if unregister(c.cfg.Directory, email, u.peer) {
		c.log.Info().Str("user", email).Str("at", node).Msg("signed in on another node; ending the session here")
		u.peer.Replace()
	}
}

// unregister takes p out of the directory and reports whether it was there.
func unregister(d *directory.Directory, email string, p directory.Peer) bool {
	removed, _ := d.Unregister(email, p)
	return removed
}

// --- snapshots ---

const snapshotPart = 2000 // users per message

// sendSnapshot sends everyone signed in here to a node that asked, in the
// order of the announcements: what it hears after the last part is newer.
func (c *Cluster) sendSnapshot(to string) {
	c.locMu.Lock()
	defer c.locMu.Unlock()
	entries := make([]entry, 0, min(len(c.local), snapshotPart))
	flush := func(last bool) {
		c.send(subjectNode(to), &envelope{Op: opSnap, Seq: c.seq, Entries: entries, Last: last})
		entries = entries[:0]
	}
	for email, u := range c.local {
		entries = append(entries, entry{Email: email, Gen: u.gen})
		if len(entries) == snapshotPart {
			flush(false)
		}
	}
	flush(true)
}

func (c *Cluster) onSnap(e *envelope) {
	c.mu.Lock()
	n := c.nodes[e.Node]
	if n == nil || n.inc != e.Inc || !n.syncing {
		c.mu.Unlock()
		return
	}
	n.snap = append(n.snap, e.Entries...)
	if !e.Last {
		c.mu.Unlock()
		return
	}
	old := n.users
	n.users = make(map[string]int64, len(n.snap))
	for _, x := range n.snap {
		if x.Email == "" {
			continue
		}
		n.users[x.Email] = x.Gen
		c.observe(x.Gen)
	}
	n.seq, n.syncing, n.snap = e.Seq, false, nil
	gone := map[string]bool{}
	for email := range old {
		c.placeLocked(email)
		if c.where[email] == nil {
			gone[email] = true
		}
	}
	for email := range n.users {
		c.placeLocked(email)
	}
	pending := n.pending
	n.pending = nil
	for i := range pending {
		p := &pending[i]
		if p.Seq <= n.seq {
			continue
		}
		if p.Seq != n.seq+1 {
			// Still a gap: the next announcement asks again.
			break
		}
		c.applyLocked(n, p, gone)
	}
	there := make(map[string]bool, len(n.users))
	var newer []entry
	for email, gen := range n.users {
		there[email] = true
		newer = append(newer, entry{Email: email, Gen: gen})
	}
	name := n.name
	c.mu.Unlock()
	for _, x := range newer {
		c.replaceOlder(x.Email, x.Gen, name)
	}
	c.log.Debug().Str("peer", e.Node).Int("users", len(there)).Msg("snapshot applied")
	c.vanish(gone)
	if c.cfg.Watchers != nil && len(there) > 0 {
		c.cfg.Watchers.Reappeared(func(email string) bool { return there[email] })
	}
}
