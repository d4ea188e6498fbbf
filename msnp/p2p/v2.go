package p2p

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// P2P version 2 (the "TLP" header of Windows Live Messenger 2009, MSNP16+)
// replaces the 48-byte little-endian header by a variable big-endian one:
//
//	u8  HeaderLen   8 + header TLVs, padded to 4
//	u8  OpCode      OpSYN, OpRAK
//	u16 MessageLen  data header + payload (0: no data header)
//	u32 BaseID      advances by MessageLen with every packet
//	    TLVs        1 peer info (12 bytes), 2 ACK (u32), 3 NAK (u32)
//	u8  DataHeaderLen  8 + data TLVs, padded to 4
//	u8  TF          TFFirst | TFObject or TFFile (0 for MSNSLP)
//	u16 PackageNumber
//	u32 SessionID
//	    TLVs        1 data remaining after this packet (u64; absent on the last)
//	    payload
//	u32 AppID footer (over the switchboard, as in version 1)
//
// A message has no offset or total size: its first packet carries TFFirst,
// every packet but the last says how much is left. Acknowledgements are
// asked for per packet (OpRAK) and name BaseID+MessageLen of the packet
// they acknowledge; the data preparation of version 1 is gone (TFFirst on
// the first data packet says as much). The first packet on a link is
// SYN|RAK with the sender's peer info, which the ACK echoes.

// OpCodes of a version 2 header.
const (
	OpSYN byte = 0x1 // opens the link; carries peer info
	OpRAK byte = 0x2 // asks for an acknowledgement
)

// TF values of a version 2 data header.
const (
	TFFirst  byte = 0x1 // the first packet of a message
	TFObject byte = 0x4 // MSNObject data
	TFFile   byte = 0x6 // file data
)

// TLV types.
const (
	tlvPeerInfo  = 0x1 // header
	tlvACK       = 0x2 // header
	tlvNAK       = 0x3 // header
	tlvRemaining = 0x1 // data header
)

// PeerInfo is the 12-byte peer-info value WLM 2009 and MSNPSharp send with
// SYN: protocol version 0x0200, implementation 0, version 0x0E00, reserved
// 0, capabilities 0x10F, each written little-endian.
var PeerInfo = []byte{0x00, 0x02, 0x00, 0x00, 0x00, 0x0E, 0x00, 0x00, 0x0F, 0x01, 0x00, 0x00}

// v2HeaderMin is the length of a header or data header without TLVs.
const v2HeaderMin = 8

// MaxChunkV2 is how many payload bytes a version 2 packet carries over a
// switchboard: the version 1 figure, which keeps the binary part within
// what WLM 2009 sends (1250 bytes) even with peer info on a first packet.
const MaxChunkV2 = MaxChunk

// HeaderV2 is a version 2 header and, when DataHeader is set, its data
// header.
type HeaderV2 struct {
	OpCode     byte
	MessageLen uint16 // data header + payload; set by ParseV2 and AppendTo
	BaseID     uint32
	PeerInfo   []byte // the peer-info TLV (12 bytes), or nil
	HasAck     bool
	AckID      uint32 // with HasAck: BaseID+MessageLen of the acknowledged packet
	HasNak     bool
	NakID      uint32

	DataHeader bool // a data header follows (MessageLen > 0)
	TF         byte
	Package    uint16
	SessionID  uint32
	Remaining  uint64 // payload bytes of the message after this packet; 0 = last
}

// PacketV2 is one version 2 packet: header, payload and footer.
type PacketV2 struct {
	Header HeaderV2
	Data   []byte // aliases the parsed body
	AppID  uint32
}

// Errors of ParseV2 beyond ErrShort.
var (
	ErrHeaderV2 = errors.New("p2p: malformed version 2 header")
	ErrTLV      = errors.New("p2p: malformed TLV")
)

// ParseV2 reads the binary part of a version 2 P2P message, checking every
// length against the bytes there are (short and forged version 2 packets
// crashed Pidgin: CVE-2010-4528): the header, its TLVs and the message
// must fill the body exactly, footer included.
func ParseV2(body []byte) (PacketV2, error) {
	var p PacketV2
	if len(body) < v2HeaderMin+p2pFooter {
		return p, ErrShort
	}
	h := &p.Header
	hl := int(body[0])
	h.OpCode = body[1]
	h.MessageLen = binary.BigEndian.Uint16(body[2:])
	h.BaseID = binary.BigEndian.Uint32(body[4:])
	if hl < v2HeaderMin || hl+int(h.MessageLen)+p2pFooter != len(body) {
		return PacketV2{}, fmt.Errorf("%w: header %d and message %d bytes in %d", ErrHeaderV2, hl, h.MessageLen, len(body))
	}
	err := eachTLV(body[v2HeaderMin:hl], func(t byte, v []byte) error {
		switch t {
		case tlvPeerInfo:
			if len(v) != len(PeerInfo) {
				return fmt.Errorf("%w: peer info of %d bytes", ErrTLV, len(v))
			}
			h.PeerInfo = v
		case tlvACK, tlvNAK:
			if len(v) != 4 {
				return fmt.Errorf("%w: type %d of %d bytes", ErrTLV, t, len(v))
			}
			if t == tlvACK {
				h.HasAck, h.AckID = true, binary.BigEndian.Uint32(v)
			} else {
				h.HasNak, h.NakID = true, binary.BigEndian.Uint32(v)
			}
		}
		return nil
	})
	if err != nil {
		return PacketV2{}, err
	}
	end := len(body) - p2pFooter
	p.AppID = binary.BigEndian.Uint32(body[end:])
	if h.MessageLen == 0 {
		return p, nil
	}
	d := body[hl:end]
	if len(d) < v2HeaderMin || int(d[0]) < v2HeaderMin || int(d[0]) > len(d) {
		return PacketV2{}, fmt.Errorf("%w: data header of %d bytes in a message of %d", ErrHeaderV2, d[0], len(d))
	}
	dl := int(d[0])
	h.DataHeader = true
	h.TF = d[1]
	h.Package = binary.BigEndian.Uint16(d[2:])
	h.SessionID = binary.BigEndian.Uint32(d[4:])
	err = eachTLV(d[v2HeaderMin:dl], func(t byte, v []byte) error {
		if t == tlvRemaining {
			if len(v) != 8 {
				return fmt.Errorf("%w: data remaining of %d bytes", ErrTLV, len(v))
			}
			h.Remaining = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		return PacketV2{}, err
	}
	p.Data = d[dl:len(d):len(d)]
	return p, nil
}

const p2pFooter = 4

// eachTLV calls f for each type-length-value in b, which ends at its end or
// at a zero type (the padding).
func eachTLV(b []byte, f func(t byte, v []byte) error) error {
	for len(b) > 0 && b[0] != 0 {
		if len(b) < 2 || 2+int(b[1]) > len(b) {
			return fmt.Errorf("%w: type %d overruns its header", ErrTLV, b[0])
		}
		if err := f(b[0], b[2:2+int(b[1])]); err != nil {
			return err
		}
		b = b[2+int(b[1]):]
	}
	return nil
}

// appendTLVs appends a header of fixed part fixed (8 bytes, its first byte
// the length, set here) and the TLVs, padded with zeros to 4 bytes.
func appendTLVs(dst []byte, fixed [8]byte, tlvs ...[]byte) []byte {
	n := v2HeaderMin
	for _, t := range tlvs {
		n += len(t)
	}
	pad := (4 - n%4) % 4
	fixed[0] = byte(n + pad)
	dst = append(dst, fixed[:]...)
	for _, t := range tlvs {
		dst = append(dst, t...)
	}
	return append(dst, make([]byte, pad)...)
}

func tlv(t byte, v []byte) []byte { return append([]byte{t, byte(len(v))}, v...) }

func tlv32(t byte, v uint32) []byte { return tlv(t, binary.BigEndian.AppendUint32(nil, v)) }

// ErrTooLong is returned for a packet whose message does not fit the
// 16-bit MessageLen.
var ErrTooLong = errors.New("p2p: version 2 packet too long")

// AppendTo appends the wire form of p to dst: header with its TLVs, the
// data header when Header.DataHeader is set (always when there is data),
// the payload and the footer. Header.MessageLen is computed.
func (p PacketV2) AppendTo(dst []byte) ([]byte, error) {
	h := p.Header
	// An ACK's own TLV goes before the peer info it echoes, as MSNPSharp
	// and Pidgin write them.
	var htlv [][]byte
	if h.HasAck {
		htlv = append(htlv, tlv32(tlvACK, h.AckID))
	}
	if h.HasNak {
		htlv = append(htlv, tlv32(tlvNAK, h.NakID))
	}
	if h.PeerInfo != nil {
		htlv = append(htlv, tlv(tlvPeerInfo, h.PeerInfo))
	}
	var data []byte
	if h.DataHeader || len(p.Data) > 0 {
		var fixed [8]byte
		fixed[1] = h.TF
		binary.BigEndian.PutUint16(fixed[2:], h.Package)
		binary.BigEndian.PutUint32(fixed[4:], h.SessionID)
		var dtlv [][]byte
		if h.Remaining > 0 {
			dtlv = append(dtlv, tlv(tlvRemaining, binary.BigEndian.AppendUint64(nil, h.Remaining)))
		}
		data = append(appendTLVs(nil, fixed, dtlv...), p.Data...)
	}
	if len(data) > 0xFFFF {
		return dst, fmt.Errorf("%w: %d bytes", ErrTooLong, len(data))
	}
	var fixed [8]byte
	fixed[1] = h.OpCode
	binary.BigEndian.PutUint16(fixed[2:], uint16(len(data)))
	binary.BigEndian.PutUint32(fixed[4:], h.BaseID)
	dst = appendTLVs(dst, fixed, htlv...)
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint32(dst, p.AppID), nil
}

// NextID is the BaseID of the packet the sender of h sends next, and what
// an acknowledgement of h names.
func (h HeaderV2) NextID() uint32 { return h.BaseID + uint32(h.MessageLen) }

// AckV2 returns the acknowledgement of a packet that asked for one (OpRAK),
// as MSNPSharp and Pidgin build it: an ACK TLV naming BaseID+MessageLen of
// the packet; when that packet opened the link (SYN with data, not itself
// an ACK), the ACK is SYN|RAK again and echoes its peer info. baseID is
// the acknowledging side's next BaseID (an ACK carries no data and does
// not advance it).
func AckV2(h HeaderV2, baseID uint32) HeaderV2 {
	a := HeaderV2{BaseID: baseID, HasAck: true, AckID: h.NextID()}
	if h.MessageLen > 0 && !h.HasAck && h.OpCode&OpSYN != 0 {
		a.OpCode = OpRAK
		if h.PeerInfo != nil {
			a.PeerInfo = h.PeerInfo
			a.OpCode |= OpSYN
		}
	}
	return a
}

// ToV2 writes a version 1 packet — one chunk of a message as Split or a
// sender cuts it — as the version 2 packet that carries the same bytes:
// SessionID in the data header, TF from the data flags (TFFirst on the
// chunk at offset 0), and the bytes of the message that remain. BaseID,
// OpCode, Package and the header TLVs are the sender's to set. A data
// preparation has no version 2 form: callers leave it out.
func ToV2(p Packet) PacketV2 {
	h := p.Header
	var tf byte
	switch {
	case h.Flags&FlagFile != 0:
		tf = TFFile
	case h.Flags&FlagObject != 0:
		tf = TFObject
	}
	if h.DataOffset == 0 {
		tf |= TFFirst
	}
	var left uint64
	if end := h.DataOffset + uint64(h.Length); end < h.TotalSize {
		left = h.TotalSize - end
	}
	return PacketV2{
		Header: HeaderV2{DataHeader: true, TF: tf, SessionID: h.SessionID, Remaining: left},
		Data:   p.Data,
		AppID:  p.AppID,
	}
}

// V2Reader turns the data packets of version 2 into the version 1 chunks
// they stand for — the same SessionID, an Identifier shared by the chunks
// of a message (the BaseID of its first), DataOffset and TotalSize counted
// from TFFirst and the bytes remaining — so that one Assembler, one Stream
// and one Classify serve both versions. Chunks of a message are matched by
// SessionID and package number. It keeps at most MaxPending messages open
// (16 if 0) and is not safe for concurrent use.
type V2Reader struct {
	MaxPending int

	open openMessages[*v2Open]
}

type v2Open struct {
	id         uint32
	off, total uint64
}

// maxV2Total bounds the total a first packet may announce, so that sums of
// sizes never overflow; receivers bound messages far lower.
const maxV2Total = 1 << 62

// Packet translates one data packet (Header.DataHeader set).
func (r *V2Reader) Packet(p PacketV2) (Packet, error) {
	h := p.Header
	if !h.DataHeader {
		return Packet{}, fmt.Errorf("%w: no data header", ErrHeaderV2)
	}
	n := uint64(len(p.Data))
	k := msgKey{h.SessionID, uint32(h.Package)}
	o := r.open.get(k)
	switch {
	case h.TF&TFFirst != 0:
		if h.Remaining > maxV2Total {
			return Packet{}, fmt.Errorf("%w: %d bytes remaining", ErrTooLarge, h.Remaining)
		}
		r.open.remove(k)
		o = &v2Open{id: h.BaseID, total: n + h.Remaining}
	case o == nil:
		return Packet{}, fmt.Errorf("%w: a packet of no message begun (session %d, package %d)", ErrOutOfOrder, h.SessionID, h.Package)
	case h.Remaining > o.total || o.off+n != o.total-h.Remaining:
		r.open.remove(k)
		return Packet{}, fmt.Errorf("%w: %d + %d + %d bytes in a message of %d", ErrBounds, o.off, n, h.Remaining, o.total)
	}
	var flags uint32
	switch h.TF &^ TFFirst {
	case TFFile:
		flags = FlagsFileData
	case TFObject:
		flags = FlagsWLMObjectData
	}
	out := Packet{
		Header: Header{SessionID: h.SessionID, Identifier: o.id, DataOffset: o.off, TotalSize: o.total, Length: uint32(n), Flags: flags},
		Data:   p.Data,
		AppID:  p.AppID,
	}
	o.off += n
	switch {
	case o.off >= o.total:
		r.open.remove(k)
	case r.open.get(k) == nil:
		r.open.add(k, o, r.MaxPending)
	}
	return out, nil
}

// Forget drops the open messages of a session.
func (r *V2Reader) Forget(session uint32) { r.open.forget(session) }
