package message

import (
	"bytes"
	"strings"
	"testing"
)

func TestSplitAndAssemble(t *testing.T) {
	stamp := strings.Repeat("S", 3000)
	m := NewDatacast(DatacastWink, Field{"Data", `<msnobj Creator="a@b.c" Type="8" SHA1D="x" stamp="` + stamp + `"/>`})
	parts, err := Split(m, 1202)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	for i, p := range parts {
		if p.Len() > 1202 {
			t.Errorf("part %d is %d bytes", i, p.Len())
		}
	}
	if parts[0].Get(HeaderChunks) != "3" || parts[1].Get(HeaderChunk) != "1" || parts[2].Get(HeaderChunk) != "2" {
		t.Errorf("numbering %v / %v", parts[0].Fields(), parts[2].Fields())
	}

	var a ChunkAssembler
	var whole *Message
	for i, p := range parts {
		// Through the wire, as a switchboard reader sees them.
		q, err := Parse(p.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got, done := a.Add(q)
		if done != (i == len(parts)-1) {
			t.Fatalf("part %d: done %v", i, done)
		}
		whole = got
	}
	if !bytes.Equal(whole.Body, m.Body) || whole.Kind() != KindDatacast || whole.Get(HeaderMessageID) != "" {
		t.Errorf("assembled %q", whole.String())
	}
	if id, _ := whole.DatacastID(); id != DatacastWink {
		t.Errorf("datacast id %d", id)
	}

	// A part out of order ends the message.
	a.Add(parts[0])
	if _, done := a.Add(parts[2]); done {
		t.Error("assembled with a gap")
	}
	if _, done := a.Add(parts[1]); done {
		t.Error("assembled after a gap")
	}
	// A message that fits is not split; one that is not a part passes.
	if p, _ := Split(NewNudge(), 1202); len(p) != 1 || p[0].Get(HeaderChunks) != "" {
		t.Error("small message split")
	}
	if got, done := a.Add(NewNudge()); !done || got.Kind() != KindNudge {
		t.Error("plain message")
	}
}

func FuzzChunkAssembler(f *testing.F) {
	parts, _ := Split(NewDatacast(DatacastWink, Field{"Data", strings.Repeat("x", 2000)}), 600)
	var seed []byte
	for _, p := range parts {
		seed = append(seed, p.Bytes()...)
		seed = append(seed, 0xff)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		var a ChunkAssembler
		for _, raw := range bytes.Split(b, []byte{0xff}) {
			m, err := Parse(raw)
			if err != nil {
				continue
			}
			if whole, done := a.Add(m); done && whole == nil {
				t.Fatal("done without a message")
			}
			if len(a.pending) > maxChunkedPending {
				t.Fatalf("%d pending", len(a.pending))
			}
		}
	})
}
