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

// buffers are the input buffers of Readers whose connections are idle. A
// server holds tens of thousands of connections that are silent almost
// all the time; over a socket a Reader keeps a buffer only while part of a
// command waits to be read, and shares one pool with all the others.
var buffers = sync.Pool{New: func() any { return new([bufferSize]byte) }}

// input is a Reader's buffer and the source that fills it.
type input struct {
	src    io.Reader
	sock   socket // src as a socket that can wait without a buffer, when sock.ok
	data   []byte // the buffer; nil while a socket is idle
	pooled bool   // data came from buffers
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
	var data []byte
	pooled := size <= bufferSize
	if pooled {
		data = buffers.Get().(*[bufferSize]byte)[:]
	} else {
		data = make([]byte, size)
	}
	copy(data, in.data[in.r:in.w])
	in.w -= in.r
	in.r = 0
	in.release()
	in.data, in.pooled = data, pooled
}

// release returns the buffer to the pool; only what was consumed is lost.
func (in *input) release() {
	if in.pooled {
		buffers.Put((*[bufferSize]byte)(in.data))
	}
	in.data, in.pooled = nil, false
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
