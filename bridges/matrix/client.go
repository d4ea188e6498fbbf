//go:build goolm

package matrix

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/status"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// MSNClient is one Matrix user's MSN account: a signed-in msnp/client
// session, kept signed in, whose events become Matrix events.
//
// The session is owned by one goroutine (run), which signs in, reads the
// client's events in order and signs in again when the client gives up.
// Matrix events arrive on other goroutines and use the current session.
type MSNClient struct {
	mc    *Connector
	login *bridgev2.UserLogin
	meta  *UserLoginMetadata
	log   zerolog.Logger

	loggedIn atomic.Bool

	mu      sync.Mutex
	cl      *client.Client // nil while not signed in
	ready   chan struct{}  // closed while cl is set
	pending *client.Client // signed in by the login process, for run to take over
	cancel  context.CancelFunc
	done    chan struct{}
	// Conversations with more than one contact and their group portals.
	// One-to-one conversations need no table: they belong to the DM
	// portal of their contact.
	groups map[*client.Conversation]networkid.PortalKey
	convs  map[networkid.PortalID]*client.Conversation
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
		ready:     make(chan struct{}),
		groups:    map[*client.Conversation]networkid.PortalKey{},
		convs:     map[networkid.PortalID]*client.Conversation{},
		announced: map[string]bool{},
	}
	c.ghosts = newGhostUpdater(c)
	c.typing = newTypingSender(c)
	c.presence = newStatusFollower(c)
	// The saved password is taken to be good until MSN refuses it, so that
	// Matrix events that arrive while the bridge starts wait for the
	// sign-in instead of being refused.
	c.loggedIn.Store(meta.Password != "")
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

// IsLoggedIn reports whether the login has credentials that worked; it
// stays true through reconnects.
func (c *MSNClient) IsLoggedIn() bool { return c.loggedIn.Load() }

// adopt hands over a client the login process signed in, so that the
// account is not signed in twice.
func (c *MSNClient) adopt(cl *client.Client) {
	c.mu.Lock()
	c.pending = cl
	c.mu.Unlock()
	c.loggedIn.Store(true)
}

// Connect starts keeping the account signed in. It returns at once;
// progress is reported as bridge states.
func (c *MSNClient) Connect(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		return
	}
	runCtx, cancel := context.WithCancel(c.log.WithContext(context.Background()))
	c.cancel, c.done = cancel, make(chan struct{})
	go c.ghosts.run(runCtx)
	go c.presence.run(runCtx)
	go c.run(runCtx, c.done)
}

// Disconnect signs out and waits until the session has ended.
func (c *MSNClient) Disconnect() {
	c.mu.Lock()
	cancel, done, cl, pending := c.cancel, c.done, c.cl, c.pending
	c.cancel, c.pending = nil, nil
	c.mu.Unlock()
	if pending != nil {
		pending.Close()
	}
	if cancel == nil {
		return
	}
	cancel()
	if cl != nil {
		cl.Close()
	}
	<-done
}

// LogoutRemote signs out. MSN has no tokens to revoke, and a hosted
// account stays on the server, so that MSN users keep the contact.
func (c *MSNClient) LogoutRemote(ctx context.Context) {
	c.Disconnect()
	c.loggedIn.Store(false)
}

// current returns the signed-in client, or nil.
func (c *MSNClient) current() *client.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cl
}

// reconnectWait bounds how long a Matrix event waits for the account to be
// signed in again.
const reconnectWait = 30 * time.Second

// client returns the signed-in client, waiting (within ctx, and at most
// reconnectWait) while the account signs in, at start-up or again.
func (c *MSNClient) client(ctx context.Context) (*client.Client, error) {
	t := time.NewTimer(reconnectWait)
	defer t.Stop()
	for {
		c.mu.Lock()
		cl, ready := c.cl, c.ready
		c.mu.Unlock()
		if cl != nil {
			return cl, nil
		}
		if !c.loggedIn.Load() {
			return nil, errNotConnected
		}
		select {
		case <-ready:
		case <-t.C:
			return nil, errNotConnected
		case <-ctx.Done():
			return nil, errNotConnected
		}
	}
}

var errNotConnected = errors.New("not connected to MSN")

func (c *MSNClient) setClient(cl *client.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl != nil && c.cl == nil {
		close(c.ready)
	} else if cl == nil && c.cl != nil {
		c.ready = make(chan struct{})
	}
	c.cl = cl
}

// forgetConversations drops the conversations of a client that ended.
func (c *MSNClient) forgetConversations() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.groups)
	clear(c.convs)
}

func (c *MSNClient) sendState(ev status.BridgeStateEvent, code status.BridgeStateErrorCode, msg string) {
	c.login.BridgeState.Send(status.BridgeState{StateEvent: ev, Error: code, Message: msg})
}

// run keeps the account signed in until ctx ends.
func (c *MSNClient) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	attempt := 0
	for ctx.Err() == nil {
		c.sendState(status.StateConnecting, "", "")
		cl, err := c.signIn(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if isAuthError(err) {
				c.loggedIn.Store(false)
				c.sendState(status.StateBadCredentials, "msn-bad-credentials", "MSN refused the password: log in again")
				return
			}
			attempt++
			c.log.Warn().Err(err).Int("attempt", attempt).Msg("Could not sign in to MSN")
			c.sendState(status.StateTransientDisconnect, "msn-unreachable", oneLine(err))
			if !sleep(ctx, backoff(attempt)) {
				return
			}
			continue
		}
		attempt = 0
		c.loggedIn.Store(true)
		c.setClient(cl)
		c.sendState(status.StateConnected, "", "")
		c.onSignedIn(ctx, cl)
		err = c.pump(ctx, cl)
		c.setClient(nil)
		c.forgetConversations()
		if ctx.Err() != nil {
			return
		}
		switch {
		case isAuthError(err):
			c.loggedIn.Store(false)
			c.sendState(status.StateBadCredentials, "msn-bad-credentials", "MSN refused the password: log in again")
			return
		case errors.Is(err, client.ErrSignedInElsewhere):
			c.sendState(status.StateBadCredentials, "msn-signed-in-elsewhere",
				"the account signed in from another MSN client, which ended this session: use the reconnect command to sign in here again")
			return
		}
		c.log.Warn().Err(err).Msg("MSN session ended; signing in again")
		c.sendState(status.StateTransientDisconnect, "msn-disconnected", oneLine(err))
		attempt = 1
		if !sleep(ctx, backoff(attempt)) {
			return
		}
	}
}

// signIn returns a signed-in client: the one the login process made, or a
// new one. A hosted account that refuses its password is made again
// (the server's admin may have deleted it).
func (c *MSNClient) signIn(ctx context.Context) (*client.Client, error) {
	c.mu.Lock()
	cl := c.pending
	c.pending = nil
	c.mu.Unlock()
	if cl != nil {
		select {
		case <-cl.Done():
		default:
			return cl, nil
		}
	}
	cfg := c.mc.clientConfig(c.meta)
	logger := c.log.With().Str("component", "msnp").Logger()
	cfg.Logger = &logger
	cl, err := client.Dial(ctx, cfg)
	if err != nil && c.meta.Hosted && isAuthError(err) && c.mc.Config.Hosted.Enabled {
		c.log.Warn().Msg("Hosted account refused its password; making it again")
		password, _, herr := c.mc.hosted.ensure(ctx, c.meta.Email, c.meta.Email)
		if herr != nil {
			return nil, fmt.Errorf("%w (and remaking the hosted account failed: %v)", err, herr)
		}
		if password != c.meta.Password {
			c.meta.Password = password
			if err := c.login.Save(ctx); err != nil {
				c.log.Err(err).Msg("Could not save the login")
			}
		}
		cfg.Password = password
		cl, err = client.Dial(ctx, cfg)
	}
	return cl, err
}

// pump hands the client's events over until the client ends, and returns
// why it ended.
func (c *MSNClient) pump(ctx context.Context, cl *client.Client) error {
	var last error
	for ev := range cl.Events() {
		switch ev := ev.(type) {
		case *client.Disconnected:
			if ev.Reconnecting {
				c.setClient(nil)
				c.sendState(status.StateTransientDisconnect, "msn-disconnected", oneLine(ev.Err))
			} else {
				last = ev.Err
			}
		case *client.Reconnected:
			c.setClient(cl)
			c.sendState(status.StateConnected, "", "")
			c.onSignedIn(ctx, cl)
		default:
			c.handleEvent(ctx, cl, ev)
		}
	}
	if last == nil {
		last = cl.Err()
	}
	return last
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

func isAuthError(err error) bool {
	return errors.Is(err, msnp.ErrAuthFailed) || errors.Is(err, msnp.ErrAuthFailed2)
}

// backoff is the wait before the n-th attempt to sign in again: 2s
// doubling to 2m, less up to a fifth at random.
func backoff(n int) time.Duration {
	d := 2 * time.Second
	for i := 1; i < n && d < 2*time.Minute; i++ {
		d *= 2
	}
	d = min(d, 2*time.Minute)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// oneLine makes an error fit a one-line bridge state message.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

func msnVersion(v int) msnp.Version {
	if v < int(msnp.MinVersion) || v > int(msnp.MaxVersion) {
		return msnp.MaxVersion
	}
	return msnp.Version(v)
}
