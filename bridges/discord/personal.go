package discord

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// userSession is one Discord user's personal bridge: their MSN account,
// their private channel and a thread per conversation. This file is the
// session and what MSN sends; threads.go makes the channel and threads,
// tomsn.go carries what the user writes.
type userSession struct {
	b   *Bridge
	id  string // Discord user ID
	log zerolog.Logger

	mu        sync.Mutex
	record    UserRecord
	sess      *msnbridge.Session
	threads   map[string]string // conversation key → thread ID
	convs     map[string]*client.Conversation
	keys      map[*client.Conversation]string
	typedMSN  map[string]time.Time // key → when typing was last sent to MSN
	typedDisc map[string]time.Time // thread → when typing was last shown on Discord
	lostConn  bool                 // a disconnection was announced
	seen      map[string]string    // friendly names of people met in conversations
	missing   msnbridge.Absences   // who a group thread was last told did not get a message

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
	u.sess = u.newSession(rec)
	return u
}

// newSession makes the MSN session of a sign-in.
func (u *userSession) newSession(rec UserRecord) *msnbridge.Session {
	hooks := msnbridge.Hooks{Event: u.onMSN, Extra: u.onExtra, State: u.onState}
	if rec.Kind == KindHosted && u.b.hosted != nil {
		hooks.Refused = func(ctx context.Context) bool {
			r := u.rec()
			made, err := u.b.hosted.Recreate(ctx, msnbridge.HostedAccount{Owner: userOwner(u.id), Email: r.Email, Password: r.Password}, r.Name)
			if err != nil {
				u.log.Warn().Err(err).Msg("cannot make the hosted account again")
			}
			return made
		}
	}
	return msnbridge.NewSession(u.b.clientConfig(rec.Email, rec.Password, rec.Server, u.log), u.log, hooks)
}

// clientConfig is how an account signs in: on the configured server with
// Passport, or on another server with MD5 (MSNP7), which needs no
// Passport and which revival servers accept.
func (b *Bridge) clientConfig(email, password, server string, log zerolog.Logger) client.Config {
	l := log.Level(max(log.GetLevel(), zerolog.InfoLevel))
	cfg := client.Config{
		Email: email, Password: password, Reconnect: true, RequestTimeout: b.cfg.RequestTimeout, Logger: &l,
		ObjectCache: b.pictures.Cache(),
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

func (u *userSession) session() *msnbridge.Session {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sess
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
func (u *userSession) start(first *client.Client) { u.session().Start(u.b.ctx, first) }

// onState tells the user about the connection: lost, back, or gone until
// they sign in again.
func (u *userSession) onState(_ *client.Client, st msnbridge.State, err error) {
	b := u.b
	switch st {
	case msnbridge.Reconnecting:
		u.mu.Lock()
		first := !u.lostConn
		u.lostConn = true
		u.mu.Unlock()
		if first {
			b.q.Do("user:"+u.id, func() { u.channelNotice("Lost the connection to the MSN server; reconnecting…") })
		}
	case msnbridge.Connected:
		// The user's Discord avatar is their hosted account's picture
		// (SetPicture sends nothing when it did not change).
		go u.avatarPicture()
		u.mu.Lock()
		was := u.lostConn
		u.lostConn = false
		u.mu.Unlock()
		if was {
			b.q.Do("user:"+u.id, func() { u.channelNotice("Back on MSN.") })
		}
	case msnbridge.Gone:
		if b.isClosing() {
			return
		}
		u.save(func(r *UserRecord) { r.SignedIn = false })
		b.q.Do("user:"+u.id, func() {
			u.channelNotice("⚠️ Signed out of MSN: " + format.EscapeDiscord(msnbridge.Explain(err, "")) + ". Use `/msn login` to sign in again.")
		})
	}
}

// channelNotice posts a notice in the user's channel, if they have one.
func (u *userSession) channelNotice(text string) {
	if ch := u.rec().ChannelID; ch != "" {
		u.b.notice(ch, text)
	}
}

// ---- MSN → Discord ----

// m2d is the queue of a conversation's MSN → Discord traffic.
func (u *userSession) m2d(key string) string { return "m2d:" + u.id + ":" + key }

// keyFor returns the key of a conversation — who is in it besides the
// user (msnbridge.ConversationKey) — binding it so that the thread's
// messages go back to it.
func (u *userSession) keyFor(cv *client.Conversation, from string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if k, ok := u.keys[cv]; ok {
		return k
	}
	var emails []string
	for _, p := range cv.Participants() {
		emails = append(emails, p.Email)
	}
	if len(emails) == 0 {
		emails = []string{from}
	}
	key := msnbridge.ConversationKey(emails)
	u.bindLocked(key, cv)
	return key
}

// bindLocked makes cv the conversation of key. u.mu is held.
func (u *userSession) bindLocked(key string, cv *client.Conversation) {
	if old := u.convs[key]; old != nil && old != cv {
		delete(u.keys, old)
	}
	u.convs[key] = cv
	u.keys[cv] = key
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

// onMSN queues what an MSN event means for Discord. It runs on the
// session's goroutine, also while the bridge closes: what arrived before
// the sign-out is still carried.
func (u *userSession) onMSN(cl *client.Client, ev client.Event) {
	b := u.b
	u.remember(ev)
	switch ev := ev.(type) {
	case *client.Message:
		key := u.keyFor(ev.Conversation, ev.From)
		b.q.Do(u.m2d(key), func() { u.post(cl, key, ev.From, ev.FriendlyName, toDiscord(ev.Text, ev.Format), ev.Text) })
	case *client.OfflineMessage:
		key := msnbridge.ConversationKey([]string{ev.From})
		b.q.Do(u.m2d(key), func() { u.post(cl, key, ev.From, ev.FriendlyName, offlineContents(ev), ev.Text) })
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
					b.notice(th, fmt.Sprintf("%s invited you to a conversation with %s.", format.EscapeDiscord(u.contactName(cl, ev.From)), u.participants(ev.Conversation)))
				}
			})
		}
	case *client.Joined:
		if key := u.boundKey(ev.Conversation); key != "" {
			b.q.Do(u.m2d(key), func() {
				u.joinedGroup(key, ev.Email)
				if th := u.thread(key); th != "" {
					b.notice(th, fmt.Sprintf("%s joined the conversation. In it now: %s.", format.EscapeDiscord(nameOr(ev.FriendlyName, ev.Email)), u.participants(ev.Conversation)))
				}
			})
		}
	case *client.Left:
		if key := u.boundKey(ev.Conversation); key != "" && !ev.Idle && len(ev.Conversation.Participants()) > 0 {
			b.q.Do(u.m2d(key), func() {
				if th := u.thread(key); th != "" {
					b.notice(th, fmt.Sprintf("%s left the conversation. In it now: %s.", format.EscapeDiscord(u.contactName(cl, ev.Email)), u.participants(ev.Conversation)))
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
	case *client.ContactAdded:
		if c, ok := cl.Contact(ev.Email); ok && c.Lists.Has(client.Forward) {
			return
		}
		b.q.Do("user:"+u.id, func() {
			u.channelNotice(fmt.Sprintf("%s (%s) added you to their MSN contacts. Add them back with `/msn add %s`.",
				format.EscapeDiscord(nameOr(format.PlainName(ev.FriendlyName), ev.Email)), ev.Email, ev.Email))
		})
	}
}

// onExtra says in the conversation's thread what MSN sent that is not
// text: a file offered, a wink. An action ("/me waves") is the contact's.
func (u *userSession) onExtra(cl *client.Client, x *msnbridge.Extra) {
	if x.Kind == msnbridge.File && x.Transfer != nil {
		x.Keep() // carried as an attachment
		u.fileFromMSN(cl, x.Conversation, x.From, x.Transfer)
		return
	}
	if x.Object != nil && (x.Kind == msnbridge.Wink || x.Kind == msnbridge.VoiceClip) {
		u.clipFromMSN(cl, x)
		return
	}
	key := u.keyFor(x.Conversation, x.From)
	u.b.q.Do(u.m2d(key), func() {
		name := u.contactName(cl, x.From)
		if x.Kind == msnbridge.Action {
			u.post(cl, key, x.From, name, []string{"_" + format.EscapeDiscord(x.Name) + "_"}, x.Name)
			return
		}
		if th, err := u.ensureThread(cl, key); err == nil {
			u.b.notice(th, format.EscapeDiscord(x.Describe(name)))
		}
	})
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
	case *client.OfflineMessage:
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
func (u *userSession) participants(cv *client.Conversation) string {
	var names []string
	for _, p := range cv.Participants() {
		names = append(names, format.EscapeDiscord(nameOr(p.FriendlyName, p.Email)))
	}
	if len(names) == 0 {
		return "nobody"
	}
	return strings.Join(names, ", ")
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
