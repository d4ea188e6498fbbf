package sdk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Command is one command a person typed: "!roll 2d6" is Name "roll" with
// Args ["2d6"] and Rest "2d6".
type Command struct {
	*Message
	Name string   // lower-case
	Args []string // the words after the name
	Rest string   // everything after the name, spaces kept, trimmed
}

// CommandFunc handles a command.
type CommandFunc func(ctx context.Context, c *Command) error

type route struct {
	name, usage, help string
	fn                CommandFunc
}

// Router dispatches messages that are commands to their handlers. A
// message is a command when it starts with one of the router's prefixes
// followed by a known name; with the prefix "" every message is read as
// one ("roll 2d6"). Names are matched without regard to case.
//
//	r := sdk.NewRouter("!")
//	r.Handle("roll", "NdM", "roll dice", roll)
//	func (b *bot) OnMessage(ctx context.Context, m *sdk.Message) error {
//		if ok, err := r.Dispatch(ctx, m); ok {
//			return err
//		}
//		return m.Reply(ctx, "Type !help")
//	}
type Router struct {
	prefixes []string

	mu     sync.RWMutex
	routes []route
}

// NewRouter returns a router for the given prefixes, tried in order ("!"
// and "" make both "!roll" and "roll" work). No prefix means "!".
func NewRouter(prefixes ...string) *Router {
	if len(prefixes) == 0 {
		prefixes = []string{"!"}
	}
	// Longer prefixes first, so that "" never shadows "!".
	p := slices.Clone(prefixes)
	slices.SortStableFunc(p, func(a, b string) int { return len(b) - len(a) })
	return &Router{prefixes: p}
}

// Handle adds a command. usage shows its arguments ("NdM") and help says
// what it does, for Help. Adding a name twice replaces the first.
func (r *Router) Handle(name, usage, help string, fn CommandFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name = strings.ToLower(name)
	for i := range r.routes {
		if r.routes[i].name == name {
			r.routes[i] = route{name, usage, help, fn}
			return
		}
	}
	r.routes = append(r.routes, route{name, usage, help, fn})
}

// Parse splits a message into a command of this router, without running
// it; ok is false when the text is not a known command.
func (r *Router) Parse(text string) (name string, args []string, rest string, ok bool) {
	text = strings.TrimSpace(text)
	for _, p := range r.prefixes {
		after, found := strings.CutPrefix(text, p)
		if !found {
			continue
		}
		word, tail, _ := strings.Cut(after, " ")
		word = strings.ToLower(strings.TrimRightFunc(word, func(c rune) bool { return unicode.IsPunct(c) && c != '-' }))
		if _, ok := r.find(word); ok {
			rest = strings.TrimSpace(tail)
			return word, strings.Fields(rest), rest, true
		}
	}
	return "", nil, "", false
}

func (r *Router) find(name string) (route, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, rt := range r.routes {
		if rt.name == name {
			return rt, true
		}
	}
	return route{}, false
}

// Dispatch runs the command in m, if it is one. handled is false when m is
// not a command this router knows; the caller then answers itself.
func (r *Router) Dispatch(ctx context.Context, m *Message) (handled bool, err error) {
	name, args, rest, ok := r.Parse(m.Text)
	if !ok {
		return false, nil
	}
	rt, _ := r.find(name)
	return true, rt.fn(ctx, &Command{Message: m, Name: name, Args: args, Rest: rest})
}

// Help lists the commands, one a line, with the first prefix.
func (r *Router) Help() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	prefix := r.prefixes[len(r.prefixes)-1] // the shortest: what people type most easily
	var b strings.Builder
	for _, rt := range r.routes {
		line := prefix + rt.name
		if rt.usage != "" {
			line += " " + rt.usage
		}
		fmt.Fprintf(&b, "%s — %s\n", line, rt.help)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
