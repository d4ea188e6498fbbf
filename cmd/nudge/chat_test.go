package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// waitOutput waits until the chat printed want.
func waitOutput(t *testing.T, out *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the chat did not print %q; it printed:\n%s", want, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nextOffer waits for the next file offer to c.
func nextOffer(ctx context.Context, t *testing.T, c *client.Client) *client.FileOffer {
	t.Helper()
	for {
		select {
		case ev := <-c.Events():
			if offer, ok := ev.(*client.FileOffer); ok {
				return offer
			}
		case <-ctx.Done():
			t.Fatalf("%s got no offer", c.Self().Email)
		}
	}
}

// receiveAll accepts an offer and checks that want arrives.
func receiveAll(ctx context.Context, t *testing.T, offer *client.FileOffer, want []byte) {
	t.Helper()
	var got bytes.Buffer
	offer.Transfer.Accept(&got)
	if err := offer.Transfer.Wait(ctx); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("received %d bytes: %v", got.Len(), err)
	}
}

// nudge chat sends a file with /send, shows an incoming offer, saves it
// with /get without replacing a file already there, and refuses one with
// /decline.
func TestChatFiles(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "secret1", "Alice")
	srv.AddUser(t, "bob@example.com", "secret2", "Bob")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bob, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: "bob@example.com", Password: "secret2",
		Passport: client.PassportConfig{URL: srv.HTTPURL}})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()

	downloads := t.TempDir()
	os.WriteFile(filepath.Join(downloads, "photo.jpg"), []byte("already here"), 0o644)
	stdin, typed := io.Pipe()
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		o := chatOptions{server: srv.NSAddr, user: "alice@example.com", passport: srv.HTTPURL, version: 12,
			status: "online", downloads: downloads}
		done <- runChat(ctx, o, stdin, out, io.Discard)
	}()
	fmt.Fprintln(typed, "secret1")
	waitOutput(t, out, "Signed in")
	fmt.Fprintln(typed, "/add bob@example.com")
	waitOutput(t, out, "is on your contact list")

	// /send.
	data := make([]byte, 100000)
	rand.Read(data)
	path := filepath.Join(t.TempDir(), "report 2007.bin")
	os.WriteFile(path, data, 0o644)
	fmt.Fprintf(typed, "/send %s bob@example.com\n", path)
	offer := nextOffer(ctx, t, bob)
	if offer.Transfer.Name != "report 2007.bin" || offer.Transfer.Size != int64(len(data)) {
		t.Fatalf("offer %+v", offer.Transfer)
	}
	receiveAll(ctx, t, offer, data)
	waitOutput(t, out, `* sent "report 2007.bin"`)

	// An offer, and /get.
	photo := []byte("a photo, as bytes")
	tr, err := bob.SendFile(ctx, "alice@example.com", client.File{Name: "../photo.jpg", Size: int64(len(photo)), Reader: bytes.NewReader(photo)})
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, `bob@example.com offers you "../photo.jpg" (17 bytes): /get 1 to accept`)
	fmt.Fprintln(typed, "/get")
	if err := tr.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, `* received "../photo.jpg"`)
	saved, err := os.ReadFile(filepath.Join(downloads, "photo (2).jpg"))
	if err != nil || !bytes.Equal(saved, photo) {
		entries, _ := os.ReadDir(downloads)
		t.Fatalf("saved %q, %v (folder: %v)", saved, err, entries)
	}
	if old, _ := os.ReadFile(filepath.Join(downloads, "photo.jpg")); string(old) != "already here" {
		t.Error("an existing file was replaced")
	}

	// An offer, and /decline.
	tr, err = bob.SendFile(ctx, "alice@example.com", client.File{Name: "virus.exe", Size: 3, Reader: strings.NewReader("MZ!")})
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, `"virus.exe" (3 bytes): /get 2`)
	fmt.Fprintln(typed, "/decline 2")
	if err := tr.Wait(ctx); err == nil || !strings.Contains(err.Error(), "declined") {
		t.Errorf("bob's offer ended with %v", err)
	}
	fmt.Fprintln(typed, "/files")
	waitOutput(t, out, "1. \"../photo.jpg\" (17 bytes) from bob@example.com: done")

	fmt.Fprintln(typed, "/quit")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// nudge chat signs in as Windows Live Messenger 2009 and shows the
// offline messages left for the user.
func TestChatMSNP18(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "secret1", "Alice")
	srv.AddUser(t, "bob@example.com", "secret2", "Bob")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bob, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: "bob@example.com", Password: "secret2",
		Version: 18, Passport: client.PassportConfig{URL: srv.HTTPURL}})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if err := bob.SendOffline(ctx, "alice@example.com", "call me when you are back"); err != nil {
		t.Fatal(err)
	}
	stdin, typed := io.Pipe()
	defer typed.Close()
	out := &lockedBuffer{}
	errOut := &lockedBuffer{}
	o := chatOptions{server: srv.NSAddr, user: "alice@example.com", passport: srv.HTTPURL, version: 18,
		status: "online", downloads: t.TempDir()}
	go func() {
		if err := runChat(ctx, o, stdin, out, errOut); err != nil {
			fmt.Fprintln(out, "chat ended:", err, errOut.String())
		}
	}()
	fmt.Fprintln(typed, "secret1")
	waitOutput(t, out, "Signed in")
	waitOutput(t, out, "(offline, ")
	waitOutput(t, out, "): call me when you are back")
}

// nudge chat at MSNP18 shows its display picture with /picture, saves a
// contact's with /getpicture and sends a file with /send, to a contact at
// MSNP18 too: over P2P version 2, which both announce.
func TestChatPicturesMSNP18(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "secret1", "Alice")
	srv.AddUser(t, "bob@example.com", "secret2", "Bob")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bobPicture := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 3000)...)
	rand.Read(bobPicture[8:])
	bob, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: "bob@example.com", Password: "secret2",
		Version: 18, Passport: client.PassportConfig{URL: srv.HTTPURL}, DisplayPicture: bobPicture})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if err := bob.AddContact(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()
	stdin, typed := io.Pipe()
	defer typed.Close()
	out := &lockedBuffer{}
	o := chatOptions{server: srv.NSAddr, user: "alice@example.com", passport: srv.HTTPURL, version: 18,
		status: "online", downloads: downloads}
	done := make(chan error, 1)
	go func() { done <- runChat(ctx, o, stdin, out, io.Discard) }()
	fmt.Fprintln(typed, "secret1")
	waitOutput(t, out, "Signed in")
	fmt.Fprintln(typed, "/add bob@example.com")
	waitOutput(t, out, "is on your contact list")
	for !slices.ContainsFunc(bob.Endpoints("alice@example.com"), func(e client.Endpoint) bool { return e.CapabilitiesEx&msnp.CapExP2PV2 != 0 }) {
		if ctx.Err() != nil {
			t.Fatalf("bob does not see alice's endpoint speak P2P version 2: %+v", bob.Endpoints("alice@example.com"))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// /getpicture.
	fmt.Fprintln(typed, "/getpicture bob@example.com")
	waitOutput(t, out, "* bob@example.com's display picture (")
	if saved, err := os.ReadFile(filepath.Join(downloads, "bob@example.com.png")); err != nil || !bytes.Equal(saved, bobPicture) {
		t.Fatalf("saved %d bytes: %v", len(saved), err)
	}

	// /picture.
	alicePicture := append([]byte("GIF89a"), make([]byte, 2000)...)
	rand.Read(alicePicture[6:])
	path := filepath.Join(t.TempDir(), "me.gif")
	os.WriteFile(path, alicePicture, 0o644)
	fmt.Fprintf(typed, "/picture %s\n", path)
	waitOutput(t, out, "* display picture set")
	for {
		ct, _ := bob.Contact("alice@example.com")
		if ct.DisplayPicture != nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("bob never saw alice's picture")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, ok, err := bob.FetchDisplayPicture(ctx, "alice@example.com"); err != nil || !ok || !bytes.Equal(got, alicePicture) {
		t.Fatalf("bob fetched %d bytes: %v %v", len(got), ok, err)
	}

	// /send.
	data := make([]byte, 50000)
	rand.Read(data)
	file := filepath.Join(t.TempDir(), "notes.bin")
	os.WriteFile(file, data, 0o644)
	fmt.Fprintf(typed, "/send %s bob@example.com\n", file)
	offer := nextOffer(ctx, t, bob)
	receiveAll(ctx, t, offer, data)
	waitOutput(t, out, `* sent "notes.bin"`)
	fmt.Fprintln(typed, "/quit")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// nextOfflineMessage waits for the next offline message to c.
func nextOfflineMessage(ctx context.Context, t *testing.T, c *client.Client) *client.OfflineMessage {
	t.Helper()
	for {
		select {
		case ev := <-c.Events():
			if m, ok := ev.(*client.OfflineMessage); ok {
				return m
			}
		case <-ctx.Done():
			t.Fatalf("%s got no offline message", c.Self().Email)
		}
	}
}

// nudge chat at MSNP13+ leaves text for a contact who is offline as an
// offline message, with /msg and in a conversation the contact has left,
// and says so; before MSNP13, where there are none, it says the contact is
// not online.
func TestChatOfflineContact(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "secret1", "Alice")
	srv.AddUser(t, "bob@example.com", "secret2", "Bob")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bobConfig := client.Config{Server: srv.NSAddr, Email: "bob@example.com", Password: "secret2",
		Version: 18, Passport: client.PassportConfig{URL: srv.HTTPURL}}
	chat := func(version int) (io.Writer, *lockedBuffer, chan error) {
		stdin, typed := io.Pipe()
		t.Cleanup(func() { typed.Close() })
		out := &lockedBuffer{}
		o := chatOptions{server: srv.NSAddr, user: "alice@example.com", passport: srv.HTTPURL, version: version,
			status: "online", downloads: t.TempDir()}
		done := make(chan error, 1)
		go func() { done <- runChat(ctx, o, stdin, out, io.Discard) }()
		fmt.Fprintln(typed, "secret1")
		waitOutput(t, out, "Signed in")
		return typed, out, done
	}

	typed, out, done := chat(18)
	fmt.Fprintln(typed, "/add bob@example.com")
	waitOutput(t, out, "is on your contact list")
	fmt.Fprintln(typed, "/msg bob@example.com are you there?")
	waitOutput(t, out, "* bob@example.com is offline: left as an offline message\n")

	bob, err := client.Dial(ctx, bobConfig)
	if err != nil {
		t.Fatal(err)
	}
	if m := nextOfflineMessage(ctx, t, bob); m.From != "alice@example.com" || m.Text != "are you there?" {
		t.Fatalf("bob's offline message: %+v", m)
	}
	fmt.Fprintln(typed, "/msg bob@example.com hi")
	waitOutput(t, out, "* Bob <bob@example.com> joined the conversation")
	bob.Close()
	waitOutput(t, out, "* bob@example.com left the conversation")
	waitOutput(t, out, "* Bob <bob@example.com> is offline")
	fmt.Fprintln(typed, "still there?")
	waitOutput(t, out, "* bob@example.com is offline: left as an offline message\n")
	if strings.Contains(out.String(), "not online") {
		t.Fatalf("the chat said a contact was not online:\n%s", out)
	}
	fmt.Fprintln(typed, "/quit")
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	typed, out, done = chat(12)
	fmt.Fprintln(typed, "/msg bob@example.com one more")
	waitOutput(t, out, "! not online (or not accepting messages)\n")
	fmt.Fprintln(typed, "/quit")
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	bob, err = client.Dial(ctx, bobConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if m := nextOfflineMessage(ctx, t, bob); m.Text != "still there?" {
		t.Fatalf("bob's offline message: %+v", m)
	}
}
