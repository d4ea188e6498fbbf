package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
)

func TestDiscordConfig(t *testing.T) {
	c := config.Default()
	c.Data = "/var/lib/nudge"
	bc, err := discordConfig(c, "0.0.0.0:1863", "[::]:8080", "tok", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if bc.MSN.Server != "127.0.0.1:1863" || bc.MSN.PassportURL != "http://127.0.0.1:8080" || bc.Database != "/var/lib/nudge/discord.db" ||
		bc.Hosted.AdminURL != "http://127.0.0.1:8080" || bc.Hosted.AdminToken != "tok" || bc.Hosted.Domain != "discord.invalid" {
		t.Errorf("config %+v", bc)
	}
	// Another MSN server, no Passport: MD5 sign-in; no admin API: own
	// accounts only.
	c.Discord.Server = "msn.example.net:1863"
	bc, err = discordConfig(c, "127.0.0.1:1863", "", "", zerolog.Nop())
	if err != nil || bc.MSN.Version != 7 || bc.Hosted.AdminURL != "" || !bc.OwnAccounts {
		t.Errorf("config %+v %v", bc, err)
	}
	c.Discord.OwnAccounts = false
	_, err = discordConfig(c, "127.0.0.1:1863", "", "", zerolog.Nop())
	oneLine(t, err, "admin")
}

func TestBridgeDiscordCommandErrors(t *testing.T) {
	_, _, err := run(t, "", "bridge", "discord")
	oneLine(t, err, "token")

	dc := discordtest.New()
	defer dc.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(path, []byte("data: "+dir+"\ndiscord:\n  token: wrong\n  server: 127.0.0.1:1\n  hosted: false\n  api_url: "+dc.URL+"\n"), 0o600)
	_, _, err = run(t, "", "bridge", "discord", "--config", path)
	oneLine(t, err, "refused the bot token", "discord.token")
}

// nudge serve runs the bridge when nudge.yaml has a discord token: users
// sign in to this very service.
func TestDiscordExtraInServe(t *testing.T) {
	srv := coretest.Start(t)
	dc := discordtest.New(discordtest.WithInteractionTimeout(time.Minute)) // a loaded machine must not fail the test
	defer dc.Close()
	guild := dc.AddGuild("g")
	ch, _ := dc.AddChannel(guild, "general", discordtest.ChannelText, "")
	u := dc.AddUser("nelly", "")
	dc.AddMember(guild, u.ID, 0)

	cfg := config.Default()
	cfg.Data = srv.Data
	cfg.Discord.Token = dc.Token
	cfg.Discord.APIURL = dc.URL
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop, err := startDiscordExtra(ctx, extraEnv{Config: cfg, Server: srv.Server, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ix, err := dc.Run(guild, ch, u.ID, "msn login", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := dc.Reply(ctx, ix)
	if err != nil || !strings.Contains(r.Content, "Signed in to MSN as **nelly@discord.invalid**") {
		t.Fatalf("reply %+v %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(srv.Data, "discord.db")); err != nil {
		t.Fatal(err)
	}

	// Without a token the extra stays off.
	cfg.Discord.Token = ""
	if stop, err := startDiscordExtra(ctx, extraEnv{Config: cfg, Server: srv.Server, Log: zerolog.Nop()}); stop != nil || err != nil {
		t.Fatalf("extra without a token: %v", err)
	}
}
