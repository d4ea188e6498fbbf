package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/bus"
	"github.com/nudge-im/nudge/core/bus/natstest"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.*", "a.c", true},
		{"a.*", "a.c.d", false},
		{"a.>", "a.c.d", true},
		{"a.>", "a", false},
		{"a.*.c", "a.b.c", true},
		{"a", "a.b", false},
		{"a.b", "a", false},
	} {
		if got := bus.Match(c.pattern, c.subject); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.subject, got)
		}
	}
}

// Both implementations behave alike: in order across subjects, requests
// answered, nobody there said at once.
func TestBuses(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		b := bus.NewLocal()
		defer b.Close()
		conformance(t, b, b)
	})
	t.Run("nats", func(t *testing.T) {
		nc := natstest.Start(t, 2)
		a := dial(t, nc.URLs()[:1])
		b := dial(t, nc.URLs()[1:])
		conformance(t, a, b)
	})
}

func dial(t *testing.T, urls []string) *bus.NATS {
	b, err := bus.DialNATS(bus.NATSOptions{URLs: urls, Name: "test", Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for b.Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("not connected: %v", b.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return b
}

func conformance(t *testing.T, pub, sub bus.Bus) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make(chan string, 1000)
	s, err := sub.Subscribe(func(m *bus.Msg) {
		if m.IsRequest() {
			m.Respond(append([]byte("re:"), m.Data...))
			return
		}
		got <- m.Subject + "=" + string(m.Data)
	}, "t.one.>", "t.all")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A request makes sure the subscription is known everywhere.
	for {
		ans, err := pub.Request(ctx, "t.one.ping", []byte("x"))
		if err == nil {
			if string(ans) != "re:x" {
				t.Fatalf("answer %q", ans)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("request: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	const n = 500
	for i := 0; i < n; i++ {
		subj := "t.all"
		if i%3 == 0 {
			subj = "t.one.x"
		}
		if err := pub.Publish(subj, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		pub.Publish("t.other", []byte("not for us"))
	}
	for i := 0; i < n; i++ {
		subj := "t.all"
		if i%3 == 0 {
			subj = "t.one.x"
		}
		select {
		case m := <-got:
			if want := subj + "=" + fmt.Sprint(i); m != want {
				t.Fatalf("message %d: %q, want %q", i, m, want)
			}
		case <-ctx.Done():
			t.Fatalf("message %d never came", i)
		}
	}
	if _, err := pub.Request(ctx, "t.nobody", nil); !errors.Is(err, bus.ErrNoResponders) {
		t.Fatalf("request to nobody: %v", err)
	}
	if err := pub.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
}

// A NATS connection that loses its server says so and comes back by itself.
func TestNATSReconnects(t *testing.T) {
	nc := natstest.Start(t, 1)
	b := dial(t, nc.URLs())
	nc.Stop(0)
	deadline := time.Now().Add(10 * time.Second)
	for b.Err() == nil {
		if time.Now().After(deadline) {
			t.Fatal("Err still nil with NATS down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	nc.Restart(0)
	deadline = time.Now().Add(20 * time.Second)
	for b.Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("not back: %v", b.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
