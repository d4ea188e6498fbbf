package client

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nudge-im/nudge/msnp/p2p"
)

type sessionKind int

const (
	fetchSession   sessionKind = iota // we asked for an object
	serveSession                      // we send one of our objects
	fileInSession                     // a file comes to us
	fileOutSession                    // we send a file
)

// session is one P2P session with the link's peer: an object fetched or
// served, a file received or sent. Its fields are guarded by the link's
// mutex, and so are all its methods but the goroutines it starts.
type session struct {
	l      *link
	kind   sessionKind
	id     uint32
	callID string
	invite *p2p.SLP // the peer's INVITE, for sessions they opened
	appID  uint32
	timer  *time.Timer
	closed bool
	stop   chan struct{} // closed when the session ends

	// fetchSession
	obj    *p2p.Object
	result chan fetchResult

	// file sessions
	t         *Transfer
	receiving bool        // fileInSession: accepted, data may come
	stream    *p2p.Stream // fileInSession: the data message, from its first chunk
	chunks    chan []byte // fileInSession: to the writer goroutine
	source    io.Reader   // fileOutSession: where the bytes come from
	allSent   bool        // fileOutSession: every chunk left
}

// receiveBuffer is how much of a file may wait for a slow io.Writer
// before the switchboard's reader waits too. Not reading holds the sender
// back (the switchboard delays its ACKs), but a switchboard also cuts off a
// client that reads nothing for long; the buffer lets a writer pause for a
// while at no cost.
const receiveBuffer = 4 << 20

type fetchResult struct {
	data []byte
	err  error
}

// add registers s with its link and starts its timer. l.mu is held.
func (l *link) add(s *session, timeout time.Duration) {
	s.l = l
	s.stop = make(chan struct{})
	l.sessions[s.id] = s
	l.calls[strings.ToUpper(s.callID)] = s
	s.arm(timeout)
}

// arm (re)starts the session's timer: without progress for d, it ends.
func (s *session) arm(d time.Duration) {
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.expire)
		return
	}
	s.timer.Reset(d)
}

func (s *session) expire() {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.closed {
		return
	}
	switch {
	case s.kind == fileOutSession && s.allSent:
		// Every chunk reached the switchboard; the receiver just never
		// acknowledged nor said BYE. The file is delivered as far as
		// anyone can tell.
		s.end(nil, false)
	case s.kind == fileInSession && !s.receiving:
		l.sendSLP(s.reply(p2p.StatusDecline))
		s.end(fmt.Errorf("%w: the offer was not answered", ErrTransferTimeout), false)
	case s.kind == serveSession:
		// Pidgin never says BYE after an object: done.
		s.end(nil, false)
	default:
		s.end(ErrTransferTimeout, true)
	}
}

// reply builds the answer to the peer's INVITE of this session.
func (s *session) reply(status int) *p2p.SLP {
	return s.invite.Reply(status, p2p.ContentSessionRequest, p2p.SessionBody(s.id))
}

// end closes the session once: it forgets it, optionally says BYE, and
// reports err to whoever waits. l.mu is held.
func (s *session) end(err error, bye bool) {
	if s.closed {
		return
	}
	s.closed = true
	l := s.l
	delete(l.sessions, s.id)
	delete(l.calls, strings.ToUpper(s.callID))
	l.asm.Forget(s.id)
	l.forgetAcks(s.id)
	if s.timer != nil {
		s.timer.Stop()
	}
	close(s.stop)
	if bye {
		l.sendSLP(p2p.NewBye(l.slpTo(), l.slpFrom(), s.callID, s.id))
	}
	switch {
	case s.result != nil:
		s.result <- fetchResult{err: err}
	case s.t != nil:
		s.t.end(err)
	}
}

// onResponse takes the peer's answer to our INVITE.
func (s *session) onResponse(r *p2p.SLP) {
	if r.Status != p2p.StatusOK {
		what := "declined"
		if r.Status != p2p.StatusDecline {
			what = fmt.Sprintf("answered %d %s", r.Status, r.Reason)
		}
		s.end(fmt.Errorf("%w: %s %s", ErrDeclined, s.l.peer, what), false)
		return
	}
	switch s.kind {
	case fetchSession:
		s.arm(s.l.cl.cfg.TransferTimeout)
	case fileOutSession:
		s.startSending()
	}
}

// onBye takes the peer's BYE.
func (s *session) onBye() {
	switch s.kind {
	case serveSession:
		s.end(nil, false)
	case fileOutSession:
		if s.allSent {
			s.end(nil, false)
			return
		}
		s.end(fmt.Errorf("%w by %s", ErrCancelled, s.l.peer), false)
	case fileInSession:
		if s.stream != nil && s.stream.Got >= s.stream.Total {
			return // the writer is finishing
		}
		s.end(fmt.Errorf("%w by %s", ErrCancelled, s.l.peer), false)
	case fetchSession:
		s.end(fmt.Errorf("%w: %s closed the session before sending the object", ErrDeclined, s.l.peer), false)
	}
}

// onData takes a whole data message (an object).
func (s *session) onData(m *p2p.Message) {
	if s.kind != fetchSession {
		return
	}
	if err := s.obj.Verify(m.Data); err != nil {
		s.end(fmt.Errorf("client: %s sent an object whose SHA1D is not %s: %w", s.l.peer, s.obj.SHA1D, err), true)
		return
	}
	res := s.result
	s.result = nil
	s.end(nil, true)
	res <- fetchResult{data: m.Data}
}

// fileChunk takes a chunk of the file being received, on a switchboard's
// read goroutine. It hands the data to the writer goroutine, waiting (with
// the link unlocked) while the writer is more than receiveBuffer behind:
// the switchboard then holds the sender back.
func (s *session) fileChunk(pkt p2p.Packet) {
	if !s.receiving {
		return
	}
	h := pkt.Header
	if s.stream == nil {
		if h.DataOffset != 0 || h.TotalSize != uint64(s.t.Size) {
			s.end(fmt.Errorf("client: %s sent data of %d bytes for a file of %d: %w", s.l.peer, h.TotalSize, s.t.Size, ErrProtocol), true)
			return
		}
		s.stream = p2p.NewStream(h)
	}
	fresh, done, err := s.stream.Add(h)
	if err != nil {
		s.end(fmt.Errorf("client: receiving %q from %s: %w", s.t.Name, s.l.peer, err), true)
		return
	}
	if !fresh {
		return
	}
	s.arm(s.l.cl.cfg.TransferTimeout)
	b := append([]byte(nil), pkt.Data...)
	select {
	case s.chunks <- b:
	default:
		l := s.l
		l.mu.Unlock()
		select {
		case s.chunks <- b:
		case <-s.stop:
		}
		l.mu.Lock()
		if s.closed {
			return
		}
	}
	if done {
		s.l.ack(h)
		close(s.chunks)
	}
}

// write is the goroutine that writes a received file to w.
func (s *session) write(w io.Writer) {
	l := s.l
	var n int64
	for {
		select {
		case b, ok := <-s.chunks:
			if !ok {
				l.mu.Lock()
				s.end(nil, true)
				l.mu.Unlock()
				return
			}
			if _, err := w.Write(b); err != nil {
				l.mu.Lock()
				s.end(fmt.Errorf("client: writing %q: %w", s.t.Name, err), true)
				l.mu.Unlock()
				return
			}
			n += int64(len(b))
			s.t.progress(n)
		case <-s.stop:
			return
		}
	}
}

// startSending begins the file's data once the receiver accepted.
func (s *session) startSending() {
	t := s.t
	if !t.begin() {
		return
	}
	l := s.l
	s.arm(l.cl.cfg.TransferTimeout)
	if t.Size == 0 {
		s.allSent = true
		s.end(nil, false)
		return
	}
	h := p2p.Header{SessionID: s.id, Identifier: l.nextID(), TotalSize: uint64(t.Size), Flags: p2p.FlagsFileData, AckID: tag()}
	var readErr error
	m := &outMsg{
		h: h, appID: p2p.AppIDFile, src: make(chan []byte, 2*p2pWindow), stop: s.stop,
		err: func() error { return readErr },
		sent: func(n uint64) {
			s.arm(l.cl.cfg.TransferTimeout)
			t.progress(int64(n))
		},
		done: func(err error) {
			if err != nil {
				s.end(err, true)
				return
			}
			// Every chunk left: wait for the receiver's ACK or BYE.
			s.allSent = true
			s.arm(l.cl.cfg.TransferTimeout)
		},
	}
	l.expectAck(h, func() { s.end(nil, false) })
	l.queueData(m)
	r := s.source
	wake := func() {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	// Not a goroutine Close waits for, like the writer of a received
	// file: it stops at the session's end, or when a stuck Read returns.
	go func() {
		defer wake() // after close: the pump learns that the file ended
		defer close(m.src)
		left := t.Size
		for left > 0 {
			b := make([]byte, min(int64(p2p.MaxChunk), left))
			if _, err := io.ReadFull(r, b); err != nil {
				readErr = fmt.Errorf("client: reading %q: %w", t.Name, err)
				return
			}
			select {
			case m.src <- b:
			case <-s.stop:
				return
			}
			left -= int64(len(b))
			wake()
		}
	}()
}

// serveObject answers an INVITE for one of our objects: 200 OK, the data
// preparation and the data, back to back as Pidgin sends them, or 603
// for an object we did not publish.
func (l *link) serveObject(inv *p2p.SLP, decline func(string)) {
	obj, err := contextObject(inv.Context())
	if err != nil {
		decline(err.Error())
		return
	}
	data, ok := l.cl.p2p.lookup(obj)
	if !ok {
		decline("object not published")
		return
	}
	if data == nil {
		data = []byte{} // an empty object is still a whole message
	}
	appID := inv.AppID()
	if appID == 0 {
		appID = p2p.AppIDObject
	}
	s := &session{kind: serveSession, id: inv.SessionID(), callID: inv.CallID, invite: inv, appID: appID}
	l.add(s, l.cl.cfg.TransferTimeout)
	s.send(inv.Reply(p2p.StatusOK, p2p.ContentSessionRequest, p2p.SessionBody(s.id)))
	if l.guid == "" {
		// Version 2 has none: TFFirst on the data says as much.
		l.queueControl(p2p.Header{SessionID: s.id, Identifier: l.nextID(), AckID: tag()}, []byte{0, 0, 0, 0}, appID, nil)
	}
	l.queueData(&outMsg{
		h:     p2p.Header{SessionID: s.id, Identifier: l.nextID(), TotalSize: uint64(len(data)), Flags: p2p.FlagsObjectData, AckID: tag()},
		appID: appID, data: data, stop: s.stop,
		done: func(err error) {
			if err != nil {
				s.end(err, false)
				return
			}
			s.arm(l.cl.cfg.TransferTimeout) // for the requester's BYE
		},
	})
}

// contextObject decodes the MSNObject of an object INVITE's Context.
func contextObject(ctx string) (*p2p.Object, error) {
	b, err := decodeBase64(ctx)
	if err != nil {
		return nil, fmt.Errorf("context is not base64: %w", err)
	}
	return p2p.ParseObject(string(b))
}

// decodeBase64 accepts base64 with or without its padding.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// offerFile turns a file INVITE into a FileOffer event.
func (l *link) offerFile(cv *Conversation, inv *p2p.SLP, decline func(string)) {
	b, err := decodeBase64(inv.Context())
	if err != nil {
		decline("context is not base64")
		return
	}
	fc, err := p2p.ParseFileContext(b)
	if err != nil || fc.Size > 1<<62 {
		decline("unreadable file context")
		return
	}
	s := &session{kind: fileInSession, id: inv.SessionID(), callID: inv.CallID, invite: inv, appID: p2p.AppIDFile}
	s.t = l.cl.newTransfer(l.peer, File{Name: fc.Name, Size: int64(fc.Size), Preview: fc.Preview}, true, false, &p2pTransfer{s})
	l.add(s, l.cl.cfg.OfferTimeout)
	l.cl.emit(&FileOffer{Conversation: cv, From: l.peer, Transfer: s.t})
}

// p2pTransfer is the P2P side of a Transfer.
type p2pTransfer struct{ s *session }

func (p *p2pTransfer) accept(w io.Writer) error {
	s := p.s
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%w: the offer ended", ErrTransferState)
	}
	s.receiving = true
	s.chunks = make(chan []byte, receiveBuffer/p2p.MaxChunk)
	s.send(s.reply(p2p.StatusOK))
	s.arm(l.cl.cfg.TransferTimeout)
	// Not a goroutine Close waits for: an io.Writer stuck in a call must
	// not hold up the client's end. It stops at the session's.
	go s.write(w)
	if s.t.Size == 0 {
		close(s.chunks)
	}
	return nil
}

func (p *p2pTransfer) decline() error {
	s := p.s
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if !s.closed {
		l.sendSLP(s.reply(p2p.StatusDecline))
		s.end(fmt.Errorf("%w by you", ErrDeclined), false)
	}
	return nil
}

func (p *p2pTransfer) cancel() {
	s := p.s
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.closed {
		return
	}
	if s.kind == fileInSession && !s.receiving {
		l.sendSLP(s.reply(p2p.StatusDecline))
		s.end(fmt.Errorf("%w by you", ErrCancelled), false)
		return
	}
	s.end(fmt.Errorf("%w by you", ErrCancelled), true)
}
