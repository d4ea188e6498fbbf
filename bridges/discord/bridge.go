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
// Order, echoes and restarts: every conversation has one queue per
// direction, so its messages arrive in order; the bot ignores its own
// messages and those of its webhooks; the database remembers the last
// Discord message handled in every bridged channel and thread, so after a
// restart (or a gateway session that could not be resumed) the bridge
// fetches what it missed and skips what it already sent. Discord's rate
// limits are discordgo's business: it reads the headers and waits.
package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/adminapi"
)

// Intents the bridge identifies with. Message Content is privileged: it
// must also be switched on in the Developer Portal.
const Intents = discordgo.IntentGuilds | discordgo.IntentGuildMessages | discordgo.IntentGuildMessageTyping |
	discordgo.IntentMessageContent

// Bridge is a running Discord bridge.
type Bridge struct {
	cfg   Config
	log   zerolog.Logger
	store *Store
	dg    *discordgo.Session
	admin *adminapi.Client
	q     *serial

	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu          sync.Mutex
	appID       string
	users       map[string]*userSession // by Discord user ID
	byChannel   map[string]*userSession // personal channel → user
	byThread    map[string]threadRef    // thread → user and conversation
	rooms       map[string]*room        // by channel ID
	webhooks    map[string]bool         // the bridge's own webhooks
	checkpoints map[string]string       // channel → last Discord message handled
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
		cfg: cfg, log: cfg.Logger, store: st, q: newSerial(),
		users: map[string]*userSession{}, byChannel: map[string]*userSession{}, byThread: map[string]threadRef{},
		rooms: map[string]*room{}, webhooks: map[string]bool{}, checkpoints: map[string]string{},
	}
	if cfg.hosted() {
		b.admin = adminapi.New(cfg.Hosted.AdminURL, cfg.Hosted.AdminToken)
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
		dg.Client = &http.Client{Transport: rewriteTransport{base: u}, Timeout: 30 * time.Second}
	default:
		dg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	dg.Identify.Intents = Intents
	// Handlers run one at a time in the gateway's order; they only queue
	// work, so they never hold the gateway up.
	dg.SyncEvents = true
	dg.LogLevel = discordgo.LogWarning // never Debug: it would log modal passwords
	routeDiscordgoLogs(cfg.Logger)
	dg.AddHandler(b.onReady)
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { b.onMessage(m.Message) })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageUpdate) { b.onEdit(m.Message) })
	dg.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageDelete) { b.onDelete(m.Message) })
	dg.AddHandler(func(_ *discordgo.Session, t *discordgo.TypingStart) { b.onTyping(t) })
	dg.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { b.onInteraction(i.Interaction) })
	dg.AddHandler(func(_ *discordgo.Session, c *discordgo.ThreadDelete) { b.onThreadDelete(c.Channel) })
	dg.AddHandler(func(_ *discordgo.Session, c *discordgo.ChannelDelete) { b.onChannelDelete(c.Channel) })
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.RateLimit) {
		b.log.Debug().Str("url", r.URL).Dur("retry_after", r.RetryAfter).Msg("Discord rate limit")
	})
	b.dg = dg
	return b, nil
}

// Start signs the bridged users and rooms in to MSN, connects to Discord
// and registers the slash commands.
func (b *Bridge) Start(ctx context.Context) error {
	b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.store.PruneMessages(ctx, 90*24*time.Hour)

	users, err := b.store.Users(ctx)
	if err != nil {
		return fmt.Errorf("discord: database: %w", err)
	}
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
			u.start(nil)
		}
	}
	rooms, err := b.store.Rooms(ctx)
	if err != nil {
		return fmt.Errorf("discord: database: %w", err)
	}
	for _, rec := range rooms {
		r := b.newRoom(rec)
		b.rooms[rec.ChannelID] = r
		b.webhooks[rec.WebhookID] = true
		r.start(nil)
	}

	if err := b.dg.Open(); err != nil {
		b.stopAccounts()
		return gatewayError(err)
	}
	if err := b.registerCommands(); err != nil {
		b.dg.Close()
		b.stopAccounts()
		return err
	}
	b.log.Info().Str("bot", b.dg.State.User.Username).Int("users", len(users)).Int("rooms", len(rooms)).Msg("Discord bridge running")
	return nil
}

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
// accounts out of MSN and closes the database.
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
	b.stopAccounts()
	b.q.Wait()
	if b.cancel != nil {
		b.cancel()
	}
	return b.store.Close()
}

func (b *Bridge) stopAccounts() {
	b.mu.Lock()
	var accts []*account
	for _, u := range b.users {
		accts = append(accts, u.acct)
	}
	for _, r := range b.rooms {
		accts = append(accts, r.acct)
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.stop()
		}()
	}
	wg.Wait()
}

func (b *Bridge) isClosing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closing
}

// ---- Discord events ----

func (b *Bridge) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	b.mu.Lock()
	if r.Application != nil && r.Application.ID != "" {
		b.appID = r.Application.ID
	} else if r.User != nil {
		b.appID = r.User.ID
	}
	// A new session (not a resume): events while the bridge was away are
	// lost on the gateway; fetch what is missing from every bridged
	// channel, through the same queues as live messages.
	var chans []string
	for id := range b.byThread {
		chans = append(chans, id)
	}
	for id := range b.rooms {
		chans = append(chans, id)
	}
	b.mu.Unlock()
	sort.Strings(chans)
	for _, id := range chans {
		b.q.Do("d2m:"+id, func() { b.catchUp(id) })
	}
}

// catchUp handles the messages of a channel newer than its checkpoint.
func (b *Bridge) catchUp(channelID string) {
	last := b.checkpoint(channelID)
	if last == "" {
		return
	}
	for range 50 { // at most 5000 messages
		msgs, err := b.dg.ChannelMessages(channelID, 100, "", last, "")
		if err != nil {
			b.log.Warn().Err(err).Str("channel", channelID).Msg("cannot fetch missed messages")
			return
		}
		sort.Slice(msgs, func(i, j int) bool { return snowflakeLess(msgs[i].ID, msgs[j].ID) })
		for _, m := range msgs {
			if m.GuildID == "" {
				m.GuildID = b.guildOf(channelID)
			}
			b.handleMessage(m)
			last = m.ID
		}
		if len(msgs) < 100 {
			return
		}
	}
}

func (b *Bridge) guildOf(channelID string) string {
	if c, err := b.dg.State.Channel(channelID); err == nil {
		return c.GuildID
	}
	return ""
}

// own reports whether a message is the bridge's: the bot's or one of its
// webhooks'.
func (b *Bridge) own(m *discordgo.Message) bool {
	if m.Author == nil {
		return true // a partial event: nothing to bridge
	}
	if b.dg.State.User != nil && m.Author.ID == b.dg.State.User.ID {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return m.WebhookID != "" && b.webhooks[m.WebhookID]
}

// bridgedKind is the message types the bridge carries: plain messages and
// replies.
func bridgedKind(m *discordgo.Message) bool {
	return m.Type == discordgo.MessageTypeDefault || m.Type == discordgo.MessageTypeReply
}

func (b *Bridge) onMessage(m *discordgo.Message) {
	if b.isClosing() || b.own(m) || !bridgedKind(m) {
		return
	}
	b.q.Do("d2m:"+m.ChannelID, func() { b.handleMessage(m) })
}

// handleMessage carries a Discord message to MSN, once: messages at or
// before the channel's checkpoint were handled already.
func (b *Bridge) handleMessage(m *discordgo.Message) {
	if b.own(m) || !bridgedKind(m) {
		return
	}
	b.mu.Lock()
	ref, inThread := b.byThread[m.ChannelID]
	owner := b.byChannel[m.ChannelID]
	r := b.rooms[m.ChannelID]
	b.mu.Unlock()
	if !inThread && owner == nil && r == nil {
		// A thread of a user's channel that the bridge is still making
		// (the user can write in it as soon as Discord shows it): wait
		// until it is registered.
		if c, err := b.dg.State.Channel(m.ChannelID); err == nil && c.ParentID != "" {
			b.mu.Lock()
			pu := b.byChannel[c.ParentID]
			b.mu.Unlock()
			if pu != nil {
				pu.waitThreads()
				b.mu.Lock()
				ref, inThread = b.byThread[m.ChannelID]
				b.mu.Unlock()
			}
		}
	}
	switch {
	case inThread:
		if m.Author.ID != ref.u.rec().UserID || !b.fresh(m.ChannelID, m.ID) {
			return
		}
		ref.u.fromDiscord(ref.key, m)
	case r != nil:
		if !b.fresh(m.ChannelID, m.ID) {
			return
		}
		r.fromDiscord(m)
	case owner != nil:
		if m.Author.ID == owner.rec().UserID {
			b.notice(m.ChannelID, "Write in a contact's thread to talk to them. Start one with `/msn chat`, see your contacts with `/msn contacts`.")
		}
		return
	default:
		return
	}
	b.setCheckpoint(m.ChannelID, m.ID)
}

func (b *Bridge) onEdit(m *discordgo.Message) {
	if b.isClosing() || m.Author == nil || b.own(m) || !bridgedKind(m) {
		return
	}
	b.q.Do("d2m:"+m.ChannelID, func() {
		rec, ok, err := b.store.Message(b.ctx, m.ID)
		if err != nil || !ok || rec.Direction != ToMSN {
			return
		}
		b.mu.Lock()
		ref, inThread := b.byThread[m.ChannelID]
		r := b.rooms[m.ChannelID]
		b.mu.Unlock()
		switch {
		case inThread:
			ref.u.editFromDiscord(ref.key, m)
		case r != nil:
			r.editFromDiscord(m)
		}
	})
}

func (b *Bridge) onDelete(m *discordgo.Message) {
	if b.isClosing() {
		return
	}
	b.q.Do("d2m:"+m.ChannelID, func() {
		rec, ok, err := b.store.Message(b.ctx, m.ID)
		if err != nil || !ok || rec.Direction != ToMSN {
			return
		}
		b.mu.Lock()
		ref, inThread := b.byThread[m.ChannelID]
		r := b.rooms[m.ChannelID]
		b.mu.Unlock()
		switch {
		case inThread:
			ref.u.deleteFromDiscord(ref.key, rec)
		case r != nil:
			r.deleteFromDiscord(rec)
		}
	})
}

func (b *Bridge) onTyping(t *discordgo.TypingStart) {
	if b.isClosing() || (b.dg.State.User != nil && t.UserID == b.dg.State.User.ID) {
		return
	}
	b.mu.Lock()
	ref, ok := b.byThread[t.ChannelID]
	b.mu.Unlock()
	if ok && t.UserID == ref.u.rec().UserID {
		b.q.Do("typing:"+t.ChannelID, func() { ref.u.typingFromDiscord(ref.key) })
	}
}

func (b *Bridge) onThreadDelete(c *discordgo.Channel) {
	b.mu.Lock()
	ref, ok := b.byThread[c.ID]
	if ok {
		delete(b.byThread, c.ID)
	}
	b.mu.Unlock()
	if ok {
		ref.u.forgetThread(ref.key, c.ID)
	}
}

func (b *Bridge) onChannelDelete(c *discordgo.Channel) {
	b.mu.Lock()
	u := b.byChannel[c.ID]
	r := b.rooms[c.ID]
	b.mu.Unlock()
	if u != nil {
		b.q.Do("user:"+u.id, func() { u.forgetChannel(c.ID) })
	}
	if r != nil {
		b.q.Do("d2m:"+c.ID, func() { b.unbridge(r, "") })
	}
}

// ---- checkpoints ----

func (b *Bridge) checkpoint(channelID string) string {
	b.mu.Lock()
	last, ok := b.checkpoints[channelID]
	b.mu.Unlock()
	if ok {
		return last
	}
	last, err := b.store.Checkpoint(b.ctx, channelID)
	if err != nil {
		b.log.Error().Err(err).Msg("database")
	}
	b.mu.Lock()
	b.checkpoints[channelID] = last
	b.mu.Unlock()
	return last
}

// fresh reports whether a message is newer than the channel's checkpoint.
// A channel without one (never bridged) takes everything.
func (b *Bridge) fresh(channelID, msgID string) bool {
	last := b.checkpoint(channelID)
	return last == "" || snowflakeLess(last, msgID)
}

func (b *Bridge) setCheckpoint(channelID, msgID string) {
	if err := b.store.SetCheckpoint(b.ctx, channelID, msgID); err != nil {
		b.log.Error().Err(err).Msg("database")
	}
	b.mu.Lock()
	if last := b.checkpoints[channelID]; last == "" || snowflakeLess(last, msgID) {
		b.checkpoints[channelID] = msgID
	}
	b.mu.Unlock()
}

// ---- posting to Discord ----

// noMentions stops anything the bridge posts from pinging anyone.
var noMentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}

// notice posts a message from the bot itself.
func (b *Bridge) notice(channelID, text string) {
	_, err := b.dg.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{Content: truncate(text, maxContent), AllowedMentions: noMentions})
	if err != nil {
		b.log.Warn().Err(err).Str("channel", channelID).Msg("cannot post a notice")
	}
}

// speak posts messages through a webhook as an MSN contact, into a thread
// when threadID is set, and returns their IDs.
func (b *Bridge) speak(webhookID, token, threadID, name, email string, contents []string) ([]string, error) {
	var ids []string
	for _, c := range contents {
		p := &discordgo.WebhookParams{Content: c, Username: webhookName(name, email), AvatarURL: avatarURL(b.cfg.AvatarURL, email), AllowedMentions: noMentions}
		m, err := b.execute(webhookID, token, threadID, p)
		if err != nil && restCode(err) == discordgo.ErrCodeInvalidFormBody {
			// A name Discord still refuses: speak as the address alone.
			p.Username = webhookName("", strings.SplitN(email, "@", 2)[0]+" (MSN)")
			m, err = b.execute(webhookID, token, threadID, p)
		}
		if err != nil {
			return ids, err
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
}

func (b *Bridge) execute(webhookID, token, threadID string, p *discordgo.WebhookParams) (*discordgo.Message, error) {
	if threadID != "" {
		return b.dg.WebhookThreadExecute(webhookID, token, true, threadID, p)
	}
	return b.dg.WebhookExecute(webhookID, token, true, p)
}

// maxInCategory is how many channels Discord allows in one category.
const maxInCategory = 50

// category returns the category a new private channel goes in: the
// guild's "MSN" category, or when it is full the next one ("MSN 2", …),
// adopting categories of those names and making them when missing.
func (b *Bridge) category(guildID string) (string, error) {
	b.categoryMu.Lock()
	defer b.categoryMu.Unlock()
	chans, err := b.dg.GuildChannels(guildID)
	if err != nil {
		return "", err
	}
	children := map[string]int{}
	for _, c := range chans {
		if c.ParentID != "" {
			children[c.ParentID]++
		}
	}
	byName := map[string]string{}
	for _, c := range chans {
		if c.Type == discordgo.ChannelTypeGuildCategory {
			byName[strings.ToLower(c.Name)] = c.ID
		}
	}
	if id, err := b.store.Category(b.ctx, guildID); err != nil {
		return "", err
	} else if id != "" && children[id] < maxInCategory && slices.ContainsFunc(chans, func(c *discordgo.Channel) bool { return c.ID == id }) {
		return id, nil
	}
	for n := 1; n <= 20; n++ {
		name := b.cfg.Category
		if n > 1 {
			name = fmt.Sprintf("%s %d", b.cfg.Category, n)
		}
		id := byName[strings.ToLower(name)]
		if id != "" && children[id] >= maxInCategory {
			continue
		}
		if id == "" {
			c, err := b.dg.GuildChannelCreateComplex(guildID, discordgo.GuildChannelCreateData{Name: name, Type: discordgo.ChannelTypeGuildCategory})
			if err != nil {
				return "", err
			}
			id = c.ID
		}
		return id, b.store.SetCategory(b.ctx, guildID, id)
	}
	return "", errors.New("every MSN category of the server is full")
}

// addWebhook remembers one of the bridge's webhooks, to ignore its
// messages.
func (b *Bridge) addWebhook(id string) {
	b.mu.Lock()
	b.webhooks[id] = true
	b.mu.Unlock()
}

// record remembers a message the bridge carried.
func (b *Bridge) record(discordID, channelID, direction, text string) {
	if err := b.store.PutMessage(b.ctx, MessageRecord{DiscordID: discordID, ChannelID: channelID, Direction: direction, Excerpt: truncate(text, 200)}); err != nil {
		b.log.Error().Err(err).Msg("database")
	}
}

// rewriteTransport sends every request to another server (a
// Discord-compatible API, or an emulator), keeping path and query.
type rewriteTransport struct{ base *url.URL }

func (r rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.base.Scheme, r.base.Host, r.base.Host
	return http.DefaultTransport.RoundTrip(req)
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
