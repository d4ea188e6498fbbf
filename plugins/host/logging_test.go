package host

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A bot that floods its log keeps logRate lines a second; the rest are
// dropped and counted in a line of the host's, even when the bot says
// nothing more after the flood.
func TestLogFloodIsCounted(t *testing.T) {
	l := newBotLog(zerolog.Nop())
	const n = 1000
	for i := range n {
		l.emit(zerolog.InfoLevel, "bot", fmt.Sprintf("line %d", i), nil)
	}
	kept, dropped := 0, 0
	deadline := time.Now().Add(30 * time.Second)
	for kept+dropped < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		kept, dropped = 0, 0
		for _, e := range l.since(0, 0) {
			switch {
			case e.Source == "bot":
				kept++
			case strings.HasPrefix(e.Message, "dropped "):
				d, err := strconv.Atoi(strings.Fields(e.Message)[1])
				if err != nil {
					t.Fatalf("the report: %q", e.Message)
				}
				dropped += d
			}
		}
	}
	// The flood may straddle the turn of a second: two seconds' worth.
	if kept+dropped != n || kept > 2*logRate || dropped == 0 {
		t.Fatalf("of %d lines %d were kept and %d counted as dropped", n, kept, dropped)
	}
}
