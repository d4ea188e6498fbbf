//go:build goolm

package matrix_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/nudge-im/nudge/bridges/matrix/matrixtest"
	"github.com/nudge-im/nudge/msnp/client"
)

func solidPNG(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An MSN contact's display picture becomes their ghost's avatar once they
// write, and a file they send arrives as an m.image uploaded to the media
// repository, byte for byte, against a real Dendrite.
func TestPicturesAndFiles(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	alice := e.hs.NewUser(t, "alice")
	// Her Matrix avatar, 200×100, becomes her hosted account's picture.
	up, err := alice.UploadBytes(ctx, solidPNG(t, 200, 100, color.RGBA{R: 240, A: 255}), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.SetAvatarURL(ctx, up.ContentURI); err != nil {
		t.Fatal(err)
	}
	mgmt := alice.DirectChat(t, bot)
	alice.WaitEvent(t, "the bot joining", joined(mgmt, bot))
	say := func(command, reply string) {
		t.Helper()
		mark := alice.Mark()
		alice.Send(t, mgmt, command)
		alice.WaitSince(t, mark, "the reply to "+command, botSays(mgmt, reply))
	}
	say("login hosted", "Signed in to your hosted MSN account, "+aliceMSN)

	e.srv.AddUser(t, "bob@example.com", "bob-secret", "Bob")
	bob := dialMSN(t, e.srv, "bob@example.com", "bob-secret")
	face := solidPNG(t, 96, 96, color.RGBA{B: 240, A: 255})
	if err := bob.SetDisplayPicture(ctx, face); err != nil {
		t.Fatal(err)
	}
	if err := bob.AddContact(ctx, aliceMSN); err != nil {
		t.Fatal(err)
	}
	alice.WaitEvent(t, "the contact request", botSays(mgmt, "(bob@example.com) added you"))
	say("accept bob@example.com", "Added bob@example.com back")

	conv, err := bob.Conversation(ctx, aliceMSN)
	if err != nil {
		t.Fatal(err)
	}
	if err := conv.Send(ctx, "look at me"); err != nil {
		t.Fatal(err)
	}
	dm := alice.WaitEvent(t, "bob's message", matrixtest.Message("", ghost("bob@example.com"), "look at me")).RoomID

	// His ghost's avatar is his picture.
	deadline := time.Now().Add(matrixtest.Timeout)
	for {
		if mxc, err := alice.GetAvatarURL(ctx, ghost("bob@example.com")); err == nil && !mxc.IsEmpty() {
			got, err := alice.DownloadBytes(ctx, mxc)
			if err != nil || !bytes.Equal(got, face) {
				t.Fatalf("bob's avatar: %v (%d bytes)", err, len(got))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob's ghost has no avatar")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A photo he sends is an m.image in the room.
	photo := solidPNG(t, 40, 30, color.RGBA{G: 200, A: 255})
	tr, err := bob.SendFile(ctx, aliceMSN, client.File{Name: "photo.png", Size: int64(len(photo)), Reader: bytes.NewReader(photo)})
	if err != nil {
		t.Fatal(err)
	}
	ev := alice.WaitEvent(t, "the photo", func(ev *event.Event) bool {
		if ev.Type != event.EventMessage || ev.RoomID != dm || ev.Sender != ghost("bob@example.com") {
			return false
		}
		_ = ev.Content.ParseRaw(ev.Type)
		c := ev.Content.AsMessage()
		return c != nil && c.MsgType == event.MsgImage
	})
	c := ev.Content.AsMessage()
	if c.Body != "photo.png" || c.Info == nil || c.Info.MimeType != "image/png" || c.Info.Width != 40 || c.Info.Height != 30 {
		t.Fatalf("image event %+v %+v", c, c.Info)
	}
	mxc, err := c.URL.Parse()
	if err != nil {
		t.Fatal(err)
	}
	got, err := alice.DownloadBytes(ctx, mxc)
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("the photo from the media repository: %v (%d bytes)", err, len(got))
	}
	if err := tr.Wait(ctx); err != nil {
		t.Fatalf("bob's transfer: %v", err)
	}

	// A custom emoticon shows inline, uploaded once.
	kitty := solidPNG(t, 19, 19, color.RGBA{R: 200, G: 100, A: 255})
	if err := conv.SendEmoticons(ctx, map[string][]byte{"(kitty)": kitty}); err != nil {
		t.Fatal(err)
	}
	if err := conv.Send(ctx, "hi (kitty) & bye"); err != nil {
		t.Fatal(err)
	}
	ev = alice.WaitEvent(t, "the emoticon message", matrixtest.Message(dm, ghost("bob@example.com"), "hi (kitty) & bye"))
	html := ev.Content.AsMessage().FormattedBody
	_, src, ok := strings.Cut(html, `<img data-mx-emoticon src="`)
	src, _, _ = strings.Cut(src, `"`)
	if !ok || !strings.HasPrefix(src, "mxc://") || !strings.Contains(html, `alt="(kitty)"`) || !strings.HasPrefix(html, "hi <img") || !strings.HasSuffix(html, "&amp; bye") {
		t.Fatalf("emoticon message HTML %q", html)
	}
	if got, err := alice.DownloadBytes(ctx, id.ContentURIString(src).ParseOrIgnore()); err != nil || !bytes.Equal(got, kitty) {
		t.Fatalf("the emoticon from the media repository: %v (%d bytes)", err, len(got))
	}

	// A voice clip is a notice and its file.
	clip := append([]byte("RIFF\x00\x10\x00\x00WAVEfmt "), bytes.Repeat([]byte{7}, 4000)...)
	if err := conv.SendVoiceClip(ctx, clip); err != nil {
		t.Fatal(err)
	}
	alice.WaitEvent(t, "the voice clip notice", matrixtest.Message(dm, ghost("bob@example.com"), "Bob sent a voice clip."))
	ev = alice.WaitEvent(t, "the voice clip", matrixtest.Message(dm, ghost("bob@example.com"), "voice-clip.wav"))
	if c := ev.Content.AsMessage(); c.MsgType != event.MsgFile {
		t.Fatalf("voice clip event %+v", c)
	} else if mxc, err := c.URL.Parse(); err != nil {
		t.Fatal(err)
	} else if got, err := alice.DownloadBytes(ctx, mxc); err != nil || !bytes.Equal(got, clip) {
		t.Fatalf("the voice clip from the media repository: %v (%d bytes)", err, len(got))
	}

	// Bob sees Alice's avatar as her display picture, 96×96.
	var pic []byte
	for deadline := time.Now().Add(matrixtest.Timeout); ; {
		if c, ok := bob.Contact(aliceMSN); ok && c.DisplayPicture != nil {
			if pic, err = bob.FetchObject(ctx, c.DisplayPicture); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("alice has no display picture on MSN")
		}
		time.Sleep(200 * time.Millisecond)
	}
	img, err := png.Decode(bytes.NewReader(pic))
	if err != nil || img.Bounds().Dx() != 96 || img.Bounds().Dy() != 96 {
		t.Fatalf("alice's picture: %v", err)
	}
	if r, _, _, _ := img.At(48, 48).RGBA(); r>>8 != 240 {
		t.Fatalf("alice's picture is %v, not her red avatar", img.At(48, 48))
	}

	// A file Alice posts is offered to Bob, with its caption as text.
	doc := bytes.Repeat([]byte("notes from Matrix\n"), 50)
	upload := func(name, caption string) {
		t.Helper()
		up, err := alice.UploadBytes(ctx, doc, "text/plain")
		if err != nil {
			t.Fatal(err)
		}
		alice.SendContent(t, dm, &event.MessageEventContent{MsgType: event.MsgFile, Body: caption, FileName: name,
			URL: up.ContentURI.CUString(), Info: &event.FileInfo{MimeType: "text/plain", Size: len(doc)}})
	}
	offer := func(name string) *client.Transfer {
		t.Helper()
		return bob.wait(t, "the offer of "+name, func(ev client.Event) bool {
			o, ok := ev.(*client.FileOffer)
			return ok && o.Transfer.Name == name
		}).(*client.FileOffer).Transfer
	}
	upload("notes.txt", "the notes")
	bob.wait(t, "the caption", text(aliceMSN, "the notes"))
	in := offer("notes.txt")
	var into bytes.Buffer
	in.Accept(&into)
	if err := in.Wait(ctx); err != nil || !bytes.Equal(into.Bytes(), doc) {
		t.Fatalf("bob got %d bytes: %v", into.Len(), err)
	}
	// Declined: Alice is told in the room.
	upload("more.txt", "more.txt")
	offer("more.txt").Decline()
	alice.WaitEvent(t, "the decline notice", matrixtest.Message(dm, "", "Bob declined more.txt"))
}
