package msnbridge_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// picture makes a w×h picture, left half red and right half blue, encoded
// as PNG, JPEG or GIF.
func picture(t *testing.T, w, h int, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.RGBA{B: 255, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Avatars of any shape become 96×96 PNGs of their middle square.
func TestDisplayPicture(t *testing.T) {
	for _, tc := range []struct {
		format string
		w, h   int
	}{{"png", 400, 200}, {"jpeg", 128, 300}, {"gif", 40, 40}, {"png", 96, 96}} {
		out, err := msnbridge.DisplayPicture(picture(t, tc.w, tc.h, tc.format))
		if err != nil {
			t.Fatalf("%s %dx%d: %v", tc.format, tc.w, tc.h, err)
		}
		img, err := png.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", tc.format, err)
		}
		if b := img.Bounds(); b.Dx() != 96 || b.Dy() != 96 {
			t.Fatalf("%s: %v, want 96x96", tc.format, b)
		}
		// The middle square of a wide picture is half red, half blue; of
		// a tall one too (the halves are left and right).
		r, _, _, _ := img.At(10, 48).RGBA()
		_, _, bl, _ := img.At(85, 48).RGBA()
		if r>>8 < 200 || bl>>8 < 200 {
			t.Fatalf("%s %dx%d: left %v right %v", tc.format, tc.w, tc.h, img.At(10, 48), img.At(85, 48))
		}
	}
	if _, err := msnbridge.DisplayPicture([]byte("<html>not a picture</html>")); !errors.Is(err, msnbridge.ErrNotPicture) {
		t.Fatalf("garbage: %v", err)
	}
}

// pair signs in two accounts that have each other on their lists; each
// one's events go to its handler (nil: dropped).
func pair(t *testing.T, srv *coretest.Server, a, b string, cfgA, cfgB func(*client.Config), onA, onB func(client.Event)) (*client.Client, *client.Client) {
	t.Helper()
	open := func(email string, edit func(*client.Config), on func(client.Event)) *client.Client {
		cfg := config(srv, email, "pw")
		cfg.Reconnect = false
		if edit != nil {
			edit(&cfg)
		}
		cl, err := client.Dial(ctxT(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		go func() {
			for ev := range cl.Events() {
				if on != nil {
					on(ev)
				}
			}
		}()
		return cl
	}
	srv.AddUser(t, a, "pw", strings.SplitN(a, "@", 2)[0])
	srv.AddUser(t, b, "pw", strings.SplitN(b, "@", 2)[0])
	ca, cb := open(a, cfgA, onA), open(b, cfgB, onB)
	if err := ca.AddContact(ctxT(t), b); err != nil {
		t.Fatal(err)
	}
	if err := cb.AddContact(ctxT(t), a); err != nil {
		t.Fatal(err)
	}
	return ca, cb
}

// waitFor polls cond (a client's state, which has no event to wait on
// here) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A contact's picture is fetched once, kept by its SHA1D for every
// account, served at a stable address, and not asked for again soon
// after a failure.
func TestPictures(t *testing.T) {
	srv := coretest.Start(t)
	face := picture(t, 96, 96, "png")
	bridge, bob := pair(t, srv, "bridge@example.com", "bob@example.com", nil,
		func(c *client.Config) { c.DisplayPicture = face }, nil, nil)
	var obj *p2p.Object
	waitFor(t, "picture in bob's presence", func() bool {
		c, ok := bridge.Contact("bob@example.com")
		obj = c.DisplayPicture
		return ok && obj != nil
	})
	pics := msnbridge.NewPictures(nil)
	if _, ok := pics.Stored(obj); ok {
		t.Fatal("stored before any fetch")
	}
	got, err := pics.Get(ctxT(t), bridge, obj)
	if err != nil || !bytes.Equal(got, face) {
		t.Fatalf("Get: %v (%d bytes)", err, len(got))
	}
	// Bob leaves: the picture is still there, by its key.
	bob.Close()
	if got, err := pics.Get(ctxT(t), bridge, obj); err != nil || !bytes.Equal(got, face) {
		t.Fatalf("Get after bob left: %v", err)
	}
	key := msnbridge.Key(obj)
	if len(key) != 40 {
		t.Fatalf("key %q", key)
	}
	hs := httptest.NewServer(http.StripPrefix("/pictures", pics.Handler()))
	defer hs.Close()
	for path, want := range map[string]int{"/pictures/" + key + ".png": 200, "/pictures/" + strings.Repeat("ab", 20) + ".png": 404, "/pictures/nothex.png": 404} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s: %d, want %d", path, resp.StatusCode, want)
		}
		if want == 200 && (!bytes.Equal(body, face) || resp.Header.Get("Content-Type") != "image/png") {
			t.Fatalf("%s: %q %d bytes", path, resp.Header.Get("Content-Type"), len(body))
		}
	}
	// A picture whose owner is gone fails, and is not asked for again at
	// once.
	other := *obj
	other.SHA1D = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
	ctx, cancel := context.WithTimeout(ctxT(t), 90*time.Second)
	defer cancel()
	if _, err := pics.Get(ctx, bridge, &other); err == nil {
		t.Fatal("fetched a picture from someone offline")
	}
	if _, err := pics.Get(ctx, bridge, &other); !errors.Is(err, msnbridge.ErrPictureLater) {
		t.Fatalf("second try: %v, want ErrPictureLater", err)
	}
}

// A session's picture is what its contacts see, at once and after the
// next sign-in.
func TestSessionPicture(t *testing.T) {
	srv := coretest.Start(t)
	_, bob := pair(t, srv, "nelly@example.com", "bob@example.com", nil, nil, nil, nil)
	rec := newRecorder()
	s := msnbridge.NewSession(config(srv, "nelly@example.com", "pw"), zerolog.Nop(), rec.hooks())
	s.Start(ctxT(t), nil)
	defer s.Stop()
	rec.wait(t, "connected", func() bool { return rec.lastState() == "connected" })
	face := picture(t, 96, 96, "png")
	if err := s.SetPicture(ctxT(t), face); err != nil {
		t.Fatal(err)
	}
	seen := func() []byte {
		var got []byte
		waitFor(t, "nelly's picture", func() bool {
			c, _ := bob.Contact("nelly@example.com")
			if c.DisplayPicture == nil {
				return false
			}
			data, err := bob.FetchObject(ctxT(t), c.DisplayPicture)
			got = data
			return err == nil && bytes.Equal(data, face)
		})
		return got
	}
	seen()
	s.Stop()
	waitFor(t, "nelly offline", func() bool { c, _ := bob.Contact("nelly@example.com"); return c.Status == client.Offline })
	s.Start(ctxT(t), nil)
	seen()
}

// A file an MSN contact sends is taken whole under the limit and declined
// over it; a file the bridge sends is offered, and a refusal says so.
func TestFiles(t *testing.T) {
	srv := coretest.Start(t)
	offers := make(chan *client.Transfer, 4)
	bobDeclines := make(chan bool, 4)
	bridge, bob := pair(t, srv, "bridge@example.com", "bob@example.com", nil, nil,
		func(ev client.Event) {
			if o, ok := ev.(*client.FileOffer); ok {
				offers <- o.Transfer
			}
		},
		func(ev client.Event) {
			o, ok := ev.(*client.FileOffer)
			if !ok {
				return
			}
			if <-bobDeclines {
				o.Transfer.Decline()
				return
			}
			var sink bytes.Buffer
			o.Transfer.Accept(&sink)
		})
	ctx := ctxT(t)
	send := func(name string, data []byte) *client.Transfer {
		tr, err := bob.SendFile(ctx, "bridge@example.com", client.File{Name: name, Size: int64(len(data)), Reader: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	face := picture(t, 64, 64, "png")
	tr := send("../face.png", face)
	m, err := msnbridge.ReceiveFile(ctx, <-offers, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "face.png" || !bytes.Equal(m.Data, face) || m.MIME != "image/png" || !m.Image {
		t.Fatalf("received %q %s image=%v (%d bytes)", m.Name, m.MIME, m.Image, len(m.Data))
	}
	if err := tr.Wait(ctx); err != nil {
		t.Fatalf("sender: %v", err)
	}
	note := bytes.Repeat([]byte("MSN "), 1000)
	tr = send("note.txt", note)
	if _, err := msnbridge.ReceiveFile(ctx, <-offers, 1000); !errors.Is(err, msnbridge.ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	if err := tr.Wait(ctx); !errors.Is(err, client.ErrDeclined) {
		t.Fatalf("sender of a file over the limit: %v, want declined", err)
	}
	if n := msnbridge.FileNotice(msnbridge.ErrTooLarge, "note.txt", "Bob", 4000, true, 1000); n != "Bob sent note.txt (4 KB), which is larger than the bridge carries (1000 bytes): ask them for a link instead." {
		t.Fatalf("notice %q", n)
	}

	// The other way.
	bobDeclines <- false
	if err := msnbridge.SendFile(ctx, bridge, "bob@example.com", "hello.txt", int64(len(note)), 1<<20, bytes.NewReader(note)); err != nil {
		t.Fatal(err)
	}
	bobDeclines <- true
	err = msnbridge.SendFile(ctx, bridge, "bob@example.com", "hello.txt", int64(len(note)), 1<<20, bytes.NewReader(note))
	if !errors.Is(err, client.ErrDeclined) {
		t.Fatalf("declined: %v", err)
	}
	if n := msnbridge.FileNotice(err, "hello.txt", "Bob", int64(len(note)), false, 1<<20); n != "Bob declined hello.txt (4 KB)." {
		t.Fatalf("notice %q", n)
	}
	if err := msnbridge.SendFile(ctx, bridge, "bob@example.com", "big.bin", 2<<20, 1<<20, strings.NewReader("")); !errors.Is(err, msnbridge.ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

// Kept pictures outlive the bridge's memory: a new PictureDB on the same
// database has them.
func TestPictureDB(t *testing.T) {
	databases(t, func(t *testing.T, open func() *sql.DB) {
		db := open()
		p, err := msnbridge.OpenPictureDB(ctxT(t), db, "test_pictures")
		if err != nil {
			t.Fatal(err)
		}
		face := picture(t, 8, 8, "png")
		if _, ok := p.Get("c2hhMWQ="); ok {
			t.Fatal("a picture before any Put")
		}
		p.Put("c2hhMWQ=", face)
		p.Put("c2hhMWQ=", face) // again: no error, no change
		again, err := msnbridge.OpenPictureDB(ctxT(t), db, "test_pictures")
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := again.Get("c2hhMWQ="); !ok || !bytes.Equal(got, face) {
			t.Fatalf("after reopening: %v %d bytes", ok, len(got))
		}
		if _, err := msnbridge.OpenPictureDB(ctxT(t), db, "x; DROP TABLE y"); err == nil {
			t.Fatal("a table name with SQL in it")
		}
	})
}

// Announced emoticons go with the sender's next message only, and show
// where the message has their shortcuts, the longest first.
func TestEmoticons(t *testing.T) {
	var e msnbridge.Emoticons
	cat := &p2p.Object{SHA1D: "Y2F0"}
	catty := &p2p.Object{SHA1D: "Y2F0dHk="}
	e.Announce(&client.Emoticons{From: "Bob@example.com", Emoticons: []p2p.Emoticon{{Shortcut: "(cat)", Object: cat}, {Shortcut: "(cat)y", Object: catty}, {Shortcut: "<3", Object: cat}, {Shortcut: "(dog)", Object: cat}}})
	if used := e.Used(nil, "carol@example.com", "(cat)"); len(used) != 0 {
		t.Fatalf("someone else's emoticons: %v", used)
	}
	used := e.Used(nil, "bob@example.com", "a (cat)y and a (cat) <3")
	if len(used) != 3 || used[0].Shortcut != "(cat)y" {
		t.Fatalf("used %v", used)
	}
	got := msnbridge.InlineEmoticons("a (cat)y and a (cat) &lt;3 <b>(cat)</b>", used, func(em p2p.Emoticon) string {
		if em.Shortcut == "<3" {
			return "" // could not be had: stays as typed
		}
		return "[" + em.Object.SHA1D + "]"
	})
	if got != "a [Y2F0dHk=] and a [Y2F0] &lt;3 <b>[Y2F0]</b>" {
		t.Fatalf("inline %q", got)
	}
	if used := e.Used(nil, "bob@example.com", "(cat)"); len(used) != 0 {
		t.Fatalf("used twice: %v", used)
	}
}
