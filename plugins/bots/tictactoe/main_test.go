package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/plugins/sdk"
	"github.com/nudge-im/nudge/plugins/sdk/sdktest"
)

func last(t *testing.T, got []string) string {
	t.Helper()
	if len(got) == 0 {
		t.Fatal("the bot said nothing")
	}
	return got[len(got)-1]
}

func TestBoardDrawing(t *testing.T) {
	b := newBoard()
	b[0], b[4], b[8] = markX, markO, markX
	want := " X | 2 | 3 \n---+---+---\n 4 | O | 6 \n---+---+---\n 7 | 8 | X "
	if got := b.String(); got != want {
		t.Fatalf("board:\n%s\nwant\n%s", got, want)
	}
}

func TestWinnerAndFull(t *testing.T) {
	for _, l := range lines {
		b := newBoard()
		for _, i := range l {
			b[i] = markO
		}
		if b.winner() != markO {
			t.Errorf("line %v not seen", l)
		}
	}
	b := newBoard()
	copy(b[:], []mark{markX, markO, markX, markX, markO, markO, markO, markX, markX})
	if b.winner() != empty || !b.full() {
		t.Errorf("a drawn board: winner %q, full %v", b.winner(), b.full())
	}
}

// The hard level never loses, whatever the person plays: every line of
// play by X is tried.
func TestHardNeverLoses(t *testing.T) {
	var try func(b board) int
	losses := 0
	try = func(b board) int {
		for i := range b {
			if b[i] != empty {
				continue
			}
			nb := b
			nb[i] = markX
			if nb.winner() == markX {
				losses++
				continue
			}
			if nb.full() {
				continue
			}
			nb[nb.moveHard(markO)] = markO
			if nb.winner() == markO || nb.full() {
				continue
			}
			try(nb)
		}
		return losses
	}
	if n := try(newBoard()); n != 0 {
		t.Fatalf("the hard level lost %d lines of play", n)
	}
}

func TestGameAgainstTheBot(t *testing.T) {
	k := sdktest.New(t, newBot(), nil)
	got := k.Say("alice@example.com", "play")
	if len(got) != 2 || !strings.Contains(got[0], " 1 | 2 | 3 ") || !strings.Contains(got[1], "You are X") {
		t.Fatalf("play: %q", got)
	}
	// The board goes in a fixed-width font.
	if s := k.Host.Sent(); s[0].Format == nil || s[0].Format.Font != sdk.Monospace.Font {
		t.Fatalf("the board's format: %+v", s[0].Format)
	}
	if got := last(t, k.Say("alice@example.com", "1")); got != "I take 5. Your move." {
		t.Fatalf("after 1: %q", got)
	}
	if got := last(t, k.Say("alice@example.com", "1")); !strings.Contains(got, "taken") {
		t.Fatalf("a taken square: %q", got)
	}
	k.Say("alice@example.com", "9") // the bot takes 3
	k.Say("alice@example.com", "7") // forced, and a fork: the bot blocks 8
	got = k.Say("alice@example.com", "4")
	if !strings.HasPrefix(got[0], " X | 2 | O \n---+---+---\n X | O | 6 \n---+---+---\n X | O | X ") || !strings.Contains(last(t, got), "You win!") {
		t.Fatalf("the winning move: %q", got)
	}
	if got := last(t, k.Say("alice@example.com", "stats")); got != "alice: 1 won, 0 lost, 0 drawn." {
		t.Fatalf("stats: %q", got)
	}
	if got := last(t, k.Say("alice@example.com", "5")); !strings.Contains(got, "No game") {
		t.Fatalf("a move after the game: %q", got)
	}
}

func TestTwoPeoplePlayEachOther(t *testing.T) {
	k := sdktest.New(t, newBot(), nil)
	conv := "group-1"
	say := func(who, text string) []string {
		other := "bob@example.com"
		if who == other {
			other = "alice@example.com"
		}
		return k.SayIn(conv, who, text, other)
	}
	if got := last(t, say("alice@example.com", "play")); !strings.Contains(got, "Type join") {
		t.Fatalf("play in a group: %q", got)
	}
	if got := last(t, say("alice@example.com", "join")); !strings.Contains(got, "cannot play yourself") {
		t.Fatalf("joining one's own game: %q", got)
	}
	if got := last(t, say("bob@example.com", "join")); !strings.Contains(got, "alice (X) against bob (O)") {
		t.Fatalf("join: %q", got)
	}
	if got := last(t, say("bob@example.com", "5")); !strings.Contains(got, "Not your turn") {
		t.Fatalf("out of turn: %q", got)
	}
	for _, mv := range []struct{ who, sq string }{
		{"alice@example.com", "1"}, {"bob@example.com", "4"}, {"alice@example.com", "2"}, {"bob@example.com", "5"},
	} {
		if got := last(t, say(mv.who, mv.sq)); !strings.HasSuffix(got, "to move.") {
			t.Fatalf("%s plays %s: %q", mv.who, mv.sq, got)
		}
	}
	if got := last(t, say("alice@example.com", "3")); got != "alice wins! Type play for another game." {
		t.Fatalf("the win: %q", got)
	}
	kv := k.Host.KV()
	if string(kv["stats/alice@example.com"]) != `{"Wins":1,"Losses":0,"Draws":0}` ||
		string(kv["stats/bob@example.com"]) != `{"Wins":0,"Losses":1,"Draws":0}` {
		t.Fatalf("scores: %q", kv)
	}
}

func TestInviteNeedsThePermission(t *testing.T) {
	h := sdktest.NewHost()
	h.Permissions = []string{"send", "kv"}
	k := sdktest.NewWithHost(t, newBot(), nil, h)
	if got := last(t, k.Say("alice@example.com", "invite bob@example.com")); !strings.Contains(got, "could not invite") {
		t.Fatalf("invite without the permission: %q", got)
	}
	h.Permissions = append(h.Permissions, "invite")
	if got := k.Say("alice@example.com", "invite bob@example.com"); len(got) != 0 {
		t.Fatalf("invite: %q", got)
	}
	// The friend is greeted by name once they are in, not by address.
	conv := sdktest.OneToOne("alice@example.com")
	if got := last(t, k.Join(conv, "bob@example.com", false, "alice@example.com")); !strings.HasPrefix(got, "bob is here.") {
		t.Fatalf("when bob joins: %q", got)
	}
	// Someone who joins uninvited is not announced.
	if got := k.Join(conv, "carol@example.com", false, "alice@example.com", "bob@example.com"); len(got) != 0 {
		t.Fatalf("when carol joins: %q", got)
	}
	if inv := h.Invites(); !slices.Equal(inv, []string{sdktest.OneToOne("alice@example.com") + " bob@example.com"}) {
		t.Fatalf("invitations: %q", inv)
	}
}

func TestHelpAndUnknown(t *testing.T) {
	k := sdktest.New(t, newBot(), nil)
	if got := last(t, k.Say("alice@example.com", "help")); !strings.Contains(got, "play —") || !strings.Contains(got, "invite EMAIL") {
		t.Fatalf("help: %q", got)
	}
	if got := last(t, k.Say("alice@example.com", "what is this?")); !strings.Contains(got, "Type play") {
		t.Fatalf("unknown text: %q", got)
	}
}

func TestLevels(t *testing.T) {
	k := sdktest.New(t, newBot(), nil)
	if got := last(t, k.Say("alice@example.com", "level medium")); !strings.Contains(got, "level easy, or level hard") {
		t.Fatalf("level medium: %q", got)
	}
	if got := last(t, k.Say("alice@example.com", "level")); !strings.Contains(got, "I play easy") {
		t.Fatalf("level: %q", got)
	}
	if got := last(t, k.Say("alice@example.com", "level HARD")); !strings.HasPrefix(got, "Hard it is") {
		t.Fatalf("level HARD: %q", got)
	}
	if got := last(t, k.Say("alice@example.com", "level")); !strings.Contains(got, "I play hard") {
		t.Fatalf("level after hard: %q", got)
	}
}
