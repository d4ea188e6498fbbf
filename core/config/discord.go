package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Discord configures the Discord bridge (package bridges/discord). It runs
// beside the service when it has a bot token, and on its own with
// `nudge bridge discord`.
type Discord struct {
	// Token is the bot token; empty turns the bridge off.
	Token string `yaml:"token"`
	// Database is a SQLite file or a PostgreSQL URL (default
	// Data/discord.db).
	Database string `yaml:"database"`
	// Server and PassportURL are where bridged users sign in (default: this
	// service's ns and http addresses).
	Server      string `yaml:"server"`
	PassportURL string `yaml:"passport_url"`
	// Protocol is the highest MSNP version bridged accounts offer (15;
	// from 13 offline messages go both ways).
	Protocol int `yaml:"protocol"`
	// Hosted lets /msn login make an account on a Nudge server for a
	// Discord user, named <username>@HostedDomain; rooms need it too.
	// AdminURL and AdminToken reach that server's admin API (default: this
	// service's).
	Hosted       bool   `yaml:"hosted"`
	HostedDomain string `yaml:"hosted_domain"`
	AdminURL     string `yaml:"admin_url"`
	AdminToken   string `yaml:"admin_token"`
	// OwnAccounts lets users sign in with the handle and password of any
	// MSN account.
	OwnAccounts bool `yaml:"own_accounts"`
	// Category names the channel category of the private channels.
	Category string `yaml:"category"`
	// AvatarURL is the avatar of MSN contacts: {email}, {md5} and {sha256}
	// are replaced by the contact's address and its hashes.
	AvatarURL string `yaml:"avatar_url"`
	// PictureURL is the public address Discord fetches MSN contacts'
	// display pictures from (this service's /pictures/ on the HTTP
	// listener); default http://PUBLIC_HOST:HTTP_PORT/pictures/ when
	// public_host is set, else display pictures are not shown on Discord.
	PictureURL string `yaml:"picture_url"`
	// MaxFileSize is the largest file carried either way, in bytes
	// (default 10 MiB, what Discord takes from a bot without boosts).
	MaxFileSize int64 `yaml:"max_file_size"`
	// Guilds limits the slash commands to these guild IDs (they appear at
	// once); Admins may link rooms besides members with Manage Channels.
	Guilds []string `yaml:"guilds"`
	Admins []string `yaml:"admins"`
	// APIURL points the bot at a Discord-compatible API instead of Discord.
	APIURL string `yaml:"api_url"`
}

func defaultDiscord() Discord {
	return Discord{Protocol: 15, MaxFileSize: 10 << 20, Hosted: true, HostedDomain: "discord.invalid", OwnAccounts: true, Category: "MSN", Guilds: []string{}, Admins: []string{}}
}

// validate checks the discord section's values.
func (d *Discord) validate() error {
	if d.Server != "" {
		if _, _, err := net.SplitHostPort(d.Server); err != nil {
			return &keyError{"discord.server", fmt.Sprintf("%q is not host:port", d.Server)}
		}
	}
	if d.Protocol != 0 && (d.Protocol < 2 || d.Protocol > 18) {
		return &keyError{"discord.protocol", fmt.Sprintf("%d is outside 2..18", d.Protocol)}
	}
	if d.MaxFileSize <= 0 {
		return &keyError{"discord.max_file_size", fmt.Sprintf("%d is not a size in bytes (10485760 is 10 MiB)", d.MaxFileSize)}
	}
	for _, u := range []struct{ key, v string }{{"discord.passport_url", d.PassportURL}, {"discord.admin_url", d.AdminURL}, {"discord.api_url", d.APIURL}, {"discord.picture_url", d.PictureURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			return &keyError{u.key, fmt.Sprintf("%q is not an http:// or https:// URL", u.v)}
		}
	}
	if d.Hosted && !strings.Contains(strings.Trim(d.HostedDomain, "."), ".") {
		return &keyError{"discord.hosted_domain", fmt.Sprintf("%q is not a domain (it needs a dot, like discord.example.com)", d.HostedDomain)}
	}
	if !d.Hosted && !d.OwnAccounts {
		return &keyError{"discord.own_accounts", "with discord.hosted false too, nobody could sign in: turn one of them on"}
	}
	for _, ids := range []struct {
		key string
		v   []string
	}{{"discord.guilds", d.Guilds}, {"discord.admins", d.Admins}} {
		for _, id := range ids.v {
			if _, err := strconv.ParseUint(id, 10, 64); err != nil {
				return &keyError{ids.key, fmt.Sprintf("%q is not a Discord ID (a number: with Developer Mode on, right-click → Copy ID)", id)}
			}
		}
	}
	return nil
}
