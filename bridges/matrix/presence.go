//go:build goolm

package matrix

import (
	"context"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/bridgev2"
	mxbridge "maunium.net/go/mautrix/bridgev2/matrix"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/nudge-im/nudge/msnp/client"
)

// Presence both ways.
//
// MSN → Matrix: each contact's status, friendly name and personal message
// go to its ghost (presence, display name, status message). The session's
// goroutine only notes the latest state of each contact; a worker of its
// own talks to the homeserver, so a slow or restarting homeserver never
// holds up MSN messages, and a burst of changes ends in one update each.
//
// Matrix → MSN, for hosted logins: the user's Matrix presence becomes their
// MSN status (online → Online, unavailable → Idle, offline → Away or
// Hidden), and Matrix activity (typing, read receipts, messages) makes them
// Online again. A status set with the status command wins until "status
// auto".

// ghostUpdater applies contacts' states to their ghosts.
type ghostUpdater struct {
	c       *MSNClient
	mu      sync.Mutex
	pending map[string]client.Contact
	applied map[string]ghostState
	wake    chan struct{}
}

type ghostState struct {
	presence event.Presence
	status   string
	name     string
}

func newGhostUpdater(c *MSNClient) *ghostUpdater {
	return &ghostUpdater{c: c, pending: map[string]client.Contact{}, applied: map[string]ghostState{}, wake: make(chan struct{}, 1)}
}

func (g *ghostUpdater) queue(ct client.Contact) {
	g.mu.Lock()
	g.pending[strings.ToLower(ct.Email)] = ct
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *ghostUpdater) run(ctx context.Context) {
	var refresh <-chan time.Time
	if d := g.c.mc.Config.Presence.RefreshInterval; d > 0 && g.c.mc.Config.Presence.Ghosts {
		t := time.NewTicker(d)
		defer t.Stop()
		refresh = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		case <-refresh:
			g.refresh(ctx)
			continue
		}
		g.mu.Lock()
		batch := g.pending
		g.pending = map[string]client.Contact{}
		g.mu.Unlock()
		for _, ct := range batch {
			if ctx.Err() != nil {
				return
			}
			g.apply(ctx, ct)
		}
	}
}

// refresh sets again the presence of the ghosts that are not offline.
// Synapse takes a user who does not sync for offline after about 30
// seconds (it has no idea a bridge speaks for them), so presence set once
// decays: sent again under that, it stays. Offline ghosts need nothing,
// and a ghost another login refreshed meanwhile is skipped, so the cost is
// one request per online contact per interval.
func (g *ghostUpdater) refresh(ctx context.Context) {
	c := g.c
	interval := c.mc.Config.Presence.RefreshInterval
	g.mu.Lock()
	online := map[string]ghostState{}
	for email, st := range g.applied {
		if st.presence != event.PresenceOffline {
			online[email] = st
		}
	}
	g.mu.Unlock()
	for email, st := range online {
		if ctx.Err() != nil {
			return
		}
		uid := userID(email)
		if last, ok := c.mc.refreshed.Load(uid); ok && time.Since(last.(time.Time)) < interval/2 {
			continue
		}
		if err := g.setPresence(ctx, email, st.presence, st.status); err != nil {
			c.log.Debug().Err(err).Str("contact", email).Msg("Could not refresh a ghost's presence")
		}
	}
}

// setPresence sets a ghost's Matrix presence.
func (g *ghostUpdater) setPresence(ctx context.Context, email string, pres event.Presence, msg string) error {
	c := g.c
	ghost, err := c.mc.Bridge.GetGhostByID(ctx, userID(email))
	if err != nil || ghost == nil {
		return err
	}
	as, ok := ghost.Intent.(*mxbridge.ASIntent)
	if !ok {
		return nil
	}
	if err := as.Matrix.SetPresence(ctx, mautrix.ReqPresence{Presence: pres, StatusMsg: msg}); err != nil {
		return err
	}
	c.mc.refreshed.Store(userID(email), time.Now())
	return nil
}

// matrixPresence maps an MSN status to Matrix presence and status message.
func matrixPresence(ct client.Contact) (event.Presence, string) {
	psm := strings.TrimSpace(ct.PersonalMessage)
	switch ct.Status {
	case client.Online:
		return event.PresenceOnline, psm
	case client.Offline, client.Hidden, "":
		return event.PresenceOffline, psm
	}
	msg := ct.Status.String()
	if psm != "" {
		msg += " — " + psm
	}
	return event.PresenceUnavailable, msg
}

func (g *ghostUpdater) apply(ctx context.Context, ct client.Contact) {
	c := g.c
	email := strings.ToLower(ct.Email)
	ghost, err := c.mc.Bridge.GetGhostByID(ctx, userID(email))
	if err != nil || ghost == nil {
		c.log.Err(err).Str("contact", email).Msg("Could not get the ghost of a contact")
		return
	}
	pres, msg := matrixPresence(ct)
	info := c.userInfo(email, ct.FriendlyName)
	g.mu.Lock()
	prev, seen := g.applied[email]
	g.mu.Unlock()
	if !seen || prev.name != *info.Name {
		ghost.UpdateInfo(ctx, info)
	}
	if c.mc.Config.Presence.Ghosts && (!seen || prev.presence != pres || prev.status != msg) {
		if err := g.setPresence(ctx, email, pres, msg); err != nil {
			c.log.Warn().Err(err).Str("contact", email).Msg("Could not set a ghost's presence")
			return // tried again on the next change
		}
	}
	g.mu.Lock()
	g.applied[email] = ghostState{presence: pres, status: msg, name: *info.Name}
	g.mu.Unlock()
}

// statusFollower makes a hosted login's MSN status follow its Matrix
// presence.
type statusFollower struct {
	c *MSNClient
	// getPresence reads the user's Matrix presence; nil uses the bridge
	// bot.
	getPresence func(ctx context.Context, user id.UserID) (event.Presence, error)
	// setStatus sets the MSN status; nil uses the signed-in client.
	setStatus func(ctx context.Context, st client.Status) error

	mu   sync.Mutex
	last client.Status // the status the follower set last
	poke chan struct{}
}

func newStatusFollower(c *MSNClient) *statusFollower {
	return &statusFollower{c: c, poke: make(chan struct{}, 1)}
}

// following reports whether the login's status follows Matrix presence.
func (f *statusFollower) following() bool {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meta.Hosted && c.meta.Status == "" && c.mc.Config.Presence.SyncMatrix
}

// run polls the user's Matrix presence while the login is connected.
func (f *statusFollower) run(ctx context.Context) {
	interval := f.c.mc.Config.Presence.PollInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.poke:
		}
		if !f.following() || f.c.current() == nil {
			continue
		}
		pres, err := f.readPresence(ctx)
		if err != nil {
			f.c.log.Debug().Err(err).Msg("Could not read the user's Matrix presence")
			continue
		}
		f.apply(ctx, pres)
	}
}

func (f *statusFollower) readPresence(ctx context.Context) (event.Presence, error) {
	if f.getPresence != nil {
		return f.getPresence(ctx, f.c.login.UserMXID)
	}
	m, ok := f.c.mc.Bridge.Matrix.(*mxbridge.Connector)
	if !ok {
		return "", errNotConnected
	}
	resp, err := m.Bot.GetPresence(ctx, f.c.login.UserMXID)
	if err != nil {
		return "", err
	}
	return resp.Presence, nil
}

// msnStatus maps a Matrix presence to the MSN status of a hosted login.
func (f *statusFollower) msnStatus(p event.Presence) client.Status {
	switch p {
	case event.PresenceOnline:
		return client.Online
	case event.PresenceUnavailable:
		return client.Idle
	default:
		return f.c.mc.Config.Presence.offlineStatus()
	}
}

// apply sets the MSN status for a Matrix presence, if it changed.
func (f *statusFollower) apply(ctx context.Context, p event.Presence) {
	f.set(ctx, f.msnStatus(p))
}

func (f *statusFollower) set(ctx context.Context, st client.Status) {
	if !f.following() {
		return
	}
	f.mu.Lock()
	same := f.last == st
	f.mu.Unlock()
	if same {
		return
	}
	if err := f.doSet(ctx, st); err != nil {
		f.c.log.Warn().Err(err).Str("status", string(st)).Msg("Could not set the MSN status")
		return
	}
	f.mu.Lock()
	f.last = st
	f.mu.Unlock()
}

func (f *statusFollower) doSet(ctx context.Context, st client.Status) error {
	if f.setStatus != nil {
		return f.setStatus(ctx, st)
	}
	cl := f.c.current()
	if cl == nil {
		return errNotConnected
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return cl.SetStatus(ctx, st)
}

// activity is the user doing something on Matrix: they are online.
func (f *statusFollower) activity(ctx context.Context) {
	if !f.following() {
		return
	}
	f.mu.Lock()
	online := f.last == client.Online
	f.mu.Unlock()
	if !online {
		// A Matrix event handler must not wait on MSN for this.
		go f.set(context.WithoutCancel(ctx), client.Online)
	}
}

// signedIn restores the status after a sign-in: the one the user chose, or
// the one their Matrix presence asks for (read at once).
func (f *statusFollower) signedIn(ctx context.Context, cl *client.Client) {
	f.mu.Lock()
	f.last = cl.Self().Status
	f.mu.Unlock()
	if st, ok := client.ParseStatus(f.c.chosenStatus()); ok && st != client.Offline && cl.Self().Status != st {
		go func() {
			if err := f.doSet(ctx, st); err != nil {
				f.c.log.Warn().Err(err).Msg("Could not restore the MSN status")
			}
		}()
		return
	}
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// handleMatrixPresence receives presence that the homeserver pushes to the
// bridge (Synapse with ephemeral events on).
func (mc *Connector) handleMatrixPresence(ctx context.Context, evt *event.Event) {
	content, ok := evt.Content.Parsed.(*event.PresenceEventContent)
	if !ok {
		return
	}
	user, err := mc.Bridge.GetExistingUserByMXID(ctx, evt.Sender)
	if err != nil || user == nil {
		return
	}
	for _, login := range user.GetUserLogins() {
		if c, ok := login.Client.(*MSNClient); ok {
			c.presence.apply(ctx, content.Presence)
		}
	}
}

// typingSender repeats MSN typing notifications while a Matrix user types:
// MSN clients show "is typing" for a few seconds after each one.
type typingSender struct {
	c        *MSNClient
	interval time.Duration
	limit    time.Duration
	// send sends one notification; nil sends it on the portal's
	// conversation.
	send func(ctx context.Context, portal *bridgev2.Portal) error

	mu      sync.Mutex
	running map[networkid.PortalKey]*typingRun
}

type typingRun struct{ cancel context.CancelFunc }

func newTypingSender(c *MSNClient) *typingSender {
	return &typingSender{c: c, interval: 4 * time.Second, limit: 30 * time.Second, running: map[networkid.PortalKey]*typingRun{}}
}

// start begins (or continues) typing in a portal.
func (t *typingSender) start(portal *bridgev2.Portal) {
	key := portal.PortalKey
	t.mu.Lock()
	if _, ok := t.running[key]; ok {
		t.mu.Unlock()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.limit)
	run := &typingRun{cancel: cancel}
	t.running[key] = run
	t.mu.Unlock()
	go func() {
		defer func() {
			cancel()
			t.mu.Lock()
			if t.running[key] == run {
				delete(t.running, key)
			}
			t.mu.Unlock()
		}()
		tick := time.NewTicker(t.interval)
		defer tick.Stop()
		for {
			if err := t.sendOne(ctx, portal); err != nil {
				t.c.log.Debug().Err(err).Msg("Could not send a typing notification")
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func (t *typingSender) sendOne(ctx context.Context, portal *bridgev2.Portal) error {
	if t.send != nil {
		return t.send(ctx, portal)
	}
	conv, err := t.c.conversationFor(ctx, portal)
	if err != nil {
		return err
	}
	return conv.SendTyping(ctx)
}

// stop ends typing in a portal.
func (t *typingSender) stop(key networkid.PortalKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if run, ok := t.running[key]; ok {
		run.cancel()
		delete(t.running, key)
	}
}

// announceRequests shows, once per bridge run, the people who added the
// user while they were away and are waiting for an answer.
func (c *MSNClient) announceRequests(ctx context.Context, cl *client.Client) {
	for _, ct := range cl.Contacts() {
		if ct.Lists.Has(client.Reverse) && !ct.Lists.Has(client.Forward) && !ct.Lists.Has(client.Allow) && !ct.Lists.Has(client.Block) {
			c.announceRequest(ctx, cl, ct.Email, ct.FriendlyName)
		}
	}
}

// announceRequest tells the user in the management room that someone
// added them, and how to answer.
func (c *MSNClient) announceRequest(ctx context.Context, cl *client.Client, email, friendly string) {
	email = strings.ToLower(email)
	c.mu.Lock()
	done := c.announced[email]
	c.announced[email] = true
	c.mu.Unlock()
	if done {
		return
	}
	if ct, ok := cl.Contact(email); ok && (ct.Lists.Has(client.Forward) || ct.Lists.Has(client.Block)) {
		return // already answered
	}
	name := c.contactName(cl, email, friendly)
	text := name + " (" + email + ") added you to their MSN contact list. Answer with `accept " + email + "` to add them back, or `block " + email + "`."
	go c.notice(context.WithoutCancel(ctx), text)
}

// notice sends a notice to the user's management room.
func (c *MSNClient) notice(ctx context.Context, text string) {
	room, err := c.login.User.GetManagementRoom(ctx)
	if err != nil {
		c.log.Err(err).Msg("Could not get the management room")
		return
	}
	content := &event.MessageEventContent{MsgType: event.MsgNotice, Body: text}
	if _, err := c.mc.Bridge.Bot.SendMessage(ctx, room, event.EventMessage, &event.Content{Parsed: content}, nil); err != nil {
		c.log.Err(err).Msg("Could not send a notice")
	}
}
