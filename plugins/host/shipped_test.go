package host_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/plugins/host"
)

// The shipped bots, as `nudge serve` configures them.
func shipped(name string) host.BotConfig {
	perms := map[string][]string{
		"echo":      {"send", "log"},
		"tictactoe": {"send", "invite", "kv", "log"},
		"helper":    {"send", "presence", "kv", "log"},
	}
	return bot(name, name, func(b *host.BotConfig) { b.Permissions = perms[name] })
}

// ask2 sends text and returns the bot's next two messages (a board and
// what the bot says of it).
func (p *person) ask2(cv *client.Conversation, bot, text string) []string {
	p.t.Helper()
	n := p.count()
	p.send(cv, text)
	return p.nextN(n, bot, 2)
}

func TestTicTacToeToAWin(t *testing.T) {
	const ttt = "tictactoe@bots.localhost"
	e := start(t, []host.BotConfig{shipped("tictactoe")})
	alice := e.newPerson(t, "alice")
	alice.add(ttt)
	cv := alice.conv(ttt)

	got := alice.ask2(cv, ttt, "play")
	if got[0] != " 1 | 2 | 3 \n---+---+---\n 4 | 5 | 6 \n---+---+---\n 7 | 8 | 9 " || !strings.Contains(got[1], "You are X") {
		t.Fatalf("play: %q", got)
	}
	alice.ask2(cv, ttt, "1")
	alice.ask2(cv, ttt, "9")
	alice.ask2(cv, ttt, "7")
	got = alice.ask2(cv, ttt, "4")
	if got[0] != " X | 2 | O \n---+---+---\n X | O | 6 \n---+---+---\n X | O | X " || !strings.Contains(got[1], "You win!") {
		t.Fatalf("the last move: %q", got)
	}
	if got := alice.ask(cv, ttt, "stats"); !strings.HasSuffix(got, "1 won, 0 lost, 0 drawn.") {
		t.Fatalf("stats: %q", got)
	}
}

// Two people in one conversation play each other, the bot keeping the
// board; the bot invites the second one.
func TestTicTacToeTwoPeople(t *testing.T) {
	const ttt = "tictactoe@bots.localhost"
	e := start(t, []host.BotConfig{shipped("tictactoe")})
	alice, bob := e.newPerson(t, "alice"), e.newPerson(t, "bob")
	alice.add(ttt)
	cv := alice.conv(ttt)
	// The bot greets bob by his name, not his address.
	if got := alice.ask(cv, ttt, "invite "+bob.email); got != "bob is here. Type play to open a game, and they type join." {
		t.Fatalf("invite: %q", got)
	}
	var bcv *client.Conversation
	waitFor(t, "bob to be in the conversation", func() bool {
		bob.mu.Lock()
		defer bob.mu.Unlock()
		if len(bob.invited) > 0 {
			bcv = bob.invited[0].Conversation
		}
		return bcv != nil
	})
	// From here both get every message the bot writes: each step waits
	// until both have had all of the previous ones, so that what a person
	// reads next is the answer to the step.
	wantA, wantB := len(alice.messagesFrom(ttt)), 1 // bob got "… is here" too
	step := func(p *person, cv *client.Conversation, text string, k int) []string {
		t.Helper()
		waitFor(t, "both to read the bot's messages", func() bool {
			return len(alice.messagesFrom(ttt)) >= wantA && len(bob.messagesFrom(ttt)) >= wantB
		})
		n := p.count()
		p.send(cv, text)
		got := p.nextN(n, ttt, k)
		wantA, wantB = wantA+k, wantB+k
		return got
	}
	if got := step(alice, cv, "play", 1); !strings.Contains(got[0], "Type join") {
		t.Fatalf("play: %q", got)
	}
	if got := step(bob, bcv, "join", 2); !strings.Contains(got[1], "(X) against bob (O)") {
		t.Fatalf("join: %q", got)
	}
	var last []string
	for _, m := range []struct {
		p    *person
		cv   *client.Conversation
		move string
	}{{alice, cv, "1"}, {bob, bcv, "5"}, {alice, cv, "2"}, {bob, bcv, "9"}, {alice, cv, "3"}} {
		last = step(m.p, m.cv, m.move, 2)
	}
	if !strings.HasPrefix(last[0], " X | X | X ") || !strings.Contains(last[1], "alice wins!") {
		t.Fatalf("the winning move: %q", last)
	}
	// Bob saw it too.
	waitFor(t, "bob to see the result", func() bool {
		for _, m := range bob.messagesFrom(ttt) {
			if strings.Contains(m, "alice wins!") {
				return true
			}
		}
		return false
	})
}

func TestHelperAnswers(t *testing.T) {
	const helper = "helper@bots.localhost"
	e := start(t, []host.BotConfig{shipped("helper")})
	alice := e.newPerson(t, "alice")
	alice.add(helper)
	cv := alice.conv(helper)
	for _, tc := range []struct{ say, re string }{
		{"hello", `^Hi alice!`},
		{"roll 2d6", `^🎲 2d6: [1-6] \+ [1-6] = \d+$`},
		{"what time is it in Tokyo?", `^🕒 In Tokyo it is \d\d:\d\d on \w+ \d+ \w+ \(JST, UTC\+9\)\.$`},
		{"convert 10 km to miles", `^10 km = 6\.2137 mi$`},
		{"help", `remind me in WHEN to WHAT`},
	} {
		if got := alice.ask(cv, helper, tc.say); !regexp.MustCompile(tc.re).MatchString(got) {
			t.Errorf("%q → %q", tc.say, got)
		}
	}
	// The personal message it set is what people see under its name.
	waitFor(t, "helper's personal message", func() bool {
		c, ok := alice.c.Contact(helper)
		return ok && c.PersonalMessage == "Type help to see what I can do"
	})
}

// A reminder set before a restart of the whole service (and so of the bot
// host) arrives after it.
func TestReminderSurvivesARestart(t *testing.T) {
	const helper = "helper@bots.localhost"
	e := start(t, []host.BotConfig{shipped("helper")})
	alice := e.newPerson(t, "alice")
	alice.add(helper)
	cv := alice.conv(helper)
	if got := alice.ask(cv, helper, "remind me in 3 seconds to stretch"); got != "OK! In 3 seconds I'll remind you to stretch. ⏰" {
		t.Fatalf("remind: %q", got)
	}
	e.host.Close()
	// It is in the service's database, not delivered yet.
	keys, err := e.cfg.Admin.KVList(context.Background(), "bot:helper", "reminder/")
	if err != nil || len(keys) != 1 {
		t.Fatalf("stored reminders: %q, %v", keys, err)
	}
	before := alice.count()
	e.srv.Restart(t)
	startOn(t, e.srv, []host.BotConfig{shipped("helper")})
	// Alice's client signs in again by itself; the reminder reaches her
	// when it is due, or when she is back if she is not yet.
	m := alice.next(before, helper)
	if !strings.HasPrefix(m.Text, "⏰ Reminder: stretch (you asked me ") {
		t.Fatalf("after the restart: %q", m.Text)
	}
	waitFor(t, "the delivered reminder to be forgotten", func() bool {
		keys, _ := e.cfg.Admin.KVList(context.Background(), "bot:helper", "reminder/")
		return len(keys) == 0
	})
}
