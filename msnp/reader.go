package msnp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

// Direction says who sent the bytes a Reader reads. The two directions have
// different payload commands and different TrID rules.
type Direction uint8

const (
	FromClient Direction = iota // a server reads what clients send
	FromServer                  // a client reads what servers send
)

func (d Direction) String() string {
	if d == FromClient {
		return "client→server"
	}
	return "server→client"
}

// Default limits. MaxMessagePayload is the switchboard's cap on one MSG.
const (
	DefaultMaxLine    = 4096
	DefaultMaxPayload = 7500
	MaxMessagePayload = 1664
)

// Errors a Reader reports, wrapped in a *ReadError.
var (
	ErrLineTooLong     = errors.New("command line too long")
	ErrPayloadTooLarge = errors.New("payload too large")
	ErrBadTrID         = errors.New("missing or invalid transaction id")
	ErrBadLength       = errors.New("missing or invalid payload length")
	ErrMalformed       = errors.New("malformed command")
)

// ReadError describes a command that could not be read.
//
// InSync says whether the stream is still at a command boundary, so that the
// reader can go on with the next command after an error reply. Name and TrID
// are filled in as far as they could be read.
type ReadError struct {
	Err     error
	Name    string
	TrID    uint32
	HasTrID bool
	InSync  bool
}

func (e *ReadError) Error() string {
	if e.Name == "" {
		return "msnp: " + e.Err.Error()
	}
	return fmt.Sprintf("msnp: %s: %v", e.Name, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// Code is the error reply the protocol defines for this failure.
func (e *ReadError) Code() ErrorCode {
	if errors.Is(e.Err, ErrBadTrID) || errors.Is(e.Err, ErrMalformed) || errors.Is(e.Err, ErrBadLength) {
		return ErrSyntax
	}
	return ErrInvalidParameter
}

// clientPayload are the commands whose client form carries a payload.
var clientPayload = set("MSG", "QRY", "UUX", "NOT", "ADL", "RML", "FQY", "UUN", "UUM", "PUT", "DEL", "SDG", "VAS", "SDC", "PAG", "PGD")

// serverPayload are the commands whose server form may carry a payload; the
// length is then the last parameter ("ADL 5 OK" has none).
var serverPayload = set("MSG", "IPG", "NOT", "UBX", "GCF", "UBM", "UBN", "UUN", "ADL", "RML", "FQY", "NFY", "SDG", "PUT", "204", "241", "509")

// clientNoTrID are the client commands that carry no TrID.
var clientNoTrID = set("PNG", "OUT")

// serverNoTrID are the server commands that never carry a TrID.
var serverNoTrID = set("MSG", "NLN", "FLN", "RNG", "JOI", "BYE", "QNG", "OUT", "UBX", "NOT", "IPG", "UBN", "UBM", "BPR", "NFY")

// serverMaybeTrID are server commands that carry a TrID in some forms only:
// as a reply and in MSNP2–7 list dumps they do, in MSNP8+ dumps they do not.
// Their first parameter is never numeric otherwise.
var serverMaybeTrID = set("LST", "GTC", "BLP", "PRP")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Reader reads commands from one side of an MSNP connection.
//
// Over a socket, a Reader holds no buffer while the connection is idle: it
// waits for input with none and takes one from a pool shared by all
// Readers when there is something to read, so that tens of thousands of
// silent connections do not each keep one.
type Reader struct {
	in   input
	dir  Direction
	last nameTraits // the command name last read

	// MaxLine is the longest command line accepted, CRLF included.
	MaxLine int
	// MaxPayload is the largest payload accepted.
	MaxPayload int
	// Version is the negotiated version, when known. A FromServer reader
	// needs it for LSG, whose TrID only MSNP7 sends.
	Version Version

	// BeforeRead, when set, runs each time the Reader has used up what it
	// read and is about to read from the connection again. A server
	// flushes the replies it queued there: the answers to a burst of
	// commands leave together, and none wait while the Reader waits.
	BeforeRead func()
}

// LargeReads makes each read from a socket take up to LargeReadSize bytes,
// in a buffer lent for the read and what is handled from it: a relay that
// reads many commands at once makes fewer system calls. The Reader still
// waits with no buffer, or a small one holding the start of a command.
func (r *Reader) LargeReads() { r.in.large = true }

// NewReader returns a Reader with the default limits.
func NewReader(r io.Reader, dir Direction) *Reader {
	rd := &Reader{dir: dir, MaxLine: DefaultMaxLine, MaxPayload: DefaultMaxPayload}
	rd.in.init(r)
	return rd
}

// fill reads more input into a buffer of at least size bytes.
func (r *Reader) fill(size int) (int, error) {
	if r.BeforeRead != nil {
		r.BeforeRead()
	}
	return r.in.fill(size)
}

// Buffered returns the number of bytes read from the connection but not yet
// consumed as commands.
func (r *Reader) Buffered() int { return r.in.w - r.in.r }

// Wait returns once there is input to read, or the read fails (the
// error ReadInto would return). Over a socket it waits with no buffer.
//
// A server waiting for a client that may stay silent for hours calls
// Wait first, from a shallow call: the goroutine then waits with the
// smallest of stacks, where ReadInto, which waits deeper, would need a
// bigger one. That is most of what an idle connection costs.
func (r *Reader) Wait() error {
	if r.Buffered() > 0 {
		return nil
	}
	_, err := r.fill(bufferSize)
	return err
}

// ReadCommand reads the next command.
func (r *Reader) ReadCommand() (*Command, error) {
	c := new(Command)
	if err := r.ReadInto(c); err != nil {
		return nil, err
	}
	return c, nil
}

// ReadInto reads the next command into c, reusing the capacity of its
// Params and Payload. Hot loops use it to avoid allocating per command: a
// command whose parameters are all common protocol words (a switchboard's
// "MSG 12 A 130", say) costs no allocation at all. The caller must not keep
// c.Payload past the next call.
func (r *Reader) ReadInto(c *Command) error {
	line, err := r.readLine()
	if err != nil {
		return err
	}
	var spans [16]span
	toks := tokenize(spans[:0], line)
	if len(toks) == 0 || toks[0].len() != 3 {
		return &ReadError{Err: ErrMalformed, InSync: true}
	}
	ls := lineStrings{line: line}
	name := r.name(&ls, toks[0])
	c.Name = name.name
	c.TrID, c.HasTrID = 0, false
	c.Params = c.Params[:0]
	c.Payload = c.Payload[:0]
	payload := name.payload
	toks = toks[1:]

	var first []byte
	if len(toks) > 0 {
		first = toks[0].of(line)
	}
	if name.trid == alwaysTrID || name.trid == maybeTrID && r.hasTrID(c.Name, first) {
		trid, ok := parseTrID(first)
		if !ok {
			// The length, if any, is unknowable now: only a command
			// without payload leaves the stream in step.
			return &ReadError{Err: ErrBadTrID, Name: c.Name, InSync: !payload}
		}
		c.TrID, c.HasTrID = trid, true
		toks = toks[1:]
	}

	length := -1
	if payload && len(toks) > 0 {
		if n, ok := parseLength(toks[len(toks)-1].of(line)); ok {
			length = n
			toks = toks[:len(toks)-1]
		}
	}
	for _, t := range toks {
		c.Params = append(c.Params, ls.str(t))
	}

	if !payload {
		c.Payload = nil
		return nil
	}
	if length < 0 {
		if r.dir == FromServer { // "ADL 5 OK", "MSG" without payload
			c.Payload = nil
			return nil
		}
		return &ReadError{Err: ErrBadLength, Name: c.Name, TrID: c.TrID, HasTrID: c.HasTrID, InSync: false}
	}
	if length > r.MaxPayload {
		re := &ReadError{Err: ErrPayloadTooLarge, Name: c.Name, TrID: c.TrID, HasTrID: c.HasTrID}
		// Skipping a payload a little too large keeps the stream in
		// step; a wildly large length is treated as an attack.
		if length <= 16*r.MaxPayload {
			re.InSync = r.skip(length) == nil
		}
		return re
	}
	if c.Payload != nil && cap(c.Payload) >= length {
		c.Payload = c.Payload[:length]
	} else {
		c.Payload = make([]byte, length)
	}
	return r.readFull(c.Payload)
}

// readFull fills p from the input.
func (r *Reader) readFull(p []byte) error {
	for {
		n := copy(p, r.in.buffered())
		r.in.r += n
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
		if _, err := r.fill(bufferSize); err != nil {
			return noEOF(err)
		}
	}
}

// skip consumes n bytes of input.
func (r *Reader) skip(n int) error {
	for {
		k := min(n, r.Buffered())
		r.in.r += k
		n -= k
		if n == 0 {
			return nil
		}
		if _, err := r.fill(bufferSize); err != nil {
			return noEOF(err)
		}
	}
}

// span is a token's position in a line.
type span struct{ start, end int }

func (t span) len() int              { return t.end - t.start }
func (t span) of(line []byte) []byte { return line[t.start:t.end] }

// tokenize splits a line on runs of spaces and tabs, as the official
// servers did.
func tokenize(dst []span, line []byte) []span {
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			break
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		dst = append(dst, span{i, j})
		i = j
	}
	return dst
}

// lineStrings turns tokens into strings: a common protocol word costs
// nothing, anything else is a substring of one string made from the line,
// at most once.
type lineStrings struct {
	line []byte
	s    string
}

func (l *lineStrings) str(t span) string {
	b := t.of(l.line)
	if len(b) == 1 && oneByteWords[b[0]] != "" {
		return oneByteWords[b[0]]
	}
	if w, ok := commonWords[string(b)]; ok {
		return w
	}
	if l.s == "" {
		l.s = string(l.line)
	}
	return l.s[t.start:t.end]
}

// commonWords are the parameters that recur in every session.
var commonWords = func() map[string]string {
	m := map[string]string{}
	for _, w := range commandNames {
		m[w] = w
	}
	for _, w := range []string{
		"U", "N", "A", "D", "OK", "FL", "AL", "BL", "RL", "NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN",
		"HDN", "FLN", "CKI", "SB", "NS", "MD5", "TWN", "I", "S", "0", "1", "CVR0", "RINGING", "Hotmail", "null",
	} {
		m[w] = w
	}
	return m
}()

// readLine returns the next line without its line ending; it is valid
// until the next read. The official servers accept a lone LF as well as
// CRLF; so does this reader.
func (r *Reader) readLine() ([]byte, error) {
	limit := max(r.MaxLine, 1)
	in := &r.in
	scanned := 0
	for {
		if in.data != nil {
			if i := bytes.IndexByte(in.data[in.r+scanned:in.w], '\n'); i >= 0 {
				end := in.r + scanned + i + 1
				line := in.data[in.r:end]
				in.r = end
				if len(line) > limit {
					return nil, &ReadError{Err: ErrLineTooLong}
				}
				return r.checkLine(line[:len(line)-1])
			}
			scanned = in.w - in.r
		}
		if scanned >= limit {
			return nil, &ReadError{Err: ErrLineTooLong}
		}
		n, err := r.fill(max(bufferSize, limit))
		if err != nil {
			if err == io.EOF && in.w > in.r {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if n == 0 {
			return nil, &ReadError{Err: ErrLineTooLong}
		}
	}
}

func (r *Reader) checkLine(line []byte) ([]byte, error) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if bytes.IndexByte(line, 0) >= 0 || bytes.IndexByte(line, '\r') >= 0 {
		return nil, &ReadError{Err: ErrMalformed, InSync: true}
	}
	return line, nil
}

// oneByteWords are the common words of one byte, by that byte.
var oneByteWords = func() (t [256]string) {
	for w := range commonWords {
		if len(w) == 1 {
			t[w[0]] = w
		}
	}
	return t
}()

// nameTraits is a command name and what it implies in the Reader's
// direction.
type nameTraits struct {
	name    string
	payload bool
	trid    int8 // alwaysTrID, noTrID, or maybeTrID: hasTrID decides
}

const (
	noTrID int8 = iota
	alwaysTrID
	maybeTrID
)

// name returns the command name t and its traits. The name last read is
// kept with them: a relay reads MSG after MSG, and knows it by comparing
// three bytes rather than by looking it up three times.
func (r *Reader) name(ls *lineStrings, t span) *nameTraits {
	if last := &r.last; last.name != "" && string(t.of(ls.line)) == last.name {
		return last
	}
	name := ls.str(t)
	r.last = nameTraits{name: name, payload: r.carriesPayload(name), trid: maybeTrID}
	switch {
	case r.dir == FromClient && clientNoTrID[name], r.dir == FromServer && serverNoTrID[name]:
		r.last.trid = noTrID
	case r.dir == FromClient, !serverMaybeTrID[name] && name != "LSG":
		r.last.trid = alwaysTrID
	}
	return &r.last
}

func (r *Reader) carriesPayload(name string) bool { return CarriesPayload(r.dir, name) }

// CarriesPayload reports whether the command name, sent in direction d,
// may carry a payload; its length is then the last parameter. A reader
// that frames commands itself needs it to stay in step.
func CarriesPayload(d Direction, name string) bool {
	if d == FromClient {
		return clientPayload[name]
	}
	return serverPayload[name]
}

// hasTrID decides whether the first parameter is a TrID.
func (r *Reader) hasTrID(name string, first []byte) bool {
	if r.dir == FromClient {
		return !clientNoTrID[name]
	}
	switch {
	case serverNoTrID[name]:
		return false
	case name == "LSG":
		return r.Version != 0 && r.Version <= 7
	case serverMaybeTrID[name]:
		_, ok := parseTrID(first)
		return ok
	}
	return true
}

func parseTrID(s []byte) (uint32, bool) {
	if len(s) == 0 || len(s) > 10 {
		return 0, false
	}
	var n uint64
	for _, c := range s {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

func parseLength(s []byte) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// commandNames are the MSNP2–12 command names.
var commandNames = []string{
	"ACK", "ADC", "ADD", "ADG", "ADL", "ANS", "BLP", "BPR", "BYE", "CAL", "CHG", "CHL", "CVQ", "CVR",
	"FLN", "FND", "FQY", "GCF", "GTC", "ILN", "IMS", "INF", "IPG", "IRO", "JOI", "LSG", "LST", "MSG",
	"NAK", "NLN", "NOT", "OUT", "PAG", "PNG", "PRP", "QNG", "QRY", "REA", "REG", "REM", "RMG", "RML",
	"RNG", "SBP", "SBS", "SDC", "SND", "SYN", "UBX", "URL", "USR", "UUX", "VER", "XFR",
}
