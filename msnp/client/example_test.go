package client_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/server"
	"github.com/nudge-im/nudge/msnp/client"
)

// A bot that answers every message, and someone talking to it.
func Example() {
	nsAddr, passportURL, stop := exampleServer("echo@example.com", "bob@example.com")
	defer stop()
	ctx := context.Background()

	// The bot.
	bot, err := client.Dial(ctx, client.Config{
		Server:   nsAddr,
		Email:    "echo@example.com",
		Password: "secret",
		Passport: client.PassportConfig{URL: passportURL},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer bot.Close()
	go func() {
		for ev := range bot.Events() {
			if m, ok := ev.(*client.Message); ok {
				m.Conversation.Send(ctx, "you said: "+m.Text)
			}
		}
	}()

	// Bob says hello to it.
	bob, err := client.Dial(ctx, client.Config{
		Server:   nsAddr,
		Email:    "bob@example.com",
		Password: "secret",
		Passport: client.PassportConfig{URL: passportURL},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer bob.Close()
	conv, err := bob.Conversation(ctx, "echo@example.com")
	if err != nil {
		log.Fatal(err)
	}
	if err := conv.Send(ctx, "hello"); err != nil {
		log.Fatal(err)
	}
	for ev := range bob.Events() {
		if m, ok := ev.(*client.Message); ok {
			fmt.Println(m.From, "answers:", m.Text)
			break
		}
	}
	// Output: echo@example.com answers: you said: hello
}

// exampleServer starts a Nudge service on loopback ports with an account
// (password "secret") for each address, and returns the notification
// server's address, the Passport base URL and a function that stops it.
func exampleServer(emails ...string) (nsAddr, passportURL string, stop func()) {
	dir, err := os.MkdirTemp("", "nudge-example")
	if err != nil {
		log.Fatal(err)
	}
	cfg := config.Default()
	cfg.Data = dir
	cfg.Listen = config.Listen{NS: "127.0.0.1:0", SB: "127.0.0.1:0", HTTP: "127.0.0.1:0"}
	cfg.Login.BcryptCost = 4
	srv, err := server.Start(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range emails {
		if _, err := srv.Store.CreateAccount(context.Background(), e, "secret", e); err != nil {
			log.Fatal(err)
		}
	}
	a := srv.Addrs()
	return a.NS, "http://" + a.HTTP, func() {
		srv.Close()
		os.RemoveAll(dir)
	}
}

// What a bridge does with pictures and files: a contact's display picture
// becomes an avatar, an offered file is saved, and a file is sent.
func ExampleClient_SendFile() {
	nsAddr, passportURL, stop := exampleServer("bridge@example.com", "bob@example.com")
	defer stop()
	ctx := context.Background()
	dial := func(email string, picture []byte) *client.Client {
		c, err := client.Dial(ctx, client.Config{
			Server: nsAddr, Email: email, Password: "secret",
			Passport:       client.PassportConfig{URL: passportURL},
			DisplayPicture: picture,
		})
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	bridge := dial("bridge@example.com", nil)
	defer bridge.Close()
	bob := dial("bob@example.com", []byte("bob's face, as a PNG"))
	defer bob.Close()
	bridge.AddContact(ctx, "bob@example.com")

	// Bob sends a file once his picture has been seen.
	go func() {
		for range bob.Events() {
		}
	}()
	for ev := range bridge.Events() {
		switch e := ev.(type) {
		case *client.DisplayPictureChanged:
			picture, err := bridge.FetchObject(ctx, e.Object) // cached by SHA1D
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s's avatar: %q\n", e.Email, picture)
			note := "a note from Bob"
			if _, err := bob.SendFile(ctx, "bridge@example.com", client.File{
				Name: "note.txt", Size: int64(len(note)), Reader: strings.NewReader(note),
			}); err != nil {
				log.Fatal(err)
			}
		case *client.FileOffer:
			var file strings.Builder // an upload to the other network, say
			e.Transfer.Accept(&file)
			if err := e.Transfer.Wait(ctx); err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s sent %s: %q\n", e.From, e.Transfer.Name, file.String())
			return
		}
	}
	// Output:
	// bob@example.com's avatar: "bob's face, as a PNG"
	// bob@example.com sent note.txt: "a note from Bob"
}
