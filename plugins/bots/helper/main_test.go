package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/plugins/sdk"
	"github.com/nudge-im/nudge/plugins/sdk/sdktest"
)

func one(t *testing.T, got []string) string {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("the bot said %q, want one answer", got)
	}
	return got[0]
}

func TestRoll(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ spec, re string }{
		{"", `^🎲 1d6: [1-6]$`},
		{"d20", `^🎲 d20: ([1-9]|1[0-9]|20)$`},
		{"2d6", `^🎲 2d6: [1-6] \+ [1-6] = ([2-9]|1[0-2])$`},
		{"3d6+2", `^🎲 3d6\+2: [1-6] \+ [1-6] \+ [1-6] \+ 2 = \d+$`},
		{"1d4-1", `^🎲 1d4-1: [1-4] - 1 = [0-3]$`},
	} {
		got, err := roll(tc.spec, r)
		if err != nil || !regexp.MustCompile(tc.re).MatchString(got) {
			t.Errorf("roll(%q) = %q, %v", tc.spec, got, err)
		}
	}
	for _, bad := range []string{"abc", "0d6", "101d6", "1d1", "2d6+100000"} {
		if _, err := roll(bad, r); err == nil {
			t.Errorf("roll(%q) accepted", bad)
		}
	}
}

func TestConvert(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"convert 10 km to mi", "10 km = 6.2137 mi"},
		{"10 km in miles", "10 km = 6.2137 mi"},
		{"100 f to c", "100 °F = 37.7778 °C"},
		{"-40 celsius in fahrenheit", "-40 °C = -40 °F"},
		{"0 c to k", "0 °C = 273.15 K"},
		{"5,5 kg to lb", "5.5 kg = 12.1254 lb"},
		{"1 gal to l", "1 US gal = 3.7854 l"},
		{"100 km/h to mph?", "100 km/h = 62.1371 mph"},
		{"1 gib to mb", "1 GiB = 1073.7418 MB"},
		{"6 ft in cm", "6 ft = 182.88 cm"},
		{"12 in to cm", "12 in = 30.48 cm"},
	} {
		got, err := convert(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("convert(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"10 km to kg", "10 parsecs to km", "km to mi"} {
		if _, err := convert(bad); err == nil {
			t.Errorf("convert(%q) accepted", bad)
		}
	}
}

func TestTimeIn(t *testing.T) {
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ place, want string }{
		{"tokyo", "🕒 In Tokyo it is 21:00 on Thursday 15 January (JST, UTC+9)."},
		{"New York?", "🕒 In New York it is 07:00 on Thursday 15 January (EST, UTC-5)."},
		{"Asia/Kolkata", "🕒 In Asia/Kolkata it is 17:30 on Thursday 15 January (IST, UTC+5:30)."},
		{"", "🕒 In UTC it is 12:00 on Thursday 15 January (UTC)."},
	} {
		got, err := timeIn(tc.place, now)
		if err != nil || got != tc.want {
			t.Errorf("timeIn(%q) = %q, %v; want %q", tc.place, got, err, tc.want)
		}
	}
	if _, err := timeIn("Atlantis", now); err == nil || !strings.Contains(err.Error(), "Atlantis") {
		t.Errorf("an unknown place: %v", err)
	}
}

func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"10 minutes", 10 * time.Minute}, {"1h30m", 90 * time.Minute}, {"2 days and 3 hours", 51 * time.Hour},
		{"5s", 5 * time.Second}, {"1 week", 7 * 24 * time.Hour}, {"90 secs", 90 * time.Second},
	} {
		if got, err := parseDuration(tc.in); err != nil || got != tc.want {
			t.Errorf("parseDuration(%q) = %v, %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{"soon", "0 minutes", "400 days"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) accepted", bad)
		}
	}
	if got := humanDuration(90*time.Minute + 5*time.Second); got != "1 hour, 30 minutes and 5 seconds" {
		t.Errorf("humanDuration = %q", got)
	}
}

func TestConversation(t *testing.T) {
	k := sdktest.New(t, newHelper(), nil)
	for _, tc := range []struct{ say, want string }{
		{"hello", "Hi alice!"},
		{"help", "roll [NdM+K] — roll dice"},
		{"roll 2d6", "🎲 2d6:"},
		{"!roll d20", "🎲 d20:"},
		{"flip", "🪙"},
		{"what time is it in Tokyo?", "In Tokyo it is"},
		{"time in paris", "In Paris it is"},
		{"10 km to mi", "10 km = 6.2137 mi"},
		{"convert 3 apples to pears", "I don't know the unit"},
		{"joke", ""},
		{"thanks!", "You're welcome"},
		{"blorp", "Type help"},
	} {
		if got := one(t, k.Say("alice@example.com", tc.say)); !strings.Contains(got, tc.want) {
			t.Errorf("%q → %q, want it to contain %q", tc.say, got, tc.want)
		}
	}
	if _, _, pm := k.Host.Presence(); pm != "Type help to see what I can do" {
		t.Errorf("personal message: %q", pm)
	}
}

// A reminder is kept in the store, survives a restart of the bot (a new
// bot on the same store), and is delivered when due.
func TestRemindersSurviveARestart(t *testing.T) {
	store := sdktest.NewHost()
	k := sdktest.NewWithHost(t, newHelper(), nil, store)
	got := one(t, k.Say("alice@example.com", "remind me in 1 hour to call mum"))
	if got != "OK! In 1 hour I'll remind you to call mum. ⏰" {
		t.Fatalf("remind: %q", got)
	}
	if got := one(t, k.Say("alice@example.com", "reminders")); !strings.Contains(got, "call mum") {
		t.Fatalf("reminders: %q", got)
	}
	if n := len(store.KV()); n != 1 {
		t.Fatalf("%d reminders stored", n)
	}
	k.Bot.(*helper).Stop(context.Background())

	// A new process, an hour and a bit later: the reminder is overdue and
	// goes out at once.
	later := newHelper()
	later.now = func() time.Time { return time.Now().Add(61 * time.Minute) }
	before := len(store.Sent())
	sdktest.NewWithHost(t, later, nil, store)
	sent := store.WaitSent(before+1, 10*time.Second)
	if len(sent) != before+1 || !strings.HasPrefix(sent[before].Text, "⏰ Reminder: call mum (you asked me 1 hour") ||
		sent[before].Conversation != sdktest.OneToOne("alice@example.com") {
		t.Fatalf("after the restart: %+v", sent[before:])
	}
	waitGone(t, store)
}

func waitGone(t *testing.T, h *sdktest.Host) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.KV()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the delivered reminder is still stored: %q", h.KV())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A reminder for someone offline waits until they come back.
func TestReminderWaitsForThePerson(t *testing.T) {
	store := sdktest.NewHost()
	store.Permissions = []string{"kv", "log"} // cannot send: like a person who is offline
	h := newHelper()
	k := sdktest.NewWithHost(t, h, nil, store)
	h.remindAt(t, "bob@example.com", "water the plants", -time.Minute)
	k.Presence(sdk.Contact{Email: "bob@example.com", Status: sdk.Offline})
	if n := len(store.KV()); n != 1 {
		t.Fatalf("the undelivered reminder is gone: %d stored", n)
	}
	store.Permissions = nil // bob is back
	k.Presence(sdk.Contact{Email: "bob@example.com", Status: sdk.Online})
	if sent := store.Sent(); len(sent) != 1 || !strings.Contains(sent[0].Text, "water the plants") {
		t.Fatalf("sent: %+v", sent)
	}
	waitGone(t, store)
}

// remindAt stores a reminder due at now+d, as "remind" would.
func (h *helper) remindAt(t *testing.T, email, text string, d time.Duration) {
	t.Helper()
	r := reminder{To: email, Text: text, Due: h.now().Add(d), Set: h.now().Add(d - time.Hour)}
	v, _ := json.Marshal(r)
	if err := h.env.Host.KVSet(context.Background(), reminderPrefix+"test", v); err != nil {
		t.Fatal(err)
	}
}

func TestForgetCounts(t *testing.T) {
	k := sdktest.New(t, newHelper(), nil)
	if got := one(t, k.Say("alice@example.com", "forget")); got != "You had no reminders to forget." {
		t.Fatalf("forget with none: %q", got)
	}
	one(t, k.Say("alice@example.com", "remind me in 1 hour to call mum"))
	if got := one(t, k.Say("alice@example.com", "forget")); got != "Done: 1 reminder forgotten." {
		t.Fatalf("forget one: %q", got)
	}
	one(t, k.Say("alice@example.com", "remind me in 1 hour to call mum"))
	one(t, k.Say("alice@example.com", "remind me in 2 hours to call dad"))
	if got := one(t, k.Say("alice@example.com", "forget")); got != "Done: 2 reminders forgotten." {
		t.Fatalf("forget two: %q", got)
	}
}
