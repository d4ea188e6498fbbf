package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/server"
)

// TestFileDescriptorFlood runs the service in a child process whose file
// limit is tiny, floods its NS port until accept fails with "too many open
// files", lets the flood go, and checks that the NS port answers again and
// /healthz is fine: the accept loop backed off and retried.
func TestFileDescriptorFlood(t *testing.T) {
	if os.Getenv("NUDGE_FD_CHILD") != "" {
		t.Skip("the child runs TestFileDescriptorFloodChild")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileDescriptorFloodChild$", "-test.v")
	cmd.Env = append(os.Environ(), "NUDGE_FD_CHILD="+t.TempDir())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	sawEMFILE := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "too many open files") {
				once = true
				close(sawEMFILE)
			}
		}
	}()
	var nsAddr, httpAddr string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "ADDRS %s %s", &nsAddr, &httpAddr); err == nil {
			break
		}
	}
	if nsAddr == "" {
		t.Fatal("the child did not start")
	}
	go io.Copy(io.Discard, stdout)

	// The flood: far more connections than the child has descriptors.
	var flood []net.Conn
	deadline := time.After(30 * time.Second)
flooding:
	for len(flood) < 400 {
		c, err := net.DialTimeout("tcp", nsAddr, 2*time.Second)
		if err == nil {
			flood = append(flood, c)
		}
		select {
		case <-sawEMFILE:
			break flooding
		case <-deadline:
			break flooding
		default:
		}
	}
	select {
	case <-sawEMFILE:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d connections did not exhaust the child's descriptors", len(flood))
	}
	for _, c := range flood {
		c.Close()
	}

	// Sign-in works again, without a restart.
	var line string
	for try := 0; try < 40 && !strings.HasPrefix(line, "VER 1 MSNP8"); try++ {
		c, err := net.DialTimeout("tcp", nsAddr, 2*time.Second)
		if err != nil {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "VER 1 MSNP8 CVR0\r\n")
		line, _ = bufio.NewReader(c).ReadString('\n')
		c.Close()
	}
	if !strings.HasPrefix(line, "VER 1 MSNP8") {
		t.Fatalf("NS does not answer after the flood: %q", line)
	}
	resp, err := http.Get("http://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz after the flood: %s", resp.Status)
	}
}

// TestFileDescriptorFloodChild is the child of TestFileDescriptorFlood: the
// service with 64 file descriptors, until its stdin closes.
func TestFileDescriptorFloodChild(t *testing.T) {
	dir := os.Getenv("NUDGE_FD_CHILD")
	if dir == "" {
		t.Skip("run by TestFileDescriptorFlood")
	}
	cfg := config.Default()
	cfg.Data = dir
	cfg.Listen = config.Listen{NS: "127.0.0.1:0", SB: "127.0.0.1:0", HTTP: "127.0.0.1:0"}
	cfg.Login.BcryptCost = 4
	cfg.Limits.UnauthenticatedPerAddress = 10000 // the flood must reach the descriptor limit
	cfg.Limits.Unauthenticated = 10000
	cfg.Timeouts.FirstCommand = config.Duration(time.Second)
	srv, err := server.Start(context.Background(), cfg, zerolog.New(os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 64, Max: 64}); err != nil {
		t.Fatal(err)
	}
	a := srv.Addrs()
	fmt.Printf("ADDRS %s %s\n", a.NS, a.HTTP)
	io.Copy(io.Discard, os.Stdin)
}

// TestDeadListenerFailsHealthz: a listener that stops while the service
// runs makes /healthz answer 503, naming it on the operator port only.
func TestDeadListenerFailsHealthz(t *testing.T) {
	srv := coretest.Start(t)
	if code, _ := get(t, http.DefaultClient, srv.HTTPURL+"/healthz", ""); code != 200 {
		t.Fatalf("/healthz = %d before", code)
	}
	srv.Server.KillListener("ns")
	var code int
	var body string
	for i := 0; i < 100; i++ {
		if code, body = get(t, http.DefaultClient, srv.HTTPURL+"/healthz", ""); code != 200 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != http.StatusServiceUnavailable || body != "listener stopped\n" {
		t.Fatalf("/healthz = %d %q with NS dead, want 503 listener stopped", code, body)
	}
	code, body = get(t, http.DefaultClient, srv.OperatorURL+"/healthz", "")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "listener stopped: ns") {
		t.Fatalf("operator /healthz = %d %q with NS dead, want 503 naming it", code, body)
	}
}

// TestHTTPTimeouts: slow headers, slow bodies and idle keep-alive
// connections are closed on every HTTP listener.
func TestHTTPTimeouts(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) {
		c.Timeouts.HTTPHeader = config.Duration(300 * time.Millisecond)
		c.Timeouts.HTTPRead = config.Duration(500 * time.Millisecond)
		c.Timeouts.HTTPIdle = config.Duration(300 * time.Millisecond)
	}))
	closedWithin := func(name, addr, send string, within time.Duration) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, send)
		c.SetReadDeadline(time.Now().Add(within))
		_, err = io.Copy(io.Discard, c) // until the server closes
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s on %s: still open after %v", name, addr, within)
		}
	}
	for _, addr := range []string{strings.TrimPrefix(srv.HTTPURL, "http://"), strings.TrimPrefix(srv.OperatorURL, "http://")} {
		closedWithin("half a request line", addr, "GET /healthz HTTP/1.1\r\n", 5*time.Second)
		closedWithin("a slow body", addr, "POST /RST.srf HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<Envelope>", 5*time.Second)
		closedWithin("an idle keep-alive", addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 5*time.Second)
	}
}

// TestHTTPConnectionCap: past limits.http_connections, a new connection
// waits until one closes.
func TestHTTPConnectionCap(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) { c.Limits.HTTPConnections = 2 }))
	addr := strings.TrimPrefix(srv.HTTPURL, "http://")
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	time.Sleep(100 * time.Millisecond) // let the server accept them
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("a third connection was served (%q) past the cap of 2", line)
	}
	held[0].Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("after a place freed: %q, %v", line, err)
	}
}
