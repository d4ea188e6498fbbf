package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/nudge-im/nudge/cmd/nudge/internal/bench"
	"github.com/nudge-im/nudge/msnp"
)

func benchCommand() *cobra.Command {
	var (
		opts     bench.Options
		data     string
		only     string
		asJSON   bool
		protocol int
		duration time.Duration
		servers  string
		httpURLs string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure an MSN server: sign-ins, idle sessions, switchboard relay, presence fan-out",
		Long: `Measure an MSN server with a load generator built on the Go MSN client
(MD5 and ticket sign-ins send its commands over bare connections, so that
the generator's own CPU stays small next to the server's).

It makes its own accounts through the server's admin API (sharing one cheap
password hash, so it measures the server and not bcrypt), runs each
scenario, prints a table (or JSON with --json) and deletes the accounts.

  logins   sign-ins per second and their latency: MD5 (MSNP7), Passport (MSNP12) and
           Windows Live single sign-on with the address book (MSNP18), and the CPU
           time per sign-in of the load generator and of the server (its /metrics)
  idle     signed-in sessions held, and the server's memory per session (from /metrics)
  relay    switchboard messages per second at saturation, compared with a minimal
           Go TCP relay in the same run, and delivery latency at half that load
  fanout   time until the last of N online contacts hears of one status change

Given a cluster's nodes (--server and --http as comma-separated lists, in
the same order), the sign-ins, relay and fan-out run twice in one run: at
the first node alone, then across the nodes (sign-ins spread over them,
the two people of each conversation on different nodes, the contacts on
other nodes than the user who changes status), and the report sets the
figures side by side. Measure servers with login.bcrypt_cost: 4; the bench
warns when one hashes at a higher cost.`,
		Example: `  nudge bench                                   # against make run (token from ./data)
  nudge bench --only relay --conversations 200 --duration 10s
  nudge bench --sessions 15000 --json > bench.json
  nudge bench --server 127.0.0.1:1863,127.0.0.1:1873 --http http://127.0.0.1:8080,http://127.0.0.1:8090 \
              --token demo-token --only logins,relay,fanout     # make cluster-demo's two NS nodes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Only, err = bench.ParseOnly(only); err != nil {
				return err
			}
			if opts.Token == "" {
				b, err := os.ReadFile(filepath.Join(data, "admin.token"))
				if err != nil {
					if errors.Is(err, os.ErrNotExist) {
						return fmt.Errorf("no admin token: give --token, or --data with the server's data directory (no %s)", filepath.Join(data, "admin.token"))
					}
					return err
				}
				opts.Token = strings.TrimSpace(string(b))
			}
			opts.Servers, opts.HTTP = splitList(servers), splitList(httpURLs)
			opts.RelayTime = duration
			opts.Protocol = msnp.Version(protocol)
			opts.Progress = cmd.ErrOrStderr()
			if self, err := os.Executable(); err == nil {
				opts.BaselineRelay = baselineRelay(self)
			}
			rep, err := bench.Run(cmd.Context(), opts)
			if rep != nil {
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					enc.Encode(rep)
				} else {
					rep.Print(cmd.OutOrStdout())
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&servers, "server", "127.0.0.1:1863", "Notification server to measure; a cluster's, comma-separated")
	f.StringVar(&httpURLs, "http", "http://127.0.0.1:8080", "the server's HTTP base URL (Passport, admin API, /metrics); a cluster's, comma-separated in --server's order, or one for all")
	f.StringVar(&opts.Token, "token", "", "admin API token (default: read from --data)")
	f.StringVar(&data, "data", "./data", "the server's data directory, to read its admin token")
	f.StringVar(&only, "only", "", "comma-separated scenarios to run: logins, idle, relay, fanout (default all)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.IntVar(&opts.Workers, "clients", 50, "concurrent clients signing in")
	f.IntVar(&opts.Logins, "logins", 2000, "sign-ins per method")
	f.IntVar(&opts.Sessions, "sessions", 10000, "idle sessions to hold (each needs an open file on both sides)")
	f.IntVar(&opts.ListSize, "list", 20, "contacts on each idle session's list (friends of each other, online too)")
	f.IntVar(&opts.Conversations, "conversations", 100, "two-party conversations for the relay")
	f.IntVar(&opts.MessageSize, "size", 128, "relay message size in bytes (at most 1664)")
	f.DurationVar(&duration, "duration", 5*time.Second, "length of each relay phase")
	f.IntVar(&opts.Contacts, "contacts", 1000, "online contacts for the presence fan-out")
	f.IntVar(&protocol, "protocol", 7, "protocol version of the idle and fan-out sessions, 2 to 18")
	return cmd
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// baselineRelayCommand runs the baseline relay of nudge bench in a process
// of its own, as the server under test runs in one: it prints its address,
// answers each line on its standard input with the CPU time it has used
// (microseconds, -1 when unknown), and relays until its standard input
// closes (nudge bench exits).
func baselineRelayCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "bench-baseline-relay",
		Short:  "The minimal line relay nudge bench compares the switchboard with",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			go bench.ServeBaseline(l)
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, l.Addr())
			in := bufio.NewScanner(cmd.InOrStdin())
			for in.Scan() {
				us := int64(-1)
				if t, ok := bench.ProcessCPU(); ok {
					us = t.Microseconds()
				}
				fmt.Fprintln(out, us)
			}
			return l.Close()
		},
	}
}

// baselineRelay starts `nudge bench-baseline-relay` from the binary self.
func baselineRelay(self string) func() (*bench.Baseline, error) {
	return func() (*bench.Baseline, error) { return startBaselineRelay(self) }
}

func startBaselineRelay(self string) (*bench.Baseline, error) {
	c := exec.Command(self, "bench-baseline-relay")
	stdin, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		stdin.Close()
		c.Wait()
	}
	r := bufio.NewReader(stdout)
	addr, err := r.ReadString('\n')
	if err != nil {
		c.Process.Kill()
		stop()
		return nil, fmt.Errorf("no address from %s bench-baseline-relay: %w", self, err)
	}
	var mu sync.Mutex
	cpu := func() (time.Duration, error) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := io.WriteString(stdin, "cpu\n"); err != nil {
			return 0, err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		us, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil || us < 0 {
			return 0, fmt.Errorf("the baseline relay does not know its CPU time")
		}
		return time.Duration(us) * time.Microsecond, nil
	}
	return &bench.Baseline{Addr: strings.TrimSpace(addr), Stop: stop, CPU: cpu}, nil
}
