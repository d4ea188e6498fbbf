package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

func newBufWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }

// Pushing never blocks, and events come out in order.
func TestEventQueueOrder(t *testing.T) {
	q := newEventQueue(0)
	const n = 10000
	for i := range n {
		q.push(&Presence{Email: fmt.Sprint(i)})
	}
	if q.backlog() != n {
		t.Errorf("backlog %d", q.backlog())
	}
	q.end()
	i := 0
	for ev := range q.out {
		if ev.(*Presence).Email != fmt.Sprint(i) {
			t.Fatalf("event %d is %v", i, ev)
		}
		i++
	}
	if i != n {
		t.Errorf("%d events", i)
	}
}

func TestEventQueueDiscard(t *testing.T) {
	q := newEventQueue(0)
	q.push(&Reconnected{})
	q.push(&Reconnected{})
	<-q.out
	q.discard()
	for range q.out {
	}
	q.push(&Reconnected{}) // after the end: ignored, no panic
}

func TestEventQueueLimit(t *testing.T) {
	q := newEventQueue(2)
	defer q.discard()
	for range 2 {
		if !q.push(&Reconnected{}) {
			t.Fatal("refused within the limit")
		}
	}
	if q.push(&Reconnected{}) {
		t.Error("accepted past the limit")
	}
}

// A consumer that never reads does not stop the client: the read loop
// goes on and requests complete.
func TestSlowConsumerDoesNotBlock(t *testing.T) {
	c, n := signedIn(t)
	for i := range 5000 {
		n.send(fmt.Sprintf("NLN NLN u%d@example.com U", i), fmt.Sprintf("NLN AWY u%d@example.com U", i))
	}
	errc := make(chan error, 1)
	go func() { errc <- c.SetStatus(context.Background(), Busy) }()
	n.expect("CHG 7 BSY")
	n.send("CHG 7 BSY")
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("request blocked behind the unread events")
	}
	if b := c.Backlog(); b != 10000 {
		t.Errorf("backlog %d", b)
	}
	// Handling an event may call the client (here: another request).
	ev := nextEvent(t, c)
	go func() { errc <- c.SetStatus(context.Background(), Online) }()
	n.expect("CHG 8 NLN")
	n.send("CHG 8 NLN")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	_ = ev
}

// MaxBacklog turns a runaway queue into an error.
func TestMaxBacklog(t *testing.T) {
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 7)
	cfg.MaxBacklog = 100
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.quietLogin("alice@example.com")
	c := dialResult(t, cc, ec)
	for i := range 101 {
		n.send(fmt.Sprintf("NLN NLN u%d@example.com U", i))
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("client did not end")
	}
	var last Event
	for ev := range c.Events() {
		last = ev
	}
	if d, ok := last.(*Disconnected); !ok || d.Reconnecting || d.Err != ErrSlowConsumer {
		t.Errorf("last event %#v", last)
	}
}
