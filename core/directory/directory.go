// Package directory knows who is signed in and how to reach them.
//
// Every signed-in Notification Server connection registers itself as a Peer
// under its handle. The switchboard finds the people it must ring here, and
// presence fan-out finds the watchers it must tell. The directory holds no
// other state: what a peer shows to whom is the peer's own business
// (PresenceFor), decided from its contact list and privacy settings.
//
// A user may be signed in at several places at once (MSNP16+ "multiple
// points of presence"): each place is an endpoint, a Peer of its own with
// the machine's GUID (Peer.Endpoint). Lookup hides that from whoever does
// not care: with several endpoints it returns one Peer that speaks to all
// of them. A session without a GUID (MSNP2–15) is the user's only place:
// it replaces every other on Register, and is replaced by any later one.
//
// The map is sharded so that sign-ins and look-ups on different handles do
// not contend on one lock.
package directory

import (
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nudge-im/nudge/msnp"
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
	// Endpoints are the places the user is signed in at (MSNP16+), for
	// the EndpointData of UBX; none for a user signed in without a GUID.
	Endpoints []msnp.Endpoint
}

// Note is a notice from one session to the endpoints of a user (UUN, which
// arrives as UBN, MSNP13+): sharing, P2P bootstrap, or "sign out" from the
// user's own other endpoint.
type Note struct {
	From, FromEndpoint string // the sender and its endpoint ("" for none)
	To                 string // the endpoint it is for; "" for every endpoint
	Type               int
	Payload            []byte
}

// Ring is an invitation to a switchboard session, delivered as RNG.
type Ring struct {
	SessionID  string
	Address    string // host:port of the switchboard
	Cookie     string
	Caller     string
	CallerName string // decoded friendly name
}

// Mail says that an offline message was kept for a user (core/mailbox):
// what the notice of its arrival shows. It crosses nodes as JSON.
type Mail struct {
	ID       string    `json:"id"` // the message's GUID
	From     string    `json:"from"`
	FromName string    `json:"fromName"` // decoded
	Sent     time.Time `json:"sent"`
	Size     int       `json:"size"` // bytes of the body
}

// Listing is a change to a user's lists or privacy made through the
// Notification Server at one of their endpoints (ADL/RML, ADD/REM, BLP,
// GTC), as the other endpoints take it: the lists Contact is on now (0:
// none), or with Contact "" the privacy mode ("AL" or "BL") and whether
// the user is asked before being added (GTC "A"). It crosses nodes as
// JSON.
type Listing struct {
	Contact string `json:"c,omitempty"`
	Lists   uint8  `json:"l,omitempty"` // store.List bits
	Privacy string `json:"p,omitempty"`
	Prompt  bool   `json:"a,omitempty"`
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
	// Note delivers a UUN notice (see Note), if it is for this endpoint.
	Note(n Note)
	// Endpoint describes where this session is (MSNP16+): its machine
	// GUID, lower-case in braces, its capabilities and what it tells the
	// user's other endpoints. The ID is "" for a session without one.
	Endpoint() msnp.Endpoint
	// BookChanged tells the user that their address book changed
	// elsewhere (the address book web service): the entry for contact,
	// or with "" the settings and the whole list. The session reads it
	// again from the store, so privacy holds at once, and tells the
	// client where it reads the book itself.
	BookChanged(contact string)
	// Mailed tells the user that an offline message was kept for them
	// (someone left one while the user appeared offline, or just before
	// they signed in).
	Mailed(m Mail)
	// Share gives this endpoint the presence the user just set at another
	// of their endpoints (MSNP16+): a user has one status, name,
	// capabilities, picture and personal message wherever they are signed
	// in, so that every endpoint answers PresenceFor alike. Nobody is told.
	Share(p Presence)
	// ShowSelf shows the user their own presence, as set at any of their
	// endpoints, with every endpoint in p.Endpoints (the UBX that MSNP16+
	// clients expect after each change).
	ShowSelf(p Presence)
	// ShareList gives this endpoint a change the user just made to their
	// lists or privacy at another of their endpoints (MSNP16+), so that
	// every endpoint decides alike who sees and may call the user. Nobody
	// is told: the endpoint that made the change tells the watchers.
	ShareList(l Listing)
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
	// Endpoints returns the user's sessions on other nodes, one Peer per
	// endpoint, oldest first. Their methods carry the call there; like
	// every Peer's, they do not wait for the network, except PresenceFor
	// and Self, which ask.
	Endpoints(email string) []Peer
	// Registered and Unregistered tell the other nodes that a user signed
	// in or out here.
	Registered(email string, p Peer)
	Unregistered(email string, p Peer)
	// Batch starts gathering presence calls for Directory.Batch.
	Batch() RemoteBatch
}

// RemoteBatch is a Remote's side of a Batch: the endpoints it returns
// keep their ShowPresence and HidePresence calls until Send, which carries
// them to each node together; their other calls go at once. Endpoints
// and those calls may come from several goroutines at once.
type RemoteBatch interface {
	Endpoints(email string) []Peer
	Send()
}

// SetRemote joins the directory to the other nodes of a cluster; call it
// before anyone signs in.
func (d *Directory) SetRemote(r Remote) { d.remote = r }

type shard struct {
	mu    sync.RWMutex
	peers map[string][]Peer // the endpoints of each handle, in sign-in order; never modified in place
}

// New returns an empty directory.
func New() *Directory {
	d := &Directory{seed: maphash.MakeSeed()}
	for i := range d.shards {
		d.shards[i].peers = make(map[string][]Peer)
	}
	return d
}

func (d *Directory) shard(email string) *shard {
	return &d.shards[maphash.String(d.seed, email)%shards]
}

// Register adds p as an endpoint of email and returns the sessions it
// replaced; the caller tells them (Peer.Replace). Two sessions stay side by
// side only when both have endpoint GUIDs and the GUIDs differ: a session
// without one replaces every other and is replaced by any other, and a
// second sign-in from the same machine replaces the first.
func (d *Directory) Register(email string, p Peer) (replaced []Peer) {
	id := p.Endpoint().ID
	s := d.shard(email)
	s.mu.Lock()
	old := s.peers[email]
	next := make([]Peer, 0, len(old)+1)
	for _, o := range old {
		if o == p {
			continue // registered again: still one endpoint
		}
		if Replaces(id, o.Endpoint().ID) {
			replaced = append(replaced, o)
		} else {
			next = append(next, o)
		}
	}
	s.peers[email] = append(next, p)
	// Counted under the shard lock, as Unregister does: counted after it,
	// a racing replace-and-sign-out could decrement first and Len would
	// show -1 (or one too many) sessions to /healthz and the metrics.
	if len(old) == 0 {
		d.count.Add(1)
	}
	s.mu.Unlock()
	if d.remote != nil {
		d.remote.Registered(email, p)
	}
	return replaced
}

// Replaces reports whether a session signing in at endpoint newID ends one
// of the same user at oldID (IDs as Peer.Endpoint gives them, "" for a
// session without a GUID). This is the one rule for every node of a
// cluster: only two different GUIDs stay side by side.
func Replaces(newID, oldID string) bool {
	return newID == "" || oldID == "" || newID == oldID
}

// Unregister removes p, if it is still an endpoint of email, and says how
// many endpoints the user has left, on any node: the user went offline
// when that is 0.
func (d *Directory) Unregister(email string, p Peer) (removed bool, remaining int) {
	s := d.shard(email)
	s.mu.Lock()
	old := s.peers[email]
	i := slices.Index(old, p)
	if i < 0 {
		s.mu.Unlock()
		return false, len(old)
	}
	if len(old) == 1 {
		delete(s.peers, email)
		d.count.Add(-1)
	} else {
		s.peers[email] = slices.Delete(slices.Clone(old), i, i+1)
	}
	remaining = len(old) - 1
	s.mu.Unlock()
	if d.remote != nil {
		d.remote.Unregistered(email, p)
		remaining += len(d.remote.Endpoints(email))
	}
	return true, remaining
}

// Lookup returns the peer signed in as email, on this node or another, or
// nil. A user signed in at several endpoints is one Peer that reaches them
// all.
func (d *Directory) Lookup(email string) Peer {
	if d.remote == nil {
		return d.LookupLocal(email)
	}
	return d.lookup(email, d.remote.Endpoints(email))
}

// lookup is Lookup with the user's endpoints on other nodes given.
func (d *Directory) lookup(email string, remote []Peer) Peer {
	if len(remote) == 0 {
		return d.LookupLocal(email)
	}
	ps := append(d.localEndpoints(email), remote...)
	if len(ps) == 1 {
		return ps[0]
	}
	return endpoints(ps)
}

// Batch is one change told to many users (a status change to every
// watcher): the calls for users on other nodes cross to each node as one
// message rather than one each, which is what makes telling a thousand
// watchers there cheap. Use it as the directory (Lookup), from as many
// goroutines as the fan-out takes, then Send once.
type Batch struct {
	d      *Directory
	remote RemoteBatch // nil on a node of its own
}

// Batch starts a batch of presence calls.
func (d *Directory) Batch() *Batch {
	b := &Batch{d: d}
	if d.remote != nil {
		b.remote = d.remote.Batch()
	}
	return b
}

// Lookup is Directory.Lookup, except that the ShowPresence and
// HidePresence calls of the peers it returns reach users on other nodes
// only at Send. Calls to users on this node are made at once, as always.
func (b *Batch) Lookup(email string) Peer {
	if b.remote == nil {
		return b.d.LookupLocal(email)
	}
	return b.d.lookup(email, b.remote.Endpoints(email))
}

// Send carries the calls gathered to the other nodes: one message to each
// node (per thousand or so calls), after the calls sent before it.
func (b *Batch) Send() {
	if b.remote != nil {
		b.remote.Send()
	}
}

// LookupLocal returns the peer signed in as email on this node, or nil.
func (d *Directory) LookupLocal(email string) Peer {
	s := d.shard(email)
	s.mu.RLock()
	ps := s.peers[email]
	s.mu.RUnlock()
	switch len(ps) {
	case 0:
		return nil
	case 1:
		return ps[0]
	}
	return endpoints(ps)
}

// Endpoints returns each session of email, this node's in the order they
// signed in, then those on other nodes.
func (d *Directory) Endpoints(email string) []Peer {
	ps := d.localEndpoints(email)
	if d.remote != nil {
		ps = append(ps, d.remote.Endpoints(email)...)
	}
	return ps
}

func (d *Directory) localEndpoints(email string) []Peer {
	s := d.shard(email)
	s.mu.RLock()
	ps := s.peers[email]
	s.mu.RUnlock()
	return slices.Clone(ps)
}

// endpoints is a user signed in at several places, as one Peer. The
// endpoints keep the user's presence in step (each change is made on all of
// them), so the newest answers for the user.
type endpoints []Peer

func (e endpoints) newest() Peer { return e[len(e)-1] }

func (e endpoints) PresenceFor(viewer string) (Presence, bool) {
	for i := len(e) - 1; i >= 0; i-- {
		if p, ok := e[i].PresenceFor(viewer); ok {
			return p, true
		}
	}
	return Presence{}, false
}

func (e endpoints) Self() (Presence, msnp.Version) { return e.newest().Self() }
func (e endpoints) Endpoint() msnp.Endpoint        { return msnp.Endpoint{} }

func (e endpoints) ShowPresence(p Presence) {
	for _, x := range e {
		x.ShowPresence(p)
	}
}

func (e endpoints) HidePresence(email string) {
	for _, x := range e {
		x.HidePresence(email)
	}
}

func (e endpoints) Ring(r Ring) {
	for _, x := range e {
		x.Ring(r)
	}
}

func (e endpoints) ReverseAdded(email, friendlyName string, listVersion int64) {
	for _, x := range e {
		x.ReverseAdded(email, friendlyName, listVersion)
	}
}

func (e endpoints) ReverseRemoved(email string, listVersion int64) {
	for _, x := range e {
		x.ReverseRemoved(email, listVersion)
	}
}

func (e endpoints) Replace() {
	for _, x := range e {
		x.Replace()
	}
}

func (e endpoints) Note(n Note) {
	for _, x := range e {
		x.Note(n)
	}
}

func (e endpoints) Revoke(seq int64) {
	for _, x := range e {
		x.Revoke(seq)
	}
}

func (e endpoints) BookChanged(contact string) {
	for _, x := range e {
		x.BookChanged(contact)
	}
}

func (e endpoints) Mailed(m Mail) {
	for _, x := range e {
		x.Mailed(m)
	}
}

func (e endpoints) Share(p Presence) {
	for _, x := range e {
		x.Share(p)
	}
}

func (e endpoints) ShowSelf(p Presence) {
	for _, x := range e {
		x.ShowSelf(p)
	}
}

func (e endpoints) ShareList(l Listing) {
	for _, x := range e {
		x.ShareList(l)
	}
}

// Len is the number of signed-in users.
func (d *Directory) Len() int { return int(d.count.Load()) }
