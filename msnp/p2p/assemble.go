package p2p

import (
	"errors"
	"fmt"
)

// ErrTooLarge is returned for a message larger than the receiver buffers.
var ErrTooLarge = errors.New("p2p: message too large")

// ErrOutOfOrder is returned for a chunk that does not continue the message
// it belongs to, or continues no known message.
var ErrOutOfOrder = errors.New("p2p: chunk out of order")

// Stream follows the chunks of one incoming message, checking that each
// continues where the previous ended — the check whose absence let crafted
// offsets corrupt memory in older clients. A receiver that writes a file
// as it arrives uses a Stream directly; Assembler uses one per message it
// buffers.
type Stream struct {
	SessionID  uint32
	Identifier uint32
	Total      uint64 // TotalSize of the message
	Got        uint64 // bytes received so far
}

// NewStream starts following the message whose first chunk has header h.
func NewStream(h Header) *Stream {
	return &Stream{SessionID: h.SessionID, Identifier: h.Identifier, Total: h.TotalSize}
}

// Add takes the header of the next chunk. It reports whether the chunk is
// new (false for a chunk already received, which a sender may repeat after
// a switchboard NAK) and whether the message is now complete. A chunk of
// another message, with another total, or leaving a gap is an error.
func (s *Stream) Add(h Header) (fresh, done bool, err error) {
	if h.SessionID != s.SessionID || h.Identifier != s.Identifier || h.TotalSize != s.Total {
		return false, false, fmt.Errorf("%w: chunk of another message", ErrOutOfOrder)
	}
	end := h.DataOffset + uint64(h.Length) // Parse checked that it does not overflow
	switch {
	case end <= s.Got && h.Length > 0:
		return false, false, nil
	case h.DataOffset != s.Got:
		return false, false, fmt.Errorf("%w: offset %d, %d bytes received", ErrOutOfOrder, h.DataOffset, s.Got)
	}
	s.Got = end
	return true, s.Got >= s.Total, nil
}

// Message is a whole P2P message: the header of its first chunk (with
// DataOffset 0 and Length the whole size), all its data, and the footer.
type Message struct {
	Header Header
	Data   []byte
	AppID  uint32
}

type partial struct {
	s   *Stream
	h   Header
	buf []byte
}

// Assembler puts together the chunks of the P2P messages a peer sends,
// keyed by (SessionID, Identifier) as every client does. It buffers at
// most MaxSize bytes per message and MaxPending messages at a time (the
// oldest is dropped for a new one). It is not safe for concurrent use.
type Assembler struct {
	MaxSize    uint64 // default 1 MiB
	MaxPending int    // default 16

	pending openMessages[*partial]
}

// Add takes one packet of data (not an ACK). It returns the whole message
// when p completes one; a chunk received twice is ignored.
func (a *Assembler) Add(p Packet) (*Message, error) {
	h := p.Header
	maxSize := a.MaxSize
	if maxSize == 0 {
		maxSize = 1 << 20
	}
	k := msgKey{h.SessionID, h.Identifier}
	part := a.pending.get(k)
	if part == nil {
		if h.DataOffset != 0 {
			return nil, fmt.Errorf("%w: offset %d of an unknown message", ErrOutOfOrder, h.DataOffset)
		}
		if h.TotalSize > maxSize {
			return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrTooLarge, h.TotalSize, maxSize)
		}
		if uint64(h.Length) == h.TotalSize {
			m := &Message{Header: h, Data: append([]byte(nil), p.Data...), AppID: p.AppID}
			return m, nil
		}
		part = &partial{s: NewStream(h), h: h, buf: make([]byte, 0, h.TotalSize)}
		a.pending.add(k, part, a.MaxPending)
	}
	fresh, done, err := part.s.Add(h)
	if err != nil {
		a.pending.remove(k)
		return nil, err
	}
	if fresh {
		part.buf = append(part.buf, p.Data...)
	}
	if !done {
		return nil, nil
	}
	a.pending.remove(k)
	m := &Message{Header: part.h, Data: part.buf, AppID: p.AppID}
	m.Header.Length = uint32(min(m.Header.TotalSize, 1<<32-1))
	return m, nil
}

// Forget drops what was received of every message of a session, as when a
// BYE ends it: late chunks then no longer continue anything.
func (a *Assembler) Forget(session uint32) { a.pending.forget(session) }
