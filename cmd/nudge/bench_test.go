package main

import (
	"bufio"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// The baseline relay of nudge bench runs as a process of its own: it
// carries lines from the first connection of a pair to the second, and
// ends when nudge bench lets go of it.
func TestBaselineRelayProcess(t *testing.T) {
	base, err := startBaselineRelay(filepath.Join(built(t), "nudge"))
	if err != nil {
		t.Fatal(err)
	}
	stop, addr := base.Stop, base.Addr
	defer stop()
	in, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := in.Write([]byte("MSG 1 U 5\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	out.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(out)
	for _, want := range []string{"MSG 1 U 5\r\n", "hello\r\n"} {
		if line, err := r.ReadString('\n'); line != want {
			t.Fatalf("relayed %q (%v), want %q", line, err, want)
		}
	}
	// It tells how much CPU it has used, more after relaying than none.
	if cpu, err := base.CPU(); err != nil || cpu <= 0 {
		t.Fatalf("baseline relay CPU %v, %v", cpu, err)
	}
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the relay process did not end when its input closed")
	}
}
