package discord

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// userSession is one Discord user's personal bridge: their MSN account,
// their private channel and a thread per conversation.
type userSession struct {
	b   *Bridge
	id  string // Discord user ID
	log zerolog.Logger

	mu        sync.Mutex
	record    UserRecord
	acct      *account
	threads   map[string]string // conversation key → thread ID
	convs     map[string]*client.Conversation
	keys      map[*client.Conversation]string
	typedMSN  map[string]time.Time // key → when typing was last sent to MSN
	typedDisc map[string]time.Time // thread → when typing was last shown on Discord
	lostConn  bool                 // a disconnection was announced
	seen      map[string]string    // friendly names of people met in conversations

	threadMu  sync.Mutex // threads are made one at a time
	channelMu sync.Mutex
}

func (b *Bridge) newUserSession(rec UserRecord) *userSession {
	u := &userSession{
		b: b, id: rec.UserID, record: rec,
		log:     b.log.With().Str("discord_user", rec.UserID).Str("email", rec.Email).Logger(),
		threads: map[string]string{}, convs: map[string]*client.Conversation{}, keys: map[*client.Conversation]string{},
		typedMSN: map[string]time.Time{}, typedDisc: map[string]time.Time{}, seen: map[string]string{},
	}
	u.acct = newAccount(u.log, b.clientConfig(rec.Email, rec.Password, rec.Server, u.log), b.cfg.RequestTimeout)
	return u
}

// clientConfig is how an account signs in: on the configured server with
// Passport, or on another server with MD5 (MSNP7), which needs no
// Passport and which revival servers accept.
func (b *Bridge) clientConfig(email, password, server string, log zerolog.Logger) client.Config {
	l := log.Level(max(log.GetLevel(), zerolog.InfoLevel))
	cfg := client.Config{
		Email: email, Password: password, Reconnect: true, RequestTimeout: b.cfg.RequestTimeout, Logger: &l,
	}
	if server == "" {
		cfg.Server = b.cfg.MSN.Server
		cfg.Version = b.cfg.MSN.Version
		cfg.Passport = client.PassportConfig{URL: b.cfg.MSN.PassportURL, InsecureSkipVerify: b.cfg.MSN.InsecureSkipVerify}
	} else {
		cfg.Server = server
		cfg.Version = 7
	}
	return cfg
}

func (u *userSession) rec() UserRecord {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.record
}

func (u *userSession) account() *account {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.acct
}

func (u *userSession) save(change func(*UserRecord)) {
	u.mu.Lock()
	change(&u.record)
	rec := u.record
	u.mu.Unlock()
	if err := u.b.store.PutUser(u.b.ctx, rec); err != nil {
		u.log.Error().Err(err).Msg("database")
	}
}

// start runs the account; first is a client already signed in, or nil.
func (u *userSession) start(first *client.Client) {
	a := u.account()
	a.handle = u.onMSN
	a.gone = u.onGone
	a.start(u.b.ctx, first)
}

// onGone is told that the account cannot sign in without the user.
func (u *userSession) onGone(err error) {
	if u.b.isClosing() {
		return
	}
	u.save(func(r *UserRecord) { r.SignedIn = false })
	u.b.q.Do("user:"+u.id, func() {
		if ch := u.rec().ChannelID; ch != "" {
			u.b.notice(ch, "⚠️ Signed out of MSN: "+goneReason(err)+". Use `/msn login` to sign in again.")
		}
	})
}

func goneReason(err error) string {
	if errors.Is(err, client.ErrSignedInElsewhere) {
		return "your account signed in somewhere else"
	}
	return msnError(err, "")
}

// ---- MSN → Discord ----

// m2d is the queue of a conversation's MSN → Discord traffic.
func (u *userSession) m2d(key string) string { return "m2d:" + u.id + ":" + key }

// keyFor returns the key of a conversation — its participants' addresses,
// sorted — binding it so that the thread's messages go back to it.
func (u *userSession) keyFor(cv *client.Conversation, from string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if k, ok := u.keys[cv]; ok {
		return k
	}
	var emails []string
	for _, p := range cv.Participants() {
		emails = append(emails, strings.ToLower(p.Email))
	}
	if len(emails) == 0 {
		emails = []string{strings.ToLower(from)}
	}
	sort.Strings(emails)
	key := strings.Join(emails, ",")
	if old := u.convs[key]; old != nil {
		delete(u.keys, old)
	}
	u.convs[key] = cv
	u.keys[cv] = key
	return key
}

// boundKey returns the key of a conversation already bound, or "".
func (u *userSession) boundKey(cv *client.Conversation) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.keys[cv]
}

func (u *userSession) thread(key string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.threads[key]
}

func (u *userSession) onMSN(cl *client.Client, ev client.Event) {
	b := u.b
	if b.isClosing() {
		return
	}
	u.remember(ev)
	switch ev := ev.(type) {
	case *client.Message:
		key := u.keyFor(ev.Conversation, ev.From)
		b.q.Do(u.m2d(key), func() { u.post(cl, key, ev.From, ev.FriendlyName, toDiscord(ev.Text, ev.Format), ev.Text) })
	case *client.Nudge:
		key := u.keyFor(ev.Conversation, ev.From)
		name := u.contactName(cl, ev.From)
		b.q.Do(u.m2d(key), func() {
			u.post(cl, key, ev.From, name, []string{"*" + format.EscapeDiscord(format.NudgeText(format.PlainName(name))) + "* 📳"}, "(nudge)")
		})
	case *client.Typing:
		key := u.boundKey(ev.Conversation)
		if key == "" {
			key = u.keyFor(ev.Conversation, ev.From)
		}
		b.q.Do(u.m2d(key), func() { u.typingFromMSN(key) })
	case *client.Invited:
		key := u.keyFor(ev.Conversation, ev.From)
		if ps := ev.Conversation.Participants(); len(ps) > 1 {
			b.q.Do(u.m2d(key), func() {
				if th, err := u.ensureThread(cl, key); err == nil {
					b.notice(th, fmt.Sprintf("%s invited you to a conversation with %s.", format.EscapeDiscord(u.contactName(cl, ev.From)), u.participants(cl, ev.Conversation)))
				}
			})
		}
	case *client.Joined:
		if key := u.boundKey(ev.Conversation); key != "" {
			b.q.Do(u.m2d(key), func() {
				if th := u.thread(key); th != "" {
					b.notice(th, fmt.Sprintf("%s joined the conversation. In it now: %s.", format.EscapeDiscord(nameOr(ev.FriendlyName, ev.Email)), u.participants(cl, ev.Conversation)))
				}
			})
		}
	case *client.Left:
		if key := u.boundKey(ev.Conversation); key != "" && !ev.Idle && len(ev.Conversation.Participants()) > 0 {
			b.q.Do(u.m2d(key), func() {
				if th := u.thread(key); th != "" {
					b.notice(th, fmt.Sprintf("%s left the conversation. In it now: %s.", format.EscapeDiscord(u.contactName(cl, ev.Email)), u.participants(cl, ev.Conversation)))
				}
			})
		}
	case *client.ConversationClosed:
		if ev.Err == nil {
			u.mu.Lock()
			if k, ok := u.keys[ev.Conversation]; ok {
				delete(u.keys, ev.Conversation)
				if u.convs[k] == ev.Conversation {
					delete(u.convs, k)
				}
			}
			u.mu.Unlock()
		}
	case *client.RawMessage:
		if what := unsupported(ev); what != "" {
			key := u.keyFor(ev.Conversation, ev.From)
			b.q.Do(u.m2d(key), func() {
				if th, err := u.ensureThread(cl, key); err == nil {
					b.notice(th, format.EscapeDiscord(u.contactName(cl, ev.From))+" "+what+", which the bridge cannot carry.")
				}
			})
		}
	case *client.ContactAdded:
		if c, ok := cl.Contact(ev.Email); ok && c.Lists.Has(client.Forward) {
			return
		}
		b.q.Do("user:"+u.id, func() {
			if ch := u.rec().ChannelID; ch != "" {
				b.notice(ch, fmt.Sprintf("%s (%s) added you to their MSN contacts. Add them back with `/msn add %s`.",
					format.EscapeDiscord(nameOr(format.PlainName(ev.FriendlyName), ev.Email)), ev.Email, ev.Email))
			}
		})
	case *client.Disconnected:
		if ev.Reconnecting {
			u.mu.Lock()
			first := !u.lostConn
			u.lostConn = true
			u.mu.Unlock()
			if first {
				b.q.Do("user:"+u.id, func() {
					if ch := u.rec().ChannelID; ch != "" {
						b.notice(ch, "Lost the connection to the MSN server; reconnecting…")
					}
				})
			}
		}
	case *client.Reconnected:
		u.mu.Lock()
		was := u.lostConn
		u.lostConn = false
		u.mu.Unlock()
		if was {
			b.q.Do("user:"+u.id, func() {
				if ch := u.rec().ChannelID; ch != "" {
					b.notice(ch, "Back on MSN.")
				}
			})
		}
	}
}

// remember notes the friendly names an event shows, for people who are
// not on the contact list.
func (u *userSession) remember(ev client.Event) {
	note := func(email, name string) {
		if n := format.PlainName(name); n != "" && email != "" {
			u.mu.Lock()
			u.seen[strings.ToLower(email)] = n
			u.mu.Unlock()
		}
	}
	switch ev := ev.(type) {
	case *client.Message:
		note(ev.From, ev.FriendlyName)
	case *client.Joined:
		note(ev.Email, ev.FriendlyName)
	case *client.Invited:
		note(ev.From, ev.FriendlyName)
		for _, p := range ev.Conversation.Participants() {
			note(p.Email, p.FriendlyName)
		}
	case *client.ContactAdded:
		note(ev.Email, ev.FriendlyName)
	}
}

// fileTransferGUID is the MSNSLP EUF-GUID of a file transfer (MSN 6+).
const fileTransferGUID = "{5D3E02AB-6190-11D3-BBBB-00C04F795683}"

// unsupported says what an MSN message the bridge cannot carry is ("sent
// a wink"), or "" for one not worth a word (P2P data, emoticon
// definitions, display picture requests).
func unsupported(ev *client.RawMessage) string {
	m := ev.Message
	if m == nil {
		return ""
	}
	switch m.Kind() {
	case message.KindInvite:
		return "wants to send a file or start an activity (ask them for a link instead)"
	case message.KindDatacast:
		switch id, _ := m.DatacastID(); id {
		case message.DatacastWink:
			return "sent a wink"
		case message.DatacastVoiceClip:
			return "sent a voice clip"
		}
	case message.KindP2P:
		// An MSNSLP invitation to a file transfer starts with the INVITE
		// line and names the file transfer GUID.
		p := string(m.Body)
		if strings.Contains(p, "INVITE MSNMSGR:") && strings.Contains(strings.ToUpper(p), fileTransferGUID) {
			return "wants to send a file (ask them for a link instead)"
		}
	}
	return ""
}

func nameOr(name, email string) string {
	if n := format.PlainName(name); n != "" {
		return n
	}
	return email
}

// contactName is a contact's friendly name as plain text, or their
// address.
func (u *userSession) contactName(cl *client.Client, email string) string {
	if cl != nil {
		if c, ok := cl.Contact(email); ok && format.PlainName(c.FriendlyName) != "" && c.FriendlyName != c.Email {
			return nameOr(c.FriendlyName, email)
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if n := u.seen[strings.ToLower(email)]; n != "" {
		return n
	}
	return email
}

// participants lists who is in a conversation, for a notice.
func (u *userSession) participants(cl *client.Client, cv *client.Conversation) string {
	var names []string
	for _, p := range cv.Participants() {
		names = append(names, format.EscapeDiscord(nameOr(p.FriendlyName, p.Email)))
	}
	if len(names) == 0 {
		return "nobody"
	}
	return strings.Join(names, ", ")
}

// post speaks MSN text in a conversation's thread as the contact.
func (u *userSession) post(cl *client.Client, key, from, name string, contents []string, text string) {
	if len(contents) == 0 {
		return
	}
	for range 3 {
		// The channel and its webhook first (made again if deleted on
		// Discord), then the thread.
		if _, err := u.ensureChannel(); err != nil {
			u.log.Warn().Err(err).Msg("cannot make the channel")
			return
		}
		th, err := u.ensureThread(cl, key)
		if err != nil {
			u.log.Warn().Err(err).Msg("cannot make a thread")
			return
		}
		rec := u.rec()
		ids, err := u.b.speak(rec.WebhookID, rec.WebhookToken, th, nameOr(name, from), from, contents)
		for _, id := range ids {
			u.b.record(id, th, ToDiscord, text)
		}
		if err == nil {
			return
		}
		contents = contents[len(ids):]
		// The thread, channel or webhook was deleted on Discord: make what
		// is missing and try again.
		switch restCode(err) {
		case discordgo.ErrCodeUnknownChannel:
			u.forgetThread(key, th)
			continue
		case discordgo.ErrCodeUnknownWebhook, 50027: // 50027: invalid webhook token
			u.save(func(r *UserRecord) { r.WebhookID, r.WebhookToken = "", "" })
			continue
		}
		u.log.Warn().Err(err).Msg("cannot post to Discord")
		return
	}
}

func (u *userSession) typingFromMSN(key string) {
	th := u.thread(key)
	if th == "" {
		return
	}
	u.mu.Lock()
	last := u.typedDisc[th]
	now := time.Now()
	if now.Sub(last) < 8*time.Second { // Discord shows typing for about 10 s
		u.mu.Unlock()
		return
	}
	u.typedDisc[th] = now
	u.mu.Unlock()
	if err := u.b.dg.ChannelTyping(th); err != nil {
		u.log.Debug().Err(err).Msg("typing")
	}
}

// ensureThread returns the thread of a conversation, making it (and the
// user's channel) when missing.
func (u *userSession) ensureThread(cl *client.Client, key string) (string, error) {
	u.threadMu.Lock()
	defer u.threadMu.Unlock()
	if th := u.thread(key); th != "" {
		return th, nil
	}
	ch, err := u.ensureChannel()
	if err != nil {
		return "", err
	}
	title := u.threadTitle(cl, key)
	t, err := u.b.dg.ThreadStartComplex(ch, &discordgo.ThreadStart{Name: title, Type: discordgo.ChannelTypeGuildPublicThread, AutoArchiveDuration: 10080})
	if restCode(err) == discordgo.ErrCodeUnknownChannel {
		u.forgetChannel(ch)
		if ch, err = u.ensureChannel(); err != nil {
			return "", err
		}
		t, err = u.b.dg.ThreadStartComplex(ch, &discordgo.ThreadStart{Name: title, Type: discordgo.ChannelTypeGuildPublicThread, AutoArchiveDuration: 10080})
	}
	if err != nil {
		return "", err
	}
	// Being a member makes the thread show in the user's list and notify
	// them.
	if err := u.b.dg.ThreadMemberAdd(t.ID, u.id); err != nil {
		u.log.Warn().Err(err).Msg("cannot add the user to their thread")
	}
	if err := u.b.store.PutThread(u.b.ctx, ThreadRecord{UserID: u.id, Key: key, ThreadID: t.ID, Title: title}); err != nil {
		u.log.Error().Err(err).Msg("database")
	}
	u.b.setCheckpoint(t.ID, t.ID)
	u.mu.Lock()
	u.threads[key] = t.ID
	u.mu.Unlock()
	u.b.mu.Lock()
	u.b.byThread[t.ID] = threadRef{u, key}
	u.b.mu.Unlock()
	return t.ID, nil
}

// waitThreads waits until no thread is being made for the user.
func (u *userSession) waitThreads() {
	u.threadMu.Lock()
	defer u.threadMu.Unlock()
}

// threadTitle names a conversation's thread: "Bob (bob@example.com)", or
// the names of a group.
func (u *userSession) threadTitle(cl *client.Client, key string) string {
	emails := strings.Split(key, ",")
	if len(emails) == 1 {
		name := u.contactName(cl, emails[0])
		if name == emails[0] {
			return truncate(name, maxThreadName)
		}
		return truncate(name+" ("+emails[0]+")", maxThreadName)
	}
	var names []string
	for _, e := range emails {
		names = append(names, u.contactName(cl, e))
	}
	return truncate(strings.Join(names, ", "), maxThreadName)
}

// ensureChannel returns the user's private channel and makes sure it has
// the webhook contacts speak through.
func (u *userSession) ensureChannel() (string, error) {
	u.channelMu.Lock()
	defer u.channelMu.Unlock()
	for range 2 {
		ch, gone, err := u.ensureChannelOnce()
		if !gone {
			return ch, err
		}
		// The channel was deleted on Discord meanwhile: make a new one.
		u.forgetChannelLocked(ch)
	}
	return "", errors.New("your channel keeps disappearing")
}

// ensureChannelOnce makes what is missing; gone reports that the recorded
// channel no longer exists.
func (u *userSession) ensureChannelOnce() (ch string, gone bool, err error) {
	b := u.b
	rec := u.rec()
	if rec.ChannelID == "" {
		cat, err := b.category(rec.GuildID)
		if err != nil {
			return "", false, fmt.Errorf("making the %s category: %s", b.cfg.Category, permissionHint(err))
		}
		name := "msn-" + localPart(rec.Name)
		if name == "msn-" {
			name = "msn-" + rec.UserID
		}
		const userAllow = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionSendMessagesInThreads |
			discordgo.PermissionReadMessageHistory | discordgo.PermissionAttachFiles | discordgo.PermissionEmbedLinks | discordgo.PermissionAddReactions
		const botAllow = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionSendMessagesInThreads |
			discordgo.PermissionReadMessageHistory | discordgo.PermissionManageWebhooks | discordgo.PermissionManageThreads |
			discordgo.PermissionCreatePublicThreads | discordgo.PermissionEmbedLinks | discordgo.PermissionAttachFiles
		c, err := b.dg.GuildChannelCreateComplex(rec.GuildID, discordgo.GuildChannelCreateData{
			Name: name, Type: discordgo.ChannelTypeGuildText, ParentID: cat,
			Topic: fmt.Sprintf("MSN Messenger for %s, signed in as %s. Each conversation is a thread.", rec.Name, rec.Email),
			PermissionOverwrites: []*discordgo.PermissionOverwrite{
				{ID: rec.GuildID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel},
				{ID: u.id, Type: discordgo.PermissionOverwriteTypeMember, Allow: userAllow},
				{ID: b.dg.State.User.ID, Type: discordgo.PermissionOverwriteTypeMember, Allow: botAllow},
			},
		})
		if err != nil {
			return "", false, fmt.Errorf("making your channel: %s", permissionHint(err))
		}
		u.save(func(r *UserRecord) { r.ChannelID, r.WebhookID, r.WebhookToken = c.ID, "", "" })
		b.mu.Lock()
		b.byChannel[c.ID] = u
		b.mu.Unlock()
		rec = u.rec()
		b.notice(c.ID, fmt.Sprintf("<@%s>, this is your MSN Messenger, signed in as **%s**. Each conversation is a thread here; "+
			"`/msn contacts` lists your contacts, `/msn chat` starts a conversation.", u.id, format.EscapeDiscord(rec.Email)))
	}
	if rec.WebhookID == "" {
		w, err := b.dg.WebhookCreate(rec.ChannelID, "MSN", "")
		if restCode(err) == discordgo.ErrCodeUnknownChannel {
			return rec.ChannelID, true, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("making the channel's webhook: %s", permissionHint(err))
		}
		b.addWebhook(w.ID)
		u.save(func(r *UserRecord) { r.WebhookID, r.WebhookToken = w.ID, w.Token })
	}
	return rec.ChannelID, false, nil
}

// forgetThread drops a thread that was deleted on Discord; the next
// message makes a new one.
func (u *userSession) forgetThread(key, threadID string) {
	u.mu.Lock()
	if u.threads[key] == threadID {
		delete(u.threads, key)
	}
	u.mu.Unlock()
	u.b.mu.Lock()
	delete(u.b.byThread, threadID)
	u.b.mu.Unlock()
	if err := u.b.store.DeleteThread(u.b.ctx, threadID); err != nil {
		u.log.Error().Err(err).Msg("database")
	}
}

// forgetChannel drops the user's channel (deleted on Discord) and its
// threads.
func (u *userSession) forgetChannel(channelID string) {
	u.channelMu.Lock()
	defer u.channelMu.Unlock()
	u.forgetChannelLocked(channelID)
}

func (u *userSession) forgetChannelLocked(channelID string) {
	if u.rec().ChannelID != channelID {
		return
	}
	u.save(func(r *UserRecord) { r.ChannelID, r.WebhookID, r.WebhookToken = "", "", "" })
	u.mu.Lock()
	threads := u.threads
	u.threads = map[string]string{}
	u.mu.Unlock()
	u.b.mu.Lock()
	delete(u.b.byChannel, channelID)
	for _, th := range threads {
		delete(u.b.byThread, th)
	}
	u.b.mu.Unlock()
	if err := u.b.store.DeleteThreads(u.b.ctx, u.id); err != nil {
		u.log.Error().Err(err).Msg("database")
	}
}

// ---- Discord → MSN ----

// conversation returns the conversation of a thread, opening it (and
// inviting a group's members) when there is none.
func (u *userSession) conversation(ctx context.Context, key string) (*client.Conversation, error) {
	cl, err := u.account().client(ctx)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	cv := u.convs[key]
	u.mu.Unlock()
	if cv != nil {
		return cv, nil
	}
	emails := strings.Split(key, ",")
	cv, err = cl.Conversation(ctx, emails[0])
	if err != nil {
		return nil, err
	}
	for _, e := range emails[1:] {
		if err := cv.Invite(ctx, e); err != nil {
			u.log.Info().Err(err).Str("contact", e).Msg("cannot invite a group member back")
		}
	}
	u.mu.Lock()
	if old := u.convs[key]; old != nil && old != cv {
		delete(u.keys, old)
	}
	u.convs[key] = cv
	u.keys[cv] = key
	u.mu.Unlock()
	return cv, nil
}

// send sends text to a conversation, reopening it once if it was closed.
func (u *userSession) send(key, text string, f *message.Format) error {
	ctx, cancel := context.WithTimeout(u.b.ctx, u.b.cfg.RequestTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		cv, err := u.conversation(ctx, key)
		if err != nil {
			return err
		}
		err = cv.SendText(ctx, text, f)
		if errors.Is(err, client.ErrNotDelivered) && attempt == 0 {
			// Refused by a switchboard everyone else had left: the next
			// send reopens the conversation, and says why if it cannot.
			continue
		}
		if errors.Is(err, client.ErrConversationClosed) && attempt == 0 {
			u.mu.Lock()
			if u.convs[key] == cv {
				delete(u.convs, key)
				delete(u.keys, cv)
			}
			u.mu.Unlock()
			continue
		}
		return err
	}
}

// who names a conversation's other side for a notice.
func (u *userSession) who(key string) string {
	cl := u.account().current()
	var names []string
	for _, e := range strings.Split(key, ",") {
		names = append(names, u.contactName(cl, e))
	}
	return strings.Join(names, ", ")
}

func (u *userSession) fromDiscord(key string, m *discordgo.Message) {
	text, f := u.b.discordText(m)
	if text == "" {
		return
	}
	if err := u.send(key, text, f); err != nil {
		u.b.notice(m.ChannelID, "⚠️ Not delivered: "+format.EscapeDiscord(msnError(err, u.who(key)))+".")
		return
	}
	u.b.record(m.ID, m.ChannelID, ToMSN, text)
}

func (u *userSession) editFromDiscord(key string, m *discordgo.Message) {
	text, f := u.b.editText(m)
	if text == "" {
		return
	}
	if err := u.send(key, "(edited) "+text, f); err != nil {
		u.b.notice(m.ChannelID, "⚠️ Edit not delivered: "+format.EscapeDiscord(msnError(err, u.who(key)))+".")
		return
	}
	u.b.record(m.ID, m.ChannelID, ToMSN, text)
}

func (u *userSession) deleteFromDiscord(key string, rec MessageRecord) {
	if err := u.send(key, "(deleted the message "+quote(rec.Excerpt)+")", nil); err != nil {
		u.log.Info().Err(err).Msg("delete notice not delivered")
	}
}

func (u *userSession) typingFromDiscord(key string) {
	u.mu.Lock()
	cv := u.convs[key]
	last := u.typedMSN[key]
	now := time.Now()
	if cv == nil || now.Sub(last) < 4*time.Second {
		u.mu.Unlock()
		return
	}
	u.typedMSN[key] = now
	u.mu.Unlock()
	if len(cv.Participants()) == 0 {
		return // not open: typing is no reason to ring someone
	}
	ctx, cancel := context.WithTimeout(u.b.ctx, 10*time.Second)
	defer cancel()
	cv.SendTyping(ctx)
}

// discordText turns a Discord message into MSN text: its markdown
// converted, then its attachments and stickers as links and names.
func (b *Bridge) discordText(m *discordgo.Message) (string, *message.Format) {
	text, f := format.DiscordToMSN(m.Content, b.names(m))
	var extra []string
	for _, a := range m.Attachments {
		if a != nil {
			extra = append(extra, a.Filename+": "+a.URL)
		}
	}
	for _, s := range m.StickerItems {
		if s != nil {
			extra = append(extra, "[sticker: "+s.Name+"]")
		}
	}
	if len(extra) > 0 {
		if strings.TrimSpace(text) != "" {
			text += "\n"
		}
		text += strings.Join(extra, "\n")
	}
	return strings.TrimSpace(text), f
}

// editText is the new text of an edited message: its content only, since
// its attachments went with the original.
func (b *Bridge) editText(m *discordgo.Message) (string, *message.Format) {
	text, f := format.DiscordToMSN(m.Content, b.names(m))
	return strings.TrimSpace(text), f
}

// names resolves the mentions of a message from the message itself and
// the gateway's state.
func (b *Bridge) names(m *discordgo.Message) *format.Names {
	return &format.Names{
		User: func(id string) string {
			if mem, err := b.dg.State.Member(m.GuildID, id); err == nil {
				return displayName(mem.User, mem)
			}
			for _, u := range m.Mentions {
				if u != nil && u.ID == id {
					return displayName(u, nil)
				}
			}
			return ""
		},
		Channel: func(id string) string {
			if c, err := b.dg.State.Channel(id); err == nil {
				return c.Name
			}
			return ""
		},
		Role: func(id string) string {
			if r, err := b.dg.State.Role(m.GuildID, id); err == nil {
				return r.Name
			}
			return ""
		},
	}
}
