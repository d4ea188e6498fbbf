package discord_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/bridges/discord"
	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/msnp/client"
)

// face makes a w×h PNG of one colour.
func face(t *testing.T, w, h int, c color.RGBA) []byte {
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

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	data, _ := io.ReadAll(resp.Body)
	return data
}

// Display pictures and files cross both ways: an MSN contact's picture is
// their webhook avatar, served at the bridge's picture address; a Discord
// user's avatar is their hosted account's display picture; files an MSN
// contact sends are attachments (or a notice when too large), and
// attachments posted in the thread are offered to the contact (a notice
// when declined).
func TestPicturesAndFiles(t *testing.T) {
	var h *harness
	pics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.StripPrefix("/pictures", h.b.PictureHandler()).ServeHTTP(w, r)
	}))
	defer pics.Close()
	const limit = 64 << 10
	h = newHarness(t, func(c *discord.Config) {
		c.PictureURL = pics.URL + "/pictures/"
		c.FileLimit = limit
	})
	ctx := ctxT(t)

	// Nelly's Discord avatar, 256×256, becomes her MSN picture at 96×96.
	red := color.RGBA{R: 250, A: 255}
	if err := h.dc.SetAvatar(h.nelly.ID, face(t, 256, 256, red), "image/png"); err != nil {
		t.Fatal(err)
	}
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	h.srv.AddUser(t, "bob@example.com", "pw-bob", "Bob")
	if r := h.run(h.nelly, ch, "msn add", map[string]any{"contact": "bob@example.com"}); !strings.Contains(r.Content, "Added") {
		t.Fatalf("add: %+v", r)
	}

	// Bob has a display picture of his own.
	bobFace := face(t, 96, 96, color.RGBA{B: 250, A: 255})
	bob := h.dialPeer("bob@example.com", "pw-bob")
	if err := bob.cl.SetDisplayPicture(ctx, bobFace); err != nil {
		t.Fatal(err)
	}
	if err := bob.cl.AddContact(ctx, nellyMSN); err != nil {
		t.Fatal(err)
	}
	bob.waitPresence(nellyMSN, client.Online)
	var got []byte
	bob.wait("nelly's display picture", func(client.Event) bool {
		c, _ := bob.cl.Contact(nellyMSN)
		if c.DisplayPicture == nil {
			return false
		}
		data, err := bob.cl.FetchObject(ctx, c.DisplayPicture)
		got = data
		return err == nil
	})
	img, err := png.Decode(bytes.NewReader(got))
	if err != nil || img.Bounds().Dx() != 96 || img.Bounds().Dy() != 96 {
		t.Fatalf("nelly's picture on MSN: %v %v", err, img)
	}
	if r, g, b, _ := img.At(48, 48).RGBA(); r>>8 != 250 || g != 0 || b != 0 {
		t.Fatalf("nelly's picture is %v, not her red avatar", img.At(48, 48))
	}

	// Bob writes: he speaks with his own picture, which the bridge serves.
	bob.say(nellyMSN, "see my face?", nil)
	th := h.thread(ch, "Bob (bob@example.com)")
	h.waitContent(th, "see my face?")
	bob.say(nellyMSN, "and now?", nil)
	m := h.waitContent(th, "and now?")
	avatar := h.dc.WebhookAvatarURL(m.ID)
	if !strings.HasPrefix(avatar, pics.URL+"/pictures/") || !bytes.Equal(get(t, avatar), bobFace) {
		t.Fatalf("bob's webhook avatar %q", avatar)
	}

	// Bob sends a photo: an attachment in the thread, byte for byte.
	photo := face(t, 40, 30, color.RGBA{G: 200, A: 255})
	sendTo := func(name string, data []byte) *client.Transfer {
		tr, err := bob.cl.SendFile(ctx, nellyMSN, client.File{Name: name, Size: int64(len(data)), Reader: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tr := sendTo("photo.png", photo)
	m = h.waitMessage(th, func(m discordtest.Message) bool { return len(m.Attachments) == 1 })
	if a := m.Attachments[0]; a.Filename != "photo.png" || a.ContentType != "image/png" || m.Author.Username != "Bob" || !bytes.Equal(get(t, a.URL), photo) {
		t.Fatalf("attachment %+v by %s", a, m.Author.Username)
	}
	if err := tr.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// Too large: declined, and Nelly is told.
	tr = sendTo("movie.avi", bytes.Repeat([]byte{1}, limit+1))
	h.waitMessage(th, func(m discordtest.Message) bool {
		return strings.Contains(m.Content, "Bob sent movie.avi") && strings.Contains(m.Content, "larger than the bridge carries (64 KB)")
	})
	if err := tr.Wait(ctx); !errors.Is(err, client.ErrDeclined) {
		t.Fatalf("bob's over-limit file: %v", err)
	}

	// Nelly posts a file in the thread: Bob is offered it and takes it.
	doc := []byte(strings.Repeat("minutes of the meeting\n", 100))
	h.post(th, h.nelly, "the minutes", discordtest.File{Name: "minutes.txt", ContentType: "text/plain", Data: doc})
	bob.waitText("the minutes")
	offer := bob.wait("a file offer", func(ev client.Event) bool { _, ok := ev.(*client.FileOffer); return ok }).(*client.FileOffer)
	if offer.Transfer.Name != "minutes.txt" || offer.Transfer.Size != int64(len(doc)) {
		t.Fatalf("offer %v", offer.Transfer)
	}
	var into bytes.Buffer
	offer.Transfer.Accept(&into)
	if err := offer.Transfer.Wait(ctx); err != nil || !bytes.Equal(into.Bytes(), doc) {
		t.Fatalf("bob got %d bytes: %v", into.Len(), err)
	}
	if strings.Contains(strings.Join(bob.texts(), "\n"), "minutes.txt") {
		t.Fatalf("the file went as a link too: %q", bob.texts())
	}
	// He declines the next one, and Nelly is told.
	h.post(th, h.nelly, "", discordtest.File{Name: "more.txt", ContentType: "text/plain", Data: doc})
	bob.wait("a second file offer", func(ev client.Event) bool {
		o, ok := ev.(*client.FileOffer)
		if ok && o.Transfer.Name == "more.txt" {
			o.Transfer.Decline()
		}
		return ok && o.Transfer.Name == "more.txt"
	})
	h.waitMessage(th, func(m discordtest.Message) bool { return strings.Contains(m.Content, "Bob declined more.txt") })
	// A voice clip arrives as a file with a line saying what it is.
	clip := append([]byte("RIFF\x00\x10\x00\x00WAVEfmt "), bytes.Repeat([]byte{7}, 4000)...)
	cv, err := bob.cl.Conversation(ctx, nellyMSN)
	if err != nil {
		t.Fatal(err)
	}
	if err := cv.SendVoiceClip(ctx, clip); err != nil {
		t.Fatal(err)
	}
	m = h.waitMessage(th, func(m discordtest.Message) bool {
		return len(m.Attachments) == 1 && m.Attachments[0].Filename == "voice-clip.wav"
	})
	if !strings.Contains(m.Content, "Bob sent a voice clip") || m.Author.Username != "Bob" || !bytes.Equal(get(t, m.Attachments[0].URL), clip) {
		t.Fatalf("voice clip %q by %s", m.Content, m.Author.Username)
	}

	// Over the limit: not offered, and Nelly is told.
	h.post(th, h.nelly, "", discordtest.File{Name: "huge.bin", ContentType: "application/octet-stream", Data: bytes.Repeat([]byte{2}, limit+1)})
	h.waitMessage(th, func(m discordtest.Message) bool {
		return strings.Contains(m.Content, "huge.bin") && strings.Contains(m.Content, "larger than the bridge sends to MSN")
	})
}

// A file a member sends to a bridged room is posted in its channel as an
// attachment from them, and the other members on MSN hear of it.
func TestRoomFile(t *testing.T) {
	h := newHarness(t)
	ctx := ctxT(t)
	if r := h.run(h.admin, h.general, "msn bridge", nil); !strings.Contains(r.Content, "**general@"+domain+"**") {
		t.Fatalf("bridge reply %+v", r)
	}
	room := "general@" + domain
	bob, carol := h.peer("bob@example.com", "Bob"), h.peer("carol@example.com", "Carol")
	for _, p := range []*peer{bob, carol} {
		if err := p.cl.AddContact(ctx, room); err != nil {
			t.Fatal(err)
		}
		p.waitPresence(room, client.Online)
	}
	carol.say(room, "hello room", nil) // carol is in a conversation with the room
	h.waitMessage(h.general, func(m discordtest.Message) bool { return m.Content == "hello room" })
	photo := face(t, 30, 30, color.RGBA{G: 250, A: 255})
	tr, err := bob.cl.SendFile(ctx, room, client.File{Name: "photo.png", Size: int64(len(photo)), Reader: bytes.NewReader(photo)})
	if err != nil {
		t.Fatal(err)
	}
	m := h.waitMessage(h.general, func(m discordtest.Message) bool { return len(m.Attachments) == 1 })
	if a := m.Attachments[0]; a.Filename != "photo.png" || m.Author.Username != "Bob" || !bytes.Equal(get(t, a.URL), photo) {
		t.Fatalf("attachment %+v by %s", a, m.Author.Username)
	}
	if err := tr.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	carol.wait("news of the file", func(ev client.Event) bool {
		mm, ok := ev.(*client.Message)
		return ok && strings.Contains(mm.Text, "Bob sent a file to the room") && strings.Contains(mm.Text, "photo.png")
	})
}
