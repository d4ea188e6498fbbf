package discord

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// Pictures and files (bridges/msnbridge does the MSN side): MSN contacts'
// display pictures are their webhook avatars, served at
// Config.PictureURL; files sent on MSN are attachments, and attachments
// posted in a thread are offered to the contact as files.

// outgoing is one message a webhook posts: text, or a file with an
// optional caption.
type outgoing struct {
	text string
	file *msnbridge.Media
}

// texts makes messages of texts.
func texts(contents []string) []outgoing {
	out := make([]outgoing, len(contents))
	for i, c := range contents {
		out[i] = outgoing{text: c}
	}
	return out
}

// files gives a fresh reader each time: a message that is posted again
// sends its file again.
func (o outgoing) files() []*discordgo.File {
	if o.file == nil {
		return nil
	}
	return []*discordgo.File{{Name: o.file.Name, ContentType: o.file.MIME, Reader: bytes.NewReader(o.file.Data)}}
}

// pictureWait is how long a message waits for its sender's display
// picture the first time it is needed: the conversation is open, so the
// fetch is quick; one that takes longer goes on, for the next message.
const pictureWait = 3 * time.Second

// contactAvatar is the webhook avatar of an MSN contact: their display
// picture's address when the bridge serves pictures and has (or quickly
// gets) it, else the configured template.
func (b *Bridge) contactAvatar(cl *client.Client, email string) string {
	if b.cfg.PictureURL != "" && cl != nil {
		if c, ok := cl.Contact(email); ok && c.DisplayPicture != nil {
			ctx, cancel := context.WithTimeout(b.ctx, pictureWait)
			_, err := b.pictures.Get(ctx, cl, c.DisplayPicture)
			cancel()
			if err == nil {
				return strings.TrimSuffix(b.cfg.PictureURL, "/") + "/" + msnbridge.Key(c.DisplayPicture) + ".png"
			}
		}
	}
	return avatarURL(b.cfg.AvatarURL, email)
}

// PictureHandler serves the MSN display pictures the bridge fetched, at
// PREFIX/KEY.png: mount it where Config.PictureURL points.
func (b *Bridge) PictureHandler() http.Handler { return b.pictures.Handler() }

// fileFromMSN takes a file an MSN contact sends and posts it in the
// conversation's thread as an attachment, or says why it could not.
func (u *userSession) fileFromMSN(cl *client.Client, cv *client.Conversation, from string, t *client.Transfer) {
	key := u.keyFor(cv, from)
	go func() {
		m, err := msnbridge.ReceiveFile(u.b.ctx, t, u.b.cfg.FileLimit)
		u.b.q.Do(u.m2d(key), func() {
			name := u.contactName(cl, from)
			if err != nil {
				if th, terr := u.ensureThread(cl, key); terr == nil {
					u.b.notice(th, format.EscapeDiscord(msnbridge.FileNotice(err, t.Name, name, t.Size, true, u.b.cfg.FileLimit)))
				}
				return
			}
			u.postAll(cl, key, from, name, []outgoing{{file: m}}, "(file) "+m.Name)
		})
	}()
}

// filesToMSN offers a message's attachments to the conversation's
// contacts, each on its own (a file waits for its answer), and says in the
// thread what did not reach them.
func (u *userSession) filesToMSN(key, channelID string, as []*discordgo.MessageAttachment) {
	for _, a := range as {
		if a == nil {
			continue
		}
		go func() {
			err := u.fileToMSN(key, a)
			for to, e := range err {
				u.b.notice(channelID, "⚠️ "+format.EscapeDiscord(msnbridge.FileNotice(e, a.Filename, u.contactName(u.session().Current(), to), int64(a.Size), false, u.b.cfg.FileLimit)))
			}
		}()
	}
}

// fileToMSN sends one attachment to everyone in the conversation and
// returns who did not get it, and why.
func (u *userSession) fileToMSN(key string, a *discordgo.MessageAttachment) map[string]error {
	failed := map[string]error{}
	members := msnbridge.KeyMembers(key)
	fail := func(err error) map[string]error {
		for _, to := range members {
			failed[to] = err
		}
		return failed
	}
	if int64(a.Size) > u.b.fileLimit() {
		return fail(msnbridge.ErrTooLarge)
	}
	data, err := u.b.download(a.URL)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(u.b.ctx)
	defer cancel()
	cl, err := u.session().Client(ctx)
	if err != nil {
		return fail(err)
	}
	for _, to := range members {
		if err := msnbridge.SendFile(ctx, cl, to, a.Filename, int64(len(data)), u.b.fileLimit(), bytes.NewReader(data)); err != nil {
			failed[to] = err
		}
	}
	return failed
}

func (b *Bridge) fileLimit() int64 {
	if b.cfg.FileLimit > 0 {
		return b.cfg.FileLimit
	}
	return msnbridge.DefaultFileLimit
}

// download fetches an attachment from Discord's CDN, up to the file
// limit.
func (b *Bridge) download(url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.dg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot download it from Discord: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot download it from Discord: %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, b.fileLimit()+1))
	if err != nil {
		return nil, fmt.Errorf("cannot download it from Discord: %w", err)
	}
	if int64(len(data)) > b.fileLimit() {
		return nil, msnbridge.ErrTooLarge
	}
	return data, nil
}

// avatarPicture makes a Discord user's avatar the display picture of
// their hosted account. It runs at every sign-in of the bridge, so a
// changed avatar shows after the next.
func (u *userSession) avatarPicture() {
	if u.rec().Kind != KindHosted {
		return // an own account keeps the picture its owner chose
	}
	du, err := u.b.dg.User(u.id)
	if err != nil || du.Avatar == "" {
		return
	}
	data, err := u.b.download(du.AvatarURL("128"))
	if err != nil {
		u.log.Info().Err(err).Msg("cannot fetch the Discord avatar")
		return
	}
	pic, err := msnbridge.DisplayPicture(data)
	if err != nil {
		u.log.Info().Err(err).Msg("cannot use the Discord avatar as a display picture")
		return
	}
	ctx, cancel := context.WithTimeout(u.b.ctx, u.b.cfg.RequestTimeout)
	defer cancel()
	if err := u.session().SetPicture(ctx, pic); err != nil {
		u.log.Info().Err(err).Msg("cannot set the display picture")
	}
}

// fileFromMSN posts a file a member sends to the room's account in the
// room's channel as an attachment from them, or says why it could not;
// the other members on MSN hear that it was sent.
func (r *room) fileFromMSN(cl *client.Client, x *msnbridge.Extra) {
	t := x.Transfer
	go func() {
		m, err := msnbridge.ReceiveFile(r.b.ctx, t, r.b.cfg.FileLimit)
		r.b.q.Do(r.m2d(), func() {
			name := r.memberName(cl, x.From, x.FriendlyName)
			if err != nil {
				r.b.notice(r.rec().ChannelID, format.EscapeDiscord(msnbridge.FileNotice(err, t.Name, name, t.Size, true, r.b.cfg.FileLimit)))
				return
			}
			r.join(cl, x.From, name)
			rec := r.rec()
			ids, err := r.b.speak(rec.WebhookID, rec.WebhookToken, "", name, x.From, r.b.contactAvatar(cl, x.From), []outgoing{{file: m}})
			for _, id := range ids {
				r.b.record(id, rec.ChannelID, ToDiscord, "(file) "+m.Name, "(file) "+m.Name)
			}
			if err != nil {
				r.log.Warn().Err(err).Msg("cannot post a file to Discord")
				return
			}
			r.fanOut(cl, fmt.Sprintf("%s sent a file to the room, shown on Discord: %s (%s)", name, m.Name, msnbridge.HumanSize(int64(len(m.Data)))), nil, map[string]bool{strings.ToLower(x.From): true})
		})
	}()
}

// clipFetchWait bounds fetching a wink's or voice clip's file.
const clipFetchWait = 2 * time.Minute

// clipFromMSN posts a wink or voice clip as a file from the contact, with
// a line saying what it is; one that cannot be fetched is announced.
func (u *userSession) clipFromMSN(cl *client.Client, x *msnbridge.Extra) {
	key := u.keyFor(x.Conversation, x.From)
	go func() {
		ctx, cancel := context.WithTimeout(u.b.ctx, clipFetchWait)
		m, _, err := msnbridge.FetchClip(ctx, cl, x, u.b.fileLimit())
		cancel()
		u.b.q.Do(u.m2d(key), func() {
			name := u.contactName(cl, x.From)
			if err != nil {
				if th, terr := u.ensureThread(cl, key); terr == nil {
					u.b.notice(th, format.EscapeDiscord(x.Describe(name)))
				}
				return
			}
			u.postAll(cl, key, x.From, name, []outgoing{{text: "_" + format.EscapeDiscord(x.ClipNotice(name)) + "_", file: m}}, "(file) "+m.Name)
		})
	}()
}
