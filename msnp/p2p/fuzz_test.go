package p2p

import (
	"bytes"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, h := range captureHeaders {
		f.Add(append([]byte(h), 0, 0, 0, 0))
	}
	f.Add(packet(Header{SessionID: 1, TotalSize: 4, Length: 4}, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		h := p.Header
		if uint64(len(p.Data)) != uint64(h.Length) || h.Length > 0 && h.DataOffset+uint64(h.Length) > h.TotalSize {
			t.Fatalf("accepted %+v with %d bytes", h, len(p.Data))
		}
		if !bytes.Equal(p.AppendTo(nil), b) {
			t.Fatal("not written back")
		}
		_ = Classify(p)
	})
}

// FuzzAssembler feeds packets cut from the input to an assembler: whole
// messages are never longer than the limit and never inconsistent.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte(captureInvite), uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		a := Assembler{MaxSize: 4096, MaxPending: 4}
		for len(b) >= 52 {
			n := 52 + int(step)%64
			if n > len(b) {
				n = len(b)
			}
			p, err := Parse(b[:n])
			b = b[n:]
			if err != nil {
				continue
			}
			m, err := a.Add(p)
			if err == nil && m != nil && (uint64(len(m.Data)) != m.Header.TotalSize || len(m.Data) > 4096) {
				t.Fatalf("message of %d bytes, total %d", len(m.Data), m.Header.TotalSize)
			}
		}
	})
}

func FuzzParseSLP(f *testing.F) {
	f.Add([]byte(captureInvite))
	f.Add([]byte(captureDecline))
	f.Add(NewBye("a@b", "c@d", "{x}", 5).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSLP(b)
		if err != nil {
			return
		}
		_ = s.SessionID()
		_ = s.EUFGUID()
		back, err := ParseSLP(s.Bytes())
		if err != nil {
			t.Fatalf("our own form of %q does not parse: %v", b, err)
		}
		if back.Method != s.Method || back.Status != s.Status || back.CallID != s.CallID && !bytes.ContainsAny([]byte(s.CallID), "\r\n") {
			t.Fatalf("round trip %+v\n%+v", s, back)
		}
	})
}

func FuzzParseObject(f *testing.F) {
	f.Add(NewObject("a@b.c", 3, "TFR2C.tmp", []byte("x")).String())
	f.Add(`<msnobj Creator="a" Type="8" SHA1D="x" stamp="&amp;"/>` + "\x00")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseObject(s)
		if err != nil {
			return
		}
		if o.Creator == "" || o.SHA1D == "" || o.Type == 0 {
			t.Fatalf("accepted %+v", o)
		}
		_ = o.Name()
		_ = o.String()
	})
}

func FuzzParseFileContext(f *testing.F) {
	f.Add(captureContext)
	f.Add(FileContext{Size: 5, Name: "x.png", Preview: []byte("png")}.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseFileContext(b)
		if err != nil {
			return
		}
		if len(c.Preview) > len(b) {
			t.Fatal("preview longer than the input")
		}
		_ = c.Bytes()
	})
}

func FuzzParseEmoticons(f *testing.F) {
	o := NewObject("a@b.c", 2, "1", []byte("x"))
	f.Add(EmoticonBody([]Emoticon{{":)", o}}))
	f.Add([]byte(":a:\t%3Cmsnobj%20Creator%3D%22a%22%20Type%3D%222%22%20SHA1D%3D%22x%22%2F%3E"))
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := ParseEmoticons(b)
		if err == nil && (len(list) == 0 || len(list) > MaxEmoticons) {
			t.Fatalf("%d emoticons", len(list))
		}
	})
}
