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
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// room links a Discord channel with an MSN account that MSN users add to
// their contacts to join. The account's contact list is the room's MSN
// membership: whoever adds it (or writes to it) is a member, whoever
// removes it has left.
type room struct {
	b    *Bridge
	log  zerolog.Logger
	sess *msnbridge.Session

	mu     sync.Mutex
	record RoomRecord
	typed  time.Time
}

func (b *Bridge) newRoom(rec RoomRecord) *room {
	r := &room{b: b, record: rec, log: b.log.With().Str("room", rec.ChannelID).Str("email", rec.Email).Logger()}
	hooks := msnbridge.Hooks{Event: r.onMSN, Extra: r.onExtra, State: r.onState}
	if b.hosted != nil {
		hooks.Refused = func(ctx context.Context) bool {
			made, err := b.hosted.Recreate(ctx, msnbridge.HostedAccount{Owner: roomOwner(rec.ChannelID), Email: rec.Email, Password: rec.Password}, "")
			if err != nil {
				r.log.Warn().Err(err).Msg("cannot make the room's account again")
			}
			return made
		}
	}
	r.sess = msnbridge.NewSession(b.clientConfig(rec.Email, rec.Password, "", r.log), r.log, hooks)
	return r
}

func (r *room) rec() RoomRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.record
}

func (r *room) start(first *client.Client) { r.sess.Start(r.b.ctx, first) }

// onState says in the channel when the room's account is signed out for
// good.
func (r *room) onState(_ *client.Client, st msnbridge.State, err error) {
	if st == msnbridge.Gone && !r.b.isClosing() {
		r.b.notice(r.rec().ChannelID, "⚠️ The room's MSN account was signed out: "+format.EscapeDiscord(msnbridge.Explain(err, ""))+". An admin can run `/msn bridge` again.")
	}
}

// onExtra says in the channel what a member sent that is not text.
func (r *room) onExtra(cl *client.Client, x *msnbridge.Extra) {
	if x.Kind == msnbridge.File && x.Transfer != nil {
		x.Keep() // carried as an attachment
		r.fileFromMSN(cl, x)
		return
	}
	r.b.q.Do(r.m2d(), func() {
		name := r.memberName(cl, x.From, x.FriendlyName)
		if x.Kind == msnbridge.Action {
			r.fromMSNSpeech(cl, x.Conversation, x.From, name, []string{"_" + format.EscapeDiscord(x.Name) + "_"}, "* "+name+" "+x.Name, nil)
			return
		}
		r.b.notice(r.rec().ChannelID, format.EscapeDiscord(x.Describe(name)))
	})
}

func (r *room) m2d() string { return "m2d:room:" + r.rec().ChannelID }

func (r *room) onMSN(cl *client.Client, ev client.Event) {
	b := r.b
	switch ev := ev.(type) {
	case *client.Message:
		b.q.Do(r.m2d(), func() { r.fromMSN(cl, ev.Conversation, ev.From, ev.FriendlyName, ev.Text, ev.Format) })
	case *client.OfflineMessage:
		b.q.Do(r.m2d(), func() {
			r.fromMSNSpeech(cl, nil, ev.From, r.memberName(cl, ev.From, ev.FriendlyName), offlineContents(ev), ev.Text, nil)
		})
	case *client.Nudge:
		b.q.Do(r.m2d(), func() {
			name := r.memberName(cl, ev.From, "")
			r.fromMSNSpeech(cl, ev.Conversation, ev.From, name, []string{"*" + format.EscapeDiscord(format.NudgeText(name)) + "* 📳"}, format.NudgeText(name), nil)
		})
	case *client.Typing:
		r.mu.Lock()
		now := time.Now()
		show := now.Sub(r.typed) >= 8*time.Second
		if show {
			r.typed = now
		}
		r.mu.Unlock()
		if show {
			b.q.Do(r.m2d(), func() { b.dg.ChannelTyping(r.rec().ChannelID) })
		}
	case *client.ContactAdded:
		b.q.Do(r.m2d(), func() { r.join(cl, ev.Email, ev.FriendlyName) })
	case *client.ContactRemoved:
		b.q.Do(r.m2d(), func() {
			ctx, cancel := context.WithTimeout(b.ctx, b.cfg.RequestTimeout)
			defer cancel()
			name := r.memberName(cl, ev.Email, "")
			if err := cl.RemoveContact(ctx, ev.Email); err != nil {
				r.log.Info().Err(err).Msg("remove member")
			}
			b.notice(r.rec().ChannelID, fmt.Sprintf("**%s** left (MSN).", format.EscapeDiscord(name)))
		})
	}
}

// join makes an MSN user a member: the room adds them back, so it sees
// their presence and can bring them Discord's messages.
func (r *room) join(cl *client.Client, email, friendly string) {
	if c, ok := cl.Contact(email); ok && c.Lists.Has(client.Forward) {
		return
	}
	ctx, cancel := context.WithTimeout(r.b.ctx, r.b.cfg.RequestTimeout)
	defer cancel()
	if err := cl.AddContact(ctx, email); err != nil {
		r.log.Info().Err(err).Str("member", email).Msg("cannot add a member")
		return
	}
	r.b.notice(r.rec().ChannelID, fmt.Sprintf("**%s** (%s) joined from MSN.", format.EscapeDiscord(nameOr(friendly, email)), format.EscapeDiscord(email)))
}

// memberName is a member's friendly name as plain text.
func (r *room) memberName(cl *client.Client, email, friendly string) string {
	if n := format.PlainName(friendly); n != "" {
		return n
	}
	if c, ok := cl.Contact(email); ok {
		return nameOr(c.FriendlyName, email)
	}
	return email
}

// fromMSN carries an MSN member's message to Discord and to the other
// members.
func (r *room) fromMSN(cl *client.Client, cv *client.Conversation, from, friendly, text string, f message.Format) {
	name := r.memberName(cl, from, friendly)
	ff := f
	r.fromMSNSpeech(cl, cv, from, name, toDiscord(text, f), text, &ff)
}

func (r *room) fromMSNSpeech(cl *client.Client, cv *client.Conversation, from, name string, contents []string, text string, f *message.Format) {
	r.join(cl, from, name)
	for attempt := 0; attempt < 2; attempt++ {
		rec := r.rec()
		ids, err := r.b.speak(rec.WebhookID, rec.WebhookToken, "", name, from, r.b.contactAvatar(cl, from), texts(contents))
		for _, id := range ids {
			r.b.record(id, rec.ChannelID, ToDiscord, text, text)
		}
		contents = contents[len(ids):]
		if c := restCode(err); attempt == 0 && (c == discordgo.ErrCodeUnknownWebhook || c == 50027) {
			// Someone deleted the room's webhook: make another.
			w, werr := r.b.dg.WebhookCreate(rec.ChannelID, "MSN", "")
			if werr == nil {
				r.b.addWebhook(w.ID)
				r.mu.Lock()
				r.record.WebhookID, r.record.WebhookToken = w.ID, w.Token
				rec = r.record
				r.mu.Unlock()
				if err := r.b.store.PutRoom(r.b.ctx, rec); err != nil {
					r.log.Error().Err(err).Msg("database")
				}
				continue
			}
			err = werr
		}
		if err != nil {
			r.log.Warn().Err(err).Msg("cannot post to Discord")
		}
		break
	}
	// Members in the same conversation saw it already.
	skip := map[string]bool{strings.ToLower(from): true}
	if cv != nil {
		for _, p := range cv.Participants() {
			skip[strings.ToLower(p.Email)] = true
		}
	}
	if f != nil && *f == (message.Format{}) {
		f = nil
	}
	r.fanOut(cl, name+": "+text, f, skip)
}

// members returns the addresses of the members who are online.
func (r *room) members(cl *client.Client) map[string]bool {
	out := map[string]bool{}
	for _, c := range cl.Contacts() {
		if c.Lists.Has(client.Forward) && !c.Lists.Has(client.Block) && c.Status != client.Offline && c.Status != "" {
			out[strings.ToLower(c.Email)] = true
		}
	}
	return out
}

// fanOut sends text to every online member not in skip — through a
// conversation they are in when there is one, else a new one — and
// returns the failures by member.
func (r *room) fanOut(cl *client.Client, text string, f *message.Format, skip map[string]bool) map[string]error {
	targets := r.members(cl)
	for e := range skip {
		delete(targets, e)
	}
	if len(targets) == 0 {
		return nil
	}
	type job struct {
		cv *client.Conversation
		to []string
	}
	var jobs []job
	served := map[string]bool{}
	for _, cv := range cl.Conversations() {
		ps := cv.Participants()
		usable := len(ps) > 0
		var to []string
		for _, p := range ps {
			e := strings.ToLower(p.Email)
			if skip[e] {
				usable = false // it would repeat the message to someone who saw it
			}
			if targets[e] && !served[e] {
				to = append(to, e)
			}
		}
		if usable && len(to) > 0 {
			for _, e := range to {
				served[e] = true
			}
			jobs = append(jobs, job{cv, to})
		}
	}
	var rest []string
	for e := range targets {
		if !served[e] {
			rest = append(rest, e)
		}
	}
	sort.Strings(rest)
	for _, e := range rest {
		jobs = append(jobs, job{nil, []string{e}})
	}

	ctx, cancel := context.WithTimeout(r.b.ctx, r.b.cfg.RequestTimeout)
	defer cancel()
	var mu sync.Mutex
	fails := map[string]error{}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cv := j.cv
			var err error
			if cv == nil {
				cv, err = cl.Conversation(ctx, j.to[0])
			}
			if err == nil {
				err = cv.SendText(ctx, text, f)
			}
			if err != nil {
				mu.Lock()
				for _, e := range j.to {
					fails[e] = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return fails
}

// fromDiscord carries a Discord member's message to the MSN members.
func (r *room) fromDiscord(m *discordgo.Message) {
	text, f := r.b.discordText(m)
	if text == "" {
		return
	}
	name := r.b.authorName(m)
	r.deliver(m.ChannelID, name+": "+text, f)
	content, _ := r.b.editText(m)
	r.b.record(m.ID, m.ChannelID, ToMSN, name+": "+text, content)
}

// deliver sends a line to the members and reports failures in the
// channel (members who went offline meanwhile are not a failure).
func (r *room) deliver(channelID, line string, f *message.Format) {
	ctx, cancel := context.WithTimeout(r.b.ctx, r.b.cfg.RequestTimeout)
	cl, err := r.sess.Client(ctx)
	cancel()
	if err != nil {
		r.b.notice(channelID, "⚠️ Not delivered to MSN: "+format.EscapeDiscord(msnbridge.Explain(err, ""))+".")
		return
	}
	fails := r.fanOut(cl, line, f, nil)
	var names []string
	for e, err := range fails {
		if !errors.Is(err, msnp.ErrNotOnline) {
			names = append(names, r.memberName(cl, e, "")+" ("+msnbridge.Explain(err, e)+")")
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		r.b.notice(channelID, "⚠️ Not delivered to "+format.EscapeDiscord(strings.Join(names, ", "))+".")
	}
}

// editFromDiscord sends an edit's new text; it reports whether it went.
func (r *room) editFromDiscord(m *discordgo.Message, text string, f *message.Format) bool {
	r.deliver(m.ChannelID, r.b.authorName(m)+" (edited): "+text, f)
	return true
}

func (r *room) deleteFromDiscord(rec MessageRecord) {
	r.deliver(rec.ChannelID, "(deleted on Discord: "+format.Quoted(format.Snippet(rec.Excerpt))+")", nil)
}

// noteFromDiscord sends a member's note (a reaction) to the room.
func (r *room) noteFromDiscord(channelID, name, note string) {
	r.deliver(channelID, name+": "+note, nil)
}
