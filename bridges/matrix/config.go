//go:build goolm

package matrix

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	up "go.mau.fi/util/configupgrade"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

//go:embed example-config.yaml
var exampleConfig string

// Config is the network section of the bridge's config.yaml.
type Config struct {
	Server             string `yaml:"server"`
	PassportURL        string `yaml:"passport_url"`
	NexusURL           string `yaml:"nexus_url"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	ProtocolVersion    int    `yaml:"protocol_version"`
	AllowOtherServers  bool   `yaml:"allow_other_servers"`

	DisplaynameTemplate string `yaml:"displayname_template"`
	// MaxFileSize is the largest file carried either way, in bytes.
	MaxFileSize int64 `yaml:"max_file_size"`

	Hosted   HostedConfig   `yaml:"hosted"`
	Presence PresenceConfig `yaml:"presence"`

	displayname *template.Template
}

// HostedConfig configures hosted logins: accounts the bridge makes on a
// Nudge server through its admin API.
type HostedConfig struct {
	Enabled        bool   `yaml:"enabled"`
	AdminURL       string `yaml:"admin_url"`
	AdminToken     string `yaml:"admin_token"`
	AdminTokenFile string `yaml:"admin_token_file"`
	EmailDomain    string `yaml:"email_domain"`
	PasswordSecret string `yaml:"password_secret"`
}

// PresenceConfig configures presence in both directions.
type PresenceConfig struct {
	Ghosts          bool          `yaml:"ghosts"`
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	SyncMatrix      bool          `yaml:"sync_matrix"`
	PollInterval    time.Duration `yaml:"poll_interval"`
	OfflineStatus   string        `yaml:"offline_status"`
}

// upgradeConfig copies the user's values into the current example config,
// and generates the hosted password secret.
func upgradeConfig(helper up.Helper) {
	helper.Copy(up.Str, "server")
	helper.Copy(up.Str, "passport_url")
	helper.Copy(up.Str, "nexus_url")
	helper.Copy(up.Bool, "insecure_skip_verify")
	helper.Copy(up.Int, "protocol_version")
	helper.Copy(up.Bool, "allow_other_servers")
	helper.Copy(up.Str, "displayname_template")
	helper.Copy(up.Int, "max_file_size")
	helper.Copy(up.Bool, "hosted", "enabled")
	helper.Copy(up.Str, "hosted", "admin_url")
	helper.Copy(up.Str, "hosted", "admin_token")
	helper.Copy(up.Str, "hosted", "admin_token_file")
	helper.Copy(up.Str, "hosted", "email_domain")
	if secret, ok := helper.Get(up.Str, "hosted", "password_secret"); !ok || secret == "generate" || secret == "" {
		helper.Set(up.Str, randomSecret(), "hosted", "password_secret")
	} else {
		helper.Copy(up.Str, "hosted", "password_secret")
	}
	helper.Copy(up.Bool, "presence", "ghosts")
	helper.Copy(up.Str, "presence", "refresh_interval")
	helper.Copy(up.Bool, "presence", "sync_matrix")
	helper.Copy(up.Str, "presence", "poll_interval")
	helper.Copy(up.Str, "presence", "offline_status")
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// validate checks the config and prepares the display name template. Each
// error names the key and says what is expected.
func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.Server); err != nil {
		return fmt.Errorf("network.server %q: want host:port, such as 127.0.0.1:1863", c.Server)
	}
	for key, v := range map[string]string{"network.passport_url": c.PassportURL, "network.nexus_url": c.NexusURL, "network.hosted.admin_url": c.Hosted.AdminURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s %q: want an http:// or https:// URL", key, v)
		}
	}
	if c.ProtocolVersion == 0 {
		c.ProtocolVersion = int(msnbridge.DefaultVersion)
	}
	if c.ProtocolVersion < int(msnp.MinVersion) || c.ProtocolVersion > int(msnp.MaxVersion) {
		return fmt.Errorf("network.protocol_version %d: want %d to %d", c.ProtocolVersion, msnp.MinVersion, msnp.MaxVersion)
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = msnbridge.DefaultFileLimit
	}
	if c.MaxFileSize < 0 {
		return fmt.Errorf("network.max_file_size %d: want a size in bytes, such as 10485760 (10 MiB)", c.MaxFileSize)
	}
	if c.DisplaynameTemplate == "" {
		c.DisplaynameTemplate = "{{.FriendlyName}}"
	}
	t, err := template.New("displayname").Parse(c.DisplaynameTemplate)
	if err != nil {
		return fmt.Errorf("network.displayname_template: %w", err)
	}
	c.displayname = t
	if c.Hosted.Enabled {
		if c.Hosted.AdminURL == "" {
			return errors.New("network.hosted.admin_url is empty: set it to the Nudge server's HTTP address, or set network.hosted.enabled: false")
		}
		if c.Hosted.AdminToken == "" && c.Hosted.AdminTokenFile == "" {
			return errors.New("network.hosted: set admin_token or admin_token_file (the Nudge server's data/admin.token)")
		}
		if len(c.Hosted.PasswordSecret) < 16 {
			return errors.New("network.hosted.password_secret is shorter than 16 characters: set it to \"generate\" to make one")
		}
		if d := c.Hosted.EmailDomain; d != "" && !strings.Contains(d, ".") {
			return fmt.Errorf("network.hosted.email_domain %q: an MSN address needs a domain with a dot", d)
		}
	}
	if c.Presence.PollInterval <= 0 {
		c.Presence.PollInterval = 30 * time.Second
	}
	if c.Presence.RefreshInterval < 0 {
		return fmt.Errorf("network.presence.refresh_interval %s: want a duration such as 20s, or 0 for never", c.Presence.RefreshInterval)
	}
	switch c.Presence.OfflineStatus {
	case "", "away":
		c.Presence.OfflineStatus = "away"
	case "hidden":
	default:
		return fmt.Errorf("network.presence.offline_status %q: want away or hidden", c.Presence.OfflineStatus)
	}
	return nil
}

// resolvePaths makes the config's relative file names relative to dir,
// the folder of the config file, rather than to wherever the bridge was
// started.
func (c *Config) resolvePaths(dir string) {
	if f := c.Hosted.AdminTokenFile; f != "" && !filepath.IsAbs(f) && dir != "" {
		c.Hosted.AdminTokenFile = filepath.Join(dir, f)
	}
}

// adminToken returns the admin API token, from the config or its file.
func (c *HostedConfig) adminToken() (string, error) {
	if c.AdminToken != "" {
		return c.AdminToken, nil
	}
	b, err := os.ReadFile(c.AdminTokenFile)
	if err != nil {
		return "", fmt.Errorf("reading the admin token (network.hosted.admin_token_file): %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// offlineStatus is the MSN status for a Matrix user who is offline.
func (c *PresenceConfig) offlineStatus() client.Status {
	if c.OfflineStatus == "hidden" {
		return client.Hidden
	}
	return client.Away
}

// formatDisplayname applies the display name template.
func (c *Config) formatDisplayname(email, friendly string) string {
	var b strings.Builder
	data := struct{ Email, FriendlyName string }{email, friendly}
	if c.displayname == nil || c.displayname.Execute(&b, data) != nil || strings.TrimSpace(b.String()) == "" {
		return friendly
	}
	return b.String()
}
