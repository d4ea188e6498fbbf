package p2p

import (
	"bytes"
	"errors"
	"testing"
)

// Version 2 packets written out byte by byte from the layout MSNPSharp
// (P2Pv2Header.GetBytes/ParseHeader, P2PConst) and Pidgin (p2p.c
// msn_p2p_header_from_wire, msn_p2p_info_create_ack) read and write: big-
// endian fields, TLVs padded to 4 bytes, peer info little-endian.
var (
	// The first packet of an MSNSLP message opening a link: SYN|RAK, peer
	// info, BaseID 0x01020304, package 1, SessionID 0, 5 bytes remaining
	// after these 10.
	v2First = "" +
		"\x18\x03\x00\x1e\x01\x02\x03\x04" + // HL 24, SYN|RAK, MessageLen 30, BaseID
		"\x01\x0c\x00\x02\x00\x00\x00\x0e\x00\x00\x0f\x01\x00\x00" + // peer info
		"\x00\x00" + // padding
		"\x14\x01\x00\x01\x00\x00\x00\x00" + // DHL 20, TF first, package 1, SessionID 0
		"\x01\x08\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00" + // 5 remaining, padding
		"INVITE MSN" +
		"\x00\x00\x00\x00" // footer
	// Its second and last packet: BaseID advanced by 30, no TF, no TLVs.
	v2Second = "" +
		"\x08\x00\x00\x0d\x01\x02\x03\x22" +
		"\x08\x00\x00\x01\x00\x00\x00\x00" +
		"MSGR:" +
		"\x00\x00\x00\x00"
	// The acknowledgement of v2First: ACK TLV 0x01020304+30, then the
	// peer info echoed, SYN|RAK again; no data header.
	v2SynAck = "" +
		"\x1c\x03\x00\x00\x0a\x0b\x0c\x0d" +
		"\x02\x04\x01\x02\x03\x22" +
		"\x01\x0c\x00\x02\x00\x00\x00\x0e\x00\x00\x0f\x01\x00\x00" +
		"\x00\x00\x00\x00"
	// A plain acknowledgement, of v2Second.
	v2Ack = "" +
		"\x10\x00\x00\x00\x0a\x0b\x0c\x0d" +
		"\x02\x04\x01\x02\x03\x2f\x00\x00" +
		"\x00\x00\x00\x00"
	// The first packet of display picture data: RAK, TF first|object,
	// package 2, SessionID 0x1234, 1 byte remaining; AppID 12.
	v2Object = "" +
		"\x08\x02\x00\x17\x00\x00\x10\x00" +
		"\x14\x05\x00\x02\x00\x00\x12\x34" +
		"\x01\x08\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00" +
		"PNG" +
		"\x00\x00\x00\x0c"
)

func TestParseV2(t *testing.T) {
	p, err := ParseV2([]byte(v2First))
	if err != nil {
		t.Fatal(err)
	}
	h := p.Header
	if h.OpCode != OpSYN|OpRAK || h.MessageLen != 30 || h.BaseID != 0x01020304 || !bytes.Equal(h.PeerInfo, PeerInfo) || h.HasAck ||
		!h.DataHeader || h.TF != TFFirst || h.Package != 1 || h.SessionID != 0 || h.Remaining != 5 || string(p.Data) != "INVITE MSN" {
		t.Errorf("first = %+v %q", h, p.Data)
	}
	p, err = ParseV2([]byte(v2Second))
	if err != nil {
		t.Fatal(err)
	}
	if p.Header.NextID() != 0x0102032f || p.Header.Remaining != 0 || p.Header.TF != 0 || string(p.Data) != "MSGR:" {
		t.Errorf("second = %+v %q", p.Header, p.Data)
	}
	p, err = ParseV2([]byte(v2Object))
	if err != nil {
		t.Fatal(err)
	}
	if p.Header.TF != TFFirst|TFObject || p.Header.SessionID != 0x1234 || p.AppID != 12 || string(p.Data) != "PNG" {
		t.Errorf("object = %+v %q", p.Header, p.Data)
	}
}

func TestAppendV2(t *testing.T) {
	for name, want := range map[string]string{"first": v2First, "second": v2Second, "synack": v2SynAck, "ack": v2Ack, "object": v2Object} {
		p, err := ParseV2([]byte(want))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := p.AppendTo(nil)
		if err != nil || string(got) != want {
			t.Errorf("%s written as\n%q, %v\nwant\n%q", name, got, err, want)
		}
	}
}

func TestAckV2(t *testing.T) {
	first, _ := ParseV2([]byte(v2First))
	second, _ := ParseV2([]byte(v2Second))
	for _, c := range []struct {
		name string
		ack  HeaderV2
		want string
	}{
		{"SYN", AckV2(first.Header, 0x0a0b0c0d), v2SynAck},
		{"plain", AckV2(second.Header, 0x0a0b0c0d), v2Ack},
	} {
		got, err := PacketV2{Header: c.ack}.AppendTo(nil)
		if err != nil || string(got) != c.want {
			t.Errorf("%s ACK\n%q, %v\nwant\n%q", c.name, got, err, c.want)
		}
	}
	// The SYN|RAK acknowledgement asks for a plain one back, which asks
	// for none: no ACK of an ACK beyond that.
	synack, _ := ParseV2([]byte(v2SynAck))
	back := AckV2(synack.Header, 7)
	if back.OpCode != 0 || back.PeerInfo != nil || back.AckID != 0x0a0b0c0d {
		t.Errorf("ACK of the SYN ACK = %+v", back)
	}
}

func TestParseV2Rejects(t *testing.T) {
	bad := map[string]string{
		"empty":             "",
		"short":             "\x08\x00\x00\x00\x00\x00\x00",
		"header below 8":    "\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"header beyond":     "\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"message beyond":    "\x08\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00",
		"trailing bytes":    "\x08\x00\x00\x00\x00\x00\x00\x00xx\x00\x00\x00\x00",
		"TLV overruns":      "\x0c\x00\x00\x00\x00\x00\x00\x00\x02\x08\x00\x00\x00\x00\x00\x00",
		"TLV without len":   "\x09\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00",
		"ACK of 2 bytes":    "\x0c\x00\x00\x00\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x00\x00",
		"peer info short":   "\x0c\x00\x00\x00\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x00\x00",
		"data header short": "\x08\x00\x00\x04\x00\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00",
		"data header long":  "\x08\x00\x00\x08\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"data header below": "\x08\x00\x00\x08\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"remaining short":   "\x08\x00\x00\x0c\x00\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x00\x00",
	}
	for name, b := range bad {
		if p, err := ParseV2([]byte(b)); err == nil {
			t.Errorf("%s: accepted %+v", name, p.Header)
		}
	}
}

// TestV2Reader puts a message cut into version 2 packets together again
// with the version 1 assembler, and refuses packets that continue nothing
// or contradict the sizes announced.
func TestV2Reader(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 300)
	var r V2Reader
	a := Assembler{}
	var got *Message
	id := uint32(1000)
	for _, c := range Split(Header{SessionID: 9, Flags: FlagsWLMObjectData}, data, 0, 0) {
		v := ToV2(c)
		v.Header.BaseID, v.Header.Package = id, 3
		b, err := v.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseV2(b)
		if err != nil {
			t.Fatal(err)
		}
		id = p.Header.NextID()
		v1, err := r.Packet(p)
		if err != nil {
			t.Fatal(err)
		}
		if Classify(v1) != KindData {
			t.Fatalf("chunk classified %v", Classify(v1))
		}
		if got, err = a.Add(v1); err != nil {
			t.Fatal(err)
		}
	}
	if got == nil || !bytes.Equal(got.Data, data) || got.Header.SessionID != 9 || got.Header.Identifier != 1000 {
		t.Fatalf("message not put together: %+v", got)
	}
	if len(r.open.m) != 0 {
		t.Errorf("%d messages left open", len(r.open.m))
	}

	if _, err := r.Packet(PacketV2{Header: HeaderV2{DataHeader: true, SessionID: 9, Package: 4}, Data: []byte("x")}); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("continuation of nothing: %v", err)
	}
	first := PacketV2{Header: HeaderV2{DataHeader: true, TF: TFFirst, SessionID: 9, Package: 5, Remaining: 3}, Data: []byte("ab")}
	if _, err := r.Packet(first); err != nil {
		t.Fatal(err)
	}
	for _, rem := range []uint64{2, 1<<64 - 1} {
		if _, err := r.Packet(PacketV2{Header: HeaderV2{DataHeader: true, SessionID: 9, Package: 5, Remaining: rem}, Data: []byte("cd")}); !errors.Is(err, ErrBounds) {
			t.Errorf("remaining %d: %v", rem, err)
		}
		r.Packet(first)
	}
	if _, err := r.Packet(PacketV2{Header: HeaderV2{DataHeader: true, TF: TFFirst, Remaining: 1 << 63}}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge message: %v", err)
	}
	for i := range 40 {
		r.Packet(PacketV2{Header: HeaderV2{DataHeader: true, TF: TFFirst, Package: uint16(i), Remaining: 1}, Data: []byte("x")})
	}
	if len(r.open.m) > 16 || len(r.open.order) != len(r.open.m) {
		t.Errorf("%d messages open, %d in order", len(r.open.m), len(r.open.order))
	}
}

// TestToV2 checks the TF and remaining bytes of each kind of chunk.
func TestToV2(t *testing.T) {
	for _, c := range []struct {
		h      Header
		tf     byte
		remain uint64
	}{
		{Header{TotalSize: 10, Length: 10}, TFFirst, 0},
		{Header{SessionID: 5, TotalSize: 3000, Length: 1202, Flags: FlagsFileData}, TFFirst | TFFile, 1798},
		{Header{SessionID: 5, DataOffset: 1202, TotalSize: 3000, Length: 1202, Flags: FlagsFileData}, TFFile, 596},
		{Header{SessionID: 5, DataOffset: 2404, TotalSize: 3000, Length: 596, Flags: FlagsObjectData}, TFObject, 0},
	} {
		v := ToV2(Packet{Header: c.h, Data: make([]byte, c.h.Length)})
		if v.Header.TF != c.tf || v.Header.Remaining != c.remain || v.Header.SessionID != c.h.SessionID {
			t.Errorf("%+v → %+v", c.h, v.Header)
		}
	}
}

func FuzzParseV2(f *testing.F) {
	for _, s := range []string{v2First, v2Second, v2SynAck, v2Ack, v2Object} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseV2(b)
		if err != nil {
			return
		}
		h := p.Header
		if int(h.MessageLen)+int(b[0])+4 != len(b) || h.DataHeader != (h.MessageLen > 0) || len(p.Data) > int(h.MessageLen) {
			t.Fatalf("accepted %+v with %d bytes of data in %d", h, len(p.Data), len(b))
		}
		again, err := p.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParseV2(again)
		if err != nil {
			t.Fatalf("written back unreadable: %v", err)
		}
		if q.Header.BaseID != h.BaseID || q.Header.OpCode != h.OpCode || q.Header.AckID != h.AckID || q.Header.SessionID != h.SessionID ||
			q.Header.Remaining != h.Remaining || q.Header.TF != h.TF || !bytes.Equal(q.Data, p.Data) || q.AppID != p.AppID {
			t.Fatalf("%+v written back as %+v", h, q.Header)
		}
		_ = AckV2(h, 1)
		if h.DataHeader {
			var r V2Reader
			if v1, err := r.Packet(p); err == nil {
				if v1.Header.DataOffset+uint64(v1.Header.Length) > v1.Header.TotalSize {
					t.Fatalf("chunk outside its message: %+v", v1.Header)
				}
				_ = Classify(v1)
			}
		}
	})
}

// FuzzV2Reader feeds a reader packets cut from the input: what comes out
// always lies inside its message.
func FuzzV2Reader(f *testing.F) {
	f.Add([]byte(v2Object+v2First+v2Second), uint8(20))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		r := V2Reader{MaxPending: 4}
		a := Assembler{MaxSize: 4096, MaxPending: 4}
		for len(b) >= 12 {
			n := min(12+int(step)%64, len(b))
			p, err := ParseV2(b[:n])
			b = b[n:]
			if err != nil || !p.Header.DataHeader {
				continue
			}
			v1, err := r.Packet(p)
			if err != nil {
				continue
			}
			if v1.Header.DataOffset+uint64(v1.Header.Length) > v1.Header.TotalSize {
				t.Fatalf("chunk outside its message: %+v", v1.Header)
			}
			if m, err := a.Add(v1); err == nil && m != nil && uint64(len(m.Data)) != m.Header.TotalSize {
				t.Fatalf("message of %d bytes, total %d", len(m.Data), m.Header.TotalSize)
			}
		}
	})
}
