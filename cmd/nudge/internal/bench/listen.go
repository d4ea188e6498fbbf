package bench

import (
	"bytes"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nudge-im/nudge/msnp"
)

// tally is what the fan-out's contacts heard of one user: how many were
// told the user signed in, and when each was told of the change (to away).
type tally struct {
	star    []byte
	online  atomic.Int64
	told    atomic.Int64 // arrivals written to arrived
	slots   atomic.Int64 // arrivals claimed
	arrived []time.Time
}

func newTally(star string, contacts int) *tally {
	return &tally{star: []byte(star), arrived: make([]time.Time, contacts)}
}

// nln counts an NLN heard at at; it reports whether it was the change,
// the last thing the contact waits for.
func (t *tally) nln(status, email []byte, at time.Time) bool {
	if !bytes.Equal(email, t.star) {
		return false
	}
	if string(status) != "AWY" {
		t.online.Add(1)
		return false
	}
	if i := t.slots.Add(1) - 1; int(i) < len(t.arrived) {
		t.arrived[i] = at
		t.told.Add(1)
	}
	return true
}

// line counts one command line (without its line ending) heard at at.
func (t *tally) line(line []byte, at time.Time) bool {
	name, rest, _ := bytes.Cut(line, []byte(" "))
	if string(name) != "NLN" {
		return false
	}
	status, rest, _ := bytes.Cut(rest, []byte(" "))
	email, _, _ := bytes.Cut(rest, []byte(" "))
	return t.nln(status, email, at)
}

// arrivals are the times the contacts were told of the change, once all
// were (or as many as were when waiting stopped).
func (t *tally) arrivals() []time.Time { return t.arrived[:t.told.Load()] }

// maxPartial bounds the start of a line kept across reads.
const maxPartial = 64 << 10

var errLineTooLong = errors.New("a command line from the server is too long")

// lines frames what one connection hears into command lines, as
// msnp.Reader does, but over bytes read elsewhere (one read buffer shared
// by thousands of connections): it keeps only the start of a line a read
// cut off, and steps over payloads (the length is the last parameter of
// the commands msnp.CarriesPayload names).
type lines struct {
	partial []byte
	skip    int // payload bytes still to come
}

// feed passes each complete line of p to line.
func (l *lines) feed(p []byte, line func([]byte)) error {
	for len(p) > 0 {
		if l.skip > 0 {
			n := min(l.skip, len(p))
			l.skip -= n
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(l.partial)+len(p) > maxPartial {
				return errLineTooLong
			}
			l.partial = append(l.partial, p...)
			return nil
		}
		ln := p[:i]
		p = p[i+1:]
		if len(l.partial) > 0 {
			l.partial = append(l.partial, ln...)
			ln = l.partial
		}
		ln = bytes.TrimSuffix(ln, []byte("\r"))
		l.skip = payloadLength(ln)
		line(ln)
		l.partial = l.partial[:0]
	}
	return nil
}

// payloadLength is the length of the payload that follows line, or 0.
func payloadLength(line []byte) int {
	name, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !msnp.CarriesPayload(msnp.FromServer, string(name)) {
		return 0
	}
	last := rest[bytes.LastIndexByte(rest, ' ')+1:]
	n, err := strconv.Atoi(string(last))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// readers listens to each contact with a goroutine and its msnp.Reader:
// for connections without a file descriptor to watch.
type readers struct {
	t  *tally
	wg sync.WaitGroup
}

func (r *readers) listen(x *raw) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := x.r.ReadCommand()
			if err != nil {
				return
			}
			if c.Name == "NLN" && r.t.nln([]byte(c.Param(0)), []byte(c.Param(1)), time.Now()) {
				return
			}
		}
	}()
}

// stop waits for the readers, whose connections the caller closed.
func (r *readers) stop() { r.wg.Wait() }
