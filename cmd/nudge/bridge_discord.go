package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/nudge-im/nudge/bridges/discord"
	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/msnp"
)

func init() {
	registerBridge(bridgeDiscordCommand)
	registerExtra(extra{name: "discord", start: startDiscordExtra})
}

// startDiscordExtra runs the Discord bridge inside `nudge serve` when the
// config has a discord.token, signing users in to this service.
func startDiscordExtra(ctx context.Context, env extraEnv) (func(), error) {
	if env.Config.Discord.Token == "" {
		return nil, nil
	}
	a := env.Server.Addrs()
	bc, err := discordConfig(env.Config, a.NS, a.HTTP, env.Server.AdminToken, env.Log)
	if err != nil {
		return nil, err
	}
	if bc.PictureURL == "" && env.Config.PublicHost != "" && a.HTTP != "" {
		if _, port, err := net.SplitHostPort(a.HTTP); err == nil {
			bc.PictureURL = "http://" + net.JoinHostPort(env.Config.PublicHost, port) + "/pictures/"
		}
	}
	b, err := discord.New(ctx, bc)
	if err != nil {
		return nil, err
	}
	if err := b.Start(ctx); err != nil {
		b.Close()
		return nil, err
	}
	env.Server.ServePictures(b.PictureHandler())
	return func() {
		env.Server.ServePictures(nil)
		b.Close()
	}, nil
}

func bridgeDiscordCommand() *cobra.Command {
	var configPath, token string
	cmd := &cobra.Command{
		Use:   "discord --config nudge.yaml",
		Short: "Run the Discord bridge on its own, against any MSN server",
		Long: `Run the Discord bridge on its own. It reads the discord: section of the config
file (the same keys as in nudge.yaml; see the README's "Discord bridge").

With nothing else set it bridges to the Nudge service the same file
describes (listen.ns, and the admin API at listen.http with the token in
admin.token or DATA/admin.token), so it can run beside "nudge serve". For
another MSN server set discord.server (and discord.passport_url for MSNP8+
sign-ins, or leave it empty to sign in with MSNP7), and discord.hosted: false
unless that server is a Nudge server whose admin API you give.`,
		Example: `  nudge bridge discord --config nudge.yaml
  nudge bridge discord --config discord.yaml --token "$DISCORD_TOKEN"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.Default()
			if configPath != "" {
				var err error
				if cfg, err = config.Load(configPath); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("token") {
				cfg.Discord.Token = token
			}
			if cfg.Discord.Token == "" {
				return errors.New("no bot token: set discord.token in the config file or give --token")
			}
			log := newLogger(cfg.Log).With().Str("component", "discord").Logger()
			adminToken := cfg.Admin.Token
			if adminToken == "" {
				if b, err := os.ReadFile(filepath.Join(cfg.Data, "admin.token")); err == nil {
					adminToken = strings.TrimSpace(string(b))
				}
			}
			bc, err := discordConfig(cfg, cfg.Listen.NS, cfg.Listen.HTTP, adminToken, log)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			b, err := discord.New(ctx, bc)
			if err != nil {
				return err
			}
			if err := b.Start(ctx); err != nil {
				b.Close()
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "\nThe Discord bridge is running: users sign in with /msn login, admins link channels with /msn bridge.\n\n")
			<-ctx.Done()
			log.Info().Msg("shutting down")
			return b.Close()
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "YAML config file with a discord: section")
	cmd.Flags().StringVar(&token, "token", "", "bot token (overrides discord.token)")
	return cmd
}

// discordConfig makes the bridge's configuration from the discord section,
// filling what it leaves out from the service at ns and httpAddr.
func discordConfig(c config.Config, ns, httpAddr, adminToken string, log zerolog.Logger) (discord.Config, error) {
	d := c.Discord
	bc := discord.Config{
		Token: d.Token, APIURL: d.APIURL, Database: d.Database,
		MSN:         discord.MSNConfig{Server: d.Server, PassportURL: d.PassportURL, Version: msnp.Version(d.Protocol)},
		OwnAccounts: d.OwnAccounts, Category: d.Category, AvatarURL: d.AvatarURL,
		PictureURL: d.PictureURL, FileLimit: d.MaxFileSize,
		Guilds: d.Guilds, Admins: d.Admins, Logger: log,
	}
	if bc.Database == "" {
		bc.Database = filepath.Join(c.Data, "discord.db")
	}
	if bc.MSN.Server == "" {
		bc.MSN.Server = dialable(ns)
		if bc.MSN.PassportURL == "" && httpAddr != "" {
			bc.MSN.PassportURL = "http://" + dialable(httpAddr)
		}
	}
	if bc.MSN.PassportURL == "" {
		bc.MSN.Version = 7 // MD5 sign-in needs no Passport
	}
	if d.Hosted {
		adminURL := d.AdminURL
		if adminURL == "" && httpAddr != "" {
			adminURL = "http://" + dialable(httpAddr)
		}
		tok := d.AdminToken
		if tok == "" {
			tok = adminToken
		}
		switch {
		case adminURL != "" && tok != "":
			bc.Hosted = discord.HostedConfig{AdminURL: adminURL, AdminToken: tok, Domain: d.HostedDomain}
		case d.OwnAccounts:
			log.Warn().Msg("discord.hosted is on but there is no admin API to make accounts with (set discord.admin_url and discord.admin_token): users sign in with their own accounts only, and rooms are off")
		default:
			return bc, errors.New("discord: hosted accounts need the admin API: set discord.admin_url and discord.admin_token, or listen.http")
		}
	}
	return bc, nil
}

// dialable turns a listen address into one to connect to: a wildcard host
// becomes the loopback address.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
