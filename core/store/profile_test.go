package store

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestProfile(t *testing.T) { eachEngine(t, testProfile) }

// testProfile: the personal message and picture are kept per account,
// each picture under a new ID and a higher version, found by its ID alone,
// and gone with the account.
func testProfile(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.newTest(t)
	const a, b = "alice@example.com", "bob@example.com"
	mustCreate(t, s, a)
	mustCreate(t, s, b)

	if p, err := s.Profile(ctx, "Alice@Example.com"); err != nil || p.Message != "" || p.Picture.ID != "" || !p.MessageChanged.IsZero() {
		t.Fatalf("new account's profile = %+v, %v", p, err)
	}
	if _, err := s.Profile(ctx, "nobody@example.com"); err != ErrNotFound {
		t.Fatalf("Profile(nobody) error %v", err)
	}
	wantErr(t, "message for nobody", s.SetPersonalMessage(ctx, "nobody@example.com", "hi"), ErrNotFound)
	for _, bad := range []string{"two\nlines", strings.Repeat("x", MaxPersonalMessage+1), "\xff"} {
		wantErr(t, "bad message", s.SetPersonalMessage(ctx, a, bad), ErrInvalidProfile)
	}
	if err := s.SetPersonalMessage(ctx, a, "at the café ☕"); err != nil {
		t.Fatal(err)
	}
	p, err := s.Profile(ctx, a)
	if err != nil || p.Message != "at the café ☕" || p.MessageChanged.IsZero() || p.Picture.ID != "" {
		t.Fatalf("profile after the message = %+v, %v", p, err)
	}

	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...)
	pic, err := s.SetPicture(ctx, a, "image/png", png)
	if err != nil || !guidRE.MatchString(pic.ID) || pic.Version != 1 || pic.Size != len(png) || pic.Changed.IsZero() {
		t.Fatalf("SetPicture = %+v, %v", pic, err)
	}
	p, _ = s.Profile(ctx, a)
	if p.Message != "at the café ☕" || p.Picture.ID != pic.ID || p.Picture.Version != 1 || p.Picture.Type != "image/png" ||
		p.Picture.Size != len(png) || p.Picture.Data != nil {
		t.Fatalf("profile after the picture = %+v", p)
	}
	got, err := s.PictureByID(ctx, strings.ToUpper(pic.ID))
	if err != nil || !bytes.Equal(got.Data, png) || got.Type != "image/png" || got.Version != 1 {
		t.Fatalf("PictureByID = %+v, %v", got, err)
	}

	second, err := s.SetPicture(ctx, a, "image/gif", []byte("GIF89a"))
	if err != nil || second.ID == pic.ID || second.Version != 2 {
		t.Fatalf("second picture = %+v, %v", second, err)
	}
	if _, err := s.PictureByID(ctx, pic.ID); err != ErrNotFound {
		t.Fatalf("the replaced picture is still found: %v", err)
	}
	if _, err := s.SetPicture(ctx, a, "", nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Profile(ctx, a); p.Picture.ID != "" || p.Picture.Version != 2 || p.Message == "" {
		t.Fatalf("profile after removing the picture = %+v", p)
	}
	if third, err := s.SetPicture(ctx, a, "image/jpeg", []byte{0xff, 0xd8}); err != nil || third.Version != 3 {
		t.Fatalf("a picture after a removal = %+v, %v", third, err)
	}
	for _, c := range []struct {
		typ  string
		data []byte
	}{{"", []byte{1}}, {"image/png", make([]byte, MaxPicture+1)}, {"image png", []byte{1}}} {
		if _, err := s.SetPicture(ctx, a, c.typ, c.data); err != ErrInvalidProfile {
			t.Errorf("SetPicture(%q, %d bytes) error %v", c.typ, len(c.data), err)
		}
	}
	if p, _ := s.Profile(ctx, b); p.Message != "" || p.Picture.ID != "" {
		t.Fatalf("bob's profile = %+v", p)
	}

	p, _ = s.Profile(ctx, a)
	if err := s.DeleteAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PictureByID(ctx, p.Picture.ID); err != ErrNotFound {
		t.Fatalf("a deleted account's picture is still found: %v", err)
	}
	if n, err := s.count(ctx, `SELECT count(*) FROM profiles`); err != nil || n != 0 {
		t.Fatalf("%d profiles left, %v", n, err)
	}
	mustCreate(t, s, a)
	if p, err := s.Profile(ctx, a); err != nil || p.Message != "" || p.Picture.Version != 0 {
		t.Fatalf("a new account under the old handle inherits %+v, %v", p, err)
	}
}
