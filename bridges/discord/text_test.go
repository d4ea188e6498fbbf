package discord

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nudge-im/nudge/msnp/message"
)

func TestWebhookName(t *testing.T) {
	for _, tc := range []struct{ friendly, email, want string }{
		{"Bob", "bob@example.com", "Bob"},
		{"[c=4]Red[/c] Bob (L)", "bob@example.com", "Red Bob (L)"},
		{"", "bob@example.com", "bob@example.com"},
		{"   ", "bob@example.com", "bob@example.com"},
		{"Discord fan", "x@y.z", "Dіscord fan"},
		{"my DISCORD", "x@y.z", "my DІSCORD"},
		{"Clyde", "x@y.z", "Clуde"},
		{"everyone", "x@y.z", "everyone (MSN)"},
		{strings.Repeat("é", 100), "x@y.z", strings.Repeat("é", 79) + "…"},
	} {
		if got := webhookName(tc.friendly, tc.email); got != tc.want {
			t.Errorf("webhookName(%q) = %q, want %q", tc.friendly, got, tc.want)
		}
	}
}

func FuzzWebhookName(f *testing.F) {
	for _, s := range []string{"Bob", "discord", "CLYDE", "[c=4]x", "·$4y", "here"} {
		f.Add(s, "a@b.c")
	}
	f.Fuzz(func(t *testing.T, friendly, email string) {
		n := webhookName(friendly, email)
		l := strings.ToLower(n)
		if strings.Contains(l, "discord") || strings.Contains(l, "clyde") || l == "everyone" || l == "here" {
			t.Fatalf("%q → %q, which Discord refuses", friendly, n)
		}
		if utf8.RuneCountInString(n) > maxWebhookName {
			t.Fatalf("%q → %q is too long", friendly, n)
		}
		if utf8.ValidString(friendly) && utf8.ValidString(email) && !utf8.ValidString(n) {
			t.Fatalf("%q → invalid UTF-8 %q", friendly, n)
		}
	})
}

func TestToDiscordSplits(t *testing.T) {
	long := strings.Repeat("word *star* ", 400)
	parts := toDiscord(long, message.Format{Bold: true})
	if len(parts) < 2 {
		t.Fatalf("%d parts", len(parts))
	}
	var back []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if utf8.RuneCountInString(p) > maxContent || !strings.HasPrefix(p, "**") || !strings.HasSuffix(p, "**") {
			t.Fatalf("part %q", p)
		}
		back = append(back, strings.TrimSuffix(strings.TrimPrefix(p, "**"), "**"))
	}
	if got := strings.ReplaceAll(strings.Join(back, " "), `\*`, "*"); strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(long), " ") {
		t.Fatal("text lost in splitting")
	}
	if toDiscord("   ", message.Format{}) != nil {
		t.Fatal("blank text made a message")
	}
}

func FuzzToDiscord(f *testing.F) {
	f.Add(strings.Repeat("*", 3000), true)
	f.Add(strings.Repeat("a\n", 1500), false)
	f.Fuzz(func(t *testing.T, text string, bold bool) {
		for _, p := range toDiscord(text, message.Format{Bold: bold}) {
			if utf8.RuneCountInString(p) > maxContent {
				t.Fatalf("a part of %d characters", utf8.RuneCountInString(p))
			}
		}
	})
}

func TestAvatarURL(t *testing.T) {
	got := avatarURL("https://www.gravatar.com/avatar/{md5}?d=identicon&e={email}", " Bob@Example.com ")
	if got != "https://www.gravatar.com/avatar/4b9bb80620f03eb3719e0a061c14283d?d=identicon&e=bob%40example.com" {
		t.Fatal(got)
	}
	if avatarURL("", "x@y.z") != "" {
		t.Fatal("an avatar without a template")
	}
}
