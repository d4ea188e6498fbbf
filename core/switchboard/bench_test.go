package switchboard

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRelay measures one sender's messages relayed to one receiver
// over loopback: the server reads, relays and (for A) acknowledges each.
// The clients move raw bytes, so the allocations are the server's, and
// most of the CPU time (cpu-µs/msg, the whole process's, which a busy
// machine distorts less than the rate).
func BenchmarkRelay(b *testing.B) {
	for _, mode := range []string{"U", "A"} {
		b.Run(mode, func(b *testing.B) { benchmarkRelay(b, mode) })
	}
}

func benchmarkRelay(b *testing.B, mode string) {
	e := newEnv(b)
	alice := e.peer("Alice", 12, "1342177280")
	a := e.start(alice)
	bob, _ := e.invite(a, 2, e.peer("Bob", 12, "1342177280"))
	a.expect("JOI bob@example.com Bob 1342177280")
	if a.r.Buffered() != 0 || bob.r.Buffered() != 0 {
		b.Fatal("unexpected buffered input")
	}

	payload := text(strings.Repeat("x", 100))
	frame := fmt.Appendf(nil, "MSG 1 %s %d\r\n", mode, len(payload))
	frame = append(frame, payload...)
	relayed := int64(len(fmt.Sprintf("MSG %s %s %d\r\n", alice.email(), alice.wireName(), len(payload))) + len(payload))
	const batch = 32
	burst := []byte(strings.Repeat(string(frame), batch))

	var received atomic.Int64
	readErr := make(chan error, 2)
	drain := func(c *client, want int64, count *atomic.Int64) {
		buf := make([]byte, 64<<10)
		var n int64
		for n < want {
			c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			m, err := c.nc.Read(buf)
			n += int64(m)
			if count != nil {
				count.Add(int64(m))
			}
			if err != nil {
				readErr <- err
				return
			}
		}
		readErr <- nil
	}

	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	go drain(bob, int64(b.N)*relayed, &received)
	readers := 1
	if mode == "A" {
		go drain(a, int64(b.N)*int64(len("ACK 1\r\n")), nil)
		readers++
	}
	for sent := 0; sent < b.N; {
		// Keep the receiver's backlog well under its outbox limit.
		if int64(sent)*relayed-received.Load() > 128<<10 {
			time.Sleep(20 * time.Microsecond)
			continue
		}
		n := min(batch, b.N-sent)
		a.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := a.nc.Write(burst[:n*len(frame)]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	for i := 0; i < readers; i++ {
		if err := <-readErr; err != nil {
			b.Fatal(err)
		}
	}
	elapsed, used := time.Since(start), processCPU()-cpu
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	if used > 0 {
		b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/msg")
	}
}
