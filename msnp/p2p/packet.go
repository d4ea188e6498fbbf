package p2p

import (
	"errors"
	"fmt"

	"github.com/nudge-im/nudge/msnp/message"
)

// Header is the 48-byte binary header of a P2Pv1 packet (see
// message.P2PHeader for its fields).
type Header = message.P2PHeader

// Packet is one P2Pv1 packet as it travels in an application/x-msnmsgrp2p
// message: header, data and the big-endian AppID footer.
type Packet = message.P2P

// Flag bits of the header's Flags field. Receivers should test bits, not
// compare whole values: clients of different generations combine them
// differently (Flags* below are the combinations senders use).
const (
	FlagNAK      uint32 = 0x1  // negative acknowledgement
	FlagACK      uint32 = 0x2  // acknowledgement
	FlagRAK      uint32 = 0x4  // "waiting for a reply"
	FlagError    uint32 = 0x8  // binary error / reset
	FlagFile     uint32 = 0x10 // file data (with FlagObject)
	FlagObject   uint32 = 0x20 // MSNObject data
	FlagClose    uint32 = 0x40 // session closed (MSNPSharp's ACK of a BYE)
	FlagTLPError uint32 = 0x80
	FlagDirect   uint32 = 0x100      // direct-connection handshake
	FlagWLM      uint32 = 0x01000000 // "WLM 2009 compatibility"

	// What senders put in Flags.
	FlagsSLP           uint32 = 0                               // SLP text and data preparation
	FlagsObjectData    uint32 = FlagObject                      // MSNObject data, toward MSNP≤15 clients
	FlagsWLMObjectData uint32 = FlagWLM | FlagObject            // MSNObject data from WLM 2009
	FlagsFileData      uint32 = FlagWLM | FlagFile | FlagObject // file data, as Pidgin and the official client send it
)

// Kind is what a packet carries, as a receiver classifies it.
type Kind int

// The kinds of packet.
const (
	KindSLP      Kind = iota // MSNSLP text (SessionID 0)
	KindDataPrep             // data preparation: 4 zero bytes before an object's data
	KindData                 // object or file data
	KindACK                  // acknowledgement of a whole message
	KindNAK                  // negative acknowledgement
	KindOther                // errors, resets, direct-connection handshakes
)

var kindNames = [...]string{"SLP", "DataPrep", "Data", "ACK", "NAK", "Other"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Classify says what a packet carries, by bits rather than exact values,
// so that papyon's 0x30 file data and WLM 2009's 0x01000000 SLP are
// understood as well as Pidgin's values: ACK and NAK by their bits; then
// SessionID 0 is SLP; a first chunk of four zero bytes is a data
// preparation; anything else with a session is data.
func Classify(p Packet) Kind {
	h := p.Header
	switch {
	case h.Flags&FlagACK != 0:
		return KindACK
	case h.Flags&FlagNAK != 0:
		return KindNAK
	case h.Flags&(FlagError|FlagTLPError|FlagDirect) != 0:
		return KindOther
	case h.SessionID == 0:
		return KindSLP
	case h.TotalSize == 4 && h.Length == 4 && h.DataOffset == 0 && isZero(p.Data):
		return KindDataPrep
	}
	return KindData
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Errors of Parse.
var (
	ErrShort  = message.ErrShortP2P
	ErrLength = errors.New("p2p: header length differs from the data carried")
	ErrBounds = errors.New("p2p: chunk lies outside its message")
)

// Parse reads the binary part of a P2P message and checks the header
// against it, as a receiver must before using the header to place data
// (overflowing offsets and lengths crashed several clients): Length must
// be the number of bytes carried, and the chunk must lie inside TotalSize.
// Acknowledgements carry no data; their TotalSize is the acknowledged
// message's. The packet's Data aliases body.
func Parse(body []byte) (Packet, error) {
	p, err := message.ParseP2P(body)
	if err != nil {
		return Packet{}, err
	}
	h := p.Header
	if uint64(h.Length) != uint64(len(p.Data)) {
		return Packet{}, fmt.Errorf("%w (%d announced, %d carried)", ErrLength, h.Length, len(p.Data))
	}
	if h.Length > 0 && (h.DataOffset > h.TotalSize || uint64(h.Length) > h.TotalSize-h.DataOffset) {
		return Packet{}, fmt.Errorf("%w (offset %d, length %d, total %d)", ErrBounds, h.DataOffset, h.Length, h.TotalSize)
	}
	return p, nil
}

// Ack returns the acknowledgement of a whole message whose header (of any
// of its chunks) is acked, as the official client writes it: same
// SessionID, TotalSize and AckDataSize copied from the acked message,
// AckID its Identifier and AckUID its AckID. id is the sender's next
// Identifier. The footer of an ACK is 0.
func Ack(acked Header, id uint32) Header {
	return Header{
		SessionID:   acked.SessionID,
		Identifier:  id,
		TotalSize:   acked.TotalSize,
		Flags:       FlagACK,
		AckID:       acked.Identifier,
		AckUID:      acked.AckID,
		AckDataSize: acked.TotalSize,
	}
}

// Acks reports whether ack acknowledges the message whose header is h:
// MSNPSharp matches on the AckUID (our random tag), legacy aMSN on the
// AckID (our Identifier); either will do.
func Acks(ack, h Header) bool {
	return ack.AckID == h.Identifier || h.AckID != 0 && ack.AckUID == h.AckID
}

// MaxChunk is how many bytes of data one packet carries over a
// switchboard: what Pidgin, MSNPSharp and the official client send, so
// that a message stays under the switchboard's payload limit.
const MaxChunk = 1202

// Split cuts a message into packets of at most max data bytes (MaxChunk
// if max ≤ 0). h is the message's header: SessionID, Identifier, Flags and
// AckID are copied into every packet; DataOffset, TotalSize and Length are
// set per packet. An empty message is one packet without data.
func Split(h Header, data []byte, appID uint32, max int) []Packet {
	if max <= 0 {
		max = MaxChunk
	}
	h.TotalSize = uint64(len(data))
	out := make([]Packet, 0, len(data)/max+1)
	for off := 0; ; {
		n := min(max, len(data)-off)
		c := h
		c.DataOffset, c.Length = uint64(off), uint32(n)
		out = append(out, Packet{Header: c, Data: data[off : off+n : off+n], AppID: appID})
		off += n
		if off >= len(data) {
			return out
		}
	}
}
