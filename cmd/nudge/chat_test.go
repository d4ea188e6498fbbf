package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
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
	var offer *client.FileOffer
	for offer == nil {
		select {
		case ev := <-bob.Events():
			offer, _ = ev.(*client.FileOffer)
		case <-ctx.Done():
			t.Fatal("bob got no offer")
		}
	}
	if offer.Transfer.Name != "report 2007.bin" || offer.Transfer.Size != int64(len(data)) {
		t.Fatalf("offer %+v", offer.Transfer)
	}
	var got bytes.Buffer
	offer.Transfer.Accept(&got)
	if err := offer.Transfer.Wait(ctx); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("bob received %d bytes: %v", got.Len(), err)
	}
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
