// Package cluster joins the nodes of one MSN service: every node sees the
// users signed in on the others, as if they were its own.
//
// Each node keeps its users in its own directory and tells the others over
// the bus (core/bus) who signed in and out there, so every node holds a
// map of where each user is. A lookup of a user on another node gives a
// Peer whose methods carry the call there: presence, invitations to
// switchboards, list notices and sign-outs cross nodes through the same
// directory.Peer the service always used, and one node with no cluster
// keeps exactly the directory it had.
//
// Nodes announce themselves every Heartbeat with their load and the
// addresses they serve. A node not heard from for Timeout is taken for
// dead: its users vanish (their watchers here get FLN) and may sign in
// again anywhere. Announcements are numbered per node; a node that sees a
// gap, or meets a node for the first time, asks it for everyone signed in
// there, and shows its own users to their watchers there. A node that
// restarts comes back by itself under a new incarnation.
//
// Sign-ins are stamped with a hybrid logical clock (Lamport over wall
// time), and a node that hears of a newer sign-in of one of its users ends
// the older session with OUT OTH where directory.Replaces says so: one
// session per account across nodes, except MSNP16+ endpoints with
// different GUIDs, which stay side by side on any nodes (multiple points
// of presence). Each endpoint is announced on its own, so a lookup of a
// user gives every endpoint, here and elsewhere.
package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/bus"
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/switchboard"
)

// Defaults of Config's timings.
const (
	DefaultHeartbeat      = time.Second
	DefaultTimeout        = 5 * time.Second
	DefaultRequestTimeout = 3 * time.Second
)

// Watchers is what the node's Notification Server does when users of other
// nodes come and go as a whole (ns.Server implements it).
type Watchers interface {
	// Vanished tells local users that the contacts for whom gone is true
	// went offline.
	Vanished(gone func(email string) bool)
	// Reappeared shows local users to their watchers for whom there is true.
	Reappeared(there func(email string) bool)
}

// Switchboards opens switchboard sessions on this node (switchboard.Server).
type Switchboards interface {
	Open(u switchboard.User) (address, cookie string, err error)
	Sessions() int
}

// Config is what a Cluster needs. Node, Bus and Directory are required.
type Config struct {
	Node      string // unique in the cluster
	Bus       bus.Bus
	Directory *directory.Directory
	// The addresses this node serves clients at, as clients reach them
	// ("" for a server it does not run).
	NS, SB string
	// Watchers is the local Notification Server (nil when it runs none);
	// Switchboards the local switchboard server (nil likewise).
	Watchers     Watchers
	Switchboards Switchboards
	// Sessions counts the users signed in here (for Dispatch to spread
	// load); nil counts the directory's.
	Sessions func() int

	Heartbeat      time.Duration // how often a node announces itself
	Timeout        time.Duration // silent this long, a node is taken for dead
	RequestTimeout time.Duration // for questions to another node
	Log            zerolog.Logger

	// Handle, when set, is given the messages of other parts of the
	// service sent with Broadcast (kind, payload).
	Handle func(kind string, payload []byte)
}

// Cluster is this node's view of the cluster.
type Cluster struct {
	cfg Config
	log zerolog.Logger
	inc int64 // this run of the node (its incarnation)

	clock atomic.Int64 // hybrid logical clock of sign-ins
	seed  maphash.Seed // shares out the calls of a large batch (batch.go)

	// Our own announcements: seq numbers them; locMu keeps the number and
	// the message in one order with snapshots.
	locMu sync.Mutex
	seq   uint64
	local map[string][]localUser // the endpoints signed in here, by handle

	mu      sync.RWMutex
	nodes   map[string]*node
	moved   chan struct{}            // closed (and replaced) when what this node knows of the others moves on
	where   map[string][]*remotePeer // each remote user's endpoints, oldest first
	started time.Time

	subs      []bus.Subscription
	stop      chan struct{}
	done      sync.WaitGroup
	closeOnce sync.Once
}

type localUser struct {
	peer directory.Peer
	gen  int64  // its sign-in stamp: which endpoint a call is for
	ep   string // its endpoint GUID ("" for none)
}

// node is another node as this one knows it.
type node struct {
	name         string
	inc          int64
	ns, sb       string
	sessions     int
	switchboards int
	placed       int // referrals and switchboards sent its way since its last announcement
	seen         time.Time
	seq          uint64 // its announcements applied
	syncing      bool   // a snapshot was asked for and is not complete
	syncAsked    time.Time
	pending      []envelope // announcements heard while syncing
	snap         []entry
	users        map[string]map[int64]string // handle → sign-in stamp → endpoint GUID
}

// entry is one endpoint in a snapshot.
type entry struct {
	Email string `json:"e"`
	Gen   int64  `json:"g"`
	EP    string `json:"ep,omitempty"`
}

// New returns a Cluster for cfg; Start joins it.
func New(cfg Config) (*Cluster, error) {
	if cfg.Node == "" || cfg.Bus == nil || cfg.Directory == nil {
		return nil, errors.New("cluster: Node, Bus and Directory are required")
	}
	cfg.Heartbeat = cmp.Or(cfg.Heartbeat, DefaultHeartbeat)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, DefaultRequestTimeout)
	if cfg.Sessions == nil {
		cfg.Sessions = cfg.Directory.Len
	}
	c := &Cluster{
		cfg:   cfg,
		log:   cfg.Log.With().Str("component", "cluster").Str("node", cfg.Node).Logger(),
		inc:   time.Now().UnixNano(),
		seed:  maphash.MakeSeed(),
		local: make(map[string][]localUser),
		nodes: make(map[string]*node),
		moved: make(chan struct{}),
		where: make(map[string][]*remotePeer),
		stop:  make(chan struct{}),
	}
	return c, nil
}

// Subjects on the bus.
const (
	subjectAll = "nudge.all" // announcements to every node
)

func subjectNode(name string) string { return "nudge.node." + name } // to one node, in order
func subjectAsk(name string) string  { return "nudge.ask." + name }  // questions to one node

// SetWatchers sets Config.Watchers, for a Notification Server made after
// the Cluster; call it before Start.
func (c *Cluster) SetWatchers(w Watchers) { c.cfg.Watchers = w }

// Start joins the cluster: it listens, announces the node, and from then on
// keeps the map of who is where. The directory must be joined to c
// (directory.SetRemote) before anyone signs in.
func (c *Cluster) Start() error {
	c.started = time.Now()
	ordered, err := c.cfg.Bus.Subscribe(c.receive, subjectAll, subjectNode(c.cfg.Node))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	asked, err := c.cfg.Bus.Subscribe(c.answer, subjectAsk(c.cfg.Node))
	if err != nil {
		ordered.Close()
		return fmt.Errorf("cluster: %w", err)
	}
	c.subs = []bus.Subscription{ordered, asked}
	c.hello()
	c.done.Add(1)
	go c.loop()
	c.log.Info().Msg("joined the cluster")
	return nil
}

// Close leaves the cluster: the other nodes forget this one at once.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.send(subjectAll, &envelope{Op: opBye})
		for _, s := range c.subs {
			s.Close()
		}
	})
	return nil
}

// Err says why the cluster cannot be reached, or nil (for /healthz).
func (c *Cluster) Err() error {
	if err := c.cfg.Bus.Err(); err != nil {
		return err
	}
	return nil
}

// NodeInfo is a node as /healthz and the tests see it.
type NodeInfo struct {
	Name     string
	NS, SB   string
	Sessions int
	Users    int // signed in there, as this node knows
}

// Nodes returns the other live nodes.
func (c *Cluster) Nodes() []NodeInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]NodeInfo, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, NodeInfo{Name: n.name, NS: n.ns, SB: n.sb, Sessions: n.sessions, Users: len(n.users)})
	}
	return out
}

func (c *Cluster) loop() {
	defer c.done.Done()
	t := time.NewTicker(c.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.hello()
			c.reap()
		}
	}
}

// Broadcast sends a message of another part of the service to every other
// node's Config.Handle.
func (c *Cluster) Broadcast(kind string, payload []byte) {
	c.send(subjectAll, &envelope{Op: opOther, Kind: kind, Data: payload})
}

// --- messages ---

const (
	opHello   = "hello"    // a node's announcement (heartbeat)
	opBye     = "bye"      // a node leaves
	opIn      = "in"       // a user signed in on the sender
	opOut     = "out"      // a user signed out on the sender
	opSync    = "sync"     // please send your snapshot
	opSnap    = "snap"     // a part of a snapshot
	opPeer    = "peer"     // a directory.Peer call for a user on the receiver
	opBatch   = "peers"    // presence calls for users on the receiver (batch.go)
	opOther   = "other"    // for Config.Handle
	opAskPres = "presence" // question: what does To show Email?
	opAskSelf = "self"     // question: To's own presence and version
	opAskOpen = "open"     // question: a switchboard cookie for User
)

// envelope is every message between nodes, JSON on the bus.
type envelope struct {
	Op   string `json:"op"`
	Node string `json:"n,omitempty"`
	Inc  int64  `json:"i,omitempty"`
	Seq  uint64 `json:"s,omitempty"`

	// hello
	NS           string `json:"ns,omitempty"`
	SB           string `json:"sb,omitempty"`
	Sessions     int    `json:"u,omitempty"`
	Switchboards int    `json:"w,omitempty"`

	// in, out; snapshots
	Email   string  `json:"e,omitempty"`
	Gen     int64   `json:"g,omitempty"`  // a sign-in's stamp; in a peer call, the endpoint's
	EP      string  `json:"ep,omitempty"` // the endpoint GUID of a sign-in
	Entries []entry `json:"x,omitempty"`
	Last    bool    `json:"l,omitempty"`

	// peer calls and questions
	To       string              `json:"t,omitempty"`
	Call     string              `json:"c,omitempty"`
	Presence *directory.Presence `json:"p,omitempty"`
	Mail     *directory.Mail     `json:"m,omitempty"`
	Ring     *directory.Ring     `json:"r,omitempty"`
	Name     string              `json:"f,omitempty"`
	Version  int64               `json:"v,omitempty"`
	User     *switchboard.User   `json:"b,omitempty"`
	Note     *directory.Note     `json:"o,omitempty"`
	Heard    []mark              `json:"h,omitempty"` // how far the asker had heard each node
	Listing  *directory.Listing  `json:"ls,omitempty"`

	// a batch of presence calls
	Presences []directory.Presence `json:"ps,omitempty"`
	Calls     []batchCall          `json:"cs,omitempty"`

	// other parts
	Kind string `json:"k,omitempty"`
	Data []byte `json:"d,omitempty"`
}

// answer is the reply to a question.
type answer struct {
	OK       bool               `json:"ok,omitempty"`
	Presence directory.Presence `json:"p"`
	Version  int                `json:"v,omitempty"`
	Address  string             `json:"a,omitempty"`
	Cookie   string             `json:"c,omitempty"`
	Err      string             `json:"err,omitempty"`
}

func (c *Cluster) send(subject string, e *envelope) {
	e.Node, e.Inc = c.cfg.Node, c.inc
	b, err := json.Marshal(e)
	if err != nil {
		c.log.Error().Err(err).Msg("cannot encode a message")
		return
	}
	if err := c.cfg.Bus.Publish(subject, b); err != nil {
		c.log.Debug().Err(err).Str("op", e.Op).Msg("message not sent")
	}
}

func (c *Cluster) ask(ctx context.Context, node string, e *envelope) (answer, error) {
	e.Node, e.Inc = c.cfg.Node, c.inc
	b, err := json.Marshal(e)
	if err != nil {
		return answer{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	raw, err := c.cfg.Bus.Request(ctx, subjectAsk(node), b)
	if err != nil {
		return answer{}, err
	}
	return decodeAnswer(raw)
}

// decodeAnswer reads another node's answer; one that carries its error is
// that error.
func decodeAnswer(raw []byte) (answer, error) {
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return answer{}, err
	}
	if a.Err != "" {
		return a, errors.New(a.Err)
	}
	return a, nil
}

// receive handles the ordered stream: announcements and calls.
func (c *Cluster) receive(m *bus.Msg) {
	var e envelope
	if err := json.Unmarshal(m.Data, &e); err != nil {
		c.log.Warn().Err(err).Msg("malformed message on the bus")
		return
	}
	if e.Node == c.cfg.Node && e.Inc == c.inc {
		return // our own broadcast
	}
	if e.Node == c.cfg.Node {
		// Another process claims this node's name.
		if e.Op == opHello {
			c.log.Error().Msg("another process announces itself with this node's name; give each node its own cluster.node")
		}
		return
	}
	switch e.Op {
	case opHello:
		c.onHello(&e)
	case opBye:
		c.onBye(&e)
	case opIn, opOut:
		c.onUser(&e)
	case opSync:
		c.sendSnapshot(e.Node)
	case opSnap:
		c.onSnap(&e)
	case opPeer:
		c.deliver(&e)
	case opBatch:
		c.deliverBatch(&e)
	case opOther:
		if c.cfg.Handle != nil {
			c.cfg.Handle(e.Kind, e.Data)
		}
	}
}
