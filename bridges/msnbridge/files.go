package msnbridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/nudge-im/nudge/msnp/client"
)

// Files across a bridge, both ways, written once for every bridge: a file
// an MSN contact sends is taken whole (up to a limit) and handed to the
// bridge to upload; a file posted on the other network is offered to the
// MSN contact as a real transfer. Everything that does not make it comes
// back as a line for the conversation — never silence.

// DefaultFileLimit is the largest file a bridge carries when its
// configuration says nothing: Discord's limit for bots without boosts.
const DefaultFileLimit = 10 << 20

// fileWait bounds a whole transfer, from the offer to the last byte: the
// contact's answer (client.Config.OfferTimeout) and the bytes
// (client.Config.TransferTimeout without progress) have their own limits
// inside it.
const fileWait = 30 * time.Minute

// Media is a file that crossed the bridge from MSN.
type Media struct {
	Name string
	Data []byte
	// MIME is its content type, from its name or else its first bytes.
	MIME string
	// Image is set for a picture the other network can show inline.
	Image bool
}

// ErrTooLarge says a file is over the bridge's limit.
var ErrTooLarge = errors.New("msnbridge: the file is larger than the bridge carries")

// ReceiveFile takes the file a contact offers (a FileOffer's Transfer):
// it declines one larger than limit (ErrTooLarge), and otherwise accepts
// it and waits until it arrived whole. The bridge then uploads the Media and
// says so where the conversation is; on an error it says FileNotice.
func ReceiveFile(ctx context.Context, t *client.Transfer, limit int64) (*Media, error) {
	if limit <= 0 {
		limit = DefaultFileLimit
	}
	if t.Size > limit {
		t.Decline()
		return nil, ErrTooLarge
	}
	buf := &limitedBuffer{max: limit}
	if err := t.Accept(buf); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, fileWait)
	defer cancel()
	if err := t.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			t.Cancel()
		}
		return nil, err
	}
	return NewMedia(t.Name, buf.Bytes()), nil
}

// NewMedia names data's type for the other network.
func NewMedia(name string, data []byte) *Media {
	name = safeName(name)
	typ := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if typ == "" || typ == "application/octet-stream" {
		typ = http.DetectContentType(data)
	}
	typ, _, _ = strings.Cut(typ, ";")
	f := &Media{Name: name, Data: data, MIME: typ}
	switch typ {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		f.Image = isPicture(data) // the name may lie
	}
	if f.Image {
		f.MIME = http.DetectContentType(data)
	}
	return f
}

// safeName keeps a sent file's name from naming a place: the last part of
// a path, without control characters, never empty.
func safeName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		name = "file"
	}
	return name
}

// limitedBuffer keeps what a transfer writes, refusing more than max (a
// sender whose file is larger than it said).
type limitedBuffer struct {
	bytes.Buffer
	max int64
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if int64(b.Len()+len(p)) > b.max {
		return 0, ErrTooLarge
	}
	return b.Buffer.Write(p)
}

// SendFile offers a file to an MSN contact and waits until it went, they
// declined it or it failed; the error is for FileNotice. size over limit
// is ErrTooLarge, without an offer.
func SendFile(ctx context.Context, cl *client.Client, to, name string, size, limit int64, r io.Reader) error {
	if limit <= 0 {
		limit = DefaultFileLimit
	}
	if size > limit {
		return ErrTooLarge
	}
	ctx, cancel := context.WithTimeout(ctx, fileWait)
	defer cancel()
	t, err := cl.SendFile(ctx, to, client.File{Name: safeName(name), Size: size, Reader: r})
	if err != nil {
		return err
	}
	if err := t.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			t.Cancel()
		}
		return err
	}
	return nil
}

// FileNotice says in one line what became of a file that did not cross:
// name is the file's, who the MSN contact's, incoming whether it came from
// MSN, limit the bridge's.
func FileNotice(err error, name, who string, size int64, incoming bool, limit int64) string {
	if limit <= 0 {
		limit = DefaultFileLimit
	}
	what := name
	if size >= 0 {
		what += " (" + HumanSize(size) + ")"
	}
	switch {
	case errors.Is(err, ErrTooLarge) && incoming:
		return fmt.Sprintf("%s sent %s, which is larger than the bridge carries (%s): ask them for a link instead.", who, what, HumanSize(limit))
	case errors.Is(err, ErrTooLarge):
		return fmt.Sprintf("%s is larger than the bridge sends to MSN (%s): share a link instead.", what, HumanSize(limit))
	case errors.Is(err, client.ErrDeclined):
		return fmt.Sprintf("%s declined %s.", who, what)
	case errors.Is(err, client.ErrCancelled):
		if incoming {
			return fmt.Sprintf("%s stopped sending %s.", who, what)
		}
		return fmt.Sprintf("%s was cancelled before %s had it all.", what, who)
	case errors.Is(err, client.ErrTransferTimeout):
		if incoming {
			return fmt.Sprintf("%s from %s did not arrive: the transfer stalled.", what, who)
		}
		return fmt.Sprintf("%s did not reach %s: they did not answer, or the transfer stalled.", what, who)
	}
	if incoming {
		return fmt.Sprintf("%s from %s did not arrive: %s.", what, who, Explain(err, who))
	}
	return fmt.Sprintf("%s did not reach %s: %s.", what, who, Explain(err, who))
}

// FetchClip gets the file of a wink (a CAB archive holding a Flash
// animation, which only MSN Messenger plays) or a voice clip (a WAV file),
// for a bridge to post as a file under ClipNotice; ok is false for an
// Extra that is neither, or came without its object.
func FetchClip(ctx context.Context, cl *client.Client, x *Extra, limit int64) (m *Media, ok bool, err error) {
	if limit <= 0 {
		limit = DefaultFileLimit
	}
	var name string
	switch x.Kind {
	case Wink:
		name = "wink.cab"
	case VoiceClip:
		name = "voice-clip.wav"
	default:
		return nil, false, nil
	}
	if x.Object == nil {
		return nil, false, nil
	}
	if x.Object.Size > limit {
		return nil, true, ErrTooLarge
	}
	data, err := cl.FetchObject(ctx, x.Object)
	if err != nil {
		return nil, true, err
	}
	return NewMedia(name, data), true, nil
}

// ClipNotice says what a wink's or voice clip's file is, for the line
// posted with it.
func (x *Extra) ClipNotice(name string) string {
	if x.Kind == Wink {
		return name + " sent a wink: a Flash animation in a CAB archive, which MSN Messenger plays."
	}
	return name + " sent a voice clip."
}
