package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/bus/natstest"
	"github.com/nudge-im/nudge/core/coretest/pgtest"
	"github.com/nudge-im/nudge/core/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// nudgeBinary builds cmd/nudge once for the package's tests.
var nudgeBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "nudge-cluster-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "nudge")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nudge-im/nudge/cmd/nudge")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// testCluster is PostgreSQL, a NATS cluster and nodes that are `nudge
// serve` processes on loopback.
type testCluster struct {
	t     *testing.T
	db    string
	nats  *natstest.Cluster
	store store.Store
	nodes map[string]*node
}

// node is one `nudge serve` process.
type node struct {
	name   string
	cfg    string // its nudge.yaml
	ns, ds string
	sb     string
	http   string
	ops    string // the operator listener
	cmd    *exec.Cmd
	log    *bytes.Buffer
	exited chan struct{}
}

const adminToken = "cluster-test-token"

func newCluster(t *testing.T) *testCluster {
	t.Helper()
	return newClusterOn(t, pgtest.Start(t), 3)
}

// newClusterOn is newCluster on the database at db, with a NATS cluster
// of natsServers.
func newClusterOn(t *testing.T, db string, natsServers int) *testCluster {
	t.Helper()
	if _, err := nudgeBinary(); err != nil {
		t.Fatal(err)
	}
	c := &testCluster{t: t, db: db, nats: natstest.Start(t, natsServers), nodes: map[string]*node{}}
	st, err := store.OpenURL(context.Background(), c.db, "", store.Options{BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c.store = st
	return c
}

// port returns a free loopback address below the ephemeral range, so that
// a restarted node binds it again.
func port(t *testing.T) string {
	for {
		a := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12768))
		l, err := net.Listen("tcp", a)
		if err == nil {
			l.Close()
			return a
		}
	}
}

// start starts a node serving the given servers ("ns", "sb", "ds").
func (c *testCluster) start(name string, servers ...string) *node {
	c.t.Helper()
	n := &node{name: name, http: port(c.t), ops: port(c.t)}
	for _, s := range servers {
		switch s {
		case "ns":
			n.ns = port(c.t)
		case "sb":
			n.sb = port(c.t)
		case "ds":
			n.ds = port(c.t)
		}
	}
	dir := c.t.TempDir()
	n.cfg = filepath.Join(dir, "nudge.yaml")
	yaml := fmt.Sprintf(`data: %s
database:
  url: %q
listen:
  ns: %q
  ds: %q
  sb: %q
  http: %q
  https: ""
  operator: %q
login:
  bcrypt_cost: 4
  challenges: false
admin:
  token: %s
bots:
  shipped: false
web:
  enabled: false
limits:
  signin:
    free: 10
    account_failures: 3
    address_failures: 1000
log:
  level: debug
cluster:
  node: %s
  nats:
    urls: [%s]
  heartbeat: 500ms
  node_timeout: 3s
`, filepath.Join(dir, "data"), c.db, n.ns, n.ds, n.sb, n.http, n.ops, adminToken, name, strings.Join(c.nats.URLs(), ", "))
	if err := os.WriteFile(n.cfg, []byte(yaml), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.nodes[name] = n
	c.run(n)
	return n
}

// run starts n's process and waits until it answers /healthz.
func (c *testCluster) run(n *node) {
	c.t.Helper()
	bin, _ := nudgeBinary()
	n.log = &bytes.Buffer{}
	n.cmd = exec.Command(bin, "serve", "--config", n.cfg)
	w := &lockedWriter{w: n.log}
	n.cmd.Stdout, n.cmd.Stderr = w, w
	if err := n.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func() { n.cmd.Wait(); close(n.exited) }()
	c.t.Cleanup(func() { n.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := n.health(); code == http.StatusOK {
			return
		}
		select {
		case <-n.exited:
			c.t.Fatalf("node %s exited:\n%s", n.name, w.String())
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("node %s never became healthy:\n%s", n.name, w.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (n *node) kill() {
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.exited
	}
}

// health is what n's operator port says of its health (the public port
// says only ok or the reason in general terms).
func (n *node) health() (int, string) { return n.healthAt(n.ops) }

func (n *node) healthAt(addr string) (int, string) {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitHealth waits until /healthz answers code and its text has want.
func (n *node) waitHealth(t *testing.T, code int, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, text := n.health()
		if got == code && strings.Contains(text, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s /healthz: %d %q, want %d with %q", n.name, got, text, code, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (n *node) passport() string { return "http://" + n.http }

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// logs returns every node's log, for a failure message.
func (c *testCluster) logs() string {
	var b strings.Builder
	for _, n := range c.nodes {
		if lw, ok := n.cmd.Stdout.(*lockedWriter); ok {
			fmt.Fprintf(&b, "=== %s\n%s\n", n.name, lw.String())
		}
	}
	return b.String()
}

func (c *testCluster) addUser(email string) {
	c.t.Helper()
	if _, err := c.store.CreateAccount(context.Background(), email, "pw", strings.Split(email, "@")[0]); err != nil {
		c.t.Fatal(err)
	}
}

// login2 asks a node's login2.srf for a ticket; it returns the status.
func login2(t *testing.T, n *node, email, password string) int {
	req, _ := http.NewRequest("GET", n.passport()+"/login2.srf", nil)
	req.Header.Set("Authorization", "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in="+url.QueryEscape(email)+
		",pwd="+url.QueryEscape(password)+",lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1,kpp=1,kv=5,ver=2.1.0173.1,tpf=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
