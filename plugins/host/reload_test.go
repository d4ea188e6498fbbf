package host_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/nudge-im/nudge/plugins/host"
)

// configFile stands for nudge.yaml: what Source reads when a reload asks.
type configFile struct {
	mu   sync.Mutex
	bots []host.BotConfig
	err  error
}

func (c *configFile) set(err error, bots ...host.BotConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bots, c.err = bots, err
}

func (c *configFile) source() ([]host.BotConfig, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.bots), c.err
}

func withSettings(settings map[string]string) func(*host.BotConfig) {
	return func(b *host.BotConfig) { b.Settings = settings }
}

// A reload reads the configuration again: changed settings take effect, a
// bot new to the file starts, one gone from it stops.
func TestReloadReadsTheConfiguration(t *testing.T) {
	file := &configFile{}
	tb := bot("tb", "testbot", withSettings(map[string]string{"colour": "red"}))
	file.set(nil, tb)
	e := start(t, []host.BotConfig{tb}, func(c *host.Config) { c.Source = file.source })
	alice := e.newPerson(t, "alice")
	alice.add("tb@bots.localhost")
	if got := alice.ask(alice.conv("tb@bots.localhost"), "tb@bots.localhost", "settings"); got != "settings: colour=red" {
		t.Fatalf("settings: %q", got)
	}
	ctx := context.Background()

	// A changed setting.
	tb = bot("tb", "testbot", withSettings(map[string]string{"colour": "blue"}))
	file.set(nil, tb)
	if st, err := e.host.Reload(ctx, "tb"); err != nil || st.State != host.StateRunning {
		t.Fatalf("reload tb: %+v, %v", st, err)
	}
	e.waitState(t, "tb", host.StateRunning)
	if got := alice.ask(alice.conv("tb@bots.localhost"), "tb@bots.localhost", "settings"); got != "settings: colour=blue" {
		t.Fatalf("after the reload the bot has %q", got)
	}

	// A bot new to the file.
	file.set(nil, tb, bot("fresh", "echo"))
	if st, err := e.host.Reload(ctx, "fresh"); err != nil || st.State != host.StateRunning || st.PID == 0 {
		t.Fatalf("reload of a new bot: %+v, %v", st, err)
	}
	fresh := e.waitState(t, "fresh", host.StateRunning)

	// ReloadAll: one more bot, fresh gone, tb left alone.
	tbPID := e.status(t, "tb").PID
	file.set(nil, tb, bot("third", "echo"))
	changes, err := e.host.ReloadAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, ch := range changes {
		got[ch.Name] = ch.Action
	}
	if len(changes) != 3 || got["tb"] != host.Unchanged || got["third"] != host.Started || got["fresh"] != host.Stopped {
		t.Fatalf("changes: %+v", changes)
	}
	if st := e.status(t, "tb"); st.PID != tbPID {
		t.Errorf("an unchanged bot was restarted: %+v (pid before %d)", st, tbPID)
	}
	if _, err := e.host.BotStatus("fresh"); !errors.Is(err, host.ErrNoBot) {
		t.Errorf("the removed bot: %v", err)
	}
	waitFor(t, "the removed bot's process to end", func() bool { return !alive(fresh.PID) })
	e.waitState(t, "third", host.StateRunning)
	alice.add("third@bots.localhost")
	if got := alice.ask(alice.conv("third@bots.localhost"), "third@bots.localhost", "hello"); got != "hello" {
		t.Fatalf("the new bot answered %q", got)
	}
	if names := statusNames(e.host.Status()); !slices.Equal(names, []string{"tb", "third"}) {
		t.Errorf("bots after the reload: %q", names)
	}

	// Reload of a bot gone from the file stops it.
	file.set(nil, tb)
	if st, err := e.host.Reload(ctx, "third"); err != nil || st.State != host.StateRemoved {
		t.Fatalf("reload of a removed bot: %+v, %v", st, err)
	}

	// A mistake in the file changes nothing.
	file.set(errors.New("nudge.yaml:3: unknown key \"colour\""), tb)
	var ce *host.ConfigError
	if _, err := e.host.ReloadAll(ctx); !errors.As(err, &ce) {
		t.Fatalf("ReloadAll with a broken file: %v", err)
	}
	if _, err := e.host.Reload(ctx, "tb"); !errors.As(err, &ce) {
		t.Fatalf("Reload with a broken file: %v", err)
	}
	if st := e.status(t, "tb"); st.State != host.StateRunning || st.PID != tbPID {
		t.Errorf("after the refused reloads: %+v", st)
	}
}

func statusNames(sts []host.Status) []string {
	var out []string
	for _, s := range sts {
		out = append(out, s.Name)
	}
	return out
}
