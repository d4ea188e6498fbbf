package main

import (
	"context"
	"fmt"

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
// stops them all in reverse order.
func startExtras(ctx context.Context, env extraEnv) (func(), error) {
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	for _, e := range extras {
		stop, err := e.start(ctx, extraEnv{Config: env.Config, ConfigPath: env.ConfigPath, Server: env.Server,
			Log: env.Log.With().Str("component", e.name).Logger(), OnReload: env.OnReload})
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
