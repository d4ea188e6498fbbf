//go:build goolm

package matrix

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"go.mau.fi/util/configupgrade"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/commands"
	"maunium.net/go/mautrix/bridgev2/database"
	mxbridge "maunium.net/go/mautrix/bridgev2/matrix"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// Connector is the bridgev2 network connector for MSN Messenger. One
// Connector runs per bridge process; every Matrix user's MSN account is an
// MSNClient of it.
type Connector struct {
	Bridge *bridgev2.Bridge
	Config Config

	hosted *msnbridge.Hosted // made at Start when hosted logins are on
	// configPath is the config file's path, which relative paths in the
	// config are relative to; "" for the working directory.
	configPath func() string
	// example is set while the example config is written (see GetName).
	example bool
	// dialer lets tests reach MSN servers in other ways; nil dials TCP.
	dialer client.Dialer
	// refreshed is when each ghost's presence was last set, across logins
	// (a contact of two users is refreshed once).
	refreshed sync.Map
	// pictures are MSN contacts' display pictures (see media.go).
	pictures     *msnbridge.Pictures
	picturesOnce sync.Once
	avatars      sync.Map // contact → the Key of the picture their ghost shows
	emoticonMXC  sync.Map // SHA1D → the mxc:// address of an emoticon uploaded once
}

var (
	_ bridgev2.NetworkConnector            = (*Connector)(nil)
	_ bridgev2.ConfigValidatingNetwork     = (*Connector)(nil)
	_ bridgev2.IdentifierValidatingNetwork = (*Connector)(nil)
)

// NetworkID is the bridge's network ID, used for the default ghost
// username template (msn_…), bot name and command prefix (!msn).
const NetworkID = "msn"

// GetName describes the network. It is called before the config is read.
func (mc *Connector) GetName() bridgev2.BridgeName {
	name := bridgev2.BridgeName{
		DisplayName:          "MSN Messenger",
		NetworkURL:           "https://github.com/nudge-im/nudge",
		NetworkID:            NetworkID,
		BeeperBridgeType:     "github.com/nudge-im/nudge/bridges/matrix",
		DefaultPort:          29340,
		DefaultCommandPrefix: "!msn",
	}
	if mc.example {
		// The example config writes the network icon as the bot's avatar;
		// without one it would be an empty YAML value (null), and every
		// run would warn about its type. '' is an empty string: the bot's
		// avatar is left as it is.
		name.NetworkIcon = "''"
	}
	return name
}

// GetDBMetaTypes names the metadata types kept in the bridge's database.
func (mc *Connector) GetDBMetaTypes() database.MetaTypes { return dbMetaTypes() }

// GetCapabilities returns what the bridge as a whole supports.
func (mc *Connector) GetCapabilities() *bridgev2.NetworkGeneralCapabilities {
	return &bridgev2.NetworkGeneralCapabilities{
		Provisioning: bridgev2.ProvisioningCapabilities{
			ResolveIdentifier: bridgev2.ResolveIdentifierCapabilities{
				CreateDM:    true,
				LookupEmail: true,
				ContactList: true,
			},
			GroupCreation: map[string]bridgev2.GroupTypeCapabilities{
				"group": {
					TypeDescription: "an MSN conversation with several contacts",
					Participants:    bridgev2.GroupFieldCapability{Allowed: true, Required: true, MinLength: 1},
				},
			},
		},
	}
}

// GetBridgeInfoVersion is bumped when m.bridge or the room features change.
func (mc *Connector) GetBridgeInfoVersion() (info, capabilities int) { return 1, 1 }

// GetConfig returns the example network config, where to decode it, and its
// upgrader.
func (mc *Connector) GetConfig() (string, any, configupgrade.Upgrader) {
	return exampleConfig, &mc.Config, configupgrade.SimpleUpgrader(upgradeConfig)
}

// ValidateConfig refuses to start with a config that cannot work, and
// makes its relative paths relative to the config file's folder.
func (mc *Connector) ValidateConfig() error {
	if mc.configPath != nil {
		if p := mc.configPath(); p != "" && p != "-" {
			mc.Config.resolvePaths(filepath.Dir(p))
		}
	}
	return mc.Config.validate()
}

// ValidateUserID accepts what can be an MSN address.
func (mc *Connector) ValidateUserID(id networkid.UserID) bool {
	return msnbridge.ValidHandle(string(id))
}

// Init keeps the bridge and adds the bridge bot's MSN commands. It does no
// I/O.
func (mc *Connector) Init(br *bridgev2.Bridge) {
	mc.Bridge = br
	if proc, ok := br.Commands.(*commands.Processor); ok {
		proc.AddHandlers(mc.commands()...)
	}
	// Homeservers that push presence to appservices (Synapse with
	// receive_ephemeral) tell the bridge at once; others are polled.
	if m, ok := br.Matrix.(*mxbridge.Connector); ok && m.EventProcessor != nil {
		m.EventProcessor.On(event.EphemeralEventPresence, mc.handleMatrixPresence)
	}
}

// Start prepares hosted logins — the admin token, the record of the
// accounts made — so that a mistake shows at start-up rather than at
// someone's first login.
func (mc *Connector) Start(ctx context.Context) error {
	if mc.Config.Hosted.Enabled {
		if err := mc.openHosted(ctx); err != nil {
			return fmt.Errorf("hosted logins: %w", err)
		}
	}
	return nil
}

// LoadUserLogin makes the MSN client of a login; it connects later, in
// Connect. A hosted login from before the bridge recorded whose accounts
// are whose is recorded now.
func (mc *Connector) LoadUserLogin(ctx context.Context, login *bridgev2.UserLogin) error {
	meta, ok := login.Metadata.(*UserLoginMetadata)
	if !ok || meta.Email == "" {
		return errors.New("login has no MSN account in its metadata")
	}
	if meta.Hosted && mc.hosted != nil {
		err := mc.hosted.Adopt(ctx, msnbridge.HostedAccount{Owner: string(login.UserMXID), Email: meta.Email, Password: meta.Password})
		if err != nil {
			login.Log.Warn().Err(err).Msg("Could not record the owner of a hosted account")
		}
	}
	login.Client = newMSNClient(mc, login)
	return nil
}

// clientConfig is the msnp/client configuration for a login.
func (mc *Connector) clientConfig(meta *UserLoginMetadata) client.Config {
	server, passport, nexus := mc.Config.Server, mc.Config.PassportURL, mc.Config.NexusURL
	if meta.Server != "" {
		server, passport, nexus = meta.Server, meta.PassportURL, meta.NexusURL
	}
	return client.Config{
		Server:    server,
		Email:     meta.Email,
		Password:  meta.Password,
		Version:   msnVersion(mc.Config.ProtocolVersion),
		Reconnect: true,
		Passport: client.PassportConfig{
			URL:                passport,
			NexusURL:           nexus,
			InsecureSkipVerify: mc.Config.InsecureSkipVerify,
		},
		Dialer:      mc.dialer,
		ObjectCache: mc.pictureStore().Cache(),
	}
}
