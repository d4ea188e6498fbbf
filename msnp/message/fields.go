package message

import (
	"errors"
	"strings"
)

// ErrMalformedHeader is returned for a header line that is not of the form
// "Name: Value".
var ErrMalformedHeader = errors.New("message: malformed header line")

// A Field is one "Name: Value" line of a header block or of a key/value body.
type Field struct {
	Name, Value string
}

// Fields is an ordered list of "Name: Value" lines, such as the body of an
// invitation, a datacast or a system message. Names are compared without
// regard to case.
type Fields []Field

// Get returns the value of the first field named name, or "".
func (f Fields) Get(name string) string {
	v, _ := f.Lookup(name)
	return v
}

// Lookup returns the value of the first field named name and reports whether
// it is present.
func (f Fields) Lookup(name string) (string, bool) {
	for _, x := range f {
		if strings.EqualFold(x.Name, name) {
			return x.Value, true
		}
	}
	return "", false
}

// Values returns the values of every field named name, in order.
func (f Fields) Values(name string) []string {
	var out []string
	for _, x := range f {
		if strings.EqualFold(x.Name, name) {
			out = append(out, x.Value)
		}
	}
	return out
}

// Set sets the value of the first field named name, keeping its position and
// the case of its name, and removes any later field with that name. If there
// is none, the field is added at the end.
func (f *Fields) Set(name, value string) {
	s := *f
	for i := range s {
		if !strings.EqualFold(s[i].Name, name) {
			continue
		}
		s[i].Value = value
		out := s[:i+1]
		for _, x := range s[i+1:] {
			if !strings.EqualFold(x.Name, name) {
				out = append(out, x)
			}
		}
		clear(s[len(out):])
		*f = out
		return
	}
	*f = append(s, Field{name, value})
}

// Add appends a field.
func (f *Fields) Add(name, value string) {
	*f = append(*f, Field{name, value})
}

// Del removes every field named name.
func (f *Fields) Del(name string) {
	s := *f
	out := s[:0]
	for _, x := range s {
		if !strings.EqualFold(x.Name, name) {
			out = append(out, x)
		}
	}
	clear(s[len(out):])
	*f = out
}

// AppendTo appends the fields as "Name: Value\r\n" lines, without a final
// empty line. Carriage returns and line feeds inside names and values are
// written as spaces, so a field can never end the block early.
func (f Fields) AppendTo(dst []byte) []byte {
	for _, x := range f {
		dst = appendSafe(dst, x.Name)
		dst = append(dst, ':', ' ')
		dst = appendSafe(dst, x.Value)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// String returns the fields as "Name: Value\r\n" lines.
func (f Fields) String() string {
	return string(f.AppendTo(nil))
}

func appendSafe(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// ParseFields parses "Name: Value" lines ending in CRLF or LF, up to the
// first empty line or the end of b; what follows an empty line is ignored.
// White space around names and values is removed. Lines that start with a
// space or tab continue the previous value (RFC 822 folding).
func ParseFields(b []byte) (Fields, error) {
	f, _, err := parseFields(string(b), false)
	return f, err
}

// parseFields parses header lines from s. If needEnd is set, the block must
// end with an empty line; the returned end is the offset just after it.
func parseFields(s string, needEnd bool) (Fields, int, error) {
	// Count lines to size the slice once.
	n := strings.Count(s, "\n") + 1
	if n > 64 {
		n = 64 // grow beyond this only if really needed
	}
	fields := make(Fields, 0, n)
	pos := 0
	for pos < len(s) {
		line, next, ok := nextLine(s, pos)
		if !ok && needEnd {
			return nil, 0, ErrNoHeaderEnd
		}
		if line == "" {
			return fields, next, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, 0, ErrMalformedHeader // continuation with nothing before it
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			return nil, 0, ErrMalformedHeader
		}
		name := strings.TrimRight(line[:colon], " \t")
		if !validName(name) {
			return nil, 0, ErrMalformedHeader
		}
		value := trimSpace(line[colon+1:])
		pos = next
		// Folded continuation lines.
		var parts []string
		for pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') {
			cont, after, ok := nextLine(s, pos)
			if !ok && needEnd {
				return nil, 0, ErrNoHeaderEnd
			}
			if parts == nil {
				parts = append(parts, value)
			}
			if c := trimSpace(cont); c != "" {
				parts = append(parts, c)
			}
			pos = after
		}
		if parts != nil {
			value = strings.Join(parts, " ")
		}
		fields = append(fields, Field{name, value})
	}
	if needEnd {
		return nil, 0, ErrNoHeaderEnd
	}
	return fields, len(s), nil
}

// nextLine returns the line starting at pos without its line ending (LF or
// CRLF), the offset of the next line, and whether a line ending was found.
func nextLine(s string, pos int) (line string, next int, ok bool) {
	i := strings.IndexByte(s[pos:], '\n')
	if i < 0 {
		return s[pos:], len(s), false
	}
	line = s[pos : pos+i]
	if line != "" && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, pos + i + 1, true
}

// validName reports whether name is a non-empty field name without spaces or
// control characters.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func trimSpace(s string) string {
	return strings.Trim(s, " \t")
}
