package msnp

import (
	"bufio"
	"io"
	"net/url"
	"strings"
)

// Writer writes commands to one side of an MSNP connection. Commands are
// buffered; Flush sends them, so that a burst of replies goes out in one
// write.
type Writer struct {
	w   *bufio.Writer
	buf []byte
}

// NewWriter returns a Writer that buffers up to 4 KiB before writing.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 4096)}
}

// WriteCommand validates c and buffers its wire form.
func (w *Writer) WriteCommand(c *Command) error {
	if err := c.Validate(); err != nil {
		return err
	}
	w.buf = AppendCommand(w.buf[:0], c)
	_, err := w.w.Write(w.buf)
	return err
}

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

// DecodeParam decodes a URL-encoded parameter such as a friendly name. A
// malformed escape is kept as it is rather than rejected: names from old
// clients are shown, not refused.
func DecodeParam(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	d, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return d
}

// EncodeParam encodes a name so that it is one parameter on the wire, the
// way the official servers sent names: URL-encoded UTF-8. It escapes '%',
// white space, control bytes and every byte above 0x7f ("Café" is
// "Caf%C3%A9"): clients URL-decode a name and read the bytes as UTF-8, and
// some take raw bytes above 0x7f for another character set. Other ASCII
// stays as it is.
func EncodeParam(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

func needsEscape(c byte) bool {
	return c == '%' || c == ' ' || c < 0x20 || c >= 0x7f
}
