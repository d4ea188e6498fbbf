package message

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
)

// Header names of messages split over several MSGs.
const (
	HeaderMessageID = "Message-ID"
	HeaderChunks    = "Chunks"
	HeaderChunk     = "Chunk"
)

// Bounds of a chunked message, as Pidgin keeps them: at most MaxChunks
// parts, and at most maxChunkedPending messages being put together per
// ChunkAssembler.
const (
	MaxChunks         = 1024
	maxChunkedPending = 16
)

// ChunkAssembler puts together messages that a sender split over several
// MSGs because they did not fit in one (winks, whose MSNObject carries a
// large stamp, are the usual case). The first part carries the headers,
// "Message-ID: {GUID}" and "Chunks: N"; the others "Message-ID" and
// "Chunk: i" for i from 1 to N-1, in order. Parts out of order, repeated or
// beyond N end the message being put together.
//
// The zero ChunkAssembler is ready to use. It is not safe for concurrent
// use; a switchboard connection's reader owns one.
type ChunkAssembler struct {
	pending []*chunked
}

type chunked struct {
	id    string
	first *Message
	n     int // parts announced
	next  int // index of the part expected next
	body  []byte
}

// IsChunk reports whether m is a part of a chunked message: it has a
// Message-ID and a Chunks or Chunk header.
func IsChunk(m *Message) bool {
	if _, ok := m.Lookup(HeaderMessageID); !ok {
		return false
	}
	_, first := m.Lookup(HeaderChunks)
	_, later := m.Lookup(HeaderChunk)
	return first || later
}

// Add takes one part. It returns the whole message and true when m was the
// last part; the whole message has the headers of the first part, without
// Message-ID and Chunks, and the bodies of every part in order. A message
// that is not a part is returned as it is.
func (a *ChunkAssembler) Add(m *Message) (*Message, bool) {
	if !IsChunk(m) {
		return m, true
	}
	id := m.Get(HeaderMessageID)
	if v, ok := m.Lookup(HeaderChunks); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxChunks {
			return nil, false
		}
		a.drop(id)
		c := &chunked{id: id, first: m, n: n, next: 1, body: append([]byte(nil), m.Body...)}
		if n == 1 {
			return c.whole(), true
		}
		if len(a.pending) == maxChunkedPending {
			a.pending = append(a.pending[:0], a.pending[1:]...)
		}
		a.pending = append(a.pending, c)
		return nil, false
	}
	i, err := strconv.Atoi(m.Get(HeaderChunk))
	for k, c := range a.pending {
		if c.id != id {
			continue
		}
		if err != nil || i != c.next || len(c.body)+len(m.Body) > MaxChunks*maxPartBody {
			a.pending = append(a.pending[:k], a.pending[k+1:]...)
			return nil, false
		}
		c.body = append(c.body, m.Body...)
		c.next++
		if c.next < c.n {
			return nil, false
		}
		a.pending = append(a.pending[:k], a.pending[k+1:]...)
		return c.whole(), true
	}
	return nil, false
}

// maxPartBody bounds the body of one part: an MSG payload's worth.
const maxPartBody = 1664

func (a *ChunkAssembler) drop(id string) {
	for k, c := range a.pending {
		if c.id == id {
			a.pending = append(a.pending[:k], a.pending[k+1:]...)
			return
		}
	}
}

func (c *chunked) whole() *Message {
	f := c.first.Fields()
	f.Del(HeaderMessageID)
	f.Del(HeaderChunks)
	return &Message{fields: f, Body: c.body}
}

// Split cuts m into parts whose wire form is at most max bytes each, the
// way aMSN sends long datacasts: the first part has m's headers plus
// "Message-ID" and "Chunks", the others "Message-ID" and "Chunk". A message
// that fits is returned alone, unchanged.
func Split(m *Message, max int) ([]*Message, error) {
	if m.Len() <= max {
		return []*Message{m}, nil
	}
	id := NewGUID()
	first := &Message{fields: m.Fields()}
	first.fields.Add(HeaderMessageID, id)
	first.fields.Add(HeaderChunks, "0000") // room for the count, set below
	later := &Message{fields: Fields{{HeaderMessageID, id}, {HeaderChunk, "0000"}}}
	room0, room := max-first.Len(), max-later.Len()
	if room0 <= 0 || room <= 0 {
		return nil, fmt.Errorf("message: headers alone are longer than %d bytes", max)
	}
	body := m.Body
	var parts []*Message
	n := min(room0, len(body))
	first.Body, body = body[:n:n], body[n:]
	parts = append(parts, first)
	for i := 1; len(body) > 0; i++ {
		n := min(room, len(body))
		parts = append(parts, &Message{fields: Fields{{HeaderMessageID, id}, {HeaderChunk, strconv.Itoa(i)}}, Body: body[:n:n]})
		body = body[n:]
	}
	if len(parts) > MaxChunks {
		return nil, fmt.Errorf("message: %d bytes need more than %d parts", m.Len(), MaxChunks)
	}
	first.fields.Set(HeaderChunks, strconv.Itoa(len(parts)))
	return parts, nil
}

// NewGUID returns a random (version 4) GUID in braces and upper case, the
// form MSN clients write in Message-ID, Call-ID and branch values:
// "{7E0C8F6A-3F0B-4A53-9C55-2B1F6A0E9D41}".
func NewGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("{%x-%x-%x-%x-%x}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
}
