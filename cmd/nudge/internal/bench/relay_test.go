package bench

import (
	"context"
	"testing"
	"time"
)

// TestBaselineRelay checks the baseline carries traffic in both modes, so
// the comparison the report makes is against a relay that works.
func TestBaselineRelay(t *testing.T) {
	b := &runner{}
	pipes, stop, err := b.baselinePipes(4)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	defer closePipes(pipes)
	payload := relayPayload(128)
	rate, _ := pump(context.Background(), pipes, payload, 0, 300*time.Millisecond)
	if rate <= 0 {
		t.Fatalf("saturated baseline delivered %v msg/s", rate)
	}
	rate, lat := pump(context.Background(), pipes, payload, 2000, 300*time.Millisecond)
	if rate <= 0 || len(lat) == 0 {
		t.Fatalf("paced baseline delivered %v msg/s, %d samples", rate, len(lat))
	}
}
