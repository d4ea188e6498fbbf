package main

import (
	"math/rand/v2"
	"testing"
	"time"
)

// FuzzParsers: the helper reads what people type; no text may make it
// panic or hang, whatever it answers.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{"2d6", "d20+3", "10 km to mi", "100 f in c", "in 10 minutes to stretch", "1h30m",
		"Tokyo", "Europe/Paris", "../../etc/passwd", "999999999999999999999d6", "-1e308 km to mi", ""} {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(1, 1))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		roll(s, r)
		convert(s)
		isConversion(s)
		if d, err := parseDuration(s); err == nil && (d <= 0 || d > 366*24*time.Hour) {
			t.Fatalf("parseDuration(%q) = %v", s, d)
		}
		timeIn(s, now)
		remindRE.FindStringSubmatch(s)
	})
}
