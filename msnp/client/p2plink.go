package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// p2pWindow is how many P2P packets may wait for the switchboard's ACK at
// once (MSNPSharp keeps 9 in flight, aMSN 10), about 21 KB. The
// switchboard holds its ACK back while the reader is behind, so the window
// paces a transfer at the reader's speed.
const p2pWindow = 16

// endpointWait is how long packets for one endpoint of a user wait for it
// to join the switchboard.
const endpointWait = 10 * time.Second

// maxSLPSize bounds the MSNSLP messages a peer may send (an INVITE with a
// file preview is a few kilobytes).
const maxSLPSize = 64 << 10

// link is the P2P state shared with one contact, whichever switchboard
// their packets come through: the Identifier sequence, the messages being
// put together, the sessions, and the queue of packets to send. Sending is
// done by one goroutine (pump) while there is something to send; packets
// of SLP and acknowledgements go before data, and data messages take turns
// chunk by chunk, so two transfers share the switchboard.
//
// A link speaks P2P version 2 when it names one endpoint of the peer
// (guid, MSNP16+): packets then go to "peer;{guid}" with version 2
// headers, and acknowledgements are asked for and given per packet; the
// messages, sessions and MSNSLP above are the same (see v2).
type link struct {
	cl   *Client
	peer string // lower-case handle, as P2P-Dest and MSNSLP write it
	guid string // the peer's endpoint for version 2, "" for version 1

	mu       sync.Mutex
	seq      uint32
	asm      p2p.Assembler
	sessions map[uint32]*session // by SessionID
	calls    map[string]*session // by Call-ID, upper case
	acks     []ackWait
	cv       *Conversation // where packets go
	control  []*outMsg     // SLP and ACKs, in order
	streams  []*outMsg     // data, taking turns
	turn     int
	pumping  bool
	wake     chan struct{}
	v2       v2State
}

// ackWait is a callback for the P2P ACK of a message we sent.
type ackWait struct {
	h p2p.Header
	f func()
}

// outMsg is one P2P message being sent, chunk by chunk.
type outMsg struct {
	h     p2p.Header // SessionID, Identifier, TotalSize, Flags, AckID
	appID uint32
	data  []byte        // the whole message, or nil when chunks come from src
	src   chan []byte   // chunks read from a file, closed at its end
	err   func() error  // why src closed early, if it did
	off   uint64        // bytes queued so far
	sb    *conn         // the switchboard a data message started on
	done  func(error)   // called once: every chunk acknowledged by the switchboard, or failed
	sent  func(uint64)  // called as chunks are acknowledged, with the bytes so far
	stop  chan struct{} // closed to stop sending (a cancelled transfer)
	ended bool
	ackV2 *p2p.HeaderV2 // a version 2 acknowledgement, instead of h
	pkg   uint16        // version 2: the message's package number
}

func (m *outMsg) finish(err error) {
	if m.ended {
		return
	}
	m.ended = true
	if m.done != nil {
		m.done(err)
	}
}

func (m *outMsg) stopped() bool {
	if m.stop == nil {
		return false
	}
	select {
	case <-m.stop:
		return true
	default:
		return false
	}
}

// link returns the link with peer, making it: with one endpoint of
// theirs in P2P version 2 when guid is set, else in version 1.
func (ps *p2pState) link(cl *Client, peer, guid string) *link {
	k := key(peer)
	if guid != "" {
		k += ";" + guid
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	l := ps.links[k]
	if l == nil {
		l = &link{
			cl:       cl,
			peer:     key(peer),
			guid:     guid,
			seq:      4 + rand.Uint32N(1<<31-4),
			asm:      p2p.Assembler{MaxSize: uint64(max(cl.cfg.MaxObjectSize, maxSLPSize))},
			sessions: map[uint32]*session{},
			calls:    map[string]*session{},
			wake:     make(chan struct{}, 1),
		}
		ps.links[k] = l
	}
	return l
}

// nextID returns the next Identifier. l.mu is held.
func (l *link) nextID() uint32 {
	l.seq++
	if l.seq == 0 {
		l.seq = 4
	}
	return l.seq
}

// newSessionID returns a random SessionID no session of the link uses.
// l.mu is held.
func (l *link) newSessionID() uint32 {
	for {
		id := 4 + rand.Uint32N(1<<31-4)
		if l.sessions[id] == nil {
			return id
		}
	}
}

// tag is the random nonzero value senders put in AckID of a message.
func tag() uint32 { return 1 + rand.Uint32N(1<<31-1) }

// slpTo and slpFrom are the addresses MSNSLP messages of the link carry in
// To and From: the handles, with the endpoints' GUIDs in version 2.
func (l *link) slpTo() string {
	if l.guid != "" {
		return l.peer + ";" + l.guid
	}
	return l.peer
}

func (l *link) slpFrom() string {
	self := key(l.cl.Self().Email)
	if l.guid != "" {
		return self + ";" + l.cl.MachineGUID()
	}
	return self
}

// sendSLP queues an MSNSLP message. l.mu is held.
func (l *link) sendSLP(s *p2p.SLP) {
	l.queueControl(p2p.Header{Identifier: l.nextID(), AckID: tag()}, s.Bytes(), 0, nil)
}

// send queues an MSNSLP message the session cannot go on without: if it
// cannot be sent (the contact went offline), the session ends. l.mu is
// held.
func (s *session) send(m *p2p.SLP) {
	s.l.queueControl(p2p.Header{Identifier: s.l.nextID(), AckID: tag()}, m.Bytes(), 0, func(err error) {
		if err != nil {
			s.end(err, false)
		}
	})
}

// queueControl queues a whole message ahead of data. l.mu is held.
func (l *link) queueControl(h p2p.Header, data []byte, appID uint32, done func(error)) {
	h.TotalSize = uint64(len(data))
	l.control = append(l.control, &outMsg{h: h, appID: appID, data: data, done: done})
	l.kick()
}

// queueData queues a data message, sent in turns with the other data.
// l.mu is held.
func (l *link) queueData(m *outMsg) {
	l.streams = append(l.streams, m)
	l.kick()
}

// ack queues the acknowledgement of a whole message. l.mu is held. In
// version 2 packets are acknowledged as they come, when they ask for it.
func (l *link) ack(h p2p.Header) {
	if l.guid != "" {
		return
	}
	a := p2p.Ack(h, l.nextID())
	l.control = append(l.control, &outMsg{h: a})
	l.kick()
}

// kick makes sure the pump runs and looks at the queues. l.mu is held.
func (l *link) kick() {
	if !l.pumping && l.cl.spawn(l.pump) {
		l.pumping = true
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// inflight is a packet waiting for the switchboard's ACK.
type inflight struct {
	m     *outMsg
	reply <-chan reply
	end   uint64 // offset after this packet
	last  bool
}

// pump sends the queued packets, keeping up to p2pWindow of them waiting
// for the switchboard's acknowledgement. Once half the window is free it
// sends what is ready in one write, so that a transfer costs a system call
// per burst rather than per packet. It ends when there is nothing left to
// send or wait for.
func (l *link) pump() {
	var flight []inflight
	for {
		for len(flight) > 0 && (len(flight) > p2pWindow/2 || ready(flight[0].reply)) {
			l.settle(flight[0], <-flight[0].reply)
			flight = flight[1:]
		}
		batch, waiting := l.nextBatch(p2pWindow - len(flight))
		if len(batch) > 0 {
			flight = append(flight, l.transmit(batch)...)
			continue
		}
		if len(flight) > 0 {
			select {
			case r := <-flight[0].reply:
				l.settle(flight[0], r)
				flight = flight[1:]
			case <-l.wake:
			}
			continue
		}
		if !waiting {
			l.mu.Lock()
			if len(l.control) == 0 && len(l.streams) == 0 {
				l.pumping = false
				l.mu.Unlock()
				return
			}
			l.mu.Unlock()
			continue
		}
		select {
		case <-l.wake:
		case <-l.cl.ctx.Done():
			l.failAll(l.cl.closedErr())
			l.mu.Lock()
			l.pumping = false
			l.mu.Unlock()
			return
		}
	}
}

func ready(ch <-chan reply) bool { return len(ch) > 0 }

// outPacket is a packet on its way out, and the message it belongs to.
type outPacket struct {
	m    *outMsg
	pkt  p2p.Packet
	last bool
}

// nextBatch takes up to n packets that are ready to go.
func (l *link) nextBatch(n int) (batch []outPacket, waiting bool) {
	for len(batch) < n {
		m, pkt, last, w := l.nextPacket()
		if m == nil {
			return batch, w
		}
		batch = append(batch, outPacket{m, pkt, last})
	}
	return batch, false
}

// transmit sends packets as "MSG trid D" on the link's switchboard, in one
// write, and returns them in flight.
func (l *link) transmit(batch []outPacket) []inflight {
	ctx, cancel := context.WithTimeout(l.cl.ctx, l.cl.cfg.RequestTimeout)
	defer cancel()
	fail := func(ps []outPacket, err error) {
		l.mu.Lock()
		for _, p := range ps {
			p.m.finish(err)
		}
		l.mu.Unlock()
	}
	sb, err := l.switchboard(ctx)
	if err != nil {
		fail(batch, err)
		return nil
	}
	cmds := make([]*msnp.Command, 0, len(batch))
	keep := batch[:0]
	l.mu.Lock()
	for _, p := range batch {
		if len(p.m.data) > p2p.MaxChunk || p.m.src != nil {
			// A message of several chunks must stay on one switchboard:
			// a receiver cannot fill in chunks lost with another.
			if p.m.sb == nil {
				p.m.sb = sb
			}
			if p.m.sb != sb {
				p.m.finish(fmt.Errorf("client: the switchboard with %s closed during a transfer: %w", l.peer, ErrConnectionLost))
				continue
			}
		}
		if p.m.ended {
			continue
		}
		var payload []byte
		if l.guid != "" {
			var err error
			if payload, err = l.encodeV2(p); err != nil {
				p.m.finish(err)
				continue
			}
		} else {
			payload = message.NewP2P(l.peer, p.pkt).Bytes()
		}
		keep = append(keep, p)
		cmds = append(cmds, msnp.New("MSG", 0, "D").WithPayload(payload))
	}
	l.mu.Unlock()
	if len(cmds) == 0 {
		return nil
	}
	replies, err := sb.requestAll(cmds, expect("ACK", "NAK"))
	if err != nil {
		fail(keep, err)
		return nil
	}
	out := make([]inflight, len(keep))
	for i, p := range keep {
		out[i] = inflight{m: p.m, reply: replies[i], end: p.pkt.Header.DataOffset + uint64(p.pkt.Header.Length), last: p.last}
	}
	return out
}

// switchboard returns a switchboard with the peer, opening one if needed.
func (l *link) switchboard(ctx context.Context) (*conn, error) {
	for attempt := 0; ; attempt++ {
		l.mu.Lock()
		cv := l.cv
		l.mu.Unlock()
		if cv == nil {
			var err error
			if cv, err = l.cl.Conversation(ctx, l.peer); err != nil {
				return nil, err
			}
			l.mu.Lock()
			l.cv = cv
			l.mu.Unlock()
		}
		sb, err := cv.ensure(ctx)
		l.mu.Lock()
		waited := l.v2.waited == sb
		l.v2.waited = sb
		l.mu.Unlock()
		if err == nil && l.guid != "" && !waited {
			// Of a user in several places, every endpoint joins the
			// switchboard, each in its own time: version 2 packets are
			// for one of them, which must be there to get them. One
			// that never shows up in the roster is written to anyway,
			// after waiting once.
			wait, cancel := context.WithTimeout(ctx, endpointWait)
			cv.waitMembers(wait, sb, func() bool { return cv.endpoints[l.guid] })
			cancel()
		}
		if errors.Is(err, ErrConversationClosed) && attempt == 0 {
			l.mu.Lock()
			if l.cv == cv {
				l.cv = nil
			}
			l.mu.Unlock()
			continue
		}
		return sb, err
	}
}

// useConversation makes cv, a conversation with the peer alone, the one
// packets go through.
func (l *link) useConversation(cv *Conversation) {
	if ok, _ := cv.with(l.peer); ok {
		l.mu.Lock()
		l.cv = cv
		l.mu.Unlock()
	}
}

// settle takes the switchboard's answer to a packet.
func (l *link) settle(f inflight, r reply) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case r.err != nil:
		f.m.finish(fmt.Errorf("client: sending to %s: %w", l.peer, r.err))
	case r.cmd.Name == "NAK":
		f.m.finish(fmt.Errorf("client: P2P packet to %s: %w", l.peer, ErrNotDelivered))
	default:
		if f.m.sent != nil && !f.m.ended {
			f.m.sent(f.end)
		}
		if f.last {
			f.m.finish(nil)
		}
	}
}

// nextPacket takes the next packet to send: control messages first, then
// one chunk of the next data message that has one ready. waiting reports
// data messages whose next chunk is still being read.
func (l *link) nextPacket() (m *outMsg, pkt p2p.Packet, last, waiting bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.control) > 0 {
		m = l.control[0]
		if m.ended {
			l.control = l.control[1:]
			continue
		}
		pkt, last = m.chunk()
		if last {
			l.control = l.control[1:]
		}
		return m, pkt, last, false
	}
	for n := len(l.streams); n > 0; n = len(l.streams) {
		i := l.turn % n
		m = l.streams[i]
		if m.ended || m.stopped() {
			m.finish(fmt.Errorf("%w", ErrCancelled))
			l.streams = append(l.streams[:i], l.streams[i+1:]...)
			continue
		}
		if m.data != nil {
			pkt, last = m.chunk()
		} else {
			select {
			case b, ok := <-m.src:
				if !ok {
					err := m.err()
					if err == nil {
						err = fmt.Errorf("client: the file ended after %d of %d bytes", m.off, m.h.TotalSize)
					}
					m.finish(err)
					l.streams = append(l.streams[:i], l.streams[i+1:]...)
					continue
				}
				h := m.h
				h.DataOffset, h.Length = m.off, uint32(len(b))
				m.off += uint64(len(b))
				pkt = p2p.Packet{Header: h, Data: b, AppID: m.appID}
				last = m.off >= m.h.TotalSize
			default:
				// Not read yet; try the next message.
				waiting = true
				if allWaiting(l.streams) {
					return nil, p2p.Packet{}, false, true
				}
				l.turn++
				continue
			}
		}
		if last {
			l.streams = append(l.streams[:i], l.streams[i+1:]...)
		} else {
			l.turn++
		}
		return m, pkt, last, false
	}
	return nil, p2p.Packet{}, false, waiting
}

// allWaiting reports whether every data message waits for its reader.
func allWaiting(ms []*outMsg) bool {
	for _, m := range ms {
		if m.data != nil || len(m.src) > 0 || m.ended || m.stopped() {
			return false
		}
	}
	return true
}

// chunk cuts the next chunk of a whole message and reports whether it is
// the last.
func (m *outMsg) chunk() (p2p.Packet, bool) {
	n := min(uint64(p2p.MaxChunk), uint64(len(m.data))-m.off)
	h := m.h
	h.DataOffset, h.Length = m.off, uint32(n)
	pkt := p2p.Packet{Header: h, Data: m.data[m.off : m.off+n], AppID: m.appID}
	m.off += n
	return pkt, m.off >= uint64(len(m.data))
}

// failAll ends every queued message with err.
func (l *link) failAll(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range append(l.control, l.streams...) {
		m.finish(err)
	}
	l.control, l.streams = nil, nil
}

// expectAck calls f when the peer acknowledges the message whose header
// is h. l.mu is held.
func (l *link) expectAck(h p2p.Header, f func()) {
	l.acks = append(l.acks, ackWait{h, f})
}

// forgetAcks drops the ACK callbacks of a session. l.mu is held.
func (l *link) forgetAcks(session uint32) {
	l.v2.forget(session)
	keep := l.acks[:0]
	for _, w := range l.acks {
		if w.h.SessionID != session {
			keep = append(keep, w)
		}
	}
	clear(l.acks[len(keep):])
	l.acks = keep
}

// receive takes a P2P packet from the peer, on a switchboard's read
// goroutine.
func (l *link) receive(cv *Conversation, pkt p2p.Packet) {
	l.useConversation(cv)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.take(cv, pkt)
}

// acked calls back those who wait for the message an ACK acknowledges.
// An ACK is never answered: an ACK of an ACK would go on for ever. l.mu
// is held.
func (l *link) acked(h p2p.Header) {
	keep := l.acks[:0]
	var call []func()
	for _, w := range l.acks {
		if p2p.Acks(h, w.h) {
			call = append(call, w.f)
		} else {
			keep = append(keep, w)
		}
	}
	clear(l.acks[len(keep):])
	l.acks = keep
	for _, f := range call {
		f()
	}
}

// take handles a packet in its version 1 form. l.mu is held.
func (l *link) take(cv *Conversation, pkt p2p.Packet) {
	h := pkt.Header
	switch p2p.Classify(pkt) {
	case p2p.KindACK:
		l.acked(h)
		return
	case p2p.KindNAK, p2p.KindOther:
		l.cl.log.Debug().Str("from", l.peer).Uint32("flags", h.Flags).Msg("P2P packet ignored")
		return
	}
	var s *session
	if h.SessionID != 0 {
		if s = l.sessions[h.SessionID]; s == nil {
			// Data of no session we know: late chunks of a cancelled
			// transfer, or junk. Dropped, as Pidgin does, without an ACK.
			return
		}
		switch kind := p2p.Classify(pkt); {
		case s.kind == fileInSession && kind == p2p.KindData:
			s.fileChunk(pkt)
			return
		case s.kind != fetchSession && kind == p2p.KindData:
			return // data nobody asked for: not buffered
		}
	} else if h.TotalSize > maxSLPSize {
		l.cl.log.Debug().Str("from", l.peer).Uint64("size", h.TotalSize).Msg("oversized MSNSLP message dropped")
		return
	}
	m, err := l.asm.Add(pkt)
	if err != nil {
		l.cl.log.Debug().Err(err).Str("from", l.peer).Msg("P2P chunk dropped")
		return
	}
	if m == nil {
		return
	}
	l.ack(m.Header)
	switch p2p.Classify(p2p.Packet{Header: m.Header, Data: m.Data}) {
	case p2p.KindSLP:
		l.onSLP(cv, m.Data)
	case p2p.KindData:
		s.onData(m)
	}
}

// onSLP handles an MSNSLP message. l.mu is held.
func (l *link) onSLP(cv *Conversation, data []byte) {
	slp, err := p2p.ParseSLP(data)
	if err != nil {
		l.cl.log.Debug().Err(err).Str("from", l.peer).Msg("MSNSLP message dropped")
		return
	}
	s := l.calls[strings.ToUpper(slp.CallID)]
	switch {
	case slp.Method == p2p.MethodInvite && s == nil:
		l.onInvite(cv, slp)
	case slp.Method == p2p.MethodInvite:
		// A second INVITE in a session offers a direct connection. We
		// stay on the switchboard: a 603 with the request's content
		// type makes Pidgin (2.7.3+ and older) and the official client
		// fall back to it.
		l.sendSLP(slp.Reply(p2p.StatusDecline, p2p.ContentTransRequest, p2p.SessionBody(s.id)))
	case s == nil:
		// A BYE or answer for a session that ended: nothing to do.
	case slp.Method == p2p.MethodBye:
		s.onBye()
	case !slp.IsRequest():
		s.onResponse(slp)
	}
}

// onInvite opens the session an INVITE asks for, or declines it. l.mu is
// held.
func (l *link) onInvite(cv *Conversation, inv *p2p.SLP) {
	id := inv.SessionID()
	decline := func(why string) {
		l.cl.log.Debug().Str("from", l.peer).Str("euf", inv.EUFGUID()).Str("why", why).Msg("P2P invitation declined")
		l.sendSLP(inv.Reply(p2p.StatusDecline, p2p.ContentSessionRequest, p2p.SessionBody(id)))
	}
	if id == 0 || l.sessions[id] != nil || inv.CallID == "" {
		decline("no usable SessionID or Call-ID")
		return
	}
	switch inv.EUFGUID() {
	case p2p.EUFObject:
		l.serveObject(inv, decline)
	case p2p.EUFFile:
		l.offerFile(cv, inv, decline)
	default:
		decline("application not supported")
	}
}
