// Package pgtest runs a throw-away PostgreSQL cluster for tests, in the
// spirit of net/http/httptest: the server binaries of the machine's
// PostgreSQL package, a cluster made with initdb in a temporary directory,
// reached over a unix socket in that directory (no TCP port, so no port
// can be taken), and a new empty database for every test that asks.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		url := pgtest.Start(t) // postgres:///t_123_1?host=/tmp/…&user=postgres
//		…
//	}
//
// The first Start starts the cluster. In a package whose TestMain calls
// Main, one cluster serves every test and stops when they have all run;
// without Main, it stops when the last test using it ends (so a package
// with many PostgreSQL tests wants Main: a cluster takes a second or so to
// start). Either way the server also stops if the test process is killed
// (it gets SIGQUIT when its parent dies), and the next run removes the
// directory left behind.
//
// When PostgreSQL is not installed, Start skips the test with a message
// saying how to install it, except under CI (the CI variable set), where
// a missing PostgreSQL fails the test: CI installs it (scripts/deps.d).
//
// The cluster is tuned for tests only where it does not change what they
// prove: commits are durable (fsync on) as in production, so benchmarks
// against it are honest. When the server fails to start, the error ends
// with the tail of its log.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
)

// Superuser is the role the cluster is made with; the URLs Start returns
// connect as it.
const Superuser = "postgres"

// dirPrefix names the temporary directories of clusters, so that a later
// run can find the ones a killed process left behind.
const dirPrefix = "nudge-pgtest-"

var (
	mu      sync.Mutex
	running *cluster
	failed  error // a start that failed is not retried by every test
	users   int   // tests holding a database of running
	keep    bool  // Main runs the tests: keep the cluster until they end
	seq     atomic.Int64
)

// Start returns the URL of a new, empty database (UTF8) on the process's
// cluster, starting the cluster first if needed. The database is dropped
// when the test ends. It skips the test when PostgreSQL is not installed,
// unless the CI variable is set.
func Start(t testing.TB) string {
	t.Helper()
	c, err := get()
	if err != nil {
		var nf *notFoundError
		if errors.As(err, &nf) && os.Getenv("CI") == "" {
			t.Skipf("pgtest: %v", err)
		}
		t.Fatalf("pgtest: %v", err)
	}
	name, err := c.take()
	if err != nil {
		release()
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		c.drop(name)
		release()
	})
	return c.url(name)
}

// release ends a test's hold on the cluster, stopping it after the last
// one unless Main keeps it.
func release() {
	mu.Lock()
	defer mu.Unlock()
	users--
	if users == 0 && !keep && running != nil {
		running.stop()
		running = nil
	}
}

// Main runs the package's tests and then stops the cluster, if one was
// started, and exits. Call it from TestMain.
func Main(m *testing.M) {
	mu.Lock()
	keep = true
	mu.Unlock()
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the cluster and removes its directory. Start after Stop starts
// a new one.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if running != nil {
		running.stop()
		running = nil
	}
}

// get returns the running cluster, starting it on first use, and counts
// the caller as one of its users (see release).
func get() (*cluster, error) {
	mu.Lock()
	defer mu.Unlock()
	if running != nil {
		users++
		return running, nil
	}
	if failed != nil {
		return nil, failed
	}
	c, err := start(true)
	if err != nil {
		failed = err
		return nil, err
	}
	running = c
	users++
	return c, nil
}

// notFoundError: PostgreSQL's server binaries are not on this machine.
type notFoundError struct{}

func (*notFoundError) Error() string {
	return "PostgreSQL server binaries (initdb, postgres) not found; install Debian's postgresql package " +
		"(scripts/deps.d/40-postgresql.sh, run by make test) or put initdb on PATH"
}

// binDir finds the directory of initdb and postgres: the newest of
// Debian's /usr/lib/postgresql/*/bin (not on PATH), else PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first: "16" > "15" > "9.6" as numbers.
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(a)), 64)
		vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(b)), 64)
		switch {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	})
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", &notFoundError{}
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// cluster is one running server.
type cluster struct {
	dir    string // holds data/, the socket and the log
	bin    string // the server binaries
	cred   *syscall.Credential
	admin  *sql.DB
	proc   *os.Process
	exited chan struct{} // closed when the server process has ended

	// Making a database (a copy of template1) and dropping one (which
	// waits for a checkpoint) take a good part of a second each: spares
	// are made ahead and drops happen behind, off the tests' path.
	// One maker makes them all, one at a time: CREATE DATABASE waits
	// (up to seconds) while another session uses the template, and a
	// concurrent CREATE DATABASE from the same template counts as one.
	spares    chan string    // empty databases made ahead
	makerDone chan struct{}  // closed when the maker has failed
	makerErr  error          // why, set before makerDone is closed
	done      chan struct{}  // closed by stop: no more spares
	maker     sync.WaitGroup // the maker, until it returns
	drops     sync.WaitGroup // the drops under way
}

// spareCount is how many empty databases are kept ready.
const spareCount = 2

// create makes a new, empty database and returns its name.
func (c *cluster) create() (string, error) {
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), seq.Add(1))
	if _, err := c.admin.Exec(`CREATE DATABASE ` + pq.QuoteIdentifier(name)); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return name, nil
}

// take returns an empty database, waiting for the maker if none is ready.
func (c *cluster) take() (string, error) {
	select {
	case name := <-c.spares:
		return name, nil
	default:
	}
	select {
	case name := <-c.spares:
		return name, nil
	case <-c.makerDone:
		return "", c.makerErr
	}
}

// makeSpares keeps spareCount databases ready until the cluster stops.
func (c *cluster) makeSpares() {
	defer c.maker.Done()
	for {
		name, err := c.create()
		if err != nil {
			c.makerErr = err
			close(c.makerDone)
			return
		}
		select {
		case c.spares <- name:
		case <-c.done:
			return
		}
	}
}

// drop removes a test's database in the background. FORCE ends the
// sessions a test left open (a pool not closed). The cluster goes at the
// end anyway; this only keeps it small.
func (c *cluster) drop(name string) {
	c.drops.Add(1)
	go func() {
		defer c.drops.Done()
		c.admin.Exec(`DROP DATABASE IF EXISTS ` + pq.QuoteIdentifier(name) + ` WITH (FORCE)`)
	}()
}

// url returns the URL of database name on the cluster.
func (c *cluster) url(name string) string {
	q := url.Values{"host": {c.dir}, "user": {Superuser}, "sslmode": {"disable"}}
	u := url.URL{Scheme: "postgres", Path: "/" + name, RawQuery: q.Encode()}
	return u.String()
}

// runAs says which user the server runs as: initdb and postgres refuse to
// run as root, so a root process runs them as the package's postgres user
// (or nobody); anyone else runs them as themselves.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, and there is no postgres or nobody user to run PostgreSQL as")
}

// start starts a cluster; with spares it keeps empty databases ready for
// take.
func start(spares bool) (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", dirPrefix+"*")
	if err != nil {
		return nil, err
	}
	// The owner's pid, so that a later run knows whether it is stale.
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		// The directory (0700 from MkdirTemp) must belong to the user the
		// server runs as; /tmp above it is open to everyone.
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	c, err := boot(bin, dir, cred)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if spares {
		c.maker.Add(1)
		go c.makeSpares()
	}
	return c, nil
}

// boot runs initdb in dir and starts the server.
func boot(bin, dir string, cred *syscall.Credential) (*cluster, error) {
	data := filepath.Join(dir, "data")

	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"--pgdata="+data, "--username="+Superuser, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-instructions",
		// What initdb writes need not reach the disk before the server
		// starts: a test cluster does not outlive a machine crash.
		"--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	initdb.Env = cleanEnv()
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	c := &cluster{dir: dir, bin: bin, cred: cred, spares: make(chan string, spareCount),
		makerDone: make(chan struct{}), done: make(chan struct{})}
	admin, err := sql.Open("postgres", c.url("postgres"))
	if err != nil {
		return nil, err
	}
	// The tests' creates, the spare maker and the drops behind.
	admin.SetMaxOpenConns(4)
	c.admin = admin
	if err := c.launch(); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// launch starts the server on the cluster's data directory and socket and
// waits until it accepts connections.
func (c *cluster) launch() error {
	data := filepath.Join(c.dir, "data")
	logPath := filepath.Join(c.dir, "server.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	srv := exec.Command(filepath.Join(c.bin, "postgres"), "-D", data,
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories="+c.dir,
		"-c", "port=5432",
		// Every test's pool, and the concurrency tests' two at once.
		"-c", "max_connections=200",
		// Small: each test package starts its own cluster, and go test
		// runs packages side by side.
		"-c", "shared_buffers=32MB",
		"-c", "max_wal_size=256MB",
		"-c", "log_min_messages=warning",
		"-c", "log_min_error_statement=panic",
	)
	srv.Dir = c.dir
	srv.Env = cleanEnv()
	srv.Stdout, srv.Stderr = logf, logf

	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		// Linux sends the parent-death signal when the thread that
		// started the child exits, not the process: keep this thread (the
		// goroutine never unlocks it) for as long as the server runs, so
		// the server gets SIGQUIT (immediate shutdown) only when the test
		// process dies.
		runtime.LockOSThread()
		srv.SysProcAttr = sysProcAttr(c.cred)
		if err := srv.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		srv.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.proc, c.exited = srv.Process, exited
	return c.waitReady(logPath)
}

// waitReady polls until the server accepts connections; it gives up when
// the server exits, or after a minute (a slow, loaded CI machine).
func (c *cluster) waitReady(logPath string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.admin.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited while starting: %s", tail(logPath))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within a minute: %v; %s", err, tail(logPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the server down (fast: sessions are ended, no waiting for
// clients) and removes the directory.
func (c *cluster) stop() {
	close(c.done)
	c.maker.Wait()
	c.drops.Wait()
	if c.admin != nil {
		c.admin.Close()
	}
	if c.proc != nil {
		c.proc.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			c.proc.Kill()
			<-c.exited
		}
	}
	os.RemoveAll(c.dir)
}

// removeStale removes the directories of clusters whose test process is
// gone (killed before it could stop its cluster).
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		// The server itself died with its owner (parent-death signal);
		// if one still holds the directory, its postmaster.pid says so.
		if b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if spid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && alive(spid) {
				continue
			}
		}
		os.RemoveAll(d)
	}
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// cleanEnv is the environment without the PG* variables a developer may
// have set for their own server (PGDATA, PGPORT, PGHOST…), which would
// point initdb and postgres elsewhere.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// tail returns the end of the server log, for errors.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no server log"
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "server log: " + strings.TrimSpace(string(b))
}
