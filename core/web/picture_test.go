package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp/client"
)

// A Go client's display picture reaches the Web Messenger over P2P (an
// MSNSLP INVITE on a switchboard, the MSNC1 data and its ACKs) and shows in
// the contact list: the page's bytes are the picture's, and so are its
// pixels.
func TestWebMessengerShowsDisplayPictures(t *testing.T) {
	srv := coretest.Start(t)
	const alice, dave = "alice@example.com", "dave@example.com"
	srv.AddUser(t, alice, "alice-pw", "Alice")
	srv.AddUser(t, dave, "dave-pw", "Dave")

	// A noisy 64×64 PNG: several P2P chunks.
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = byte(rand.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	picture := buf.Bytes()
	if len(picture) < 3*1202 {
		t.Fatalf("picture of %d bytes is too small to need several chunks", len(picture))
	}

	a := newPage(t, browser(t), "alice's browser")
	a.signIn(srv.HTTPURL+"/web/", alice, "alice-pw")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dc, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: dave, Password: "dave-pw", DisplayPicture: picture,
		Passport: client.PassportConfig{URL: srv.HTTPURL}, RequestTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if err := dc.AddContact(ctx, alice); err != nil {
		t.Fatal(err)
	}
	a.wait("dave's request", `document.getElementById("requests").innerText.includes("dave@example.com")`)
	a.click("#requests .button.primary")

	dp := `document.querySelector('[data-email="dave@example.com"] img.contact-dp')`
	a.wait("dave's display picture", dp+`?.complete && `+dp+`.naturalWidth === 64`)
	// Every pixel, as the page draws it, is the picture's (opaque, so the
	// canvas gives back exactly what was encoded).
	pixels, _ := a.js(`(() => { const i = ` + dp + `; const c = document.createElement("canvas"); c.width = 64; c.height = 64;
		const g = c.getContext("2d"); g.drawImage(i, 0, 0); return btoa(String.fromCharCode(...g.getImageData(0, 0, 64, 64).data)); })()`).(string)
	if pixels != base64.StdEncoding.EncodeToString(img.Pix) {
		t.Fatal("the picture in the page is not the one dave published")
	}
	// A conversation with him shows it in its head.
	a.click(`[data-email="dave@example.com"]`)
	a.wait("his picture in the conversation", convPanel(dave)+`?.querySelector(".dp").src === `+dp+`.src`)
	if n := a.js(`Object.keys(messenger.pictures()).length`); n != float64(1) {
		t.Errorf("%v pictures fetched, want 1", n)
	}
}
