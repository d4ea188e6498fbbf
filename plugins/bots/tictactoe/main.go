// Command tictactoe is the MSN game as a Nudge bot: add
// tictactoe@bots.localhost and type "play". You are X and move first by
// typing a square's number; the bot draws the board after every move.
//
// In a conversation with several people, "play" opens a game that the
// next person to type "join" plays against you, and the bot keeps the
// board and the score. "invite EMAIL" asks a friend into the conversation
// to play. "level hard" makes the bot unbeatable; "stats" shows your wins,
// losses and draws, which the bot keeps in its key-value store.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nudge-im/nudge/plugins/sdk"
)

// player is one side of a game.
type player struct {
	email, name string
	bot         bool
}

// game is one game in one conversation.
type game struct {
	b       board
	players [2]player // X, then O
	turn    int       // index into players
	hard    bool
}

func (g *game) current() player { return g.players[g.turn] }

func (g *game) markOf(i int) mark {
	if i == 0 {
		return markX
	}
	return markO
}

type bot struct {
	env    *sdk.Env
	router *sdk.Router

	mu      sync.Mutex
	games   map[string]*game  // by conversation
	waiting map[string]player // a group game waiting for someone to join, by conversation
	hard    map[string]bool   // conversations that asked for the hard level
	invited map[string]bool   // "conversation email" of invitations not yet answered
}

func newBot() *bot {
	b := &bot{games: map[string]*game{}, waiting: map[string]player{}, hard: map[string]bool{}, invited: map[string]bool{}}
	r := sdk.NewRouter("!", "")
	r.Handle("play", "", "start a game (against me, or in a group against whoever joins)", b.play)
	r.Handle("join", "", "take the other side of a game someone opened", b.join)
	r.Handle("board", "", "show the board", b.showBoard)
	r.Handle("resign", "", "give up the game", b.resign)
	r.Handle("level", "easy|hard", "how well I play", b.level)
	r.Handle("stats", "", "your wins, losses and draws", b.stats)
	r.Handle("invite", "EMAIL", "ask a friend into this conversation to play", b.invite)
	r.Handle("help", "", "this list", b.help)
	b.router = r
	return b
}

func (b *bot) Start(_ context.Context, env *sdk.Env) error {
	b.env = env
	return nil
}

func (b *bot) OnMessage(ctx context.Context, m *sdk.Message) error {
	text := strings.TrimSpace(m.Text)
	if n, err := strconv.Atoi(strings.TrimPrefix(text, "!")); err == nil {
		return b.move(ctx, m, n)
	}
	if ok, err := b.router.Dispatch(ctx, m); ok {
		return err
	}
	return m.Reply(ctx, "Let's play tic-tac-toe! Type play to start, or help to see what I understand.")
}

// OnLeave ends a game whose player left.
func (b *bot) OnLeave(ctx context.Context, l *sdk.Leave) error {
	b.mu.Lock()
	g := b.games[l.Conversation]
	abandoned := g != nil && (g.players[0].email == l.Contact.Email || g.players[1].email == l.Contact.Email)
	if abandoned {
		delete(b.games, l.Conversation)
	}
	if w, ok := b.waiting[l.Conversation]; ok && w.email == l.Contact.Email {
		delete(b.waiting, l.Conversation)
	}
	b.mu.Unlock()
	if abandoned && len(l.Participants) > 0 {
		return b.env.Host.Send(ctx, l.Conversation, l.Contact.Name()+" left; the game is over.", nil)
	}
	return nil
}

func (b *bot) help(ctx context.Context, c *sdk.Command) error {
	return c.Reply(ctx, "Tic-tac-toe: type play, then the number of a square (1 to 9) to put your mark there.\n"+b.router.Help())
}

func (b *bot) play(ctx context.Context, c *sdk.Command) error {
	me := player{email: c.From.Email, name: c.From.Name()}
	b.mu.Lock()
	if g := b.games[c.Conversation]; g != nil {
		b.mu.Unlock()
		return c.Reply(ctx, "A game is on already: "+g.current().name+" to move. Type resign to give up.")
	}
	vsBot := !c.Group() || len(c.Args) > 0 && (c.Args[0] == "me" || c.Args[0] == "bot" || c.Args[0] == "you")
	if !vsBot {
		b.waiting[c.Conversation] = me
		b.mu.Unlock()
		return c.Reply(ctx, me.name+" plays X. Who takes O? Type join. (Or play bot, to play me.)")
	}
	g := &game{b: newBoard(), players: [2]player{me, {email: b.env.Self.Email, name: b.env.Self.Name(), bot: true}},
		hard: b.hard[c.Conversation]}
	b.games[c.Conversation] = g
	b.mu.Unlock()
	return b.show(ctx, c.Conversation, g, "New game! You are X and go first: type a square's number.")
}

func (b *bot) join(ctx context.Context, c *sdk.Command) error {
	b.mu.Lock()
	x, ok := b.waiting[c.Conversation]
	if !ok {
		b.mu.Unlock()
		return c.Reply(ctx, "Nobody is waiting for a partner here. Type play to open a game.")
	}
	if x.email == c.From.Email {
		b.mu.Unlock()
		return c.Reply(ctx, "You cannot play yourself! Someone else types join.")
	}
	delete(b.waiting, c.Conversation)
	g := &game{b: newBoard(), players: [2]player{x, {email: c.From.Email, name: c.From.Name()}}}
	b.games[c.Conversation] = g
	b.mu.Unlock()
	return b.show(ctx, c.Conversation, g, fmt.Sprintf("%s (X) against %s (O). %s goes first.", x.name, c.From.Name(), x.name))
}

func (b *bot) showBoard(ctx context.Context, c *sdk.Command) error {
	b.mu.Lock()
	g := b.games[c.Conversation]
	b.mu.Unlock()
	if g == nil {
		return c.Reply(ctx, "No game here. Type play to start one.")
	}
	return b.show(ctx, c.Conversation, g, g.current().name+" to move.")
}

func (b *bot) resign(ctx context.Context, c *sdk.Command) error {
	b.mu.Lock()
	g := b.games[c.Conversation]
	if g == nil || g.players[0].email != c.From.Email && g.players[1].email != c.From.Email {
		b.mu.Unlock()
		return c.Reply(ctx, "You are not in a game here.")
	}
	delete(b.games, c.Conversation)
	b.mu.Unlock()
	loser, winner := g.players[0], g.players[1]
	if winner.email == c.From.Email {
		loser, winner = winner, loser
	}
	b.record(ctx, winner, loser, false)
	return c.Reply(ctx, loser.name+" resigns. "+winner.name+" wins!")
}

func (b *bot) level(ctx context.Context, c *sdk.Command) error {
	if len(c.Args) == 0 {
		b.mu.Lock()
		hard := b.hard[c.Conversation]
		b.mu.Unlock()
		if hard {
			return c.Reply(ctx, "I play hard here. Type level easy to give yourself a chance.")
		}
		return c.Reply(ctx, "I play easy here. Type level hard if you dare.")
	}
	var hard bool
	switch strings.ToLower(c.Args[0]) {
	case "easy":
	case "hard":
		hard = true
	default:
		return c.Reply(ctx, "I know two levels: type level easy, or level hard.")
	}
	b.mu.Lock()
	b.hard[c.Conversation] = hard
	if g := b.games[c.Conversation]; g != nil {
		g.hard = hard
	}
	b.mu.Unlock()
	if hard {
		return c.Reply(ctx, "Hard it is: I will not lose. A draw is a fine result!")
	}
	return c.Reply(ctx, "Easy does it: I can be beaten.")
}

func (b *bot) invite(ctx context.Context, c *sdk.Command) error {
	if len(c.Args) != 1 || !strings.Contains(c.Args[0], "@") {
		return c.Reply(ctx, "Whom? Type invite and their e-mail address.")
	}
	email := c.Args[0]
	for _, p := range c.Participants {
		if strings.EqualFold(p.Email, email) {
			return c.Reply(ctx, p.Name()+" is here already. Type play to open a game, and they type join.")
		}
	}
	key := c.Conversation + " " + strings.ToLower(email)
	b.mu.Lock()
	b.invited[key] = true
	b.mu.Unlock()
	if err := b.env.Host.Invite(ctx, c.Conversation, email); err != nil {
		b.mu.Lock()
		delete(b.invited, key)
		b.mu.Unlock()
		return c.Reply(ctx, "I could not invite "+email+": "+err.Error())
	}
	// They have joined: OnJoin, which comes next, greets them by name.
	return nil
}

// OnJoin greets a friend someone invited, by the name they go by.
func (b *bot) OnJoin(ctx context.Context, j *sdk.Join) error {
	key := j.Conversation + " " + strings.ToLower(j.Contact.Email)
	b.mu.Lock()
	invited := b.invited[key]
	delete(b.invited, key)
	b.mu.Unlock()
	if !invited {
		return nil
	}
	return b.env.Host.Send(ctx, j.Conversation, j.Contact.Name()+" is here. Type play to open a game, and they type join.", nil)
}

// move plays square n (1..9) for the sender.
func (b *bot) move(ctx context.Context, m *sdk.Message, n int) error {
	b.mu.Lock()
	g := b.games[m.Conversation]
	if g == nil {
		b.mu.Unlock()
		return m.Reply(ctx, "No game here. Type play to start one.")
	}
	cur := g.current()
	switch {
	case cur.email != m.From.Email:
		b.mu.Unlock()
		if g.players[0].email != m.From.Email && g.players[1].email != m.From.Email {
			return m.Reply(ctx, "You are not in this game.")
		}
		return m.Reply(ctx, "Not your turn: "+cur.name+" to move.")
	case n < 1 || n > 9:
		b.mu.Unlock()
		return m.Reply(ctx, "Squares are numbered 1 to 9.")
	case g.b[n-1] != empty:
		b.mu.Unlock()
		return m.Reply(ctx, fmt.Sprintf("Square %d is taken. Pick a free number.", n))
	}
	g.b[n-1] = g.markOf(g.turn)
	g.turn = 1 - g.turn
	over, text, rec := g.outcome()
	if !over && g.current().bot {
		var i int
		if g.hard {
			i = g.b.moveHard(g.markOf(g.turn))
		} else {
			i = g.b.moveNormal(g.markOf(g.turn))
		}
		g.b[i] = g.markOf(g.turn)
		g.turn = 1 - g.turn
		over, text, rec = g.outcome()
		if !over {
			text = fmt.Sprintf("I take %d. Your move.", i+1)
		} else {
			text = fmt.Sprintf("I take %d. ", i+1) + text
		}
	}
	if over {
		delete(b.games, m.Conversation)
	}
	b.mu.Unlock()
	if rec != nil {
		b.record(ctx, rec.winner, rec.loser, rec.draw)
	}
	return b.show(ctx, m.Conversation, g, text)
}

// result is a finished game, to record.
type result struct {
	winner, loser player
	draw          bool
}

// outcome says whether the game is over, what to say, and the result to
// record when it is.
func (g *game) outcome() (bool, string, *result) {
	switch w := g.b.winner(); {
	case w != empty:
		winner, loser := g.players[0], g.players[1]
		if w == markO {
			winner, loser = loser, winner
		}
		r := &result{winner: winner, loser: loser}
		if winner.bot {
			return true, "I win! Type play for a rematch.", r
		}
		if loser.bot {
			return true, "You win! Well played. Type play for another game.", r
		}
		return true, winner.name + " wins! Type play for another game.", r
	case g.b.full():
		return true, "A draw! Type play for another game.", &result{winner: g.players[0], loser: g.players[1], draw: true}
	}
	return false, g.current().name + " to move.", nil
}

func (b *bot) show(ctx context.Context, conv string, g *game, text string) error {
	if err := b.env.Host.Send(ctx, conv, g.b.String(), sdk.Monospace); err != nil {
		return err
	}
	return b.env.Host.Send(ctx, conv, text, nil)
}

// score is a person's record, kept in the key-value store.
type score struct {
	Wins, Losses, Draws int
}

func (b *bot) load(ctx context.Context, email string) score {
	var s score
	if v, ok, err := b.env.Host.KVGet(ctx, "stats/"+email); err == nil && ok {
		json.Unmarshal(v, &s)
	}
	return s
}

// record counts a result for the people in it (not for the bot).
func (b *bot) record(ctx context.Context, winner, loser player, draw bool) {
	update := func(p player, f func(*score)) {
		if p.bot {
			return
		}
		s := b.load(ctx, p.email)
		f(&s)
		v, _ := json.Marshal(s)
		if err := b.env.Host.KVSet(ctx, "stats/"+p.email, v); err != nil {
			b.env.Log.Warn("cannot save the score", "player", p.email, "error", err)
		}
	}
	if draw {
		update(winner, func(s *score) { s.Draws++ })
		update(loser, func(s *score) { s.Draws++ })
		return
	}
	update(winner, func(s *score) { s.Wins++ })
	update(loser, func(s *score) { s.Losses++ })
}

func (b *bot) stats(ctx context.Context, c *sdk.Command) error {
	s := b.load(ctx, c.From.Email)
	return c.Reply(ctx, fmt.Sprintf("%s: %d won, %d lost, %d drawn.", c.From.Name(), s.Wins, s.Losses, s.Draws))
}

func main() { sdk.Serve(newBot()) }
