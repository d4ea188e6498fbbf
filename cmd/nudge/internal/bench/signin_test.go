package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// TestSignerIsARealSignIn signs in with the bench's signer, MD5 (MSNP7)
// and a Passport ticket (MSNP12), as a user whose contact is online: the
// server counts the sign-in, the contact sees the user come online and
// leave, the signer read the whole list, and the server was sent the same
// commands as when the Go client signs in (apart from the ping the client
// sends to learn that the presence burst has ended).
func TestSignerIsARealSignIn(t *testing.T) {
	srv := coretest.Start(t)
	ctx := context.Background()
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	srv.AddUser(t, "bob@example.com", "pw", "Bob")
	err := srv.Store.AddContacts(ctx, []store.ContactPair{
		{Owner: "alice@example.com", Contact: "bob@example.com"},
		{Owner: "bob@example.com", Contact: "alice@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := record(t, srv.NSAddr)
	b := &runner{opts: Options{Servers: []string{p.addr}, HTTP: []string{srv.HTTPURL}}, password: "pw"}

	// Bob, online, watches Alice.
	bob, err := b.rawLogin(ctx, "bob@example.com", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.conn.Close()
	bob.conn.SetDeadline(time.Now().Add(time.Minute))
	seen := func(name string) {
		t.Helper()
		for {
			c, err := bob.r.ReadCommand()
			if err != nil {
				t.Fatalf("waiting for %s alice: %v", name, err)
			}
			if c.Name == name && strings.Contains(c.String(), " alice@example.com") {
				return
			}
		}
	}

	for _, tc := range []struct {
		v      msnp.Version
		method string
		listed int // entries of Alice's list the sync carries: one contact, on FL and RL before MSNP8
	}{
		{7, "md5", 2},
		{12, "twn", 1},
	} {
		t.Run(tc.v.String(), func(t *testing.T) {
			ok := func() float64 { return loginsCounted(t, srv, tc.method) }
			before := ok()
			s := b.newSigner(tc.v, "alice@example.com", p.addr)
			ticket := ""
			if tc.v >= 8 {
				ticket = srv.Tickets.Issue("alice@example.com")
			}
			p.reset()
			if err := s.signIn(ctx, ticket); err != nil {
				t.Fatal(err)
			}
			if s.listed != tc.listed {
				t.Errorf("the signer read %d list entries, want %d", s.listed, tc.listed)
			}
			if n := ok() - before; n != 1 {
				t.Errorf("the server counted %v sign-ins", n)
			}
			seen("NLN")
			seen("FLN")
			bare := p.commands(t)

			cfg := client.Config{Server: p.addr, Email: "alice@example.com", Password: "pw", Version: tc.v, MinVersion: tc.v,
				Passport: client.PassportConfig{URL: srv.HTTPURL}}
			c, err := client.Dial(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			seen("NLN")
			seen("FLN")
			var full []string
			for _, x := range p.commands(t) {
				if x != "PNG" {
					full = append(full, x)
				}
			}
			if strings.Join(bare, "\n") != strings.Join(full, "\n") {
				t.Errorf("the signer sent\n%s\n\nthe Go client\n%s", strings.Join(bare, "\n"), strings.Join(full, "\n"))
			}
		})
	}
}

// loginsCounted reads the server's count of successful sign-ins by method
// from its /metrics.
func loginsCounted(t *testing.T, srv *coretest.Server, method string) float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.HTTPURL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+srv.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	prefix := `nudge_logins_total{method="` + method + `",result="ok"} `
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	return 0
}

// recorder is a TCP proxy to a server that keeps what clients send.
type recorder struct {
	addr string
	mu   sync.Mutex
	sent map[net.Conn]*bytes.Buffer // by client connection, in order of arrival
	conn []net.Conn
}

func record(t *testing.T, to string) *recorder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p := &recorder{addr: l.Addr().String(), sent: map[net.Conn]*bytes.Buffer{}}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			buf := &bytes.Buffer{}
			p.mu.Lock()
			p.sent[c] = buf
			p.conn = append(p.conn, c)
			p.mu.Unlock()
			go func() {
				defer s.Close()
				io.Copy(s, io.TeeReader(c, lockedWriter{&p.mu, buf}))
			}()
			go func() {
				defer c.Close()
				io.Copy(c, s)
			}()
		}
	}()
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// reset forgets the connections recorded so far.
func (p *recorder) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent, p.conn = map[net.Conn]*bytes.Buffer{}, nil
}

// commands returns what the clients since the last call sent, one command
// a line, without TrIDs, the USR S answer or payloads; and resets.
func (p *recorder) commands(t *testing.T) []string {
	t.Helper()
	// The proxy may still be copying the last bytes (OUT) across.
	time.Sleep(100 * time.Millisecond)
	p.mu.Lock()
	var all []byte
	for _, c := range p.conn {
		all = append(all, p.sent[c].Bytes()...)
	}
	p.mu.Unlock()
	p.reset()
	r := msnp.NewReader(bytes.NewReader(all), msnp.FromClient)
	var out []string
	for {
		c, err := r.ReadCommand()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading what the client sent: %v", err)
		}
		params := c.Params
		if c.Name == "USR" && len(params) == 3 && params[1] == "S" {
			params = params[:2]
		}
		out = append(out, strings.Join(append([]string{c.Name}, params...), " "))
	}
}

// TestSignerFollowsReferrals signs in at a Dispatch Server, which refers
// the signer to the Notification Server (XFR NS), and at a server that
// sends no challenge: the signer neither stops at the referral nor waits
// for a challenge that does not come.
func TestSignerFollowsReferrals(t *testing.T) {
	srv := coretest.Start(t, coretest.WithDispatch(), coretest.WithoutChallenges())
	srv.AddUser(t, "alice@example.com", "pw", "Alice")
	b := &runner{opts: Options{Servers: []string{srv.DSAddr}, HTTP: []string{srv.HTTPURL}}, password: "pw"}
	for _, v := range []msnp.Version{7, 12} {
		s := b.newSigner(v, "alice@example.com", srv.DSAddr)
		ticket := ""
		if v >= 8 {
			ticket = srv.Tickets.Issue("alice@example.com")
		}
		method := strings.ToLower(string(v.Dialect().Auth))
		before := loginsCounted(t, srv, method)
		if err := s.signIn(context.Background(), ticket); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if n := loginsCounted(t, srv, method) - before; n != 1 {
			t.Errorf("%s: the server counted %v sign-ins", v, n)
		}
	}
}
