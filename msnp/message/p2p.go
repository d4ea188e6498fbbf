package message

import (
	"encoding/binary"
	"errors"
)

// P2PHeaderLen is the length of the binary P2P (MSNC1) header.
const P2PHeaderLen = 48

// p2pFooterLen is the length of the big-endian AppID footer.
const p2pFooterLen = 4

// Errors returned by the P2P parsers.
var (
	ErrShortP2P = errors.New("message: P2P data shorter than its 48-byte header and 4-byte footer")
	ErrNotP2P   = errors.New("message: not an application/x-msnmsgrp2p message")
)

// P2PHeader is the 48-byte little-endian binary header of a P2P (MSNC1)
// message, carried in application/x-msnmsgrp2p messages from MSNP9 on.
type P2PHeader struct {
	SessionID   uint32
	Identifier  uint32
	DataOffset  uint64
	TotalSize   uint64
	Length      uint32 // length of the data that follows the header
	Flags       uint32
	AckID       uint32
	AckUID      uint32
	AckDataSize uint64
}

// P2P application IDs, the big-endian footer after the data.
const (
	AppIDNegotiation    = 0x0
	AppIDMSNObject      = 0x1
	AppIDFileTransfer   = 0x2
	AppIDCustomEmoticon = 0xB
	AppIDDisplayPicture = 0xC
)

// ParseP2PHeader parses the binary P2P header at the start of b. It fails if
// b is shorter than [P2PHeaderLen].
func ParseP2PHeader(b []byte) (P2PHeader, error) {
	if len(b) < P2PHeaderLen {
		return P2PHeader{}, ErrShortP2P
	}
	le := binary.LittleEndian
	return P2PHeader{
		SessionID:   le.Uint32(b[0:]),
		Identifier:  le.Uint32(b[4:]),
		DataOffset:  le.Uint64(b[8:]),
		TotalSize:   le.Uint64(b[16:]),
		Length:      le.Uint32(b[24:]),
		Flags:       le.Uint32(b[28:]),
		AckID:       le.Uint32(b[32:]),
		AckUID:      le.Uint32(b[36:]),
		AckDataSize: le.Uint64(b[40:]),
	}, nil
}

// P2P is the binary part of an application/x-msnmsgrp2p message.
type P2P struct {
	Header P2PHeader
	Data   []byte // between the header and the footer; aliases the message body
	AppID  uint32 // the big-endian footer
}

// ParseP2P splits the body of a P2P message into its header, data and AppID
// footer. Data is everything between the 48-byte header and the 4-byte
// footer; it is not checked against Header.Length, which a relay need not
// trust.
func ParseP2P(body []byte) (P2P, error) {
	if len(body) < P2PHeaderLen+p2pFooterLen {
		return P2P{}, ErrShortP2P
	}
	h, err := ParseP2PHeader(body)
	if err != nil {
		return P2P{}, err
	}
	end := len(body) - p2pFooterLen
	return P2P{
		Header: h,
		Data:   body[P2PHeaderLen:end:end],
		AppID:  binary.BigEndian.Uint32(body[end:]),
	}, nil
}

// P2P returns the binary part of an application/x-msnmsgrp2p message (the
// body after the headers). It fails with [ErrNotP2P] for other content types.
func (m *Message) P2P() (P2P, error) {
	if mt, _ := m.ContentType(); mt != TypeP2P {
		return P2P{}, ErrNotP2P
	}
	return ParseP2P(m.Body)
}

// P2PDest returns the P2P-Dest header: the handle the P2P message is for
// (from MSNP16 on, "handle;{guid}").
func (m *Message) P2PDest() string { return m.Get(HeaderP2PDest) }

// AppendTo appends the 48-byte wire form of the header to dst.
func (h P2PHeader) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, h.SessionID)
	dst = le.AppendUint32(dst, h.Identifier)
	dst = le.AppendUint64(dst, h.DataOffset)
	dst = le.AppendUint64(dst, h.TotalSize)
	dst = le.AppendUint32(dst, h.Length)
	dst = le.AppendUint32(dst, h.Flags)
	dst = le.AppendUint32(dst, h.AckID)
	dst = le.AppendUint32(dst, h.AckUID)
	return le.AppendUint64(dst, h.AckDataSize)
}

// AppendTo appends the binary part of a P2P message to dst: the header,
// the data and the footer. Header.Length is written as it is; callers set
// it to len(Data).
func (p P2P) AppendTo(dst []byte) []byte {
	dst = p.Header.AppendTo(dst)
	dst = append(dst, p.Data...)
	return binary.BigEndian.AppendUint32(dst, p.AppID)
}

// NewP2P returns an application/x-msnmsgrp2p message for dest carrying p,
// with the headers clients send:
//
//	MIME-Version: 1.0
//	Content-Type: application/x-msnmsgrp2p
//	P2P-Dest: <dest>
func NewP2P(dest string, p P2P) *Message {
	body := make([]byte, 0, P2PHeaderLen+len(p.Data)+p2pFooterLen)
	return &Message{
		fields: Fields{{HeaderMIMEVersion, "1.0"}, {HeaderContentType, TypeP2P}, {HeaderP2PDest, dest}},
		Body:   p.AppendTo(body),
	}
}
