//go:build goolm

package matrix

import (
	"bytes"
	"context"
	"errors"
	"html"
	"image"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
	mxbridge "maunium.net/go/mautrix/bridgev2/matrix"
	"maunium.net/go/mautrix/bridgev2/networkid"
	"maunium.net/go/mautrix/bridgev2/simplevent"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// Pictures and files (bridges/msnbridge does the MSN side): a contact's
// display picture is their ghost's avatar, fetched the first time they
// write (never for every contact at sign-in) and uploaded once per
// picture — bridgev2 keeps the avatar's ID, the picture's SHA1D; a file a
// contact sends is uploaded to the media repository as m.image or m.file.

// pictureStore is the bridge's pictures, shared by every login.
func (mc *Connector) pictureStore() *msnbridge.Pictures {
	mc.picturesOnce.Do(func() { mc.pictures = msnbridge.NewPictures(nil) })
	return mc.pictures
}

// avatar is the ghost avatar of a contact whose picture the bridge has, or
// nil (left as it is) when it has none yet.
func (c *MSNClient) avatar(email string) *bridgev2.Avatar {
	cl := c.current()
	if cl == nil {
		return nil
	}
	ct, ok := cl.Contact(email)
	if !ok || ct.DisplayPicture == nil {
		return nil
	}
	data, ok := c.mc.pictureStore().Stored(ct.DisplayPicture)
	if !ok {
		return nil
	}
	return pictureAvatar(msnbridge.Key(ct.DisplayPicture), data)
}

func pictureAvatar(key string, data []byte) *bridgev2.Avatar {
	return &bridgev2.Avatar{ID: networkid.AvatarID(key), Get: func(context.Context) ([]byte, error) { return data, nil }}
}

// pictureFetchWait bounds a fetch of a display picture started because
// its owner wrote.
const pictureFetchWait = 2 * time.Minute

// showPicture makes a contact's display picture their ghost's avatar, when
// it changed since the bridge last set it: fetched from them now (they
// are writing, so the conversation is open and the fetch is cheap).
func (c *MSNClient) showPicture(cl *client.Client, email string) {
	if cl == nil {
		return
	}
	ct, ok := cl.Contact(email)
	if !ok || ct.DisplayPicture == nil {
		return
	}
	email = strings.ToLower(email)
	key := msnbridge.Key(ct.DisplayPicture)
	if was, ok := c.mc.avatars.Load(email); ok && was == key {
		return
	}
	c.mc.avatars.Store(email, key)
	obj := ct.DisplayPicture
	go func() {
		ctx, cancel := context.WithTimeout(c.log.WithContext(context.Background()), pictureFetchWait)
		defer cancel()
		data, err := c.mc.pictureStore().Get(ctx, cl, obj)
		if err != nil {
			c.log.Debug().Err(err).Str("contact", email).Msg("Could not fetch a display picture")
			c.mc.avatars.CompareAndDelete(email, key) // tried again when they next write
			return
		}
		ghost, err := c.mc.Bridge.GetGhostByID(ctx, userID(email))
		if err != nil || ghost == nil {
			c.log.Err(err).Str("contact", email).Msg("Could not get the ghost of a contact")
			return
		}
		ghost.UpdateInfo(ctx, &bridgev2.UserInfo{Avatar: pictureAvatar(key, data)})
	}()
}

// fileFromMSN takes a file a contact sends and posts it in the
// conversation's room, or says why it could not.
func (c *MSNClient) fileFromMSN(cl *client.Client, x *msnbridge.Extra) {
	t, limit := x.Transfer, c.mc.Config.MaxFileSize
	go func() {
		m, err := msnbridge.ReceiveFile(context.Background(), t, limit)
		if err != nil {
			name := c.contactName(cl, x.From, x.FriendlyName)
			c.queueText(cl, x.Conversation, x.From, event.MsgNotice, msnbridge.FileNotice(err, t.Name, name, t.Size, true, limit), "")
			return
		}
		c.queueFile(cl, x.Conversation, x.From, m)
	}()
}

// queueFile queues a file for Matrix from an MSN address: uploaded when
// its portal handles it, as its sender.
func (c *MSNClient) queueFile(cl *client.Client, conv *client.Conversation, from string, m *msnbridge.Media) {
	meta, id := c.incoming(cl, conv, from)
	logIDs := meta.LogContext
	meta.LogContext = func(lc zerolog.Context) zerolog.Context { return logIDs(lc).Str("file", m.Name) }
	c.queue(&simplevent.Message[*msnbridge.Media]{
		EventMeta:          meta,
		ID:                 id,
		Data:               m,
		ConvertMessageFunc: convertFile,
	})
}

// convertFile uploads a file to the media repository (encrypted in an
// encrypted room) and makes its m.image or m.file event.
func convertFile(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, m *msnbridge.Media) (*bridgev2.ConvertedMessage, error) {
	content := &event.MessageEventContent{
		MsgType:  event.MsgFile,
		Body:     m.Name,
		FileName: m.Name,
		Info:     &event.FileInfo{MimeType: m.MIME, Size: len(m.Data)},
	}
	if m.Image {
		content.MsgType = event.MsgImage
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(m.Data)); err == nil {
			content.Info.Width, content.Info.Height = cfg.Width, cfg.Height
		}
	}
	var err error
	content.URL, content.File, err = intent.UploadMedia(ctx, portal.MXID, m.Data, m.Name, m.MIME)
	if err != nil {
		return nil, err
	}
	return &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{
		Type:       event.EventMessage,
		Content:    content,
		DBMetadata: &MessageMetadata{Snippet: format.Snippet("(file) " + m.Name)},
	}}}, nil
}

// isFile reports whether a Matrix message is a file the bridge offers to
// MSN contacts as a file transfer.
func isFile(t event.MessageType) bool {
	switch t {
	case event.MsgImage, event.MsgVideo, event.MsgAudio, event.MsgFile:
		return true
	}
	return false
}

// fileToMSN offers a Matrix file to the portal's contacts as an MSN file
// transfer, with its caption as text. The offers wait for the contacts'
// answers on their own; what does not reach someone is said in the room.
// A file over the limit, or one that cannot be downloaded, is refused at
// once with the message's status.
func (c *MSNClient) fileToMSN(ctx context.Context, msg *bridgev2.MatrixMessage) (*bridgev2.MatrixMessageResponse, error) {
	content, portal, limit := msg.Content, msg.Portal, c.mc.Config.MaxFileSize
	name := content.GetFileName()
	if name == "" {
		name = "file"
	}
	refuse := func(text string) error {
		return bridgev2.WrapErrorInStatus(errors.New(text)).WithIsCertain(true).WithErrorAsMessage().WithSendNotice(true).
			WithErrorReason(event.MessageStatusUnsupported)
	}
	if content.Info != nil && int64(content.Info.Size) > limit {
		return nil, refuse("not sent: " + msnbridge.FileNotice(msnbridge.ErrTooLarge, name, "", int64(content.Info.Size), false, limit))
	}
	uri := content.URL
	if content.File != nil {
		uri = content.File.URL
	}
	data, err := c.mc.Bridge.Bot.DownloadMedia(ctx, uri, content.File)
	if err != nil {
		return nil, refuse("not sent: the bridge could not download the file: " + err.Error())
	}
	if int64(len(data)) > limit {
		return nil, refuse("not sent: " + msnbridge.FileNotice(msnbridge.ErrTooLarge, name, "", int64(len(data)), false, limit))
	}
	cl, err := c.client(ctx)
	if err != nil {
		return nil, c.sendError(portal, err)
	}
	to := []string{string(portal.ID)}
	if isGroup(portal.ID) {
		to = groupMembers(portal)
	}
	for _, email := range to {
		go func() {
			err := msnbridge.SendFile(context.Background(), cl, email, name, int64(len(data)), limit, bytes.NewReader(data))
			if err != nil {
				who := c.contactName(cl, email, "")
				c.roomNotice(c.log.WithContext(context.Background()), portal, "⚠️ "+msnbridge.FileNotice(err, name, who, int64(len(data)), false, limit))
			}
		}()
	}
	text := "(file) " + name
	if content.FileName != "" && content.Body != "" && content.Body != content.FileName {
		caption, f := content.Body, (*message.Format)(nil)
		if content.Format == event.FormatHTML {
			caption, f = format.MatrixToMSN(content.Body, content.FormattedBody)
		}
		if err := c.sendText(ctx, portal, caption, f); err != nil {
			return nil, err
		}
		text = caption
	}
	return c.response(text), nil
}

// avatarPicture makes a hosted user's Matrix avatar their MSN display
// picture, at every sign-in (nothing is sent when it did not change).
func (c *MSNClient) avatarPicture(ctx context.Context) {
	if !c.meta.Hosted {
		return // an own account keeps the picture its owner chose
	}
	m, ok := c.mc.Bridge.Matrix.(*mxbridge.Connector)
	if !ok {
		return
	}
	p, err := m.Bot.GetProfile(ctx, c.login.UserMXID)
	if err != nil || p.AvatarURL.IsEmpty() {
		return
	}
	data, err := c.mc.Bridge.Bot.DownloadMedia(ctx, p.AvatarURL.CUString(), nil)
	if err != nil {
		c.log.Info().Err(err).Msg("Could not download the Matrix avatar")
		return
	}
	pic, err := msnbridge.DisplayPicture(data)
	if err != nil {
		c.log.Info().Err(err).Msg("The Matrix avatar cannot be a display picture")
		return
	}
	if err := c.sess.SetPicture(ctx, pic); err != nil {
		c.log.Info().Err(err).Msg("Could not set the display picture")
	}
}

// clipFetchWait bounds fetching a wink's or voice clip's file.
const clipFetchWait = 2 * time.Minute

// clipFromMSN posts a wink or voice clip as a file from the contact after
// a notice saying what it is; one that cannot be fetched is announced.
func (c *MSNClient) clipFromMSN(cl *client.Client, x *msnbridge.Extra) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), clipFetchWait)
		m, _, err := msnbridge.FetchClip(ctx, cl, x, c.mc.Config.MaxFileSize)
		cancel()
		name := c.contactName(cl, x.From, x.FriendlyName)
		if err != nil {
			c.queueText(cl, x.Conversation, x.From, event.MsgNotice, x.Describe(name), "")
			return
		}
		c.queueText(cl, x.Conversation, x.From, event.MsgNotice, x.ClipNotice(name), "")
		c.queueFile(cl, x.Conversation, x.From, m)
	}()
}

// emoticonText is a message that uses custom emoticons.
type emoticonText struct {
	cl         *client.Client
	body, html string
	used       []p2p.Emoticon
}

// emoticonFetchWait bounds fetching one emoticon's picture; the sender is
// in the conversation, so it is quick, and a message is not held long for
// a picture.
const emoticonFetchWait = 20 * time.Second

// queueEmoticonText queues a message whose custom emoticons show inline:
// each picture is fetched from the sender and uploaded (once per picture)
// when the portal handles the message. One that cannot be stays as typed.
func (c *MSNClient) queueEmoticonText(cl *client.Client, conv *client.Conversation, from, body, htmlText string, used []p2p.Emoticon) {
	meta, id := c.incoming(cl, conv, from)
	c.queue(&simplevent.Message[*emoticonText]{
		EventMeta:          meta,
		ID:                 id,
		Data:               &emoticonText{cl: cl, body: body, html: htmlText, used: used},
		ConvertMessageFunc: c.convertEmoticonText,
	})
}

func (c *MSNClient) convertEmoticonText(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, d *emoticonText) (*bridgev2.ConvertedMessage, error) {
	htmlText := d.html
	if htmlText == "" {
		htmlText = strings.ReplaceAll(html.EscapeString(d.body), "\n", "<br>")
	}
	htmlText = msnbridge.InlineEmoticons(htmlText, d.used, func(em p2p.Emoticon) string {
		mxc := c.emoticonURL(ctx, portal, intent, d.cl, em)
		if mxc == "" {
			return ""
		}
		alt := html.EscapeString(em.Shortcut)
		return `<img data-mx-emoticon src="` + html.EscapeString(string(mxc)) + `" alt="` + alt + `" title="` + alt + `" height="32">`
	})
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: d.body, Format: event.FormatHTML, FormattedBody: htmlText}
	return &bridgev2.ConvertedMessage{Parts: []*bridgev2.ConvertedMessagePart{{
		Type:       event.EventMessage,
		Content:    content,
		DBMetadata: &MessageMetadata{Snippet: format.Snippet(d.body)},
	}}}, nil
}

// emoticonURL is the mxc:// address of an emoticon's picture, uploaded
// the first time; "" when it cannot be had, or the room is encrypted
// (inline pictures cannot be).
func (c *MSNClient) emoticonURL(ctx context.Context, portal *bridgev2.Portal, intent bridgev2.MatrixAPI, cl *client.Client, em p2p.Emoticon) id.ContentURIString {
	if v, ok := c.mc.emoticonMXC.Load(em.Object.SHA1D); ok {
		return v.(id.ContentURIString)
	}
	fctx, cancel := context.WithTimeout(ctx, emoticonFetchWait)
	defer cancel()
	data, err := cl.FetchObject(fctx, em.Object)
	if err != nil {
		c.log.Debug().Err(err).Str("shortcut", em.Shortcut).Msg("Could not fetch a custom emoticon")
		return ""
	}
	m := msnbridge.NewMedia("emoticon", data)
	if !m.Image {
		return ""
	}
	mxc, file, err := intent.UploadMedia(ctx, portal.MXID, data, "emoticon", m.MIME)
	if err != nil || file != nil {
		return ""
	}
	c.mc.emoticonMXC.Store(em.Object.SHA1D, mxc)
	return mxc
}
