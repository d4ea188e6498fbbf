package msnftp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/msnp/message"
)

// pair is a real loopback TCP connection.
func pair(t testing.TB) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	a, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestTransfer(t *testing.T) {
	for _, size := range []int{0, 1, MaxBlock, MaxBlock + 1, 100000} {
		data := make([]byte, size)
		rand.Read(data)
		sender, receiver := pair(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errc := make(chan error, 1)
		var sentProgress int64
		go func() {
			errc <- Send(ctx, sender, "bob@example.com", "4242", bytes.NewReader(data), int64(size), func(n int64) { sentProgress = n })
		}()
		var got bytes.Buffer
		var calls int
		err := Receive(ctx, receiver, "Bob@Example.com", "4242", &got, int64(size), func(int64) { calls++ })
		if err != nil {
			t.Fatalf("%d bytes: receive: %v", size, err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("%d bytes: send: %v", size, err)
		}
		if !bytes.Equal(got.Bytes(), data) || sentProgress != int64(size) {
			t.Errorf("%d bytes: got %d, progress %d", size, got.Len(), sentProgress)
		}
		if want := (size + MaxBlock - 1) / MaxBlock; calls != want {
			t.Errorf("%d bytes: %d progress calls, want %d", size, calls, want)
		}
	}
}

// The receiver's side as the wire shows it, against a scripted sender.
func TestReceiveTranscript(t *testing.T) {
	sender, receiver := pair(t)
	done := make(chan error, 1)
	var got bytes.Buffer
	go func() {
		done <- Receive(context.Background(), receiver, "bob@example.com", "99", &got, 5, nil)
	}()
	r := bufio.NewReader(sender)
	expectLine := func(want string) {
		t.Helper()
		sender.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil || line != want+"\r\n" {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
	expectLine("VER MSNFTP")
	io.WriteString(sender, "VER MSNFTP\r\n")
	expectLine("USR bob@example.com 99")
	io.WriteString(sender, "FIL 5\r\n")
	expectLine("TFR")
	sender.Write([]byte{0, 3, 0, 'a', 'b', 'c', 0, 2, 0, 'd', 'e'})
	expectLine("BYE 16777989")
	if err := <-done; err != nil || got.String() != "abcde" {
		t.Fatalf("%q %v", got.String(), err)
	}
}

func TestRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Wrong cookie: the sender refuses.
	sender, receiver := pair(t)
	errc := make(chan error, 1)
	go func() { errc <- Send(ctx, sender, "bob@example.com", "1", strings.NewReader("x"), 1, nil) }()
	go Receive(ctx, receiver, "bob@example.com", "2", io.Discard, 1, nil)
	if err := <-errc; !errors.Is(err, ErrAuth) {
		t.Errorf("wrong cookie: %v", err)
	}

	// A FIL that differs from the invitation: the receiver cancels.
	sender, receiver = pair(t)
	go Send(ctx, sender, "bob@example.com", "1", strings.NewReader("xy"), 2, nil)
	if err := Receive(ctx, receiver, "bob@example.com", "1", io.Discard, 1, nil); !errors.Is(err, ErrProtocol) {
		t.Errorf("size mismatch: %v", err)
	}

	// A cancel block from the sender.
	sender, receiver = pair(t)
	go func() {
		r := bufio.NewReader(sender)
		r.ReadString('\n')
		io.WriteString(sender, "VER MSNFTP\r\n")
		r.ReadString('\n')
		io.WriteString(sender, "FIL 10\r\n")
		r.ReadString('\n')
		sender.Write([]byte{0, 1, 0, 'a', 1, 0, 0})
	}()
	if err := Receive(ctx, receiver, "bob@example.com", "1", io.Discard, 10, nil); !errors.Is(err, ErrCancelled) {
		t.Errorf("sender cancel: %v", err)
	}

	// The receiver cancels by its context: the sender sees CCL or the
	// connection closing.
	sender, receiver = pair(t)
	rctx, rcancel := context.WithCancel(ctx)
	go func() { errc <- Send(ctx, sender, "bob@example.com", "1", infinite{}, 1<<40, nil) }()
	w := &cancelAfter{n: 50000, cancel: rcancel}
	if err := Receive(rctx, receiver, "bob@example.com", "1", w, 1<<40, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("receiver cancel: %v", err)
	}
	receiver.Close()
	if err := <-errc; err == nil {
		t.Error("sender finished a cancelled transfer")
	}
}

type infinite struct{}

func (infinite) Read(b []byte) (int, error) { return len(b), nil }

type cancelAfter struct {
	n      int
	cancel func()
}

func (c *cancelAfter) Write(b []byte) (int, error) {
	c.n -= len(b)
	if c.n < 0 {
		c.cancel()
	}
	return len(b), nil
}

func TestInvitation(t *testing.T) {
	body := append(NewInvite("33267", "readme.txt", 60904).AppendTo(nil), '\r', '\n')
	inv, err := ParseInvitation(body)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Command != CommandInvite || inv.Cookie != "33267" || inv.FileName != "readme.txt" || inv.FileSize != 60904 || !inv.IsFileTransfer() {
		t.Errorf("%+v", inv)
	}
	// As the reference shows the sender's second ACCEPT.
	acc, err := ParseInvitation([]byte("Invitation-Command: ACCEPT\r\nInvitation-Cookie: 33267\r\nIP-Address: 10.44.102.65\r\nPort: 6891\r\n" +
		"AuthCookie: 93301\r\nLaunch-Application: FALSE\r\nRequest-Data: IP-Address:\r\n\r\n"))
	if err != nil || acc.IP != "10.44.102.65" || acc.Port != 6891 || acc.AuthCookie != "93301" {
		t.Errorf("%+v %v", acc, err)
	}
	back, _ := ParseInvitation(append(NewListening("1", "127.0.0.1", 6891, "5").AppendTo(nil), '\r', '\n'))
	if back.Port != 6891 || back.IP != "127.0.0.1" || back.AuthCookie != "5" || back.Command != CommandAccept {
		t.Errorf("%+v", back)
	}
	if _, err := ParseInvitation([]byte("Application-Name: x\r\n\r\n")); !errors.Is(err, ErrInvitation) {
		t.Errorf("no command: %v", err)
	}
	if c := NewCookie(); c == "" || c == "0" {
		t.Errorf("cookie %q", c)
	}
	m := message.NewInvite(NewCancel("1", CancelReject))
	if !strings.Contains(m.String(), "Cancel-Code: REJECT\r\n") {
		t.Errorf("%q", m.String())
	}
}

// FuzzReceive plays an arbitrary sender against Receive: it must end
// without panicking and never write more than the announced size.
func FuzzReceive(f *testing.F) {
	f.Add([]byte("VER MSNFTP\r\nFIL 5\r\n\x00\x03\x00abc\x00\x02\x00de"), int64(5))
	f.Add([]byte("VER MSNFTP\r\nFIL 5\r\n\x00\xff\xffabc"), int64(5))
	f.Add([]byte("CCL\r\n"), int64(1))
	f.Fuzz(func(t *testing.T, script []byte, size int64) {
		if size < 0 {
			size = -size
		}
		a, b := net.Pipe()
		defer a.Close()
		go func() {
			go io.Copy(io.Discard, a)
			a.Write(script)
			a.Close()
		}()
		var got bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		Receive(ctx, b, "bob@example.com", "1", &got, size, nil)
		if int64(got.Len()) > size {
			t.Fatalf("wrote %d bytes of %d", got.Len(), size)
		}
	})
}

func FuzzParseInvitation(f *testing.F) {
	f.Add(append(NewInvite("1", "a.txt", 3).AppendTo(nil), '\r', '\n'))
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := ParseInvitation(b)
		if err == nil && (inv.Command == "" || inv.Cookie == "") {
			t.Fatal("accepted without command or cookie")
		}
	})
}
