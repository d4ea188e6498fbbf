// Command helper is a helpful Nudge bot in the spirit of SmarterChild:
// add helper@bots.localhost and ask it to roll dice, tell the time
// anywhere, convert units, or remind you of something later — reminders
// are kept in the service's database and arrive even after a restart, or
// when you next come online. Type "help" to it for the list.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones without relying on the system's files

	"github.com/nudge-im/nudge/plugins/sdk"
)

// reminder is one reminder, as kept under "reminder/ID" in the store.
type reminder struct {
	ID   string    `json:"-"`
	To   string    `json:"to"`
	Name string    `json:"name"`
	Text string    `json:"text"`
	Due  time.Time `json:"due"`
	Set  time.Time `json:"set"`
}

const reminderPrefix = "reminder/"

type helper struct {
	env    *sdk.Env
	router *sdk.Router
	now    func() time.Time
	dice   *mrand.Rand

	mu         sync.Mutex
	timers     map[string]*time.Timer // by reminder id
	delivering map[string]bool        // reminders being sent now, not to send twice
	stop       chan struct{}
}

func newHelper() *helper {
	h := &helper{now: time.Now, timers: map[string]*time.Timer{}, delivering: map[string]bool{}, stop: make(chan struct{}),
		dice: mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))}
	r := sdk.NewRouter("!", "")
	r.Handle("roll", "[NdM+K]", "roll dice: roll 2d6, roll d20", h.roll)
	r.Handle("flip", "", "flip a coin", h.flip)
	r.Handle("time", "[in PLACE]", "the time anywhere: time in Tokyo", h.time)
	r.Handle("convert", "N UNIT to UNIT", "units: convert 10 km to miles, 72 f in c", h.convert)
	r.Handle("remind", "me in WHEN to WHAT", "a reminder later: remind me in 10 minutes to stretch", h.remind)
	r.Handle("reminders", "", "your reminders still to come", h.list)
	r.Handle("forget", "", "cancel all your reminders", h.forget)
	r.Handle("joke", "", "a joke", h.joke)
	r.Handle("help", "", "this list", h.help)
	h.router = r
	return h
}

func (h *helper) Start(ctx context.Context, env *sdk.Env) error {
	h.env = env
	// The line under the name, when the operator allows the bot to set it.
	env.Host.SetPersonalMessage(ctx, "Type help to see what I can do")
	ids, err := env.Host.KVList(ctx, reminderPrefix)
	if err != nil {
		return fmt.Errorf("cannot read the reminders: %w", err)
	}
	for _, key := range ids {
		r, ok := h.load(ctx, key)
		if ok {
			h.schedule(r)
		}
	}
	if len(ids) > 0 {
		env.Log.Info("reminders loaded", "count", len(ids))
	}
	go h.retryLoop()
	return nil
}

func (h *helper) Stop(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.timers {
		t.Stop()
	}
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	return nil
}

var timeQuestionRE = regexp.MustCompile(`(?i)\btime\b.*?\bin\s+(.+)$`)

var greetingRE = regexp.MustCompile(`(?i)^(hi|hello|hey|yo|hiya|good (morning|afternoon|evening))\b`)

func (h *helper) OnMessage(ctx context.Context, m *sdk.Message) error {
	if ok, err := h.router.Dispatch(ctx, m); ok {
		return err
	}
	text := strings.TrimSpace(m.Text)
	lower := strings.ToLower(text)
	switch {
	case isConversion(text):
		return h.convert(ctx, &sdk.Command{Message: m, Rest: text})
	case timeQuestionRE.MatchString(text):
		place := timeQuestionRE.FindStringSubmatch(text)[1]
		return h.time(ctx, &sdk.Command{Message: m, Rest: place})
	case greetingRE.MatchString(text):
		return m.Reply(ctx, fmt.Sprintf("Hi %s! I can roll dice, tell the time anywhere, convert units and remind you of things. Type help for the list.", m.From.Name()))
	case strings.Contains(lower, "thank"):
		return m.Reply(ctx, "You're welcome! 😊")
	case strings.HasPrefix(lower, "how are you"):
		return m.Reply(ctx, "Fine, thanks, and always online. What can I do for you?")
	}
	return m.Reply(ctx, "I didn't get that. Type help to see what I can do.")
}

// OnPresence delivers reminders that came due while their person was
// offline, as soon as they are back.
func (h *helper) OnPresence(ctx context.Context, p *sdk.Presence) error {
	if p.Contact.Status == sdk.Offline || p.Contact.Status == "" {
		return nil
	}
	h.deliverDue(ctx, p.Contact.Email)
	return nil
}

func (h *helper) help(ctx context.Context, c *sdk.Command) error {
	return c.Reply(ctx, "Here is what I can do:\n"+h.router.Help())
}

func (h *helper) roll(ctx context.Context, c *sdk.Command) error {
	h.mu.Lock()
	out, err := roll(c.Rest, h.dice)
	h.mu.Unlock()
	if err != nil {
		return c.Reply(ctx, err.Error())
	}
	return c.Reply(ctx, out)
}

func (h *helper) flip(ctx context.Context, c *sdk.Command) error {
	h.mu.Lock()
	heads := h.dice.IntN(2) == 0
	h.mu.Unlock()
	if heads {
		return c.Reply(ctx, "🪙 Heads!")
	}
	return c.Reply(ctx, "🪙 Tails!")
}

func (h *helper) time(ctx context.Context, c *sdk.Command) error {
	place := strings.TrimSpace(c.Rest)
	place = strings.TrimSpace(strings.TrimPrefix(place, "in "))
	out, err := timeIn(place, h.now())
	if err != nil {
		return c.Reply(ctx, err.Error())
	}
	return c.Reply(ctx, out)
}

func (h *helper) convert(ctx context.Context, c *sdk.Command) error {
	out, err := convert(c.Rest)
	if err != nil {
		return c.Reply(ctx, err.Error())
	}
	return c.Reply(ctx, out)
}

var remindRE = regexp.MustCompile(`(?i)^(?:me\s+)?in\s+(.+?)\s+(?:to|that|about)\s+(.+)$`)

func (h *helper) remind(ctx context.Context, c *sdk.Command) error {
	m := remindRE.FindStringSubmatch(c.Rest)
	if m == nil {
		return c.Reply(ctx, "Say it like: remind me in 10 minutes to stretch")
	}
	d, err := parseDuration(m[1])
	if err != nil {
		return c.Reply(ctx, err.Error())
	}
	var raw [8]byte
	rand.Read(raw[:])
	now := h.now()
	r := reminder{ID: hex.EncodeToString(raw[:]), To: c.From.Email, Name: c.From.Name(), Text: strings.TrimSpace(m[2]), Due: now.Add(d), Set: now}
	v, _ := json.Marshal(r)
	if err := h.env.Host.KVSet(ctx, reminderPrefix+r.ID, v); err != nil {
		return c.Reply(ctx, "Sorry, I could not save that reminder: "+err.Error())
	}
	h.schedule(r)
	return c.Reply(ctx, fmt.Sprintf("OK! In %s I'll remind you to %s. ⏰", humanDuration(d), r.Text))
}

func (h *helper) list(ctx context.Context, c *sdk.Command) error {
	rs := h.of(ctx, c.From.Email)
	if len(rs) == 0 {
		return c.Reply(ctx, "You have no reminders. Set one: remind me in 10 minutes to stretch")
	}
	var b strings.Builder
	b.WriteString("Your reminders:")
	now := h.now()
	for _, r := range rs {
		fmt.Fprintf(&b, "\n• in %s: %s", humanDuration(max(r.Due.Sub(now), 0)), r.Text)
	}
	return c.Reply(ctx, b.String())
}

func (h *helper) forget(ctx context.Context, c *sdk.Command) error {
	rs := h.of(ctx, c.From.Email)
	for _, r := range rs {
		h.remove(ctx, r.ID)
	}
	switch len(rs) {
	case 0:
		return c.Reply(ctx, "You had no reminders to forget.")
	case 1:
		return c.Reply(ctx, "Done: 1 reminder forgotten.")
	}
	return c.Reply(ctx, fmt.Sprintf("Done: %d reminders forgotten.", len(rs)))
}

var jokes = []string{
	"Why did the modem break up with the router? It felt the connection was too one-sided. 📶",
	"I would tell you a UDP joke, but you might not get it.",
	"There are 10 kinds of people: those who read binary and those who don't.",
	"Why do programmers mix up Halloween and Christmas? Because OCT 31 = DEC 25.",
	"My status is Away, but my heart is Online. 💚",
	"Knock knock. Who's there? *nudge* *nudge* *nudge*",
}

func (h *helper) joke(ctx context.Context, c *sdk.Command) error {
	h.mu.Lock()
	j := jokes[h.dice.IntN(len(jokes))]
	h.mu.Unlock()
	return c.Reply(ctx, j)
}

// --- reminders ------------------------------------------------------------

func (h *helper) load(ctx context.Context, key string) (reminder, bool) {
	v, ok, err := h.env.Host.KVGet(ctx, key)
	if err != nil || !ok {
		return reminder{}, false
	}
	var r reminder
	if json.Unmarshal(v, &r) != nil {
		h.env.Log.Warn("dropping an unreadable reminder", "key", key)
		h.env.Host.KVDelete(ctx, key)
		return reminder{}, false
	}
	r.ID = strings.TrimPrefix(key, reminderPrefix)
	return r, true
}

// of returns a person's reminders, soonest first.
func (h *helper) of(ctx context.Context, email string) []reminder {
	keys, err := h.env.Host.KVList(ctx, reminderPrefix)
	if err != nil {
		return nil
	}
	var out []reminder
	for _, k := range keys {
		if r, ok := h.load(ctx, k); ok && r.To == email {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b reminder) int { return a.Due.Compare(b.Due) })
	return out
}

// schedule arms a timer for the reminder (at once when it is overdue).
func (h *helper) schedule(r reminder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.timers[r.ID]; t != nil {
		t.Stop()
	}
	h.timers[r.ID] = time.AfterFunc(max(r.Due.Sub(h.now()), 0), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.deliver(ctx, r)
	})
}

func (h *helper) remove(ctx context.Context, id string) {
	h.mu.Lock()
	if t := h.timers[id]; t != nil {
		t.Stop()
		delete(h.timers, id)
	}
	h.mu.Unlock()
	h.env.Host.KVDelete(ctx, reminderPrefix+id)
}

// deliver sends a reminder and forgets it; one whose person is offline
// stays in the store until they come back.
func (h *helper) deliver(ctx context.Context, r reminder) {
	h.mu.Lock()
	if h.delivering[r.ID] {
		h.mu.Unlock()
		return
	}
	h.delivering[r.ID] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.delivering, r.ID)
		h.mu.Unlock()
	}()
	// Still there? Another path may have delivered it meanwhile.
	if _, ok, err := h.env.Host.KVGet(ctx, reminderPrefix+r.ID); err != nil || !ok {
		return
	}
	text := fmt.Sprintf("⏰ Reminder: %s (you asked me %s ago)", r.Text, humanDuration(h.now().Sub(r.Set).Round(time.Second)))
	if _, err := h.env.Host.SendTo(ctx, r.To, text, nil); err != nil {
		h.env.Log.Info("reminder kept for later", "to", r.To, "reason", err.Error())
		return
	}
	h.remove(ctx, r.ID)
}

// deliverDue sends every due reminder of email.
func (h *helper) deliverDue(ctx context.Context, email string) {
	now := h.now()
	for _, r := range h.of(ctx, email) {
		if !r.Due.After(now) {
			h.deliver(ctx, r)
		}
	}
}

// retryLoop tries due reminders again every minute, in case a presence
// change was missed.
func (h *helper) retryLoop() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		keys, _ := h.env.Host.KVList(ctx, reminderPrefix)
		now := h.now()
		for _, k := range keys {
			if r, ok := h.load(ctx, k); ok && !r.Due.After(now) {
				h.deliver(ctx, r)
			}
		}
		cancel()
	}
}

func main() { sdk.Serve(newHelper()) }
