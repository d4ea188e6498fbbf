// Package discord bridges MSN Messenger and Discord. It is a Discord bot,
// built on discordgo, and an MSN client for each Discord user who signs in.
//
// Personal bridging: a Discord user runs /msn login — with an account the
// bridge makes for them on a Nudge server through its admin API, or with
// the handle and password of any MSN account, typed into a private modal.
// The bot makes them a private channel under an "MSN" category; each MSN
// conversation is a thread in it, named after the contact; contacts speak
// through the channel's webhook with their friendly name (and an avatar);
// what the user writes in a thread goes to that conversation. The other
// /msn commands manage the contact list, the status and nudges.
//
// Room bridging: an admin runs /msn bridge in a channel. The bridge makes
// an MSN account for the room; MSN users who add it to their contacts are
// members. Discord messages reach every member on MSN as "Name: text", and
// each member's messages reach Discord through a webhook with their name
// and the other members on MSN with their name in front.
//
// What the bridge does with MSN accounts — keeping them signed in, the
// hosted-account policy, the errors that need the user — is
// bridges/msnbridge, shared with the Matrix bridge.
//
// Order, echoes and restarts: every conversation has one queue per
// direction, so its messages arrive in order; the bot ignores its own
// messages and those of its webhooks; the database remembers the last
// Discord message handled in every bridged channel and thread, so after a
// restart (or a gateway session that could not be resumed) the bridge
// fetches what it missed and skips what it already sent. Nothing that
// needs the gateway — MSN sessions included — starts before its READY.
// Discord's rate limits are discordgo's business: it reads the headers
// and waits.
//
// The files: bridge.go (the bridge's life), events.go (what the gateway
// sends), post.go (posting, categories, webhooks, permissions),
// personal.go, threads.go and tomsn.go (a user's bridge: MSN events, its
// channel and threads, Discord messages to MSN), room.go (bridged rooms),
// commands.go and login.go (slash commands, signing in and out).
package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/core/adminapi"
)

// Intents the bridge identifies with. Message Content is privileged: it
// must also be switched on in the Developer Portal. Guild Members, also
// privileged, is not needed.
const Intents = discordgo.IntentGuilds | discordgo.IntentGuildMessages | discordgo.IntentGuildMessageTyping |
	discordgo.IntentGuildMessageReactions | discordgo.IntentMessageContent

// readyWait bounds how long Start waits for the gateway's READY.
const readyWait = time.Minute

// Bridge is a running Discord bridge.
type Bridge struct {
	cfg    Config
	log    zerolog.Logger
	store  *Store
	dg     *discordgo.Session
	hosted *msnbridge.Hosted // nil when the bridge makes no accounts
	// pictures are MSN contacts' display pictures, kept in the database.
	pictures *msnbridge.Pictures
	q        *serial

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	readyOnce sync.Once
	ready     chan struct{} // closed at the first READY

	mu          sync.Mutex
	appID       string
	botID       string
	users       map[string]*userSession // by Discord user ID
	byChannel   map[string]*userSession // personal channel → user
	byThread    map[string]threadRef    // thread → user and conversation
	rooms       map[string]*room        // by channel ID
	webhooks    map[string]bool         // the bridge's own webhooks
	checkpoints map[string]string       // channel → last Discord message handled
	started     bool                    // the MSN sessions run
	closing     bool

	categoryMu sync.Mutex
}

type threadRef struct {
	u   *userSession
	key string
}

// New opens the database and prepares the bridge; Start connects it.
func New(ctx context.Context, cfg Config) (*Bridge, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	b := &Bridge{
		cfg: cfg, log: cfg.Logger, store: st, q: newSerial(), ready: make(chan struct{}),
		users: map[string]*userSession{}, byChannel: map[string]*userSession{}, byThread: map[string]threadRef{},
		rooms: map[string]*room{}, webhooks: map[string]bool{}, checkpoints: map[string]string{},
	}
	pics, err := msnbridge.OpenPictureDB(ctx, st.DB(), "discord_pictures")
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("discord: database: %w", err)
	}
	b.pictures = msnbridge.NewPictures(pics)
	if cfg.hosted() {
		owners, err := msnbridge.OpenOwners(ctx, st.DB(), "discord_hosted")
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("discord: database: %w", err)
		}
		b.hosted = &msnbridge.Hosted{Admin: adminapi.New(cfg.Hosted.AdminURL, cfg.Hosted.AdminToken), Domain: cfg.Hosted.Domain, Owners: owners}
	}
	dg, err := discordgo.New("Bot " + strings.TrimPrefix(strings.TrimSpace(cfg.Token), "Bot "))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("discord: %w", err)
	}
	switch {
	case cfg.HTTPClient != nil:
		dg.Client = cfg.HTTPClient
	case cfg.APIURL != "":
		u, err := url.Parse(cfg.APIURL)
		if err != nil || u.Host == "" {
			st.Close()
			return nil, fmt.Errorf("discord: api_url %q is not a URL", cfg.APIURL)
		}
		dg.Client = &http.Client{Transport: msnbridge.RewriteTransport(u), Timeout: 30 * time.Second}
	default:
		dg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	dg.Identify.Intents = Intents
	// Handlers run one at a time in the gateway's order; they only queue
	// work, so they never hold the gateway up.
	dg.SyncEvents = true
	dg.LogLevel = discordgo.LogWarning // never Debug: it would log modal passwords
	routeDiscordgoLogs(cfg.Logger)
	b.dg = dg
	b.addHandlers()
	return b, nil
}

// Start connects to Discord and, once the gateway is READY, registers the
// slash commands and signs the bridged users and rooms in to MSN: before
// READY the bridge knows neither itself nor the guilds, and an MSN message
// could not be carried.
func (b *Bridge) Start(ctx context.Context) error {
	b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.store.PruneMessages(ctx, 90*24*time.Hour)

	users, err := b.store.Users(ctx)
	if err != nil {
		return fmt.Errorf("discord: database: %w", err)
	}
	rooms, err := b.store.Rooms(ctx)
	if err != nil {
		return fmt.Errorf("discord: database: %w", err)
	}
	b.adoptHosted(ctx, users, rooms)
	var start []func()
	for _, rec := range users {
		u := b.newUserSession(rec)
		threads, err := b.store.Threads(ctx, rec.UserID)
		if err != nil {
			return fmt.Errorf("discord: database: %w", err)
		}
		for _, t := range threads {
			u.threads[t.Key] = t.ThreadID
			b.byThread[t.ThreadID] = threadRef{u, t.Key}
		}
		if rec.WebhookID != "" {
			b.webhooks[rec.WebhookID] = true
		}
		if rec.ChannelID != "" {
			b.byChannel[rec.ChannelID] = u
		}
		b.users[rec.UserID] = u
		if rec.SignedIn {
			start = append(start, func() { u.start(nil) })
		}
	}
	for _, rec := range rooms {
		r := b.newRoom(rec)
		b.rooms[rec.ChannelID] = r
		b.webhooks[rec.WebhookID] = true
		start = append(start, func() { r.start(nil) })
	}

	if err := b.dg.Open(); err != nil {
		return gatewayError(err)
	}
	select {
	case <-b.ready:
	case <-time.After(readyWait):
		b.dg.Close()
		return errors.New("discord: the gateway did not say READY within a minute")
	case <-ctx.Done():
		b.dg.Close()
		return ctx.Err()
	}
	if err := b.registerCommands(); err != nil {
		b.dg.Close()
		return err
	}
	for _, f := range start {
		f()
	}
	// What was written while the bridge was away goes out now that the
	// sessions that carry it run.
	b.mu.Lock()
	b.started = true
	b.mu.Unlock()
	b.catchUpAll()
	b.log.Info().Str("bot", b.dg.State.User.Username).Int("users", len(users)).Int("rooms", len(rooms)).Msg("Discord bridge running")
	return nil
}

// adoptHosted records, for an owner, each hosted account made before the
// bridge recorded owners.
func (b *Bridge) adoptHosted(ctx context.Context, users []UserRecord, rooms []RoomRecord) {
	if b.hosted == nil {
		return
	}
	adopt := func(a msnbridge.HostedAccount) {
		if err := b.hosted.Adopt(ctx, a); err != nil {
			b.log.Warn().Err(err).Str("owner", a.Owner).Str("email", a.Email).Msg("Cannot record the owner of a hosted account")
		}
	}
	for _, r := range rooms {
		adopt(msnbridge.HostedAccount{Owner: roomOwner(r.ChannelID), Email: r.Email, Password: r.Password})
	}
	for _, u := range users {
		if u.Kind == KindHosted && u.Email != "" {
			adopt(msnbridge.HostedAccount{Owner: userOwner(u.UserID), Email: u.Email, Password: u.Password})
		}
	}
}

// The owners of hosted accounts: Discord IDs, which never change.
func userOwner(id string) string { return "user:" + id }
func roomOwner(id string) string { return "room:" + id }

// gatewayError says why Discord refused the connection, in terms an
// operator can act on.
func gatewayError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "4004"):
		return errors.New("discord: Discord refused the bot token: copy it again from the Developer Portal (Bot → Reset Token) into discord.token")
	case strings.Contains(msg, "4014"):
		return errors.New("discord: Discord refused the Message Content intent: switch it on in the Developer Portal (Bot → Privileged Gateway Intents → Message Content Intent)")
	case strings.Contains(msg, "4013"):
		return errors.New("discord: Discord refused the gateway intents the bridge asked for")
	}
	return fmt.Errorf("discord: cannot connect to Discord: %w", err)
}

// Close disconnects from Discord, finishes the work queued, signs the
// accounts out of MSN — handing on what MSN users sent before — and
// closes the database.
func (b *Bridge) Close() error {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return nil
	}
	b.closing = true
	b.mu.Unlock()
	b.dg.Close()
	// What was received is delivered before the accounts sign out, so a
	// restart loses nothing that reached the bridge.
	b.q.Wait()
	b.signOutAccounts()
	b.q.Wait()
	if b.cancel != nil {
		b.cancel()
	}
	return b.store.Close()
}

// signOutAccounts signs every account out, handing on the events they
// received first.
func (b *Bridge) signOutAccounts() {
	b.mu.Lock()
	var sessions []*msnbridge.Session
	for _, u := range b.users {
		sessions = append(sessions, u.session())
	}
	for _, r := range b.rooms {
		sessions = append(sessions, r.sess)
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.SignOut()
		}()
	}
	wg.Wait()
}

func (b *Bridge) isClosing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closing
}

// bot is the bot's user ID (known from READY on).
func (b *Bridge) bot() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.botID
}

// discordgo logs through a package variable; the bridge's logger takes
// its warnings and errors (the last bridge made wins, which in one
// process is the only one).
var (
	dgLogger  atomic.Pointer[zerolog.Logger]
	dgLogOnce sync.Once
)

func routeDiscordgoLogs(l zerolog.Logger) {
	l = l.With().Str("lib", "discordgo").Logger()
	dgLogger.Store(&l)
	dgLogOnce.Do(func() {
		discordgo.Logger = func(level, _ int, format string, a ...any) {
			l := dgLogger.Load()
			ev := l.Debug()
			switch level {
			case discordgo.LogError:
				ev = l.Error()
			case discordgo.LogWarning:
				ev = l.Warn()
			case discordgo.LogInformational:
				ev = l.Info()
			}
			ev.Msg(strings.TrimSpace(fmt.Sprintf(format, a...)))
		}
	})
}
