package msnbridge

import (
	"strings"
	"testing"
)

func TestValidHandle(t *testing.T) {
	for s, want := range map[string]bool{
		"bob@example.com": true, "b.o-b+x@mail.example.co.uk": true,
		"": false, "bob": false, "@example.com": false, "bob@": false, "bob@example": false,
		"bob smith@example.com": false, "bob@@example.com": false, "a@b@c.d": false, "bob@.example.com": false,
		"bob@example..com": false, "<bob@example.com>": false, "bob@example.com,carol@example.com": false,
		strings.Repeat("a", 120) + "@example.com": false,
	} {
		if got := ValidHandle(s); got != want {
			t.Errorf("ValidHandle(%q) = %v", s, got)
		}
	}
	if h, ok := NormalizeHandle("  mailto:Bob@Example.COM "); !ok || h != "bob@example.com" {
		t.Errorf("NormalizeHandle = %q %v", h, ok)
	}
}

func TestLocalPart(t *testing.T) {
	for in, want := range map[string]string{
		"Nelly": "nelly", "general": "general", "..a..b..": "a.b", "Zoë & co": "zoco", "a=b+c_d-e": "a=b+c_d-e",
		"日本": "", strings.Repeat("x", 60): strings.Repeat("x", 48),
	} {
		if got := LocalPart(in); got != want {
			t.Errorf("LocalPart(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConversationKey(t *testing.T) {
	if k := ConversationKey([]string{"Carol@x.com", "bob@x.com", "carol@x.com"}); k != "bob@x.com,carol@x.com" {
		t.Errorf("key %q", k)
	}
	if m := KeyMembers("bob@x.com,carol@x.com"); len(m) != 2 || m[1] != "carol@x.com" {
		t.Errorf("members %q", m)
	}
}

func FuzzLocalPart(f *testing.F) {
	for _, s := range []string{"Nelly", "..", "a.b", "日本", "x=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		lp := LocalPart(name)
		if lp == "" {
			return
		}
		if len(lp) > maxLocal || !ValidHandle(lp+"-99@discord.invalid") {
			t.Fatalf("LocalPart(%q) = %q cannot start an address", name, lp)
		}
	})
}
