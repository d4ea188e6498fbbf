package discord

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp"
)

// Config configures a Bridge.
type Config struct {
	// Token is the bot token from the Discord Developer Portal.
	Token string
	// APIURL is the base URL of the Discord API and gateway lookup; empty
	// means Discord itself. Tests and Discord-compatible servers set it.
	APIURL string
	// Database is where the bridge keeps its state: a SQLite file path or a
	// PostgreSQL URL (see OpenStore).
	Database string

	// MSN says where bridged users and rooms sign in.
	MSN MSNConfig
	// Hosted makes accounts on a Nudge server through its admin API, for
	// "/msn login" without a password and for rooms. Hosting is off when
	// AdminURL is empty.
	Hosted HostedConfig
	// OwnAccounts lets users sign in with the handle and password of any
	// MSN account, on the configured server or another one.
	OwnAccounts bool

	// Category is the name of the channel category the private channels
	// go in (default "MSN").
	Category string
	// AvatarURL is a template for the avatar of MSN contacts' webhook
	// messages: {email}, {md5} and {sha256} are replaced by the contact's
	// address and its hashes (as Gravatar wants them). Empty: the webhook's
	// default avatar.
	AvatarURL string
	// PictureURL is where Discord fetches MSN contacts' display pictures
	// from, for their webhook avatars: the public address of
	// PictureHandler (`nudge serve` serves it at /pictures/ on its HTTP
	// listener). Empty: display pictures are not used, AvatarURL is.
	PictureURL string
	// FileLimit is the largest file carried either way, in bytes
	// (default msnbridge.DefaultFileLimit, 10 MiB: what Discord takes from
	// a bot without boosts).
	FileLimit int64
	// Guilds, when set, are the guilds the slash commands are registered
	// in (they appear at once); otherwise they are global.
	Guilds []string
	// Admins are Discord user IDs who may link rooms, besides members
	// with the Manage Channels permission.
	Admins []string

	// RequestTimeout bounds an MSN request (a message, a sign-in); default
	// 30 s.
	RequestTimeout time.Duration

	// HTTPClient, when set, makes the Discord REST requests (tests).
	HTTPClient *http.Client
	// Logger receives the bridge's logs.
	Logger zerolog.Logger
}

// MSNConfig says where bridged users and rooms sign in.
type MSNConfig struct {
	// Server is the MSN server, host:port.
	Server string
	// PassportURL is the base URL of the server's Passport endpoints (a
	// Nudge server's HTTP address), for MSNP8+ sign-ins.
	PassportURL string
	// Version is the highest protocol version offered (default
	// msnbridge.DefaultVersion).
	Version msnp.Version
	// InsecureSkipVerify accepts a self-signed Passport certificate.
	InsecureSkipVerify bool
}

// HostedConfig is how the bridge makes accounts on a Nudge server.
type HostedConfig struct {
	AdminURL   string // the server's HTTP address, http://127.0.0.1:8080
	AdminToken string
	// Domain is the domain of the accounts it makes: a user "nelly" signs
	// in as nelly@<Domain>.
	Domain string
}

// DefaultHostedDomain is the domain of hosted accounts when none is set:
// ".invalid" is reserved, so the addresses can never belong to anyone.
const DefaultHostedDomain = "discord.invalid"

func (c *Config) hosted() bool { return c.Hosted.AdminURL != "" }

func (c *Config) setDefaults() {
	if c.Category == "" {
		c.Category = "MSN"
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.MSN.Version == 0 {
		c.MSN.Version = msnbridge.DefaultVersion
	}
	if c.FileLimit <= 0 {
		c.FileLimit = msnbridge.DefaultFileLimit
	}
	if c.Hosted.Domain == "" {
		c.Hosted.Domain = DefaultHostedDomain
	}
}

// Validate checks the configuration. Errors say what to fix.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.Token) == "" {
		return errors.New("discord: no bot token: set discord.token (Developer Portal → your application → Bot → Reset Token)")
	}
	if c.MSN.Server == "" {
		return errors.New("discord: no MSN server: set discord.server (host:port)")
	}
	if _, _, err := net.SplitHostPort(c.MSN.Server); err != nil {
		return fmt.Errorf("discord: server %q is not host:port", c.MSN.Server)
	}
	if !c.hosted() && !c.OwnAccounts {
		return errors.New("discord: users cannot sign in: give the admin API (hosted accounts) or allow own accounts")
	}
	if c.Database == "" {
		return errors.New("discord: no database: set discord.database")
	}
	return nil
}
