package passport

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// lenientServer serves Handler on a LenientListener, under TLS when tlsOn,
// the way the service's two Passport ports do.
func lenientServer(t *testing.T, tlsOn bool) (addr string, dial func() net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := ln
	if tlsOn {
		certs, err := OpenCertificates(t.TempDir(), CertOptions{})
		if err != nil {
			t.Fatal(err)
		}
		served = tls.NewListener(ln, certs.TLSConfig())
	}
	srv := &http.Server{Handler: Handler(Config{Auth: testAuth, Tickets: NewTickets(time.Minute), LoginPort: "443"}),
		ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(LenientListener(served))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), func() net.Conn {
		t.Helper()
		var c net.Conn
		var err error
		if tlsOn {
			c, err = tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		} else {
			c, err = net.Dial("tcp", ln.Addr().String())
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// TestLenientRequests: the nexus and login2.srf answer, on both Passport
// ports, the requests as vintage clients write them. Each is one write, as
// the clients make it; the answer is read until the server closes.
func TestLenientRequests(t *testing.T) {
	pidginLogin := "GET /login2.srf HTTP/1.1\r\n" +
		"Authorization: " + authHeader(testEmail, testPassword) + "\r\n" +
		"User-Agent: MSMSGS\r\nHost: 127.0.0.1\r\nConnection: Keep-Alive\r\nCache-Control: no-cache\r\n\r\n"
	for _, tc := range []struct {
		name, req string
		status    string   // the status line, which clients compare as a string
		headers   []string // prefixes of header lines that must be there
	}{
		// Pidgin 2.x's MSNP9 plugin and older msn-pecan: no version, no
		// Host, a blank line. They search the answer for "PassportURLs"
		// and DALogin.
		{"nexus, no version", "GET /rdr/pprdr.asp\r\n\r\n", "HTTP/1.1 200 OK",
			[]string{"PassportURLs: DARealm=Passport.Net,DALogin=127.0.0.1/login2.srf,"}},
		// HTTP/0.9 proper: the line alone.
		{"nexus, the line alone", "GET /rdr/pprdr.asp\r\n", "HTTP/1.1 200 OK",
			[]string{"PassportURLs: DARealm=Passport.Net,DALogin=127.0.0.1/login2.srf,"}},
		{"nexus, HTTP/1.1 without Host", "GET /rdr/pprdr.asp HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK",
			[]string{"PassportURLs: DARealm=Passport.Net,DALogin=127.0.0.1/login2.srf,"}},
		{"login2.srf, no version, no credentials", "GET /login2.srf\r\n\r\n", "HTTP/1.1 401 Unauthorized",
			[]string{"WWW-Authenticate: Passport1.4 da-status=failed,"}},
		{"login2.srf, no version, with credentials", "GET /login2.srf\r\nAuthorization: " + authHeader(testEmail, testPassword) + "\r\n\r\n",
			"HTTP/1.1 200 OK", []string{"Authentication-Info: Passport1.4 da-status=success,", "Connection: close"}},
		{"login2.srf, HTTP/1.1 without Host", "GET /login2.srf HTTP/1.1\r\nAuthorization: " + authHeader(testEmail, testPassword) + "\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK", []string{"Authentication-Info: Passport1.4 da-status=success,"}},
		// Pidgin's login request, byte for byte as its nexus.c builds it;
		// it looks for "HTTP/1.1 200 OK" and then Authentication-Info.
		{"login2.srf as Pidgin sends it", pidginLogin, "HTTP/1.1 200 OK",
			[]string{"Authentication-Info: Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec,from-PP='t="}},
	} {
		for _, tlsOn := range []bool{false, true} {
			_, dial := lenientServer(t, tlsOn)
			c := dial()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			var raw []byte
			if strings.Contains(tc.req, "Keep-Alive") {
				// Pidgin reads up to the blank line and hangs up.
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					raw = append(raw, line...)
					if err != nil || line == "\r\n" {
						break
					}
				}
			} else {
				var err error
				if raw, err = io.ReadAll(c); err != nil {
					t.Fatalf("%s (TLS %v): %v after %q", tc.name, tlsOn, err, raw)
				}
			}
			c.Close()
			status, lines := headerLines(string(raw))
			if status != tc.status {
				t.Errorf("%s (TLS %v): status %q, want %q\n%s", tc.name, tlsOn, status, tc.status, raw)
				continue
			}
			for _, want := range tc.headers {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, want)
				}
				if !found {
					t.Errorf("%s (TLS %v): no header line %q in\n%s", tc.name, tlsOn, want, raw)
				}
			}
		}
	}
}

// TestLenientPassesTheRestThrough: requests net/http takes already are
// handed over as they came, and only the first request of a connection
// is looked at.
func TestLenientPassesTheRestThrough(t *testing.T) {
	for _, in := range []string{
		"GET /rdr/pprdr.asp HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /rdr/pprdr.asp HTTP/1.0\r\n\r\n",
		"POST /RST.srf HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // TLS on the plain port
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		if head, done := fixHead([]byte(in), true); !done || string(head) != in {
			t.Errorf("fixHead(%q) = %q, %v", in, head, done)
		}
	}
	// Host-less HTTP/1.1 with a body: the body stays where it was.
	in := "POST /RST.srf HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	if head, done := fixHead([]byte(in), false); !done || string(head) != "POST /RST.srf HTTP/1.1\r\nHost: \r\nContent-Length: 3\r\n\r\nabc" {
		t.Errorf("fixHead(%q) = %q, %v", in, head, done)
	}
	// Until the headers are complete it waits for more.
	if _, done := fixHead([]byte("GET / HTTP/1.1\r\nUser-Agent: x\r\n"), false); done {
		t.Error("decided before the headers ended")
	}
}

// FuzzLenientHead: fixHead never panics, never grows a request by more than
// the headers it adds, and a request net/http reads as it came reads the
// same after it: same method, target, headers and body.
func FuzzLenientHead(f *testing.F) {
	for _, s := range []string{
		"GET /rdr/pprdr.asp\r\n\r\n", "GET /login2.srf HTTP/1.1\r\nAuthorization: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "POST /RST.srf HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", "GET /x\n\n", "",
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, ended bool) {
		head, done := fixHead(in, ended)
		if !done {
			if ended {
				t.Fatal("not done although nothing more will come")
			}
			return
		}
		if len(head) > len(in)+len(" HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n") {
			t.Fatalf("%q grew to %q", in, head)
		}
		orig, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			return
		}
		fixed, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("%q read, %q did not: %v", in, head, err)
		}
		if orig.Method != fixed.Method || orig.RequestURI != fixed.RequestURI || orig.Host != fixed.Host {
			t.Fatalf("%q became %q", in, head)
		}
		for k, v := range orig.Header {
			if strings.Join(fixed.Header[k], "\n") != strings.Join(v, "\n") {
				t.Fatalf("header %s of %q changed in %q", k, in, head)
			}
		}
		a, _ := io.ReadAll(orig.Body)
		b, _ := io.ReadAll(fixed.Body)
		if !bytes.Equal(a, b) {
			t.Fatalf("body of %q changed in %q", in, head)
		}
	})
}
