package p2p

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// File context flags (the Type field).
const (
	ContextPreview    = 0 // a preview image follows the context
	ContextNoPreview  = 1
	ContextBackground = 4
)

// FileContext describes a file offered for transfer: the Context of a
// file INVITE, base64 encoded there.
//
// Layout (little-endian): u32 header length (574 in version 2, 638 in
// version 3, 540 in the old Mac client's version 0), u32 version, u64 file
// size, u32 type, 520 bytes of UTF-16LE file name padded with NULs, then
// (versions 2 and 3) 30 zero bytes and 0xFFFFFFFF, then (version 3) 64
// more bytes; a preview image follows the header when type is 0.
type FileContext struct {
	Version uint32
	Size    uint64
	Type    uint32 // ContextPreview, ContextNoPreview, …
	Name    string
	Preview []byte // PNG, when Type is ContextPreview and one was sent
}

// ErrContext is returned for a context too short or malformed to read.
var ErrContext = errors.New("p2p: malformed file context")

const (
	contextNameOff = 20
	contextNameLen = 520
	contextV0Len   = contextNameOff + contextNameLen // 540
	contextV2Len   = 574
	maxFileName    = contextNameLen/2 - 1 // 259 UTF-16 units and a NUL
)

// ParseFileContext reads a file context of version 0, 2 or 3 (or any
// later one with the same first 540 bytes). The header length is not
// required to be exact — Pidgin wants 637 for version 3, the official
// client writes 638 — but must cover the name and lie inside b.
func ParseFileContext(b []byte) (FileContext, error) {
	if len(b) < contextV0Len {
		return FileContext{}, fmt.Errorf("%w: %d bytes", ErrContext, len(b))
	}
	le := binary.LittleEndian
	hl := le.Uint32(b)
	if hl < contextV0Len || uint64(hl) > uint64(len(b)) {
		return FileContext{}, fmt.Errorf("%w: header length %d of %d bytes", ErrContext, hl, len(b))
	}
	c := FileContext{Version: le.Uint32(b[4:]), Size: le.Uint64(b[8:]), Type: le.Uint32(b[16:])}
	name := make([]uint16, 0, 64)
	for i := contextNameOff; i < contextV0Len; i += 2 {
		u := le.Uint16(b[i:])
		if u == 0 {
			break
		}
		name = append(name, u)
	}
	c.Name = string(utf16.Decode(name))
	if c.Type == ContextPreview && int(hl) < len(b) {
		c.Preview = append([]byte(nil), b[hl:]...)
	}
	return c, nil
}

// Bytes returns the context in version 2, the form Pidgin, aMSN and WLM
// 2011 send: 574 bytes, then the preview if there is one (Type is then
// written as ContextPreview, otherwise as ContextNoPreview unless set to
// something else). A name longer than 259 UTF-16 units is cut.
func (c FileContext) Bytes() []byte {
	le := binary.LittleEndian
	b := make([]byte, contextV2Len, contextV2Len+len(c.Preview))
	le.PutUint32(b, contextV2Len)
	le.PutUint32(b[4:], 2)
	le.PutUint64(b[8:], c.Size)
	typ := c.Type
	switch {
	case len(c.Preview) > 0:
		typ = ContextPreview
	case typ == ContextPreview:
		typ = ContextNoPreview
	}
	le.PutUint32(b[16:], typ)
	name := utf16.Encode([]rune(c.Name))
	if len(name) > maxFileName {
		name = name[:maxFileName]
	}
	for i, u := range name {
		le.PutUint16(b[contextNameOff+2*i:], u)
	}
	le.PutUint32(b[570:], 0xFFFFFFFF)
	return append(b, c.Preview...)
}
