package outbox

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp"
)

// An outbox that has written everything holds no buffer and no goroutine:
// a server keeps tens of thousands of connections that are idle.
func TestIdleOutboxHoldsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const conns = 50
	var peers []net.Conn
	for range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go io.Copy(io.Discard, c)
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		peers = append(peers, s)
	}
	before := runtime.NumGoroutine()
	var boxes []*Outbox
	for _, s := range peers {
		o := New(s, Options{})
		for i := range 20 {
			o.Send(msnp.New("LST", uint32(i), "FL", "contact@example.com", "Contact", "1"))
		}
		boxes = append(boxes, o)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, o := range boxes {
		for {
			o.mu.Lock()
			idle := !o.writing && len(o.buf) == 0
			held := cap(o.buf) + cap(o.spare)
			o.mu.Unlock()
			if idle {
				if held != 0 {
					t.Fatalf("an idle outbox holds %d bytes of buffers", held)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the outbox did not drain to a reading peer")
			}
			time.Sleep(time.Millisecond)
		}
	}
	// A flusher goroutine, if any started, ends once its outbox is idle.
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines for %d idle outboxes", runtime.NumGoroutine()-before, conns)
		}
		time.Sleep(time.Millisecond)
	}
	for _, o := range boxes {
		o.Close()
	}
}
