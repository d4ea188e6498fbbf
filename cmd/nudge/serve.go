package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/passport"
	"github.com/nudge-im/nudge/core/server"
	"github.com/nudge-im/nudge/core/store"
)

func serveCommand() *cobra.Command {
	var configPath string
	var flags config.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the MSN service",
		Long: `Run the MSN service: the Dispatch/Notification server, the Switchboard server,
the Passport endpoints (HTTP and HTTPS), the admin API and /metrics.

Flags override the YAML config file, which overrides the defaults. SIGHUP
reads the file's bots again (as "nudge bot reload --all" does): new ones start,
removed ones stop, changed ones restart.`,
		Example: `  nudge serve --data ./data
  nudge serve --config nudge.yaml --public-host 192.168.1.10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.Default()
			if configPath != "" {
				var err error
				if cfg, err = config.Load(configPath); err != nil {
					return err
				}
			}
			applyFlags(cmd, &cfg, &flags)
			if err := cfg.Validate(); err != nil {
				return err
			}
			log := newLogger(cfg.Log)

			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			srv, err := server.Start(ctx, cfg, log)
			if err != nil {
				return err
			}
			hooks := &reloads{}
			env := extraEnv{Config: cfg, ConfigPath: configPath, Server: srv, Log: log}
			var stopExtras func()
			if shared, ok := srv.Store.(store.Shared); ok && cfg.Cluster.On() {
				stopExtras, err = startExtrasOnce(ctx, env, hooks, shared, cfg.Cluster.Node, defaultLease)
			} else {
				stopExtras, err = startExtras(ctx, env, hooks)
			}
			if err != nil {
				srv.Close()
				return err
			}
			printWelcome(cmd, cfg, srv)
		wait:
			for {
				select {
				case <-ctx.Done():
					break wait
				case <-hup:
					// SIGHUP reloads what can change while running (the
					// bots in nudge.yaml); the rest takes a restart.
					log.Info().Msg("SIGHUP: reloading the configuration")
					hooks.run(ctx)
				}
			}
			log.Info().Msg("shutting down")
			stopExtras()
			return srv.Close()
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "YAML config file")
	f.StringVar(&flags.Data, "data", "", "data directory (default ./data)")
	f.StringVar(&flags.Listen.NS, "ns", "", "Dispatch/Notification server address (default 127.0.0.1:1863)")
	f.StringVar(&flags.Listen.DS, "ds", "", "separate Dispatch server address that refers clients to --ns (default off)")
	f.StringVar(&flags.Listen.SB, "sb", "", "Switchboard server address (default 127.0.0.1:1864)")
	f.StringVar(&flags.Listen.HTTP, "http", "", "HTTP address: Passport, admin API, /metrics (default 127.0.0.1:8080)")
	f.StringVar(&flags.Listen.HTTPS, "https", "", "HTTPS address for Passport (default 127.0.0.1:8443)")
	f.StringVar(&flags.PublicHost, "public-host", "", "IP put in XFR/RNG referrals when clients reach the service at another address")
	f.StringVar(&flags.Log.Level, "log-level", "", "debug, info, warn or error (default info)")
	return cmd
}

// applyFlags copies the flags the user set over cfg.
func applyFlags(cmd *cobra.Command, cfg, flags *config.Config) {
	set := func(name string, dst *string, v string) {
		if cmd.Flags().Changed(name) {
			*dst = v
		}
	}
	set("data", &cfg.Data, flags.Data)
	set("ns", &cfg.Listen.NS, flags.Listen.NS)
	set("ds", &cfg.Listen.DS, flags.Listen.DS)
	set("sb", &cfg.Listen.SB, flags.Listen.SB)
	set("http", &cfg.Listen.HTTP, flags.Listen.HTTP)
	set("https", &cfg.Listen.HTTPS, flags.Listen.HTTPS)
	set("public-host", &cfg.PublicHost, flags.PublicHost)
	set("log-level", &cfg.Log.Level, flags.Log.Level)
}

func newLogger(c config.Log) zerolog.Logger {
	level, err := zerolog.ParseLevel(c.Level)
	if err != nil {
		level = zerolog.InfoLevel
	}
	var log zerolog.Logger
	if c.Format == "json" {
		log = zerolog.New(os.Stderr)
	} else {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05"})
	}
	return log.Level(level).With().Timestamp().Logger()
}

func printWelcome(cmd *cobra.Command, cfg config.Config, srv *server.Server) {
	a := srv.Addrs()
	var b strings.Builder
	fmt.Fprintf(&b, "\nNudge is running.\n\n")
	fmt.Fprintf(&b, "  MSN clients connect to   %s  (switchboard %s)\n", a.NS, a.SB)
	if a.DS != "" {
		fmt.Fprintf(&b, "  Dispatch server          %s\n", a.DS)
	}
	if a.HTTP != "" {
		fmt.Fprintf(&b, "  Passport (MSNP8+)        http://%s/rdr/pprdr.asp", a.HTTP)
		if a.HTTPS != "" {
			fmt.Fprintf(&b, ", https://%s", a.HTTPS)
		}
		token := "token in " + filepath.Join(cfg.Data, "admin.token")
		if cfg.Admin.Token != "" {
			token = "token: admin.token in the config"
		}
		fmt.Fprintf(&b, "\n  Admin API, /metrics      http://%s  (%s)\n", a.HTTP, token)
		if srv.Web != nil {
			fmt.Fprintf(&b, "  Web Messenger            http://%s/web/\n", a.HTTP)
		}
	}
	if a.HTTPS != "" && cfg.Passport.Cert == "" {
		fmt.Fprintf(&b, "  Clients trust            %s  (see \"Connecting real clients\" in the README)\n",
			filepath.Join(cfg.Data, passport.CAFile))
	}
	where := "--data " + cfg.Data
	if cfg.Database.URL != "" {
		where = "--config <this config file>" // the database is named there
	}
	self := os.Args[0] // as the user typed it: ./bin/nudge under make run
	fmt.Fprintf(&b, "\n  Make an account:  %s user add alice@example.com --password secret1 --name Alice %s\n", self, where)
	fmt.Fprintf(&b, "  Then sign in with an MSN client at %s, or:  %s chat --server %s --user alice@example.com\n\n", a.NS, self, a.NS)
	fmt.Fprint(cmd.ErrOrStderr(), b.String())
}
