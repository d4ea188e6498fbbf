// Package directory knows who is signed in and how to reach them.
//
// Every signed-in Notification Server connection registers itself as a Peer
// under its handle. The switchboard finds the people it must ring here, and
// presence fan-out finds the watchers it must tell. The directory holds no
// other state: what a peer shows to whom is the peer's own business
// (PresenceFor), decided from its contact list and privacy settings.
//
// The map is sharded so that sign-ins and look-ups on different handles do
// not contend on one lock.
package directory

import (
	"hash/maphash"

	"github.com/nudge-im/nudge/msnp"
	"sync"
	"sync/atomic"
)

// Status is an MSN presence state as it appears on the wire.
type Status string

// The presence states. Hidden is what a user who appears offline has set;
// others see them as Offline.
const (
	Online      Status = "NLN"
	Busy        Status = "BSY"
	Idle        Status = "IDL"
	BeRightBack Status = "BRB"
	Away        Status = "AWY"
	OnThePhone  Status = "PHN"
	OutToLunch  Status = "LUN"
	Hidden      Status = "HDN"
	Offline     Status = "FLN"
)

// Settable reports whether a client may set s with CHG.
func (s Status) Settable() bool {
	switch s {
	case Online, Busy, Idle, BeRightBack, Away, OnThePhone, OutToLunch, Hidden:
		return true
	}
	return false
}

// Presence is what a user shows to the people allowed to see them.
type Presence struct {
	Email        string
	FriendlyName string // decoded
	Status       Status
	Capabilities string // client capabilities, as the client sent them ("" before MSNP8)
	MSNObject    string // URL-encoded MSNObject, as the client sent it ("" when none)
	Personal     []byte // the UUX <Data> payload (personal message, current media); nil when none
}

// Ring is an invitation to a switchboard session, delivered as RNG.
type Ring struct {
	SessionID  string
	Address    string // host:port of the switchboard
	Cookie     string
	Caller     string
	CallerName string // decoded friendly name
}

// Peer is one signed-in user as the rest of the service sees it. Its methods
// are called from other users' goroutines: they must not block on the
// network (they queue) and must not call back into other peers.
type Peer interface {
	// PresenceFor returns the presence the user shows to viewer, and false
	// when viewer may not see them or talk to them (hidden, blocked, or not
	// allowed by the privacy mode).
	PresenceFor(viewer string) (Presence, bool)
	// Self is the user's own presence (what they set, even when hidden)
	// and the protocol version they speak.
	Self() (Presence, msnp.Version)
	// ShowPresence tells the user that a contact's presence changed.
	ShowPresence(p Presence)
	// HidePresence tells the user that a contact went offline (or hid).
	HidePresence(email string)
	// Ring invites the user to a switchboard session.
	Ring(r Ring)
	// ReverseAdded tells the user that someone put them on their FL.
	ReverseAdded(email, friendlyName string, listVersion int64)
	// ReverseRemoved tells the user that someone took them off their FL.
	ReverseRemoved(email string, listVersion int64)
	// Replace ends this session because the user signed in elsewhere.
	Replace()
	// Revoke ends this session if it began before the account event seq
	// (store.AccountEvent): the account was deleted, or its password
	// changed, after the user signed in.
	Revoke(seq int64)
}

const shards = 64

// Directory is the set of signed-in peers. The zero value is not usable;
// make one with New.
type Directory struct {
	seed   maphash.Seed
	shards [shards]shard
	count  atomic.Int64
	remote Remote // nil on a node of its own
}

// Remote is the rest of a cluster as a node's directory sees it: the users
// signed in on other nodes (core/cluster). With one node there is none, and
// the directory is what it always was.
type Remote interface {
	// Lookup returns a peer signed in on another node, or nil. Its
	// methods carry the call there; like every Peer's, they do not wait
	// for the network, except PresenceFor and Self, which ask.
	Lookup(email string) Peer
	// Registered and Unregistered tell the other nodes that a user signed
	// in or out here.
	Registered(email string, p Peer)
	Unregistered(email string, p Peer)
}

// SetRemote joins the directory to the other nodes of a cluster; call it
// before anyone signs in.
func (d *Directory) SetRemote(r Remote) { d.remote = r }

type shard struct {
	mu    sync.RWMutex
	peers map[string]Peer
}

// New returns an empty directory.
func New() *Directory {
	d := &Directory{seed: maphash.MakeSeed()}
	for i := range d.shards {
		d.shards[i].peers = make(map[string]Peer)
	}
	return d
}

func (d *Directory) shard(email string) *shard {
	return &d.shards[maphash.String(d.seed, email)%shards]
}

// Register makes p the peer for email and returns the one it replaced, if
// any; the caller tells the old one it was replaced.
func (d *Directory) Register(email string, p Peer) (previous Peer) {
	s := d.shard(email)
	s.mu.Lock()
	previous = s.peers[email]
	s.peers[email] = p
	// Counted under the shard lock, as Unregister does: counted after it,
	// a racing replace-and-sign-out could decrement first and Len would
	// show -1 (or one too many) sessions to /healthz and the metrics.
	if previous == nil {
		d.count.Add(1)
	}
	s.mu.Unlock()
	if d.remote != nil {
		d.remote.Registered(email, p)
	}
	return previous
}

// Unregister removes p, if it is still the peer for email.
func (d *Directory) Unregister(email string, p Peer) bool {
	s := d.shard(email)
	s.mu.Lock()
	if s.peers[email] != p {
		s.mu.Unlock()
		return false
	}
	delete(s.peers, email)
	d.count.Add(-1)
	s.mu.Unlock()
	if d.remote != nil {
		d.remote.Unregistered(email, p)
	}
	return true
}

// Lookup returns the peer signed in as email, on this node or another, or
// nil.
func (d *Directory) Lookup(email string) Peer {
	if p := d.LookupLocal(email); p != nil || d.remote == nil {
		return p
	}
	return d.remote.Lookup(email)
}

// LookupLocal returns the peer signed in as email on this node, or nil.
func (d *Directory) LookupLocal(email string) Peer {
	s := d.shard(email)
	s.mu.RLock()
	p := s.peers[email]
	s.mu.RUnlock()
	return p
}

// Len is the number of signed-in users.
func (d *Directory) Len() int { return int(d.count.Load()) }
