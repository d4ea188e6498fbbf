package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/server"
)

// An extra is a part of the program that runs beside the MSN service in
// "nudge serve" — the bot host, a bridge — as an MSN client of it. Each
// registers itself from its own file, so serve stays the same as parts are
// added; core never imports them.
type extra struct {
	name string
	// start runs the part and returns how to stop it. It returns a nil
	// stop (and no error) when the configuration turns the part off.
	start func(ctx context.Context, env extraEnv) (stop func(), err error)
}

// extraEnv is what an extra gets from serve.
type extraEnv struct {
	Config config.Config
	// ConfigPath is the file Config was read from ("" for the defaults),
	// for parts that read it again when asked to reload.
	ConfigPath string
	Server     *server.Server
	Log        zerolog.Logger
	// OnReload, when set, registers what the part does when the operator
	// asks the server to reload its configuration (SIGHUP).
	OnReload func(reload func(ctx context.Context))
}

var extras []extra

func registerExtra(e extra) { extras = append(extras, e) }

// startExtras starts every registered part and returns one function that
// stops them all in reverse order. What they register for SIGHUP goes into
// hooks, and leaves it when they stop: a node that hands the bots over to
// another (a cluster's lease) and takes them back later reloads the ones
// it runs, not the ones it stopped.
func startExtras(ctx context.Context, env extraEnv, hooks *reloads) (func(), error) {
	var stops []func()
	var mu sync.Mutex
	var unhook []func()
	stopAll := func() {
		// Unhooked first: a SIGHUP from now on does not reach parts
		// that are stopping.
		mu.Lock()
		for _, f := range unhook {
			f()
		}
		unhook = nil
		mu.Unlock()
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	onReload := func(f func(context.Context)) {
		remove := hooks.add(f)
		mu.Lock()
		unhook = append(unhook, remove)
		mu.Unlock()
	}
	for _, e := range extras {
		stop, err := e.start(ctx, extraEnv{Config: env.Config, ConfigPath: env.ConfigPath, Server: env.Server,
			Log: env.Log.With().Str("component", e.name).Logger(), OnReload: onReload})
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		if stop != nil {
			stops = append(stops, stop)
		}
	}
	return stopAll, nil
}

// reloads are what SIGHUP runs: the hooks of the parts running now. The
// parts register from their own goroutines (the cluster's lease starts and
// stops them) while the signal loop runs the hooks.
type reloads struct {
	mu    sync.Mutex
	next  int
	hooks []reloadHook
}

type reloadHook struct {
	id int
	fn func(context.Context)
}

// add registers fn and returns what takes it away again.
func (r *reloads) add(fn func(context.Context)) (remove func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	id := r.next
	r.hooks = append(r.hooks, reloadHook{id, fn})
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i, h := range r.hooks {
			if h.id == id {
				r.hooks = append(r.hooks[:i:i], r.hooks[i+1:]...)
				return
			}
		}
	}
}

// run calls the registered hooks in the order they came.
func (r *reloads) run(ctx context.Context) {
	r.mu.Lock()
	hooks := append([]reloadHook(nil), r.hooks...)
	r.mu.Unlock()
	for _, h := range hooks {
		h.fn(ctx)
	}
}

// len is the number of hooks registered.
func (r *reloads) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.hooks)
}
