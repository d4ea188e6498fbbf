package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/rs/zerolog"
)

// pipeConn returns a started conn and the server's end of the pipe.
func pipeConn(t *testing.T) (*conn, *sconn) {
	cl, sv := net.Pipe()
	c := newConn(cl, "NS", zerolog.Nop(), 5*time.Second, 5*time.Second)
	c.start()
	t.Cleanup(func() { c.closeWait(ErrClosed) })
	return c, &sconn{t: t, nc: sv, r: msnp.NewReader(sv, msnp.FromClient), w: newBufWriter(sv)}
}

// Replies are matched to requests by TrID, whatever their order.
func TestCallMatchesOutOfOrderReplies(t *testing.T) {
	c, s := pipeConn(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("g%d", i)
			r, err := c.call(context.Background(), msnp.New("ADG", 0, name, "0"), nil)
			if err != nil {
				errs <- err
				return
			}
			if r.Param(1) != name {
				errs <- fmt.Errorf("request %s got reply %q", name, r.String())
			}
		}()
	}
	var got []*msnp.Command
	for range n {
		got = append(got, s.read())
	}
	// Answer in reverse, with an unrelated notification in between.
	for i := len(got) - 1; i >= 0; i-- {
		s.send(fmt.Sprintf("ADG %d 1 %s %d 0", got[i].TrID, got[i].Param(0), i), "NLN NLN x@y.z X")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCallErrorsAndCancel(t *testing.T) {
	c, s := pipeConn(t)
	var unhandled []*msnp.Command
	var mu sync.Mutex
	c.unhandled = func(cmd *msnp.Command) { mu.Lock(); unhandled = append(unhandled, cmd); mu.Unlock() }

	// An error reply wraps its code.
	done := make(chan error, 1)
	go func() {
		_, err := c.call(context.Background(), msnp.New("ADD", 0, "FL", "x@y.z", "x@y.z"), nil)
		done <- err
	}()
	cmd := s.read()
	s.send(fmt.Sprintf("215 %d", cmd.TrID))
	if err := <-done; !errors.Is(err, msnp.ErrAlreadyThere) {
		t.Errorf("error %v", err)
	}

	// A cancelled request gives up; its late reply is passed on, not lost.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := c.call(ctx, msnp.New("BLP", 0, "AL"), nil)
		done <- err
	}()
	cmd = s.read()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v", err)
	}
	s.send(fmt.Sprintf("BLP %d 1 AL", cmd.TrID))

	// A closed connection fails the requests waiting on it.
	go func() {
		_, err := c.call(context.Background(), msnp.New("SYN", 0, "0"), nil)
		done <- err
	}()
	s.read()
	s.nc.Close()
	if err := <-done; !errors.Is(err, ErrConnectionLost) {
		t.Errorf("error %v", err)
	}
	<-c.done
	if _, err := c.call(context.Background(), msnp.New("SYN", 0, "0"), nil); !errors.Is(err, ErrConnectionLost) {
		t.Errorf("call on a closed connection: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(unhandled) != 1 || unhandled[0].Name != "BLP" {
		t.Errorf("unhandled %v", unhandled)
	}
}

// Requests whose command cannot be written fail without touching the
// stream.
func TestCallInvalidCommand(t *testing.T) {
	c, _ := pipeConn(t)
	_, err := c.call(context.Background(), msnp.New("ADD", 0, "FL", "with space@x.y"), nil)
	if err == nil {
		t.Fatal("no error")
	}
}

func TestTrIDSkipsZero(t *testing.T) {
	c := &conn{trid: ^uint32(0) - 1}
	if a, b := c.nextTrID(), c.nextTrID(); a != ^uint32(0) || b != 1 {
		t.Errorf("trids %d %d", a, b)
	}
}
