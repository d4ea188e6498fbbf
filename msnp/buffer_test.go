package msnp

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		server.Close()
		client.Close()
	})
	return server, client
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// An idle connection's Reader holds no buffer: it gives it back before it
// waits, and takes one again when input arrives.
func TestSocketReaderHoldsNoBufferWhileIdle(t *testing.T) {
	server, client := tcpPair(t)
	r := NewReader(server, FromClient)
	if !r.in.sock.ok {
		t.Skip("no direct socket reads on this platform")
	}
	write(t, client, "PNG\r\n")
	if c, err := r.ReadCommand(); err != nil || c.Name != "PNG" {
		t.Fatalf("PNG: %v %v", c, err)
	}
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := r.ReadCommand()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	if r.in.data != nil {
		t.Fatalf("an idle Reader holds a %d-byte buffer", len(r.in.data))
	}
	server.SetReadDeadline(time.Time{})
	write(t, client, "OUT\r\n")
	if c, err := r.ReadCommand(); err != nil || c.Name != "OUT" {
		t.Fatalf("OUT after the timeout: %v %v", c, err)
	}
}

// Commands split anywhere across reads, and read in bursts, come out whole
// and in order; a partial command keeps its buffer while the rest is on its way.
func TestSocketReaderSplitCommands(t *testing.T) {
	server, client := tcpPair(t)
	r := NewReader(server, FromClient)
	stream := "VER 1 MSNP8 CVR0\r\nMSG 2 U 5\r\nhelloCHG 3 NLN\r\nPNG\r\n"
	got := make(chan []*Command, 1)
	go func() {
		var cmds []*Command
		for range 4 {
			c, err := r.ReadCommand()
			if err != nil {
				t.Error(err)
				break
			}
			cmds = append(cmds, c)
		}
		got <- cmds
	}()
	for i := 0; i < len(stream); i += 7 {
		write(t, client, stream[i:min(i+7, len(stream))])
		time.Sleep(2 * time.Millisecond)
	}
	cmds := <-got
	var b []byte
	for _, c := range cmds {
		b = AppendCommand(b, c)
	}
	if string(b) != stream {
		t.Fatalf("read %q, sent %q", b, stream)
	}
}

// A payload larger than the buffer, an over-long line and the end of the
// stream are handled as over any other source.
func TestSocketReaderLimitsAndEOF(t *testing.T) {
	server, client := tcpPair(t)
	r := NewReader(server, FromClient)
	payload := strings.Repeat("p", 7000)
	write(t, client, "UUX 1 7000\r\n"+payload)
	if c, err := r.ReadCommand(); err != nil || string(c.Payload) != payload {
		t.Fatalf("large payload: %v", err)
	}
	write(t, client, "VER 2 "+strings.Repeat("x", DefaultMaxLine)+"\r\n")
	if _, err := r.ReadCommand(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("long line: %v", err)
	}

	server2, client2 := tcpPair(t)
	r2 := NewReader(server2, FromClient)
	write(t, client2, "PNG\r\nCHG 4")
	client2.Close()
	if c, err := r2.ReadCommand(); err != nil || c.Name != "PNG" {
		t.Fatalf("PNG before EOF: %v %v", c, err)
	}
	if _, err := r2.ReadCommand(); err != io.ErrUnexpectedEOF {
		t.Fatalf("half a line at EOF: %v", err)
	}

	server3, client3 := tcpPair(t)
	r3 := NewReader(server3, FromClient)
	client3.Close()
	if _, err := r3.ReadCommand(); err != io.EOF {
		t.Fatalf("clean EOF: %v", err)
	}
	server3.Close()
	if _, err := r3.ReadCommand(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
}

// BeforeRead runs before every read from the connection and never between
// commands already read.
func TestBeforeRead(t *testing.T) {
	for _, name := range []string{"socket", "reader"} {
		t.Run(name, func(t *testing.T) {
			var src io.Reader = strings.NewReader("PNG\r\nPNG\r\n")
			if name == "socket" {
				server, client := tcpPair(t)
				write(t, client, "PNG\r\nPNG\r\n")
				client.Close()
				src = server
			}
			r := NewReader(src, FromClient)
			calls := 0
			r.BeforeRead = func() { calls++ }
			for range 2 {
				if _, err := r.ReadCommand(); err != nil {
					t.Fatal(err)
				}
			}
			if calls != 1 {
				t.Fatalf("BeforeRead ran %d times for one read", calls)
			}
			if _, err := r.ReadCommand(); err != io.EOF {
				t.Fatal(err)
			}
			if calls != 2 {
				t.Fatalf("BeforeRead ran %d times for two reads", calls)
			}
		})
	}
}

// A Reader with large reads takes a burst of commands in one read, and
// still waits with no buffer, or only a small one holding the start of a
// command.
func TestSocketReaderLargeReads(t *testing.T) {
	server, client := tcpPair(t)
	r := NewReader(server, FromClient)
	if !r.in.sock.ok {
		t.Skip("no direct socket reads on this platform")
	}
	r.LargeReads()
	const n = 4000 // 20,000 bytes, five small buffers' worth
	write(t, client, strings.Repeat("PNG\r\n", n)+"OU")
	reads := 0
	r.BeforeRead = func() { reads++ }
	for i := range n {
		if c, err := r.ReadCommand(); err != nil || c.Name != "PNG" {
			t.Fatalf("command %d: %v %v", i, c, err)
		}
	}
	// On loopback the burst is all there at the first read; a read or
	// two more is a burst that arrived in parts, five is small reads.
	if reads > 2 {
		t.Errorf("%d reads for %d bytes", reads, 5*n)
	}
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := r.ReadCommand(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of half a command past the deadline: %v, want a timeout", err)
	}
	if len(r.in.data) != bufferSize || r.Buffered() != 2 {
		t.Fatalf("waiting with the start of a command in a %d-byte buffer (%d buffered), want %d", len(r.in.data), r.Buffered(), bufferSize)
	}
	server.SetReadDeadline(time.Time{})
	write(t, client, "T\r\n")
	if c, err := r.ReadCommand(); err != nil || c.Name != "OUT" {
		t.Fatalf("OUT: %v %v", c, err)
	}
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := r.ReadCommand(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle read past the deadline: %v, want a timeout", err)
	}
	if r.in.data != nil {
		t.Fatalf("an idle Reader holds a %d-byte buffer", len(r.in.data))
	}
}
