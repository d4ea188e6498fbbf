package cluster

import (
	"slices"
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
	ep := p.Endpoint().ID
	c.locMu.Lock()
	defer c.locMu.Unlock()
	for _, u := range c.local[email] {
		if u.peer == p {
			return // registered again: still one endpoint
		}
	}
	gen := c.tick()
	c.local[email] = append(c.local[email], localUser{peer: p, gen: gen, ep: ep})
	c.seq++
	c.send(subjectAll, &envelope{Op: opIn, Seq: c.seq, Email: email, Gen: gen, EP: ep})
}

// Unregistered implements directory.Remote.
func (c *Cluster) Unregistered(email string, p directory.Peer) {
	c.locMu.Lock()
	defer c.locMu.Unlock()
	us := c.local[email]
	i := slices.IndexFunc(us, func(u localUser) bool { return u.peer == p })
	if i < 0 {
		return
	}
	u := us[i]
	if len(us) == 1 {
		delete(c.local, email)
	} else {
		c.local[email] = slices.Delete(slices.Clone(us), i, i+1)
	}
	c.seq++
	c.send(subjectAll, &envelope{Op: opOut, Seq: c.seq, Email: email, Gen: u.gen, EP: u.ep})
}

// localAt returns the endpoint of email here that signed in at gen, or
// for gen 0 (a call for no endpoint in particular) the newest.
func (c *Cluster) localAt(email string, gen int64) (localUser, bool) {
	c.locMu.Lock()
	defer c.locMu.Unlock()
	us := c.local[email]
	if gen == 0 && len(us) > 0 {
		return us[len(us)-1], true
	}
	for _, u := range us {
		if u.gen == gen {
			return u, true
		}
	}
	return localUser{}, false
}

// Endpoints implements directory.Remote.
func (c *Cluster) Endpoints(email string) []directory.Peer {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ps := c.where[email]
	if len(ps) == 0 {
		return nil
	}
	out := make([]directory.Peer, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
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
		n = &node{name: e.Node, inc: e.Inc, users: make(map[string]map[int64]string)}
		c.nodes[e.Node] = n
		c.movedLocked()
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

// dropLocked forgets n and returns the users that have no other place.
func (c *Cluster) dropLocked(n *node) map[string]bool {
	delete(c.nodes, n.name)
	c.movedLocked()
	gone := map[string]bool{}
	for email := range n.users {
		c.placeLocked(email)
		if c.offlineLocked(email) {
			gone[email] = true
		}
	}
	return gone
}

// offlineLocked reports whether email has no endpoint on another node nor
// here.
func (c *Cluster) offlineLocked(email string) bool {
	return len(c.where[email]) == 0 && c.cfg.Directory.LookupLocal(email) == nil
}

// placeLocked sets where[email] to its endpoints on the live nodes, oldest
// first, keeping the peers that are still there (callers compare them).
func (c *Cluster) placeLocked(email string) {
	old := c.where[email]
	var ps []*remotePeer
	for _, n := range c.nodes {
		for gen, ep := range n.users[email] {
			i := slices.IndexFunc(old, func(p *remotePeer) bool { return p.node == n.name && p.gen == gen })
			if i >= 0 {
				ps = append(ps, old[i])
			} else {
				ps = append(ps, &remotePeer{c: c, node: n.name, email: email, gen: gen, ep: ep})
			}
		}
	}
	if len(ps) == 0 {
		delete(c.where, email)
		return
	}
	slices.SortFunc(ps, func(a, b *remotePeer) int {
		if newer(a.gen, a.node, b.gen, b.node) {
			return 1
		}
		return -1
	})
	c.where[email] = ps
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
		c.replaceOlder(e.Email, e.Gen, e.Node, e.EP)
	}
	c.vanish(gone)
}

// applyLocked applies one announcement in order; a user who signed out
// without another place goes into gone.
func (c *Cluster) applyLocked(n *node, e *envelope, gone map[string]bool) {
	n.seq = e.Seq
	c.movedLocked()
	if e.Email == "" {
		return // not a user: counted, and nothing else
	}
	switch e.Op {
	case opIn:
		c.observe(e.Gen)
		if n.users[e.Email] == nil {
			n.users[e.Email] = map[int64]string{}
		}
		n.users[e.Email][e.Gen] = e.EP
	case opOut:
		delete(n.users[e.Email], e.Gen)
		if len(n.users[e.Email]) == 0 {
			delete(n.users, e.Email)
		}
	}
	c.placeLocked(e.Email)
	if e.Op == opOut && c.offlineLocked(e.Email) {
		gone[e.Email] = true
	}
}

// replaceOlder ends the local sessions of email that signed in before the
// sign-in (gen, node) of endpoint ep elsewhere, where directory.Replaces
// says so: one session per account in the cluster, except endpoints with
// GUIDs of their own.
func (c *Cluster) replaceOlder(email string, gen int64, node, ep string) {
	c.locMu.Lock()
	us := slices.Clone(c.local[email])
	c.locMu.Unlock()
	for _, u := range us {
		if newer(u.gen, c.cfg.Node, gen, node) || !directory.Replaces(ep, u.ep) {
			continue
		}
		// Out of the directory first: the session then ends as a
		// replaced one, without telling its watchers it went offline.
		if unregister(c.cfg.Directory, email, u.peer) {
			c.log.Info().Str("user", email).Str("at", node).Msg("signed in on another node; ending the session here")
			u.peer.Replace()
		}
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
	for email, us := range c.local {
		for _, u := range us {
			entries = append(entries, entry{Email: email, Gen: u.gen, EP: u.ep})
			if len(entries) == snapshotPart {
				flush(false)
			}
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
	n.users = make(map[string]map[int64]string, len(n.snap))
	for _, x := range n.snap {
		if x.Email == "" {
			continue
		}
		if n.users[x.Email] == nil {
			n.users[x.Email] = map[int64]string{}
		}
		n.users[x.Email][x.Gen] = x.EP
		c.observe(x.Gen)
	}
	n.seq, n.syncing, n.snap = e.Seq, false, nil
	c.movedLocked()
	gone := map[string]bool{}
	for email := range old {
		c.placeLocked(email)
		if c.offlineLocked(email) {
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
	for email, eps := range n.users {
		there[email] = true
		for gen, ep := range eps {
			newer = append(newer, entry{Email: email, Gen: gen, EP: ep})
		}
	}
	name := n.name
	c.mu.Unlock()
	for _, x := range newer {
		c.replaceOlder(x.Email, x.Gen, name, x.EP)
	}
	c.log.Debug().Str("peer", e.Node).Int("users", len(there)).Msg("snapshot applied")
	c.vanish(gone)
	if c.cfg.Watchers != nil && len(there) > 0 {
		c.cfg.Watchers.Reappeared(func(email string) bool { return there[email] })
	}
}
