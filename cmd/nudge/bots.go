package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/plugins/host"
)

// The bot host runs beside the service in "nudge serve" (bots in
// nudge.yaml), and "nudge bot" manages it through the admin API.

func init() { registerExtra(extra{name: "bots", start: startBots}) }

// shippedBot is a bot that comes with Nudge.
type shippedBot struct {
	name, friendly string
	perms          []string
	js             bool // run with node: DIR/NAME/bot.js
	python         bool // run with python3: DIR/NAME/bot.py
}

var shippedBots = []shippedBot{
	{name: "echo", friendly: "Echo", perms: []string{"send", "log"}},
	{name: "tictactoe", friendly: "Tic-Tac-Toe", perms: []string{"send", "invite", "kv", "log"}},
	{name: "helper", friendly: "Helper", perms: []string{"send", "presence", "kv", "log"}},
	{name: "js-hello", friendly: "Hello from JavaScript", perms: []string{"send", "kv", "log"}, js: true},
	{name: "py-hello", friendly: "Hello from Python", perms: []string{"send", "kv", "log"}, python: true},
}

// shippedDir is where the shipped bots are: bots.dir, or bots/ beside the
// nudge binary (make build puts them in bin/bots).
func shippedDir(c config.Bots) string {
	if c.Dir != "" {
		return c.Dir
	}
	exe, err := os.Executable()
	if err != nil {
		return "bots"
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Join(filepath.Dir(exe), "bots")
}

// resolveBots turns the configuration into the bots to run. Shipped bots
// whose programs are missing are left out with a warning: the service runs
// without them. A bot of your own that cannot run is an error.
func resolveBots(c config.Bots) (bots []host.BotConfig, warnings []string, err error) {
	byName := map[string]host.BotConfig{}
	var order []string
	if c.Shipped {
		dir := shippedDir(c)
		for _, s := range shippedBots {
			bc := host.BotConfig{Name: s.name, Email: s.name + "@" + c.Domain, FriendlyName: s.friendly, Permissions: s.perms}
			switch {
			case s.python:
				script := filepath.Join(dir, s.name, "bot.py")
				if !exists(script) {
					warnings = append(warnings, fmt.Sprintf("bot %s not started: %s not found (make build links it there)", s.name, script))
					continue
				}
				python := host.Python()
				if python == "" {
					warnings = append(warnings, fmt.Sprintf("bot %s not started: it needs Python 3 with gRPC "+
						"(apt-get install python3-grpcio python3-grpc-tools python3-cryptography, or make deps)", s.name))
					continue
				}
				bc.Command, bc.Args = python, []string{script}
				bc.Read = protoDir(script)
			case s.js:
				script := filepath.Join(dir, s.name, "bot.js")
				node, err := exec.LookPath("node")
				switch {
				case err != nil:
					warnings = append(warnings, fmt.Sprintf("bot %s not started: it needs Node.js (apt-get install nodejs, or make deps)", s.name))
					continue
				case !exists(script):
					warnings = append(warnings, fmt.Sprintf("bot %s not started: %s not found (make build links it there)", s.name, script))
					continue
				case !exists(filepath.Join(dir, s.name, "node_modules")):
					warnings = append(warnings, fmt.Sprintf("bot %s not started: its npm packages are not installed (make deps)", s.name))
					continue
				}
				bc.Command, bc.Args = node, []string{script}
				bc.Read = protoDir(script)
			default:
				bc.Command = filepath.Join(dir, s.name)
				if !exists(bc.Command) && !overridden(c, s.name) {
					warnings = append(warnings, fmt.Sprintf("bot %s not started: %s not found (make build builds the shipped bots)", s.name, bc.Command))
					continue
				}
			}
			byName[s.name] = bc
			order = append(order, s.name)
		}
	}
	for _, r := range c.Run {
		bc, shipped := byName[r.Name]
		if r.Disabled {
			delete(byName, r.Name)
			continue
		}
		if r.Command == "" && !shipped {
			if isShipped(r.Name) {
				continue // a change to a shipped bot that is not running
			}
			return nil, warnings, fmt.Errorf("bot %q has no command: say which program runs it (bots.run[].command)", r.Name)
		}
		if r.Command != "" {
			bc = host.BotConfig{Name: r.Name, Command: r.Command}
		}
		if !shipped || r.Command != "" {
			bc.Email, bc.FriendlyName = r.Name+"@"+c.Domain, r.Name
		}
		if r.Args != nil {
			bc.Args = r.Args
		}
		if r.Email != "" {
			bc.Email = r.Email
		}
		if r.FriendlyName != "" {
			bc.FriendlyName = r.FriendlyName
		}
		if r.Settings != nil {
			bc.Settings = r.Settings
		}
		if r.Permissions != nil {
			bc.Permissions = r.Permissions
		}
		if r.Accept != "" {
			bc.AcceptNone = r.Accept == "none"
		}
		if r.SHA256 != "" {
			bc.SHA256 = r.SHA256
		}
		if r.User != "" {
			bc.User = r.User
		}
		if r.Read != nil {
			bc.Read = append(bc.Read, r.Read...)
		}
		bc.Isolation = host.Isolation(r.Isolation)
		bc.Server, bc.Password, bc.PassportURL, bc.Protocol = r.Server, r.Password, r.Passport, msnp.Version(r.Protocol)
		if _, ok := byName[r.Name]; !ok {
			order = append(order, r.Name)
		}
		byName[r.Name] = bc
	}
	for _, n := range order {
		if bc, ok := byName[n]; ok {
			if bc.Isolation == "" {
				bc.Isolation = host.Isolation(c.Isolation)
			}
			bots = append(bots, bc)
			delete(byName, n) // once, even if named twice in order
		}
	}
	return bots, warnings, nil
}

// protoDir is what a shipped bot in another language reads besides its
// folder: the protos in plugins/proto, two folders up from where its
// script really is (bin/bots/NAME links to plugins/bots/NAME).
func protoDir(script string) []string {
	real, err := filepath.EvalSymlinks(script)
	if err != nil {
		return nil
	}
	dir := filepath.Join(filepath.Dir(real), "..", "..", "proto")
	if !exists(filepath.Join(dir, "bot.proto")) {
		return nil
	}
	return []string{dir}
}

// secretPaths are what no sandboxed bot may see, wherever they are: the
// configuration file and the files the configuration names that hold
// keys or data (the data directory itself the host hides).
func secretPaths(cfg config.Config, configPath string) []string {
	var out []string
	nats := cfg.Cluster.NATS
	for _, p := range []string{configPath, cfg.Passport.Cert, cfg.Passport.Key, cfg.Discord.Database, nats.Credentials, nats.Key} {
		if p == "" || strings.Contains(p, "://") {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			out = append(out, abs)
		}
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func isShipped(name string) bool {
	for _, s := range shippedBots {
		if s.name == name {
			return true
		}
	}
	return false
}

func overridden(c config.Bots, name string) bool {
	for _, r := range c.Run {
		if r.Name == name && (r.Command != "" || r.Disabled) {
			return true
		}
	}
	return false
}

// loopback turns a listen address into one to connect to.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func startBots(ctx context.Context, env extraEnv) (func(), error) {
	c := env.Config.Bots
	bots, warnings, err := resolveBots(c)
	for _, w := range warnings {
		env.Log.Warn().Msg(w)
	}
	if err != nil {
		return nil, err
	}
	if len(bots) == 0 && env.ConfigPath == "" {
		return nil, nil
	}
	a := env.Server.Addrs()
	if a.NS == "" {
		// A cluster node without a Notification Server: bots run on a
		// node that has one.
		return nil, nil
	}
	if a.HTTP == "" {
		if len(bots) == 0 {
			return nil, nil
		}
		if len(c.Run) > 0 {
			return nil, errors.New("bots need the admin API: set listen.http, or remove bots.run")
		}
		env.Log.Warn().Msg("bots not started: they need the admin API (listen.http is off)")
		return nil, nil
	}
	base := "http://" + loopback(a.HTTP)
	// A reload reads the bots from the file again (without a file, the
	// defaults: a shipped bot built since the start is found).
	source := func() ([]host.BotConfig, error) {
		bc := c
		if env.ConfigPath != "" {
			cfg, err := config.Load(env.ConfigPath)
			if err != nil {
				return nil, err
			}
			bc = cfg.Bots
		}
		bots, warnings, err := resolveBots(bc)
		for _, w := range warnings {
			env.Log.Warn().Msg(w)
		}
		return bots, err
	}
	h, err := host.New(host.Config{
		Bots:           bots,
		Source:         source,
		Server:         loopback(a.NS),
		PassportURL:    base,
		Admin:          adminapi.New(base, env.Server.AdminToken),
		DataDir:        env.Config.Data,
		BotsDir:        c.Home,
		Hidden:         secretPaths(env.Config, env.ConfigPath),
		HookTimeout:    time.Duration(c.HookTimeout),
		RestartMin:     time.Duration(c.RestartMin),
		RestartMax:     time.Duration(c.RestartMax),
		CrashLimit:     c.CrashLimit,
		CrashWindow:    time.Duration(c.CrashWindow),
		HealthInterval: time.Duration(c.HealthInterval),
		QueueLimit:     c.QueueLimit,
		Log:            env.Log,
	})
	if err != nil {
		return nil, err
	}
	h.RegisterAdmin(env.Server.Admin)
	if err := h.Start(ctx); err != nil {
		return nil, err
	}
	if env.OnReload != nil {
		env.OnReload(func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			changes, err := h.ReloadAll(ctx)
			if err != nil {
				env.Log.Error().Err(err).Msg("bots not reloaded; they run as before")
				return
			}
			for _, ch := range changes {
				if ch.Action != host.Unchanged {
					env.Log.Info().Str("bot", ch.Name).Str("state", string(ch.Status.State)).Msg("bot " + ch.Action)
				}
			}
		})
	}
	var handles []string
	for _, b := range bots {
		handles = append(handles, b.Email)
	}
	if len(handles) > 0 {
		env.Log.Info().Strs("bots", handles).Msg("bots starting: add them as contacts and say hello (nudge bot list shows how they are)")
	}
	return func() { h.Close() }, nil
}

// botCommand is "nudge bot": the bots of a running server.
func botCommand() *cobra.Command {
	var server, data, token, configPath string
	cmd := &cobra.Command{
		Use:   "bot",
		Short: "Manage the bots of a running server",
		Long: `List the bots a running "nudge serve" runs, restart one, or read its log.
The commands use the server's admin API: its address comes from --server (or
listen.http in --config), its token from --token, admin.token in --config, or
DATA/admin.token.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&server, "server", "", "the server's HTTP base URL (default http://127.0.0.1:8080)")
	pf.StringVar(&data, "data", "", "the server's data directory, to read its admin token (default ./data)")
	pf.StringVar(&token, "token", "", "admin API token")
	pf.StringVarP(&configPath, "config", "c", "", "the server's nudge.yaml, for its address and token")
	client := func() (host.Client, error) {
		cfg := config.Default()
		if configPath != "" {
			var err error
			if cfg, err = config.Load(configPath); err != nil {
				return host.Client{}, err
			}
		}
		if server == "" {
			if cfg.Listen.HTTP == "" {
				return host.Client{}, errors.New("the server has no HTTP listener (listen.http), so no admin API: give --server")
			}
			server = "http://" + loopback(cfg.Listen.HTTP)
		}
		if data == "" {
			data = cfg.Data
		}
		if token == "" {
			token = cfg.Admin.Token
		}
		if token == "" {
			path := filepath.Join(data, "admin.token")
			b, err := os.ReadFile(path)
			if err != nil {
				return host.Client{}, fmt.Errorf("no admin token: give --token, or --data with the server's data directory (cannot read %s)", path)
			}
			token = strings.TrimSpace(string(b))
		}
		return host.Client{API: adminapi.New(server, token)}, nil
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the bots and how they are",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			sts, err := c.List(cmd.Context())
			if err != nil {
				return err
			}
			printBots(cmd.OutOrStdout(), sts, time.Now())
			return nil
		},
	}
	var all bool
	reload := &cobra.Command{
		Use:   "reload NAME | --all",
		Short: "Restart a bot as nudge.yaml says now; with --all, start new bots and stop removed ones",
		Long: `Restart a bot: read its entry in the server's nudge.yaml again, stop its
process, take its program's checksum again (so a rebuilt binary is accepted),
forget its crashes, and start it. A disabled bot is enabled; a bot new to the
file is started, one no longer in it is stopped. The command waits until the
bot runs or fails again.

With --all (or SIGHUP to the server), every bot is made what the file says:
new ones start, removed ones stop, and those whose settings or program changed
or that were disabled restart; the others go on undisturbed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if all {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if all {
				changes, err := c.ReloadAll(cmd.Context())
				if err != nil {
					return err
				}
				return printChanges(out, changes)
			}
			st, err := c.Reload(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if st.State == host.StateRemoved {
				fmt.Fprintf(out, "%s: stopped (it is no longer in the configuration)\n", st.Name)
				return nil
			}
			if st.State != host.StateRunning {
				return fmt.Errorf("bot %s is %s after the reload: %s (nudge bot logs %s)", st.Name, st.State, tableCell(st.LastError), st.Name)
			}
			fmt.Fprintf(out, "%s: running (pid %d)\n", st.Name, st.PID)
			return nil
		},
	}
	reload.Flags().BoolVar(&all, "all", false, "make every bot what the configuration says")
	var lines int
	var follow bool
	logs := &cobra.Command{
		Use:   "logs NAME",
		Short: "Print a bot's recent log (what it wrote, and what the host says of it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client()
			if err != nil {
				return err
			}
			entries, err := c.Logs(cmd.Context(), args[0], 0, lines)
			if err != nil {
				return err
			}
			var last uint64
			for {
				for _, e := range entries {
					printLog(cmd.OutOrStdout(), e)
					last = e.Seq
				}
				if !follow {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(time.Second):
				}
				if entries, err = c.Logs(cmd.Context(), args[0], last, 0); err != nil {
					return err
				}
			}
		},
	}
	logs.Flags().IntVarP(&lines, "lines", "n", 50, "how many recent lines (0: all the server keeps)")
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	cmd.AddCommand(list, reload, logs)
	return cmd
}

// printBots writes the bots as a table.
func printBots(w io.Writer, sts []host.Status, now time.Time) {
	if len(sts) == 0 {
		fmt.Fprintln(w, "no bots")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tONLINE\tPID\tRESTARTS\tSINCE\tHANDLE\tLAST ERROR")
	for _, s := range sts {
		pid, online := "-", "no"
		if s.PID > 0 {
			pid = fmt.Sprint(s.PID)
		}
		if s.Online {
			online = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Name, s.State, online, pid, s.Restarts, ago(now.Sub(s.Since)), s.Email, tableCell(s.LastError))
	}
	tw.Flush()
}

// printChanges says what a reload of every bot did; it fails when a bot
// it started does not run.
func printChanges(w io.Writer, changes []host.Change) error {
	var failed []string
	n := 0
	for _, ch := range changes {
		switch ch.Action {
		case host.Unchanged:
			continue
		case host.Stopped:
			fmt.Fprintf(w, "%s: stopped (it is no longer in the configuration)\n", ch.Name)
		default:
			if ch.Status.State == host.StateRunning {
				fmt.Fprintf(w, "%s: %s, running (pid %d)\n", ch.Name, ch.Action, ch.Status.PID)
			} else {
				fmt.Fprintf(w, "%s: %s, %s: %s\n", ch.Name, ch.Action, ch.Status.State, tableCell(ch.Status.LastError))
				failed = append(failed, ch.Name)
			}
		}
		n++
	}
	if n == 0 {
		fmt.Fprintln(w, "nothing to do: the bots are as the configuration says")
	}
	if len(failed) > 0 {
		return fmt.Errorf("not running after the reload: %s (nudge bot logs NAME says why)", strings.Join(failed, ", "))
	}
	return nil
}

// maxErrorWidth is how much of a bot's last error the table shows;
// `nudge bot logs` has all of it.
const maxErrorWidth = 160

// tableCell fits an error into a table cell: a bot's error can be a
// traceback of many lines, with tabs, that would break the table's rows and
// columns.
func tableCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxErrorWidth {
		s = string(r[:maxErrorWidth-1]) + "…"
	}
	return s
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// printLog writes one log line: time, level, source, message, fields.
func printLog(w io.Writer, e host.LogEntry) {
	level := strings.ToUpper(e.Level)
	if l, err := zerolog.ParseLevel(e.Level); err == nil {
		level = strings.ToUpper(l.String())
	}
	var fields []string
	for k, v := range e.Fields {
		fields = append(fields, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(fields)
	line := fmt.Sprintf("%s %-5s %-4s %s", e.Time.Local().Format("15:04:05"), level, e.Source, e.Message)
	if len(fields) > 0 {
		line += "  " + strings.Join(fields, " ")
	}
	fmt.Fprintln(w, line)
}
