package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// These tests move pictures and files between two clients through the
// real service.

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// friends signs in Alice and Bob, each on the other's list.
func friends(t *testing.T, srv *coretest.Server, va, vb msnp.Version, tune func(a, b *client.Config)) (a, b *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfgA := userConfig(srv, newUser(t, srv, "alice"), va)
	cfgB := userConfig(srv, newUser(t, srv, "bob"), vb)
	if tune != nil {
		tune(&cfgA, &cfgB)
	}
	a, b = dial(t, cfgA), dial(t, cfgB)
	if err := a.AddContact(ctx, cfgB.Email); err != nil {
		t.Fatal(err)
	}
	if err := b.AddContact(ctx, cfgA.Email); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// Display pictures: announced in presence, fetched over P2P and checked,
// cached, changed and removed; at several pairs of versions.
func TestServerDisplayPicture(t *testing.T) {
	srv := coretest.Start(t)
	for _, pair := range [][2]msnp.Version{{9, 9}, {12, 10}, {11, 12}, {18, 18}, {18, 12}, {15, 18}} {
		t.Run(fmt.Sprintf("%v-%v", pair[0], pair[1]), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			picture := randomBytes(20000) // several chunks
			a, b := friends(t, srv, pair[0], pair[1], func(a, _ *client.Config) { a.DisplayPicture = picture })
			aEmail := a.Self().Email

			ch := next[*client.DisplayPictureChanged](t, b)
			if ch.Email != aEmail || ch.Object == nil || ch.Object.Type != p2p.TypeDisplayPicture || ch.Object.SHA1D != p2p.SHA1D(picture) {
				t.Fatalf("change %+v", ch)
			}
			got, err := b.FetchObject(ctx, ch.Object)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, picture) {
				t.Fatal("picture differs")
			}
			if ct, _ := b.Contact(aEmail); ct.DisplayPicture == nil || ct.DisplayPicture.SHA1D != ch.Object.SHA1D {
				t.Errorf("contact %+v", ct)
			}
			if got, ok, err := b.FetchDisplayPicture(ctx, aEmail); err != nil || !ok || !bytes.Equal(got, picture) {
				t.Errorf("FetchDisplayPicture: %v %v", ok, err)
			}

			// A new picture replaces it; the old one is no longer served.
			picture2 := randomBytes(700)
			if err := a.SetDisplayPicture(ctx, picture2); err != nil {
				t.Fatal(err)
			}
			ch2 := next[*client.DisplayPictureChanged](t, b)
			if ch2.Object == nil || ch2.Object.SHA1D != p2p.SHA1D(picture2) {
				t.Fatalf("change %+v", ch2)
			}
			if got, err := b.FetchObject(ctx, ch2.Object); err != nil || !bytes.Equal(got, picture2) {
				t.Fatalf("second picture: %v", err)
			}

			// An object nobody published is declined.
			bogus := p2p.NewObject(aEmail, p2p.TypeDisplayPicture, "x", []byte("never published"))
			if _, err := b.FetchObject(ctx, bogus); !errors.Is(err, client.ErrDeclined) {
				t.Errorf("unpublished object: %v", err)
			}

			if err := a.SetDisplayPicture(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if ch := next[*client.DisplayPictureChanged](t, b); ch.Object != nil {
				t.Errorf("removal %+v", ch)
			}
		})
	}
}

// Asking an offline contact for an object fails at once, not after the
// transfer timeout.
func TestServerFetchFromOffline(t *testing.T) {
	srv := coretest.Start(t)
	c := dial(t, userConfig(srv, newUser(t, srv, "alice"), 12))
	carol := newUser(t, srv, "carol")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.FetchObject(ctx, p2p.NewObject(carol, p2p.TypeDisplayPicture, "x", []byte("y")))
	if !errors.Is(err, msnp.ErrNotOnline) {
		t.Errorf("%v", err)
	}
}

// An old client (MSNP8) has no display pictures; asking for them says so.
func TestServerDisplayPictureNeedsMSNP9(t *testing.T) {
	srv := coretest.Start(t)
	c := dial(t, userConfig(srv, newUser(t, srv, "old"), 8))
	if err := c.SetDisplayPicture(context.Background(), []byte("x")); !errors.Is(err, client.ErrNotSupported) {
		t.Errorf("%v", err)
	}
}

// sendAndReceive sends data from a to b and checks it arrived whole.
func sendAndReceive(t *testing.T, a, b *client.Client, name string, data []byte, preview []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tr, err := a.SendFile(ctx, b.Self().Email, client.File{Name: name, Size: int64(len(data)), Reader: bytes.NewReader(data), Preview: preview})
	if err != nil {
		t.Fatal(err)
	}
	offer := next[*client.FileOffer](t, b)
	in := offer.Transfer
	if offer.From != a.Self().Email || in.Name != name || in.Size != int64(len(data)) || !in.Incoming || !bytes.Equal(in.Preview, preview) {
		t.Fatalf("offer %+v", in)
	}
	var got bytes.Buffer
	if err := in.Accept(&got); err != nil {
		t.Fatal(err)
	}
	if err := in.Wait(ctx); err != nil {
		t.Fatalf("receiving: %v", err)
	}
	if err := tr.Wait(ctx); err != nil {
		t.Fatalf("sending: %v", err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("received %d bytes, not the %d sent", got.Len(), len(data))
	}
	if done, total := tr.Progress(); done != total {
		t.Errorf("sender's progress %d/%d", done, total)
	}
}

// Files, byte for byte, with a preview, at several pairs of versions and
// both ways; a file of size 0 too.
func TestServerFileTransfer(t *testing.T) {
	srv := coretest.Start(t)
	for _, pair := range [][2]msnp.Version{{9, 12}, {12, 9}, {11, 11}, {18, 18}, {12, 18}} {
		t.Run(fmt.Sprintf("%v-%v", pair[0], pair[1]), func(t *testing.T) {
			t.Parallel()
			a, b := friends(t, srv, pair[0], pair[1], nil)
			sendAndReceive(t, a, b, "photo ünïcödé.jpg", randomBytes(300000), []byte("\x89PNG preview"))
			sendAndReceive(t, b, a, "empty.txt", nil, nil)
			sendAndReceive(t, b, a, "one.bin", randomBytes(1), nil)
		})
	}
}

// Clients without P2P (MSNP2–8) and those talking to them use MSNFTP.
func TestServerLegacyFileTransfer(t *testing.T) {
	srv := coretest.Start(t)
	for _, pair := range [][2]msnp.Version{{7, 7}, {12, 5}, {8, 11}} {
		t.Run(fmt.Sprintf("%v-%v", pair[0], pair[1]), func(t *testing.T) {
			t.Parallel()
			a, b := friends(t, srv, pair[0], pair[1], nil)
			// The one with a newer version must know the other is old.
			next[*client.Presence](t, a)
			next[*client.Presence](t, b)
			data := randomBytes(100000)
			sendAndReceive(t, a, b, "readme.txt", data, nil)
			sendAndReceive(t, b, a, "back.txt", data[:5000], nil)
		})
	}
}

// Declined offers, both protocols.
func TestServerFileDeclined(t *testing.T) {
	srv := coretest.Start(t)
	for _, v := range []msnp.Version{12, 7, 18} {
		t.Run(v.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, b := friends(t, srv, v, v, nil)
			tr, err := a.SendFile(ctx, b.Self().Email, client.File{Name: "no.txt", Size: 3, Reader: bytes.NewReader([]byte("abc"))})
			if err != nil {
				t.Fatal(err)
			}
			offer := next[*client.FileOffer](t, b)
			if err := offer.Transfer.Decline(); err != nil {
				t.Fatal(err)
			}
			if err := tr.Wait(ctx); !errors.Is(err, client.ErrDeclined) {
				t.Errorf("sender: %v", err)
			}
			if err := offer.Transfer.Wait(ctx); !errors.Is(err, client.ErrDeclined) {
				t.Errorf("receiver: %v", err)
			}
			if ended := next[*client.TransferEnded](t, a); ended.Transfer != tr || !errors.Is(ended.Err, client.ErrDeclined) {
				t.Errorf("event %+v", ended)
			}
			if err := offer.Transfer.Accept(io.Discard); !errors.Is(err, client.ErrTransferState) {
				t.Errorf("accept after decline: %v", err)
			}
		})
	}
}

// stopAfter is a writer that cancels the transfer after n bytes.
type stopAfter struct {
	n  int
	tr *client.Transfer
}

func (s *stopAfter) Write(b []byte) (int, error) {
	s.n -= len(b)
	if s.n < 0 {
		go s.tr.Cancel()
	}
	return len(b), nil
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// Interrupted transfers: the receiver cancels, the sender cancels, a
// writer fails; each side learns it.
func TestServerFileInterrupted(t *testing.T) {
	srv := coretest.Start(t)
	for _, v := range []msnp.Version{12, 7} {
		t.Run(v.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			a, b := friends(t, srv, v, v, nil)
			big := randomBytes(2 << 20)

			// The receiver cancels midway.
			tr, err := a.SendFile(ctx, b.Self().Email, client.File{Name: "big.bin", Size: int64(len(big)), Reader: bytes.NewReader(big)})
			if err != nil {
				t.Fatal(err)
			}
			in := next[*client.FileOffer](t, b).Transfer
			in.Accept(&stopAfter{n: 100000, tr: in})
			if err := in.Wait(ctx); !errors.Is(err, client.ErrCancelled) {
				t.Errorf("receiver: %v", err)
			}
			if err := tr.Wait(ctx); !errors.Is(err, client.ErrCancelled) {
				t.Errorf("sender after the receiver cancelled: %v", err)
			}

			// The sender cancels midway (of a file too big for every buffer
			// on the way to hold it).
			tr, err = a.SendFile(ctx, b.Self().Email, client.File{Name: "huge.bin", Size: 1 << 30, Reader: zeros{}})
			if err != nil {
				t.Fatal(err)
			}
			in = next[*client.FileOffer](t, b).Transfer
			in.Accept(&stopAfter{n: 100000, tr: tr})
			if err := tr.Wait(ctx); !errors.Is(err, client.ErrCancelled) {
				t.Errorf("sender: %v", err)
			}
			if err := in.Wait(ctx); !errors.Is(err, client.ErrCancelled) {
				t.Errorf("receiver after the sender cancelled: %v", err)
			}

			// A sender whose file ends early.
			tr, err = a.SendFile(ctx, b.Self().Email, client.File{Name: "short.bin", Size: 10000, Reader: bytes.NewReader(big[:5000])})
			if err != nil {
				t.Fatal(err)
			}
			in = next[*client.FileOffer](t, b).Transfer
			in.Accept(io.Discard)
			if err := tr.Wait(ctx); err == nil || errors.Is(err, client.ErrCancelled) {
				t.Errorf("sender with a short file: %v", err)
			}
			if err := in.Wait(ctx); !errors.Is(err, client.ErrCancelled) {
				t.Errorf("receiver of a short file: %v", err)
			}

			// After all that, a transfer still goes through.
			sendAndReceive(t, a, b, "after.bin", big[:50000], nil)
		})
	}
}

// gatedWriter holds its first write until the gate opens.
type gatedWriter struct {
	gate chan struct{}
	buf  bytes.Buffer
}

func (g *gatedWriter) Write(b []byte) (int, error) {
	<-g.gate
	return g.buf.Write(b)
}

// A receiver whose io.Writer stalls (a bridge waiting on an upload) neither
// stalls nor loses the transfer, nor is cut off by the switchboard; and a
// receiver that signs out in the middle ends the sender's transfer.
func TestServerSlowWriterAndVanishingReceiver(t *testing.T) {
	srv := coretest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, b := friends(t, srv, 12, 12, nil)
	data := randomBytes(3 << 20)
	tr, err := a.SendFile(ctx, b.Self().Email, client.File{Name: "slow.bin", Size: int64(len(data)), Reader: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	in := next[*client.FileOffer](t, b).Transfer
	w := &gatedWriter{gate: make(chan struct{})}
	in.Accept(w)
	// Everything leaves the sender, and is acknowledged, while nothing is
	// written.
	if err := tr.Wait(ctx); err != nil {
		t.Fatalf("sender: %v", err)
	}
	close(w.gate)
	if err := in.Wait(ctx); err != nil || !bytes.Equal(w.buf.Bytes(), data) {
		t.Fatalf("receiver: %v, %d bytes", err, w.buf.Len())
	}

	tr, err = a.SendFile(ctx, b.Self().Email, client.File{Name: "endless", Size: 1 << 30, Reader: zeros{}})
	if err != nil {
		t.Fatal(err)
	}
	in = next[*client.FileOffer](t, b).Transfer
	in.Accept(io.Discard)
	waitProgress := time.Now().Add(30 * time.Second)
	for done, _ := in.Progress(); done < 100000 && time.Now().Before(waitProgress); done, _ = in.Progress() {
		time.Sleep(10 * time.Millisecond)
	}
	b.Close()
	if err := tr.Wait(ctx); err == nil {
		t.Error("the transfer to someone who signed out succeeded")
	}
}

// Two transfers at once each way, interleaved on one switchboard.
func TestServerConcurrentTransfers(t *testing.T) {
	srv := coretest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a, b := friends(t, srv, 12, 12, nil)
	files := map[string][]byte{
		"one.bin":   randomBytes(400000),
		"two.bin":   randomBytes(250000),
		"three.bin": randomBytes(123457),
	}
	var sent []*client.Transfer
	for _, name := range []string{"one.bin", "two.bin"} {
		tr, err := a.SendFile(ctx, b.Self().Email, client.File{Name: name, Size: int64(len(files[name])), Reader: bytes.NewReader(files[name])})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, tr)
	}
	back, err := b.SendFile(ctx, a.Self().Email, client.File{Name: "three.bin", Size: int64(len(files["three.bin"])), Reader: bytes.NewReader(files["three.bin"])})
	if err != nil {
		t.Fatal(err)
	}
	sent = append(sent, back)

	var mu sync.Mutex
	got := map[string]*bytes.Buffer{}
	var incoming []*client.Transfer
	accept := func(c *client.Client, n int) {
		for range n {
			in := next[*client.FileOffer](t, c).Transfer
			buf := &bytes.Buffer{}
			mu.Lock()
			got[in.Name] = buf
			mu.Unlock()
			in.Accept(buf)
			incoming = append(incoming, in)
		}
	}
	accept(b, 2)
	accept(a, 1)
	for _, tr := range append(sent, incoming...) {
		if err := tr.Wait(ctx); err != nil {
			t.Errorf("%v: %v", tr, err)
		}
	}
	for name, data := range files {
		if !bytes.Equal(got[name].Bytes(), data) {
			t.Errorf("%s: %d bytes received, %d sent", name, got[name].Len(), len(data))
		}
	}
}

// Custom emoticons: announced before the text that uses them, fetched by
// the receiver; winks and voice clips likewise.
func TestServerEmoticonsWinksVoiceClips(t *testing.T) {
	srv := coretest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, b := friends(t, srv, 11, 12, nil)
	cv, err := a.Conversation(ctx, b.Self().Email)
	if err != nil {
		t.Fatal(err)
	}
	smile, frown := randomBytes(900), randomBytes(3000)
	if err := cv.SendEmoticons(ctx, map[string][]byte{":smile:": smile, "(frown)": frown}); err != nil {
		t.Fatal(err)
	}
	if err := cv.Send(ctx, "hi :smile: (frown)"); err != nil {
		t.Fatal(err)
	}
	em := next[*client.Emoticons](t, b)
	if len(em.Emoticons) != 2 {
		t.Fatalf("%+v", em)
	}
	for _, e := range em.Emoticons {
		want := map[string][]byte{":smile:": smile, "(frown)": frown}[e.Shortcut]
		if e.Object.Type != p2p.TypeEmoticon || e.Object.Name() != e.Shortcut {
			t.Errorf("object %+v", e.Object)
		}
		data, err := b.FetchObject(ctx, e.Object)
		if err != nil || !bytes.Equal(data, want) {
			t.Errorf("%s: %v", e.Shortcut, err)
		}
	}
	if m := next[*client.Message](t, b); m.Text != "hi :smile: (frown)" {
		t.Errorf("text %q", m.Text)
	}

	wink, clip := randomBytes(30000), randomBytes(9000)
	if err := cv.SendWink(ctx, wink); err != nil {
		t.Fatal(err)
	}
	w := next[*client.Wink](t, b)
	if data, err := b.FetchObject(ctx, w.Object); err != nil || !bytes.Equal(data, wink) || w.Object.Type != p2p.TypeWink {
		t.Errorf("wink: %v", err)
	}
	if err := cv.SendVoiceClip(ctx, clip); err != nil {
		t.Fatal(err)
	}
	vc := next[*client.VoiceClip](t, b)
	if data, err := b.FetchObject(ctx, vc.Object); err != nil || !bytes.Equal(data, clip) {
		t.Errorf("voice clip: %v", err)
	}
}

// BenchmarkServerFileTransfer10MB sends a 10 MB file from one client to
// another through the switchboard of a real service on loopback.
func BenchmarkServerFileTransfer10MB(b *testing.B) {
	srv := coretest.Start(b)
	ctx := context.Background()
	cfgA := userConfig(srv, newUser(b, srv, "alice"), 12)
	cfgB := userConfig(srv, newUser(b, srv, "bob"), 12)
	alice, bob := dial(b, cfgA), dial(b, cfgB)
	data := randomBytes(10 << 20)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		tr, err := alice.SendFile(ctx, cfgB.Email, client.File{Name: "10MB.bin", Size: int64(len(data)), Reader: bytes.NewReader(data)})
		if err != nil {
			b.Fatal(err)
		}
		in := next[*client.FileOffer](b, bob).Transfer
		if err := in.Accept(io.Discard); err != nil {
			b.Fatal(err)
		}
		if err := tr.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		if err := in.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
