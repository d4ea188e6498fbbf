//go:build goolm

package matrix

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/status"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// MSNClient is one Matrix user's MSN account: an msnbridge.Session, kept
// signed in, whose events become Matrix events.
//
// The session's goroutine hands over the MSN events in order; they only
// queue work for the portals. Matrix events arrive on other goroutines and
// use the current client.
type MSNClient struct {
	mc    *Connector
	login *bridgev2.UserLogin
	meta  *UserLoginMetadata
	log   zerolog.Logger
	sess  *msnbridge.Session

	// emoticons are the custom emoticons contacts announced (media.go).
	emoticons msnbridge.Emoticons

	mu      sync.Mutex
	pending *client.Client // signed in by the login process, for the session to take over
	running bool
	cancel  context.CancelFunc
	// Conversations with more than one contact and their group portals.
	// One-to-one conversations need no table: they belong to the DM
	// portal of their contact.
	groups map[*client.Conversation]networkid.PortalKey
	convs  map[networkid.PortalID]*client.Conversation
	// members is who is in each conversation, as its events told it.
	members map[*client.Conversation][]string
	// missing is, per group portal, who did not get the last message (to
	// say it once, not after every message).
	missing msnbridge.Absences
	// touched is the portals this login queued events to, to wait for
	// when it stops.
	touched map[networkid.PortalKey]bool
	// RL requests already shown in the management room.
	announced map[string]bool

	ghosts   *ghostUpdater
	typing   *typingSender
	presence *statusFollower
}

var (
	_ bridgev2.NetworkAPI                    = (*MSNClient)(nil)
	_ bridgev2.NetworkAPIWithUserID          = (*MSNClient)(nil)
	_ bridgev2.TypingHandlingNetworkAPI      = (*MSNClient)(nil)
	_ bridgev2.ReadReceiptHandlingNetworkAPI = (*MSNClient)(nil)
	_ bridgev2.EditHandlingNetworkAPI        = (*MSNClient)(nil)
	_ bridgev2.ReactionHandlingNetworkAPI    = (*MSNClient)(nil)
	_ bridgev2.RedactionHandlingNetworkAPI   = (*MSNClient)(nil)
	_ bridgev2.MembershipHandlingNetworkAPI  = (*MSNClient)(nil)
	_ bridgev2.IdentifierResolvingNetworkAPI = (*MSNClient)(nil)
	_ bridgev2.ContactListingNetworkAPI      = (*MSNClient)(nil)
	_ bridgev2.GroupCreatingNetworkAPI       = (*MSNClient)(nil)
	_ bridgev2.GhostDMCreatingNetworkAPI     = (*MSNClient)(nil)
)

func newMSNClient(mc *Connector, login *bridgev2.UserLogin) *MSNClient {
	meta := login.Metadata.(*UserLoginMetadata)
	c := &MSNClient{
		mc:        mc,
		login:     login,
		meta:      meta,
		log:       login.Log.With().Str("msn", meta.Email).Logger(),
		groups:    map[*client.Conversation]networkid.PortalKey{},
		convs:     map[networkid.PortalID]*client.Conversation{},
		members:   map[*client.Conversation][]string{},
		touched:   map[networkid.PortalKey]bool{},
		announced: map[string]bool{},
	}
	c.ghosts = newGhostUpdater(c)
	c.typing = newTypingSender(c)
	c.presence = newStatusFollower(c)
	hooks := msnbridge.Hooks{Event: c.handleEvent, Extra: c.handleExtra, State: c.onState}
	if meta.Hosted {
		hooks.Refused = func(ctx context.Context) bool { return mc.refusedHosted(ctx, login.UserMXID, meta) }
	}
	cfg := mc.clientConfig(meta)
	logger := c.log.With().Str("component", "msnp").Logger()
	cfg.Logger = &logger
	c.sess = msnbridge.NewSession(cfg, c.log, hooks)
	return c
}

// chosenStatus is the status the user chose with the status command, or
// "" when it follows their Matrix presence.
func (c *MSNClient) chosenStatus() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meta.Status
}

// setChosenStatus records the status the user chose and saves it.
func (c *MSNClient) setChosenStatus(ctx context.Context, st string) error {
	c.mu.Lock()
	c.meta.Status = st
	c.mu.Unlock()
	return c.login.Save(ctx)
}

// selfID is the login's own MSN user ID.
func (c *MSNClient) selfID() networkid.UserID { return userID(c.meta.Email) }

// GetUserID returns the login's own MSN user ID.
func (c *MSNClient) GetUserID() networkid.UserID { return c.selfID() }

// IsThisUser reports whether id is the login's own account.
func (c *MSNClient) IsThisUser(_ context.Context, id networkid.UserID) bool {
	return id == c.selfID()
}

// IsLoggedIn reports whether the login has credentials that work: the
// saved password is taken to be good until MSN refuses it, so that Matrix
// events that arrive while the bridge starts wait for the sign-in.
func (c *MSNClient) IsLoggedIn() bool { return c.meta.Password != "" && !c.sess.Gone() }

// adopt hands over a client the login process signed in, so that the
// account is not signed in twice.
func (c *MSNClient) adopt(cl *client.Client) {
	c.mu.Lock()
	c.pending = cl
	c.mu.Unlock()
}

// Connect starts keeping the account signed in. It returns at once;
// progress is reported as bridge states.
func (c *MSNClient) Connect(ctx context.Context) {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return
	}
	c.running = true
	pending := c.pending
	c.pending = nil
	runCtx, cancel := context.WithCancel(c.log.WithContext(context.Background()))
	c.cancel = cancel
	c.mu.Unlock()
	go c.ghosts.run(runCtx)
	go c.presence.run(runCtx)
	c.sess.Start(runCtx, pending)
}

// drainWait bounds how long a stop waits for the MSN messages already
// received to reach Matrix: under stopWait, what the bridge gives its
// logins to disconnect. A homeserver under load can take seconds per
// event, and a message the switchboard acknowledged is not sent again.
const drainWait = 25 * time.Second

// Disconnect signs out. It stops taking MSN messages first, then waits
// (at most drainWait) until the ones received have been handed to Matrix:
// an MSN user's message the switchboard acknowledged is not lost because
// the bridge stopped.
func (c *MSNClient) Disconnect() {
	c.mu.Lock()
	running, cancel, pending := c.running, c.cancel, c.pending
	c.running, c.cancel, c.pending = false, nil, nil
	c.mu.Unlock()
	if pending != nil {
		pending.Close()
	}
	if !running {
		return
	}
	c.sess.SignOut()
	c.drain(drainWait)
	cancel()
}

// LogoutRemote signs out. MSN has no tokens to revoke, and a hosted
// account stays on the server, so that MSN users keep the contact.
func (c *MSNClient) LogoutRemote(ctx context.Context) {
	c.Disconnect()
}

// current returns the signed-in client, or nil.
func (c *MSNClient) current() *client.Client { return c.sess.Current() }

// reconnectWait bounds how long a Matrix event waits for the account to be
// signed in again.
const reconnectWait = 30 * time.Second

// client returns the signed-in client, waiting (within ctx, and at most
// reconnectWait) while the account signs in, at start-up or again.
func (c *MSNClient) client(ctx context.Context) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, reconnectWait)
	defer cancel()
	cl, err := c.sess.Client(ctx)
	if err != nil {
		return nil, errNotConnected
	}
	return cl, nil
}

var errNotConnected = errors.New("not connected to MSN")

// forgetConversations drops the conversations of a client that ended.
func (c *MSNClient) forgetConversations() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.groups)
	clear(c.convs)
	clear(c.members)
}

func (c *MSNClient) sendState(ev status.BridgeStateEvent, code status.BridgeStateErrorCode, msg string) {
	c.login.BridgeState.Send(status.BridgeState{StateEvent: ev, Error: code, Message: msg})
}

// onState reports the session's state as the login's bridge state, and
// brings Matrix up to date after each sign-in.
func (c *MSNClient) onState(cl *client.Client, st msnbridge.State, err error) {
	ctx := c.log.WithContext(context.Background())
	switch st {
	case msnbridge.Connecting:
		c.sendState(status.StateConnecting, "", "")
	case msnbridge.Connected:
		c.sendState(status.StateConnected, "", "")
		go c.avatarPicture(ctx)
		c.onSignedIn(ctx, cl)
	case msnbridge.Reconnecting:
		c.forgetConversations()
		c.sendState(status.StateTransientDisconnect, "msn-disconnected", msnbridge.OneLine(err))
	case msnbridge.Gone:
		c.forgetConversations()
		if errors.Is(err, client.ErrSignedInElsewhere) {
			c.sendState(status.StateBadCredentials, "msn-signed-in-elsewhere",
				"the account signed in from another MSN client, which ended this session: use the reconnect command to sign in here again")
			return
		}
		c.sendState(status.StateBadCredentials, "msn-bad-credentials", "MSN refused the password: log in again")
	}
}

// onSignedIn brings Matrix up to date after a sign-in: contacts' names and
// presence, the user's own status, and contact requests made meanwhile.
func (c *MSNClient) onSignedIn(ctx context.Context, cl *client.Client) {
	for _, ct := range cl.Contacts() {
		if ct.Lists.Has(client.Forward) {
			c.ghosts.queue(ct)
		}
	}
	c.presence.signedIn(ctx, cl)
	c.announceRequests(ctx, cl)
}

func isAuthError(err error) bool { return msnbridge.IsAuth(err) }

func msnVersion(v int) msnp.Version {
	if v < int(msnp.MinVersion) || v > int(msnp.MaxVersion) {
		return client.DefaultVersion
	}
	return msnp.Version(v)
}
