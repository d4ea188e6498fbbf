// Package bench is the load generator behind "nudge bench": it drives any
// MSNP server (ours, or another with an account-making admin API) and
// measures sign-ins, idle sessions, switchboard relay and presence fan-out.
//
// Given a cluster's nodes, the sign-ins, relay and fan-out run twice in
// one run: everyone on the first node, then spread over the nodes so that
// what is measured crosses between them.
//
// Passport and SSO sign-ins, idle sessions and the user whose status the
// fan-out spreads use msnp/client, so they measure what a real client
// sees. MD5 and ticket sign-ins send what the client sends over bare
// connections (signer), so that the generator's own cost stays small
// next to the server's on shared cores. The relay measurement pumps MSG commands over raw
// connections instead, so that it measures the server rather than the
// client library, and compares with a minimal Go TCP relay run in the same
// process with the same traffic.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/msnp"
)

// Options say what to measure and how hard.
type Options struct {
	// Servers are the Notification Servers' host:port (a Dispatch
	// Server's for the scenarios made of full clients): one, or each node
	// of a cluster.
	Servers []string
	// HTTP are the base URLs of the same nodes' HTTP ports (Passport,
	// /metrics), in the same order, or one for all; the first's admin
	// API makes and deletes the accounts.
	HTTP    []string
	Token   string // admin API token
	Only    []string
	Workers int // concurrent clients for sign-ins

	Logins        int           // sign-ins per method
	Sessions      int           // idle sessions to hold
	ListSize      int           // contacts on each idle session's list
	Conversations int           // two-party conversations for the relay
	RelayTime     time.Duration // length of each relay phase
	MessageSize   int           // relay message payload bytes
	Contacts      int           // online contacts for presence fan-out
	// Protocol is the version the idle and fan-out sessions speak
	// (default MSNP7, the cheapest sign-in).
	Protocol msnp.Version
	// BaselineRelay, when set, starts the baseline relay in a process of
	// its own (ServeBaseline there); without it the baseline runs in the
	// load generator.
	BaselineRelay func() (*Baseline, error)

	Progress io.Writer // progress lines; nil for none
}

// Baseline is the baseline relay running in a process of its own.
type Baseline struct {
	Addr string // where it listens
	Stop func() // ends the process
	// CPU, when set, is the processor time the process has used so far.
	CPU func() (time.Duration, error)
}

// Scenarios, in the order they run.
var Scenarios = []string{"idle", "logins", "relay", "fanout"}

func (o *Options) wants(s string) bool {
	if len(o.Only) == 0 {
		return true
	}
	for _, x := range o.Only {
		if x == s {
			return true
		}
	}
	return false
}

// Report is everything measured; zero sections were not run. Logins,
// Relay and Fanout are of the first node alone; CrossNode has them again
// with the clients spread over every node given.
type Report struct {
	Server    string        `json:"server"`
	Nodes     []string      `json:"nodes,omitempty"`
	Warnings  []string      `json:"warnings,omitempty"`
	Logins    []LoginResult `json:"logins,omitempty"`
	Idle      *IdleResult   `json:"idle,omitempty"`
	Relay     *RelayResult  `json:"relay,omitempty"`
	Fanout    *FanoutResult `json:"fanout,omitempty"`
	CrossNode *CrossNode    `json:"cross_node,omitempty"`
	Elapsed   Duration      `json:"elapsed"`
}

// CrossNode is what the same scenarios measure when what they do crosses
// between a cluster's nodes.
type CrossNode struct {
	Nodes int `json:"nodes"`
	// Logins: sign-in worker w at node w mod Nodes; the ticket sign-ins
	// take their tickets at one node's Passport and use them at the
	// next node's Notification Server.
	Logins []LoginResult `json:"logins,omitempty"`
	// Relay: the two people of each conversation signed in on different
	// nodes, so the invitation (CAL, RNG) crosses the bus.
	Relay *RelayResult `json:"relay,omitempty"`
	// Fanout: the contacts on the other nodes than the user who changes
	// status.
	Fanout *FanoutResult `json:"fanout,omitempty"`
}

// LoginResult is one sign-in method's rate and latency.
type LoginResult struct {
	Method  string   `json:"method"` // "MD5 (MSNP7)", "Passport (MSNP12)", "SSO (MSNP18)", "Ticket, NS (MSNP12)"
	Logins  int      `json:"logins"`
	Workers int      `json:"workers"`
	PerSec  float64  `json:"per_second"`
	P50     Duration `json:"p50"`
	P99     Duration `json:"p99"`
	Failed  int      `json:"failed"`
	// CPU time per sign-in, in microseconds, of the load generator and
	// of the servers (theirs from process_cpu_seconds_total; absent when
	// they do not export it), over the timed phase.
	GeneratorCPU float64 `json:"generator_cpu_us_per_login,omitempty"`
	ServerCPU    float64 `json:"server_cpu_us_per_login,omitempty"`
}

// IdleResult is how many sessions the server held and what they cost it.
type IdleResult struct {
	Sessions       int     `json:"sessions"`
	ListSize       int     `json:"contacts_each"`
	ServerSessions int     `json:"server_sessions"` // nudge_sessions, when the server exports it
	RSSBytes       float64 `json:"rss_bytes_delta"`
	HeapBytes      float64 `json:"go_heap_and_stack_bytes_delta"`
	BytesPerRSS    float64 `json:"rss_bytes_per_session"`
	BytesPerGo     float64 `json:"go_bytes_per_session"`
	SetupPerSec    float64 `json:"setup_per_second"`
}

// RelayResult compares the switchboard with the baseline relay.
type RelayResult struct {
	Conversations int     `json:"conversations"`
	MessageSize   int     `json:"message_size"`
	Saturation    float64 `json:"messages_per_second_saturation"`
	Baseline      float64 `json:"baseline_messages_per_second"`
	Ratio         float64 `json:"ratio_to_baseline"`
	// BaselineApart is true when the baseline ran in a process of its own.
	BaselineApart bool     `json:"baseline_in_own_process"`
	OfferedRate   float64  `json:"offered_per_second"` // half of saturation
	AchievedRate  float64  `json:"achieved_per_second"`
	P50           Duration `json:"p50"`
	P99           Duration `json:"p99"`
	BaselineP99   Duration `json:"baseline_p99_at_same_rate"`
	// CPU per message relayed at saturation, in microseconds: the
	// servers' processes (process_cpu_seconds_total of every node), the
	// baseline relay's process (when it ran in one), and the load
	// generator's own while it drove each. Zero when not known.
	ServerCPU            float64 `json:"server_cpu_us_per_message,omitempty"`
	BaselineCPU          float64 `json:"baseline_cpu_us_per_message,omitempty"`
	GeneratorCPU         float64 `json:"generator_cpu_us_per_message,omitempty"`
	GeneratorBaselineCPU float64 `json:"generator_cpu_us_per_baseline_message,omitempty"`
}

// FanoutResult is how long one status change took to reach every contact.
type FanoutResult struct {
	Contacts int      `json:"contacts"`
	Last     Duration `json:"last_contact"`
	P50      Duration `json:"p50"`
	// CPU per contact told, in microseconds, from the change until the
	// last contact was told: the servers' processes (/metrics, in steps of
	// 10 ms) and the load generator's own. Zero when not known.
	ServerCPU    float64 `json:"server_cpu_us_per_contact,omitempty"`
	GeneratorCPU float64 `json:"generator_cpu_us_per_contact,omitempty"`
}

// Duration prints as milliseconds in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond))), nil
}

func (d Duration) String() string {
	v := time.Duration(d)
	switch {
	case v >= time.Second:
		return fmt.Sprintf("%.2f s", v.Seconds())
	case v >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(v)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", float64(v)/float64(time.Microsecond))
}

// Run measures what opts ask for and cleans up the accounts it made.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	if opts.Workers <= 0 {
		opts.Workers = 50
	}
	// A switchboard closes the connection of a client that sends a larger
	// MSG: the relay would measure nothing.
	if opts.MessageSize > msnp.MaxMessagePayload || opts.MessageSize < 0 {
		return nil, fmt.Errorf("--size %d: a message is at most %d bytes, the most a switchboard relays", opts.MessageSize, msnp.MaxMessagePayload)
	}
	if opts.Protocol == 0 {
		opts.Protocol = 7
	}
	if !opts.Protocol.Supported() {
		return nil, fmt.Errorf("--protocol %d: the client speaks %d to %d", opts.Protocol, msnp.MinVersion, msnp.LatestVersion)
	}
	if len(opts.Servers) == 0 || len(opts.HTTP) == 0 {
		return nil, errors.New("no server to measure: give --server and --http")
	}
	if len(opts.HTTP) != 1 && len(opts.HTTP) != len(opts.Servers) {
		return nil, fmt.Errorf("--http names %d nodes and --server %d: give one HTTP URL per server, or one for all", len(opts.HTTP), len(opts.Servers))
	}
	b := &runner{opts: opts, admin: adminapi.New(opts.HTTP[0], opts.Token), run: runID()}
	defer b.cleanup()
	if _, err := b.admin.Accounts(ctx); err != nil {
		return nil, fmt.Errorf("cannot use the admin API at %s (give --http and --token or --data): %w", opts.HTTP[0], err)
	}
	rep := &Report{Server: opts.Servers[0], Warnings: b.hashWarnings(ctx)}
	if len(opts.Servers) > 1 {
		rep.Nodes = opts.Servers
	}
	for _, w := range rep.Warnings {
		b.progress("warning: %s", w)
	}
	// Idle sessions first: the memory they cost is read off the server's
	// process, which other scenarios would have grown already.
	if opts.wants("idle") && opts.Sessions > 0 {
		r, err := b.idle(ctx)
		if err != nil {
			return rep, err
		}
		rep.Idle = r
	}
	if err := b.scenarios(ctx, oneNode, &rep.Logins, &rep.Relay, &rep.Fanout); err != nil {
		return rep, err
	}
	if n := len(opts.Servers); n > 1 {
		b.progress("the same again, across %d nodes", n)
		rep.CrossNode = &CrossNode{Nodes: n}
		x := rep.CrossNode
		if err := b.scenarios(ctx, spread, &x.Logins, &x.Relay, &x.Fanout); err != nil {
			return rep, err
		}
	}
	rep.Elapsed = Duration(time.Since(start))
	return rep, nil
}

// placement says at which node each client of a scenario signs in.
type placement int

const (
	oneNode placement = iota // every client at the first node
	spread                   // clients spread so that what they do crosses nodes
)

// scenarios runs the sign-ins, relay and fan-out asked for, placed as p.
func (b *runner) scenarios(ctx context.Context, p placement, logins *[]LoginResult, relay **RelayResult, fanout **FanoutResult) error {
	if b.opts.wants("logins") && b.opts.Logins > 0 {
		for _, m := range []loginMethod{md5Login, passportLogin, ssoLogin} {
			r, err := b.logins(ctx, m, p)
			if err != nil {
				return err
			}
			*logins = append(*logins, r)
		}
		r, err := b.ticketLogins(ctx, p)
		if err != nil {
			return err
		}
		*logins = append(*logins, r)
	}
	if b.opts.wants("relay") && b.opts.Conversations > 0 {
		r, err := b.relay(ctx, p)
		if err != nil {
			return err
		}
		*relay = r
	}
	if b.opts.wants("fanout") && b.opts.Contacts > 0 {
		r, err := b.fanout(ctx, p)
		if err != nil {
			return err
		}
		*fanout = r
	}
	return nil
}

// node is one server to sign in at: its Notification Server and its
// HTTP base URL.
type node struct{ ns, http string }

// node returns the i-th node given, i modulo their number.
func (b *runner) node(i int) node {
	n := node{ns: b.opts.Servers[i%len(b.opts.Servers)], http: b.opts.HTTP[0]}
	if len(b.opts.HTTP) > 1 {
		n.http = b.opts.HTTP[i%len(b.opts.HTTP)]
	}
	return n
}

// at is the node of the i-th client of a scenario placed as p.
func (b *runner) at(p placement, i int) int {
	if p == oneNode {
		return 0
	}
	return i % len(b.opts.Servers)
}

// hashWarnings says when the servers make Passport sign-ins pay a costly
// password hash: the bench's accounts share one cost-4 bcrypt hash, but a
// server whose login.bcrypt_cost is higher tops up the work of checking
// it, so the sign-ins would measure bcrypt (and tickets could expire
// before they are used). Servers that do not export their cost are not
// judged.
func (b *runner) hashWarnings(ctx context.Context) []string {
	var out []string
	for i := range b.opts.HTTP {
		m, err := b.metrics(ctx, b.opts.HTTP[i])
		if cost := m["nudge_password_hash_cost"]; err == nil && cost > 4 {
			out = append(out, fmt.Sprintf("%s hashes passwords at bcrypt cost %.0f, so Passport sign-ins measure bcrypt: set login.bcrypt_cost: 4 on servers you measure", b.opts.HTTP[i], cost))
		}
	}
	return out
}

// runner holds what the scenarios share.
type runner struct {
	opts     Options
	admin    *adminapi.Client
	run      string
	created  []string
	sets     int // account sets made
	password string
	srcIP    atomic.Uint32
}

func runID() string {
	var b [3]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (b *runner) progress(format string, args ...any) {
	if b.opts.Progress != nil {
		fmt.Fprintf(b.opts.Progress, format+"\n", args...)
	}
}

// accounts makes n accounts for one scenario, in batches, with one cheap
// shared password hash.
func (b *runner) accounts(ctx context.Context, scenario string, n int) ([]string, error) {
	if b.password == "" {
		var raw [12]byte
		rand.Read(raw[:])
		b.password = hex.EncodeToString(raw[:])
	}
	b.sets++ // a scenario run again (across nodes) gets accounts of its own
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-%s-%s%d-%d@bench.localhost", b.run, scenario, b.sets, i)
	}
	const batch = 5000
	for i := 0; i < n; i += batch {
		part := emails[i:min(i+batch, n)]
		if err := b.admin.CreateAccounts(ctx, adminapi.NewAccounts{Emails: part, Password: b.password, BcryptCost: 4}); err != nil {
			return nil, fmt.Errorf("making bench accounts: %w", err)
		}
		b.created = append(b.created, part...)
	}
	return emails, nil
}

func (b *runner) cleanup() {
	if len(b.created) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b.progress("cleaning up %d bench accounts", len(b.created))
	for i := 0; i < len(b.created); i += 5000 {
		part := b.created[i:min(i+5000, len(b.created))]
		if err := b.admin.DeleteAccounts(ctx, part); err != nil {
			b.progress("cleanup failed: %v", err)
			return
		}
	}
	b.created = nil
}

// dial spreads connections over 127.0.0.2–127.0.0.254 when the server is
// on loopback, so that tens of thousands of connections (and the
// TIME_WAITs of short ones) do not run out of source ports.
func (b *runner) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: b.localAddr(addr)}
	return d.DialContext(ctx, network, addr)
}

// localAddr is the source address of the next connection to addr: the
// next of 127.0.0.2–127.0.0.254 when addr is on loopback, nil otherwise.
func (b *runner) localAddr(addr string) net.Addr {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() && ip.To4() != nil {
			n := b.srcIP.Add(1)
			return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+n%253))}
		}
	}
	return nil
}

// latencies keeps samples and reports percentiles.
type latencies []time.Duration

func (l latencies) percentile(p float64) Duration {
	if len(l) == 0 {
		return 0
	}
	s := append(latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return Duration(s[i])
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	if len(r.Nodes) > 1 {
		fmt.Fprintf(w, "\nnudge bench against %d nodes, %s (%s); one-node figures are of %s alone\n\n",
			len(r.Nodes), strings.Join(r.Nodes, ", "), time.Duration(r.Elapsed).Round(time.Second), r.Server)
	} else {
		fmt.Fprintf(w, "\nnudge bench against %s (%s)\n\n", r.Server, time.Duration(r.Elapsed).Round(time.Second))
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n\n", x)
	}
	if len(r.Logins) > 0 {
		fmt.Fprintf(w, "Sign-ins (%d concurrent clients; CPU time per sign-in of the load generator and of the server)\n", r.Logins[0].Workers)
		fmt.Fprintf(w, "  %-20s %8s %12s %10s %10s %7s %14s %11s\n", "method", "logins", "per second", "p50", "p99", "failed", "generator µs", "server µs")
		for _, l := range r.Logins {
			fmt.Fprintf(w, "  %-20s %8d %12.0f %10s %10s %7d %14s %11s\n", l.Method, l.Logins, l.PerSec, l.P50, l.P99, l.Failed, micros(l.GeneratorCPU), micros(l.ServerCPU))
		}
		fmt.Fprintln(w)
	}
	if x := r.Relay; x != nil {
		fmt.Fprintf(w, "Switchboard relay (%d conversations, %d-byte messages)\n", x.Conversations, x.MessageSize)
		fmt.Fprintf(w, "  saturation           %12.0f msg/s\n", x.Saturation)
		where := "in the load generator"
		if x.BaselineApart {
			where = "own process"
		}
		fmt.Fprintf(w, "  baseline Go relay    %12.0f msg/s   (%s; switchboard at %.0f%% of it)\n", x.Baseline, where, 100*x.Ratio)
		if x.ServerCPU > 0 && x.BaselineCPU > 0 {
			fmt.Fprintf(w, "  CPU per message      %12.2f µs switchboard, %.2f µs baseline (load generator %.2f / %.2f µs)\n",
				x.ServerCPU, x.BaselineCPU, x.GeneratorCPU, x.GeneratorBaselineCPU)
		}
		fmt.Fprintf(w, "  at half load         %12.0f msg/s offered, %.0f delivered: p50 %s, p99 %s (baseline p99 %s)\n\n",
			x.OfferedRate, x.AchievedRate, x.P50, x.P99, x.BaselineP99)
	}
	if x := r.Fanout; x != nil {
		fmt.Fprintf(w, "Presence fan-out (%d online contacts)\n", x.Contacts)
		fmt.Fprintf(w, "  last contact told after %s (median %s)\n", x.Last, x.P50)
		fmt.Fprintf(w, "  CPU per contact      server %.1f µs, load generator %.1f µs\n\n", x.ServerCPU, x.GeneratorCPU)
	}
	if x := r.CrossNode; x != nil {
		x.print(w, r)
	}
	if x := r.Idle; x != nil {
		fmt.Fprintf(w, "Idle sessions\n")
		fmt.Fprintf(w, "  held                 %d with %d contacts each (server counts %d), signed in at %.0f/s\n", x.Sessions, x.ListSize, x.ServerSessions, x.SetupPerSec)
		fmt.Fprintf(w, "  server memory        %.1f KiB per session resident, %.1f KiB Go heap+stacks\n\n",
			x.BytesPerRSS/1024, x.BytesPerGo/1024)
	}
}

// micros prints a CPU figure in microseconds, "-" when it is unknown.
func micros(us float64) string {
	if us <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", us)
}

// ParseOnly splits a comma-separated scenario list and checks its names.
func ParseOnly(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, x := range strings.Split(s, ",") {
		x = strings.TrimSpace(x)
		ok := false
		for _, known := range Scenarios {
			ok = ok || x == known
		}
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q (choose from %s)", x, strings.Join(Scenarios, ", "))
		}
		out = append(out, x)
	}
	return out, nil
}

// where says in a progress line where a scenario's clients are, when
// there is a choice.
func (b *runner) where(p placement) string {
	switch {
	case len(b.opts.Servers) == 1:
		return ""
	case p == oneNode:
		return " at the first node"
	}
	return fmt.Sprintf(" across %d nodes", len(b.opts.Servers))
}

// print writes the cross-node figures next to the one-node ones of the
// same run.
func (x *CrossNode) print(w io.Writer, one *Report) {
	fmt.Fprintf(w, "Across %d nodes, next to the first node alone (same run)\n", x.Nodes)
	fmt.Fprintf(w, "  %-44s %14s %14s\n", "", "one node", "across nodes")
	row := func(what, a, b string) { fmt.Fprintf(w, "  %-44s %14s %14s\n", what, a, b) }
	for i, l := range x.Logins {
		a := "-"
		if i < len(one.Logins) {
			a = fmt.Sprintf("%.0f/s", one.Logins[i].PerSec)
		}
		row("sign-ins, "+l.Method, a, fmt.Sprintf("%.0f/s", l.PerSec))
	}
	if x.Relay != nil && one.Relay != nil {
		row("relay at saturation, peers on two NS nodes", fmt.Sprintf("%.0f msg/s", one.Relay.Saturation), fmt.Sprintf("%.0f msg/s", x.Relay.Saturation))
		row("relay p99 at half load", one.Relay.P99.String(), x.Relay.P99.String())
	}
	if x.Fanout != nil && one.Fanout != nil {
		row(fmt.Sprintf("fan-out to %d, last contact told", x.Fanout.Contacts), one.Fanout.Last.String(), x.Fanout.Last.String())
		row("fan-out, median contact told", one.Fanout.P50.String(), x.Fanout.P50.String())
	}
	fmt.Fprintln(w)
}
