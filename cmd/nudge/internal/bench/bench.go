// Package bench is the load generator behind "nudge bench": it drives any
// MSNP server (ours, or another with an account-making admin API) and
// measures sign-ins, idle sessions, switchboard relay and presence fan-out.
//
// Sign-ins, idle sessions and fan-out use msnp/client, so they measure what
// a real client sees. The relay measurement pumps MSG commands over raw
// connections instead, so that it measures the server rather than the
// client library, and compares with a minimal Go TCP relay run in the same
// process with the same traffic.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	Server  string // host:port of the Dispatch/Notification server
	HTTP    string // base URL of the service's HTTP port (Passport, admin API, /metrics)
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

	Progress io.Writer // progress lines; nil for none
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

// Report is everything measured; zero sections were not run.
type Report struct {
	Server  string        `json:"server"`
	Logins  []LoginResult `json:"logins,omitempty"`
	Idle    *IdleResult   `json:"idle,omitempty"`
	Relay   *RelayResult  `json:"relay,omitempty"`
	Fanout  *FanoutResult `json:"fanout,omitempty"`
	Elapsed Duration      `json:"elapsed"`
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
	Conversations int      `json:"conversations"`
	MessageSize   int      `json:"message_size"`
	Saturation    float64  `json:"messages_per_second_saturation"`
	Baseline      float64  `json:"baseline_messages_per_second"`
	Ratio         float64  `json:"ratio_to_baseline"`
	OfferedRate   float64  `json:"offered_per_second"` // half of saturation
	AchievedRate  float64  `json:"achieved_per_second"`
	P50           Duration `json:"p50"`
	P99           Duration `json:"p99"`
	BaselineP99   Duration `json:"baseline_p99_at_same_rate"`
}

// FanoutResult is how long one status change took to reach every contact.
type FanoutResult struct {
	Contacts int      `json:"contacts"`
	Last     Duration `json:"last_contact"`
	P50      Duration `json:"p50"`
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
	b := &runner{opts: opts, admin: adminapi.New(opts.HTTP, opts.Token), run: runID()}
	defer b.cleanup()
	if _, err := b.admin.Accounts(ctx); err != nil {
		return nil, fmt.Errorf("cannot use the admin API at %s (give --http and --token or --data): %w", opts.HTTP, err)
	}
	rep := &Report{Server: opts.Server}
	// Idle sessions first: the memory they cost is read off the server's
	// process, which other scenarios would have grown already.
	if opts.wants("idle") && opts.Sessions > 0 {
		r, err := b.idle(ctx)
		if err != nil {
			return rep, err
		}
		rep.Idle = r
	}
	if opts.wants("logins") && opts.Logins > 0 {
		for _, m := range []loginMethod{md5Login, passportLogin, ssoLogin} {
			r, err := b.logins(ctx, m)
			if err != nil {
				return rep, err
			}
			rep.Logins = append(rep.Logins, r)
		}
		r, err := b.ticketLogins(ctx)
		if err != nil {
			return rep, err
		}
		rep.Logins = append(rep.Logins, r)
	}
	if opts.wants("relay") && opts.Conversations > 0 {
		r, err := b.relay(ctx)
		if err != nil {
			return rep, err
		}
		rep.Relay = r
	}
	if opts.wants("fanout") && opts.Contacts > 0 {
		r, err := b.fanout(ctx)
		if err != nil {
			return rep, err
		}
		rep.Fanout = r
	}
	rep.Elapsed = Duration(time.Since(start))
	return rep, nil
}

// runner holds what the scenarios share.
type runner struct {
	opts     Options
	admin    *adminapi.Client
	run      string
	created  []string
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
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("bench-%s-%s-%d@bench.localhost", b.run, scenario, i)
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
	d := net.Dialer{Timeout: 10 * time.Second}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() && ip.To4() != nil {
			n := b.srcIP.Add(1)
			d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+n%253))}
		}
	}
	return d.DialContext(ctx, network, addr)
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
	fmt.Fprintf(w, "\nnudge bench against %s (%s)\n\n", r.Server, time.Duration(r.Elapsed).Round(time.Second))
	if len(r.Logins) > 0 {
		fmt.Fprintf(w, "Sign-ins (%d concurrent clients)\n", r.Logins[0].Workers)
		fmt.Fprintf(w, "  %-20s %8s %12s %10s %10s %7s\n", "method", "logins", "per second", "p50", "p99", "failed")
		for _, l := range r.Logins {
			fmt.Fprintf(w, "  %-20s %8d %12.0f %10s %10s %7d\n", l.Method, l.Logins, l.PerSec, l.P50, l.P99, l.Failed)
		}
		fmt.Fprintln(w)
	}
	if x := r.Relay; x != nil {
		fmt.Fprintf(w, "Switchboard relay (%d conversations, %d-byte messages)\n", x.Conversations, x.MessageSize)
		fmt.Fprintf(w, "  saturation           %12.0f msg/s\n", x.Saturation)
		fmt.Fprintf(w, "  baseline Go relay    %12.0f msg/s   (switchboard at %.0f%% of it)\n", x.Baseline, 100*x.Ratio)
		fmt.Fprintf(w, "  at half load         %12.0f msg/s offered, %.0f delivered: p50 %s, p99 %s (baseline p99 %s)\n\n",
			x.OfferedRate, x.AchievedRate, x.P50, x.P99, x.BaselineP99)
	}
	if x := r.Fanout; x != nil {
		fmt.Fprintf(w, "Presence fan-out (%d online contacts)\n", x.Contacts)
		fmt.Fprintf(w, "  last contact told after %s (median %s)\n\n", x.Last, x.P50)
	}
	if x := r.Idle; x != nil {
		fmt.Fprintf(w, "Idle sessions\n")
		fmt.Fprintf(w, "  held                 %d with %d contacts each (server counts %d), signed in at %.0f/s\n", x.Sessions, x.ListSize, x.ServerSessions, x.SetupPerSec)
		fmt.Fprintf(w, "  server memory        %.1f KiB per session resident, %.1f KiB Go heap+stacks\n\n",
			x.BytesPerRSS/1024, x.BytesPerGo/1024)
	}
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
