package msnp

import (
	"errors"
	"strconv"
	"strings"
)

// Command is one MSNP command, reply, notification or error.
//
// Params hold the parameters after the name and the TrID, as they are on the
// wire (still URL-encoded), without the payload length: the length is
// implied by Payload. A nil Payload means the command has none; a non-nil
// empty Payload is written as a length of 0.
type Command struct {
	Name    string
	TrID    uint32
	HasTrID bool
	Params  []string
	Payload []byte
}

// New returns a command with a TrID: a client request or a server reply.
func New(name string, trid uint32, params ...string) *Command {
	return &Command{Name: name, TrID: trid, HasTrID: true, Params: params}
}

// Notice returns a command without a TrID, such as NLN, FLN, RNG, JOI, BYE,
// QNG or OUT.
func Notice(name string, params ...string) *Command {
	return &Command{Name: name, Params: params}
}

// Error returns the error reply code to the request with the given TrID.
func Error(code ErrorCode, trid uint32) *Command {
	return &Command{Name: code.Name(), TrID: trid, HasTrID: true}
}

// WithPayload sets the payload and returns the command, for chaining.
func (c *Command) WithPayload(p []byte) *Command {
	c.Payload = p
	return c
}

// Param returns the i-th parameter, or "" when there are fewer.
func (c *Command) Param(i int) string {
	if i < 0 || i >= len(c.Params) {
		return ""
	}
	return c.Params[i]
}

// IsError reports whether the command is a numeric error reply.
func (c *Command) IsError() bool {
	return len(c.Name) == 3 && isDigit(c.Name[0]) && isDigit(c.Name[1]) && isDigit(c.Name[2])
}

// ErrorCode returns the code of an error reply, or 0 when c is not one.
func (c *Command) ErrorCode() ErrorCode {
	if !c.IsError() {
		return 0
	}
	n, _ := strconv.Atoi(c.Name)
	return ErrorCode(n)
}

// String formats the command for logs: its line without CRLF, and the
// payload length instead of the payload.
func (c *Command) String() string {
	b := appendLine(nil, c)
	return string(b)
}

// Validate checks that the command can be written without corrupting the
// stream: a name of three letters or digits, no empty parameter, and no
// space, CR or LF inside a parameter.
func (c *Command) Validate() error {
	if len(c.Name) != 3 {
		return errInvalidName
	}
	for i := 0; i < 3; i++ {
		ch := c.Name[i]
		if !(ch >= 'A' && ch <= 'Z') && !isDigit(ch) {
			return errInvalidName
		}
	}
	for _, p := range c.Params {
		if p == "" || strings.ContainsAny(p, " \r\n\t") {
			return errInvalidParam
		}
	}
	return nil
}

var (
	errInvalidName  = errors.New("msnp: command name must be three upper-case letters or digits")
	errInvalidParam = errors.New("msnp: parameter is empty or contains white space")
)

// WireSize is the length of c's wire form: what AppendCommand appends.
func (c *Command) WireSize() int {
	n := len(c.Name) + 2 + len(c.Payload)
	if c.HasTrID {
		n += 1 + digits(uint64(c.TrID))
	}
	for _, p := range c.Params {
		n += 1 + len(p)
	}
	if c.Payload != nil {
		n += 1 + digits(uint64(len(c.Payload)))
	}
	return n
}

func digits(n uint64) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// AppendCommand appends the wire form of c (line, CRLF and payload) to dst.
// It does not validate c; Writer.WriteCommand does.
func AppendCommand(dst []byte, c *Command) []byte {
	dst = appendLine(dst, c)
	dst = append(dst, '\r', '\n')
	return append(dst, c.Payload...)
}

func appendLine(dst []byte, c *Command) []byte {
	dst = append(dst, c.Name...)
	if c.HasTrID {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, uint64(c.TrID), 10)
	}
	for _, p := range c.Params {
		dst = append(dst, ' ')
		dst = append(dst, p...)
	}
	if c.Payload != nil {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(len(c.Payload)), 10)
	}
	return dst
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
