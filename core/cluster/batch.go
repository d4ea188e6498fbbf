package cluster

import (
	"bytes"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"

	"github.com/nudge-im/nudge/core/directory"
)

// A status change told to a thousand watchers on another node used to
// cross as a thousand messages, each with its own copy of the presence:
// the encoding, the NATS round and the decoding of each made fan-out
// across nodes several times slower than on one node. A batch gathers the
// presence calls of one change per node and sends each node one message
// that names the presence once and every endpoint it is for.

// maxBatchCalls bounds the calls in one batch message: a batch for more
// watchers on one node is split (each part about 50 KiB of JSON, well
// under NATS's 1 MiB message limit), and a message with more is not one a
// node sends and is dropped whole.
const maxBatchCalls = 1024

// maxBatchPresences bounds the distinct presences in one batch message.
// One change has one; a batch mixing a few is still served.
const maxBatchPresences = 16

// batchCall is one presence call in a batch: a show of one of the
// batch's presences, or a hide of a handle.
type batchCall struct {
	To   string `json:"t"`
	Gen  int64  `json:"g,omitempty"` // the endpoint's sign-in stamp
	Show int    `json:"p,omitempty"` // 1 + the index of the presence shown; 0 for a hide
	Hide string `json:"h,omitempty"` // the handle that went offline
}

// batch implements directory.RemoteBatch.
type batch struct {
	c     *Cluster
	mu    sync.Mutex
	nodes map[string]*nodeBatch
}

// nodeBatch is what a batch has for one node.
type nodeBatch struct {
	presences []directory.Presence
	calls     []batchCall
}

// Batch implements directory.Remote.
func (c *Cluster) Batch() directory.RemoteBatch { return &batch{c: c} }

// Endpoints implements directory.RemoteBatch: the user's endpoints on
// other nodes, their presence calls gathered in b.
func (b *batch) Endpoints(email string) []directory.Peer {
	ps := b.c.Endpoints(email)
	for i, p := range ps {
		ps[i] = &batchPeer{remotePeer: p.(*remotePeer), b: b}
	}
	return ps
}

func (b *batch) add(node string, call batchCall, show *directory.Presence) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.nodes == nil {
		b.nodes = make(map[string]*nodeBatch)
	}
	nb := b.nodes[node]
	if nb == nil {
		nb = &nodeBatch{}
		b.nodes[node] = nb
	}
	if show != nil {
		i := slices.IndexFunc(nb.presences, func(p directory.Presence) bool { return samePresence(p, *show) })
		if i < 0 {
			i = len(nb.presences)
			nb.presences = append(nb.presences, *show)
		}
		call.Show = i + 1
	}
	nb.calls = append(nb.calls, call)
}

// Send implements directory.RemoteBatch: each node's calls go there in
// order after every call sent to it before, in messages of at most
// maxBatchCalls.
func (b *batch) Send() {
	b.mu.Lock()
	nodes := b.nodes
	b.nodes = nil
	b.mu.Unlock()
	for node, nb := range nodes {
		for calls := range slices.Chunk(nb.calls, maxBatchCalls) {
			b.c.send(subjectNode(node), &envelope{Op: opBatch, Presences: usedPresences(nb.presences, calls), Calls: calls})
		}
	}
}

// usedPresences returns the presences the calls show, the calls
// renumbered to them, so that no part of a split batch carries what it
// does not use (and none carries more than maxBatchPresences).
func usedPresences(all []directory.Presence, calls []batchCall) []directory.Presence {
	if len(all) <= 1 {
		return all
	}
	index := make(map[int]int)
	var used []directory.Presence
	for i := range calls {
		s := calls[i].Show
		if s == 0 {
			continue
		}
		n, ok := index[s]
		if !ok {
			used = append(used, all[s-1])
			n = len(used)
			index[s] = n
		}
		calls[i].Show = n
	}
	return used
}

func samePresence(a, b directory.Presence) bool {
	return a.Email == b.Email && a.FriendlyName == b.FriendlyName && a.Status == b.Status &&
		a.Capabilities == b.Capabilities && a.MSNObject == b.MSNObject &&
		bytes.Equal(a.Personal, b.Personal) && slices.Equal(a.Endpoints, b.Endpoints)
}

// batchPeer is a remote endpoint whose presence calls wait in a batch; its
// other calls go at once.
type batchPeer struct {
	*remotePeer
	b *batch
}

func (p *batchPeer) ShowPresence(pr directory.Presence) {
	p.b.add(p.node, batchCall{To: p.email, Gen: p.gen}, &pr)
}

func (p *batchPeer) HidePresence(email string) {
	p.b.add(p.node, batchCall{To: p.email, Gen: p.gen, Hide: email}, nil)
}

// deliverBatch makes the calls of a batch from another node on the local
// endpoints they are for. A batch that is not one a node sends (too many
// calls or presences, a call with neither a presence nor a handle) is
// dropped whole. Each call only queues for its session, so a slow reader
// holds up nobody.
func (c *Cluster) deliverBatch(e *envelope) {
	if len(e.Calls) > maxBatchCalls || len(e.Presences) > maxBatchPresences {
		c.log.Warn().Str("peer", e.Node).Int("calls", len(e.Calls)).Int("presences", len(e.Presences)).Msg("oversized presence batch dropped")
		return
	}
	for _, call := range e.Calls {
		if call.Show < 0 || call.Show > len(e.Presences) || (call.Show == 0) == (call.Hide == "") {
			c.log.Warn().Str("peer", e.Node).Msg("malformed presence batch dropped")
			return
		}
	}
	// Telling a session is a write to its socket when it is idle: a
	// thousand of them take milliseconds of one core, so a large batch is
	// shared out over the processors, as the node that sent it does for
	// its own watchers. Each user's calls stay in one share, in order, and
	// the next message waits until all are made.
	tell := func(share, shares int) {
		for _, call := range e.Calls {
			if shares > 1 && int(maphash.String(c.seed, call.To)%uint64(shares)) != share {
				continue
			}
			u, ok := c.localAt(call.To, call.Gen)
			if !ok {
				continue // signed out meanwhile
			}
			if call.Show > 0 {
				u.peer.ShowPresence(e.Presences[call.Show-1])
			} else {
				u.peer.HidePresence(call.Hide)
			}
		}
	}
	shares := min(runtime.GOMAXPROCS(0), len(e.Calls)/batchShare)
	if shares <= 1 {
		tell(0, 1)
		return
	}
	var wg sync.WaitGroup
	for i := 1; i < shares; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tell(i, shares)
		}()
	}
	tell(0, shares)
	wg.Wait()
}

// batchShare is the fewest calls of a batch worth a goroutine of their
// own (as core/ns's fan-out).
const batchShare = 256
