package cluster

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/bus"
	"github.com/nudge-im/nudge/core/bus/natstest"
	"github.com/nudge-im/nudge/core/directory"
)

// countingPeer is a watcher that counts the presences it is shown.
type countingPeer struct {
	*recorder
	told *atomic.Int64
	all  chan struct{}
	want int64
}

func (p *countingPeer) ShowPresence(directory.Presence) {
	if p.told.Add(1) == p.want {
		p.all <- struct{}{}
	}
}

// BenchmarkCrossNodePresence is the cluster's part of one status change
// told to 1,000 watchers on another node, over a real nats-server: from
// the first call on the changing user's node until the last watcher's
// session there has it. The watchers are sessions that only count, so
// this measures the bus and the encoding, not the sockets to clients
// (BenchmarkFanout has the whole path). "one-each" is every watcher told
// by its own message, "batched" one message per node (Directory.Batch).
func BenchmarkCrossNodePresence(b *testing.B) {
	const watchers = 1000
	nats := natstest.Start(b, 1)
	nodes := startNodesOn(b, func(name string) bus.Bus {
		bs, err := bus.DialNATS(bus.NATSOptions{URLs: nats.URLs(), Name: name})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { bs.Close() })
		return bs
	}, "a", "b")
	var told atomic.Int64
	all := make(chan struct{}, 1)
	emails := make([]string, watchers)
	for i := range emails {
		emails[i] = fmt.Sprintf("w%d@example.com", i)
		nodes[1].dir.Register(emails[i], &countingPeer{recorder: &recorder{email: emails[i]}, told: &told, all: all, want: watchers})
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, e := range emails {
		for nodes[0].dir.Lookup(e) == nil {
			if time.Now().After(deadline) {
				b.Fatal("node a never saw the watchers on b")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	p := directory.Presence{Email: "alice@example.com", FriendlyName: "Alice", Status: directory.Away,
		Capabilities: "1342177280", Personal: []byte("<Data><PSM>out</PSM><CurrentMedia></CurrentMedia></Data>")}
	wait := func() {
		select {
		case <-all:
			told.Store(0)
		case <-time.After(60 * time.Second):
			b.Fatalf("%d of %d watchers told", told.Load(), watchers)
		}
	}
	a := nodes[0].dir
	b.Run("one-each", func(b *testing.B) {
		for range b.N {
			for _, e := range emails {
				a.Lookup(e).ShowPresence(p)
			}
			wait()
		}
	})
	b.Run("batched", func(b *testing.B) {
		for range b.N {
			batch := a.Batch()
			for _, e := range emails {
				batch.Lookup(e).ShowPresence(p)
			}
			batch.Send()
			wait()
		}
	})
}
