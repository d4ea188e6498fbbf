package connlimit

import "testing"

func TestHost(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1:5": "127.0.0.1", "[::1]:80": "::1", "pipe": "pipe"} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGate(t *testing.T) {
	g := NewGate(3, 2)
	if !g.Enter("10.0.0.1:1") || !g.Enter("10.0.0.1:2") {
		t.Fatal("first two refused")
	}
	if g.Enter("10.0.0.1:3") {
		t.Fatal("third from one address admitted")
	}
	if !g.Enter("10.0.0.2:1") {
		t.Fatal("another address refused")
	}
	if g.Enter("10.0.0.3:1") {
		t.Fatal("admitted past the total")
	}
	g.Leave("10.0.0.1:1")
	if !g.Enter("10.0.0.1:9") || g.Len() != 3 {
		t.Fatal("a freed place was not reused")
	}
}
