package msnp

import (
	"io"
	"net"
	"sync"
	"syscall"
)

// bufferSize is the size of a Reader's input buffer: one line of the
// longest length accepted by default.
const bufferSize = DefaultMaxLine

// LargeReadSize is how much one read of a Reader with LargeReads takes.
const LargeReadSize = 16 << 10

// buffers are the input buffers of Readers whose connections are idle. A
// server holds tens of thousands of connections that are silent almost
// all the time; over a socket a Reader keeps a buffer only while part of a
// command waits to be read, and shares one pool with all the others.
// largeBuffers are lent to Readers with LargeReads for a read and what is
// handled from it: a Reader never waits holding one.
var (
	buffers      = sync.Pool{New: func() any { return new([bufferSize]byte) }}
	largeBuffers = sync.Pool{New: func() any { return new([LargeReadSize]byte) }}
)

// Where an input's buffer came from.
const (
	unpooled = iota
	smallPool
	largePool
)

// input is a Reader's buffer and the source that fills it.
type input struct {
	src    io.Reader
	sock   socket // src as a socket that can wait without a buffer, when sock.ok
	data   []byte // the buffer; nil while a socket is idle
	pooled int    // the pool data came from
	large  bool   // socket reads take up to LargeReadSize
	r, w   int    // data[r:w] is read but not yet consumed
}

func (in *input) init(src io.Reader) {
	in.src = src
	if c, ok := src.(interface {
		net.Conn
		syscall.Conn
	}); ok {
		in.sock.init(c, in)
	}
}

func (in *input) buffered() []byte { return in.data[in.r:in.w] }

// ensure makes sure there is a buffer of at least size bytes.
func (in *input) ensure(size int) {
	if len(in.data) >= size {
		return
	}
	pooled := unpooled
	if size <= bufferSize {
		pooled = smallPool
	}
	in.replace(size, pooled)
}

// ensureRead is ensure for a read from the socket: with large reads it
// borrows a large buffer for it.
func (in *input) ensureRead(size int) {
	if in.large && in.pooled != largePool && size <= LargeReadSize {
		in.replace(LargeReadSize, largePool)
		return
	}
	in.ensure(size)
}

// shrink gives a large buffer back before the Reader waits, keeping what
// is unread (the start of a command) in a small one, when it fits.
func (in *input) shrink() {
	if in.pooled == largePool && in.w-in.r <= bufferSize {
		in.replace(bufferSize, smallPool)
	}
}

// replace moves what is unread to a new buffer of size bytes from pool.
func (in *input) replace(size, pool int) {
	var data []byte
	switch pool {
	case smallPool:
		data = buffers.Get().(*[bufferSize]byte)[:]
	case largePool:
		data = largeBuffers.Get().(*[LargeReadSize]byte)[:]
	default:
		data = make([]byte, size)
	}
	copy(data, in.data[in.r:in.w])
	in.w -= in.r
	in.r = 0
	in.release()
	in.data, in.pooled = data, pool
}

// release returns the buffer to the pool; only what was consumed is lost.
func (in *input) release() {
	switch in.pooled {
	case smallPool:
		buffers.Put((*[bufferSize]byte)(in.data))
	case largePool:
		largeBuffers.Put((*[LargeReadSize]byte)(in.data))
	}
	in.data, in.pooled = nil, unpooled
}

// fill reads more input, keeping what is unread, into a buffer of at least
// size bytes. It returns the number of bytes added.
func (in *input) fill(size int) (int, error) {
	if in.r == in.w {
		in.r, in.w = 0, 0
		if in.sock.ok && len(in.data) <= bufferSize {
			// Nothing is pending: wait for the socket with no buffer
			// at all, and take one when there is something to read.
			in.release()
			return in.sock.read(size)
		}
	} else if in.r > 0 && in.w == len(in.data) {
		in.w = copy(in.data, in.data[in.r:in.w])
		in.r = 0
	}
	in.ensure(size)
	if in.w == len(in.data) {
		return 0, nil // full: the caller sees no progress and gives up
	}
	if in.sock.ok {
		return in.sock.read(size)
	}
	n, err := in.src.Read(in.data[in.w:])
	in.w += n
	if n > 0 {
		err = nil // the next read reports it again
	}
	return n, err
}
