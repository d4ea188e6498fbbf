package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// heardAll frames stream fed in pieces cut at cuts and returns the lines.
func heardAll(t testing.TB, stream []byte, cuts []int) ([]string, error) {
	var l lines
	var got []string
	prev := 0
	for _, c := range append(cuts, len(stream)) {
		c = max(prev, min(c, len(stream)))
		if err := l.feed(stream[prev:c], func(line []byte) { got = append(got, string(line)) }); err != nil {
			return got, err
		}
		prev = c
	}
	return got, nil
}

func TestLinesFrameCommandsAcrossReads(t *testing.T) {
	stream := []byte("NLN NLN star@x Star 0\r\nMSG Hotmail Hotmail 21\r\nNLN AWY star@x Fake\r\n" +
		"ADL 5 OK\r\nNOT 4\r\nab\r\nNLN AWY star@x Star 0\nCHL 0 123\r\n")
	want := []string{"NLN NLN star@x Star 0", "MSG Hotmail Hotmail 21", "ADL 5 OK", "NOT 4", "NLN AWY star@x Star 0", "CHL 0 123"}
	for cut := range len(stream) {
		got, err := heardAll(t, stream, []int{cut, cut + 3})
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("cut at %d: %q, %v; want %q", cut, got, err, want)
		}
	}
}

func TestTallyCountsTheUsersNLNs(t *testing.T) {
	tl := newTally("star@x", 2)
	now := time.Now()
	for _, l := range []string{"NLN NLN other@x O 0", "NLN NLN star@x S 0", "FLN star@x", "NLN AWY other@x O 0"} {
		if tl.line([]byte(l), now) {
			t.Fatalf("%q counted as the change", l)
		}
	}
	if !tl.line([]byte("NLN AWY star@x S 0"), now) || tl.online.Load() != 1 || len(tl.arrivals()) != 1 {
		t.Fatalf("online %d, arrivals %d", tl.online.Load(), len(tl.arrivals()))
	}
}

func TestLinesRefuseEndlessLine(t *testing.T) {
	var l lines
	chunk := bytes.Repeat([]byte("x"), 4096)
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		err = l.feed(chunk, func([]byte) {})
	}
	if err != errLineTooLong {
		t.Fatalf("err %v, want errLineTooLong", err)
	}
}

// FuzzLines: however the reads cut the stream, the same lines come out.
func FuzzLines(f *testing.F) {
	f.Add([]byte("NLN NLN a@x A 0\r\nMSG x x 3\r\nabcNLN AWY a@x A 0\r\n"), uint16(5), uint16(17))
	f.Add([]byte("NOT 99999999\r\n\r\n"), uint16(1), uint16(2))
	f.Fuzz(func(t *testing.T, stream []byte, a, b uint16) {
		whole, errWhole := heardAll(t, stream, nil)
		cut, errCut := heardAll(t, stream, []int{int(a), int(a) + int(b)})
		if (errWhole == nil) != (errCut == nil) {
			return // the bound on a kept line applies to pieces, not to whole reads
		}
		if errWhole == nil && strings.Join(whole, "\n") != strings.Join(cut, "\n") {
			t.Fatalf("whole %q, cut %q", whole, cut)
		}
	})
}
