package client

import (
	"slices"
	"strings"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// P2P version 2 (MSNP16+). A link with one endpoint of the peer writes the
// packets its queues hold — version 1 chunks — as version 2 packets, and
// reads version 2 packets back into version 1 chunks (p2p.ToV2,
// p2p.V2Reader), so that the sessions above see one protocol. What
// differs is kept here: BaseIDs that advance by each packet's length,
// package numbers, SYN on the first packet, RAK on the last packet of
// each message we send (its ACK stands for the whole message's), and an
// ACK for every packet that asks for one.

// maxRAKs bounds the messages waiting for a version 2 ACK on a link; a
// peer that never acknowledges costs no more.
const maxRAKs = 256

// v2State is a link's version 2 side; guarded by the link's mutex.
type v2State struct {
	base   uint32                // the BaseID of our next packet
	pkg    uint16                // the package number of our last message
	synced bool                  // SYN sent or received
	raks   map[uint32]p2p.Header // by the AckID their ACK names: the message it acknowledges
	reader p2p.V2Reader
	waited *conn // the switchboard where the peer's endpoint was waited for
}

func (v *v2State) forget(session uint32) {
	v.reader.Forget(session)
	for id, h := range v.raks {
		if h.SessionID == session {
			delete(v.raks, id)
		}
	}
}

// encodeV2 writes a packet of the link's queues as the payload of a
// version 2 MSG. l.mu is held.
func (l *link) encodeV2(p outPacket) ([]byte, error) {
	v := &l.v2
	var pkt p2p.PacketV2
	if p.m.ackV2 != nil {
		pkt.Header = *p.m.ackV2
	} else {
		pkt = p2p.ToV2(p.pkt)
		if p.pkt.Header.DataOffset == 0 {
			v.pkg++
			p.m.pkg = v.pkg
		}
		pkt.Header.Package = p.m.pkg
		if !v.synced {
			v.synced = true
			pkt.Header.OpCode |= p2p.OpSYN | p2p.OpRAK
			pkt.Header.PeerInfo = p2p.PeerInfo
		}
		if p.last {
			pkt.Header.OpCode |= p2p.OpRAK
		}
	}
	pkt.Header.BaseID = v.base
	body, err := pkt.AppendTo(nil)
	if err != nil {
		return nil, err
	}
	v.base += uint32(len(body) - int(body[0]) - 4) // MessageLen
	if p.m.ackV2 == nil && p.last {
		if v.raks == nil || len(v.raks) >= maxRAKs {
			v.raks = map[uint32]p2p.Header{}
		}
		v.raks[v.base] = p.m.h
	}
	m := message.New(message.TypeP2P, body)
	m.Add(message.HeaderP2PSrc, l.slpFrom())
	m.Add(message.HeaderP2PDest, l.slpTo())
	return m.Bytes(), nil
}

// receiveV2 takes a version 2 packet from the link's endpoint, on a
// switchboard's read goroutine.
func (l *link) receiveV2(cv *Conversation, pkt p2p.PacketV2) {
	l.useConversation(cv)
	l.mu.Lock()
	defer l.mu.Unlock()
	h := pkt.Header
	if h.OpCode&p2p.OpSYN != 0 {
		l.v2.synced = true
	}
	if h.OpCode&p2p.OpRAK != 0 {
		a := p2p.AckV2(h, 0) // its BaseID is set as it leaves
		l.control = append(l.control, &outMsg{ackV2: &a})
		l.kick()
	}
	if h.HasAck {
		if acked, ok := l.v2.raks[h.AckID]; ok {
			delete(l.v2.raks, h.AckID)
			l.acked(p2p.Ack(acked, 0))
		}
	}
	if h.HasNak {
		l.cl.log.Debug().Str("from", l.peer).Uint32("nak", h.NakID).Msg("P2P NAK ignored")
	}
	if !h.DataHeader {
		return
	}
	v1, err := l.v2.reader.Packet(pkt)
	if err != nil {
		l.cl.log.Debug().Err(err).Str("from", l.peer).Msg("P2P packet dropped")
		return
	}
	l.take(cv, v1)
}

// onP2PV2 takes a version 2 P2P message: one whose P2P-Dest names an
// endpoint. Those for another endpoint of ours are left to it.
func (cl *Client) onP2PV2(cv *Conversation, from string, m *message.Message) {
	email, guid, _ := strings.Cut(m.P2PDest(), ";")
	if key(email) != key(cl.Self().Email) || !sameGUID(guid, cl.MachineGUID()) {
		return
	}
	pkt, err := p2p.ParseV2(m.Body)
	if err != nil {
		cl.log.Debug().Err(err).Str("from", from).Msg("malformed P2P packet dropped")
		return
	}
	if src := m.Get(message.HeaderP2PSrc); src != "" {
		from = src
	}
	email, guid, _ = strings.Cut(from, ";")
	g, ok := msnp.NormalizeGUID(guid)
	if !ok {
		cl.log.Debug().Str("from", from).Msg("P2P version 2 packet from no endpoint dropped")
		return
	}
	cl.p2p.link(cl, email, g).receiveV2(cv, pkt)
}

func sameGUID(a, b string) bool {
	x, ok1 := msnp.NormalizeGUID(a)
	y, ok2 := msnp.NormalizeGUID(b)
	return ok1 && ok2 && x == y
}

// Endpoint is one place a contact is signed in from (MSNP16+).
type Endpoint struct {
	GUID           string // the machine GUID, "{…}" in lower case
	Capabilities   uint32
	CapabilitiesEx uint32 // such as msnp.CapExP2PV2
}

// Endpoints lists the places email is signed in from (MSNP16+), as their
// last UBX said: SendFile and FetchObject reach one of them over P2P
// version 2 when it speaks it, and SendFile to "email;{guid}" chooses
// which. It is empty before MSNP16 and for contacts offline.
func (cl *Client) Endpoints(email string) []Endpoint {
	cl.p2p.mu.Lock()
	defer cl.p2p.mu.Unlock()
	return slices.Clone(cl.p2p.endpoints[key(email)])
}

// setEndpoints records a contact's endpoints (none: forgets them).
func (ps *p2pState) setEndpoints(email string, eps []Endpoint) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(eps) == 0 {
		delete(ps.endpoints, key(email))
		return
	}
	if ps.endpoints == nil {
		ps.endpoints = map[string][]Endpoint{}
	}
	ps.endpoints[key(email)] = eps
}

// endpointsOf reads the endpoints a UBX payload lists.
func endpointsOf(payload []byte) []Endpoint {
	eps, _ := msnp.Endpoints(payload)
	var list []Endpoint
	for _, e := range eps {
		g, ok := msnp.NormalizeGUID(e.ID)
		if !ok {
			continue
		}
		c, x, _ := msnp.ParseCaps(e.Capabilities)
		list = append(list, Endpoint{GUID: g, Capabilities: c, CapabilitiesEx: x})
	}
	return list
}

// p2pLink chooses how to reach a contact over P2P, as WLM 2009 and
// MSNPSharp do: in version 2 with an endpoint of theirs that announces it
// (the one named, for "email;{guid}", else the first their UBX lists),
// when this client signed in with endpoints (MSNP16+) and so announced it
// too; in version 1 otherwise.
func (cl *Client) p2pLink(to string) *link {
	email, want, _ := strings.Cut(to, ";")
	if v := cl.Version(); v == 0 || !v.Dialect().MachineGUID {
		return cl.p2p.link(cl, email, "")
	}
	want, _ = msnp.NormalizeGUID(want)
	for _, e := range cl.Endpoints(email) {
		if e.CapabilitiesEx&msnp.CapExP2PV2 != 0 && (want == "" || e.GUID == want) {
			return cl.p2p.link(cl, email, e.GUID)
		}
	}
	return cl.p2p.link(cl, email, "")
}

// p2pCapabilitiesEx are the extended capabilities this client adds from
// MSNP16, where it has endpoints: P2P version 2.
func p2pCapabilitiesEx(d *msnp.Dialect) uint32 {
	if d.MachineGUID {
		return msnp.CapExP2PV2
	}
	return 0
}
