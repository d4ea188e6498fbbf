package discord

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// account keeps one MSN session signed in: it signs in (again, with
// backoff, when the server is down or the connection ends for good), hands
// every event to its owner in order, and gives callers the client once it
// is there. A personal bridge (a Discord user) and a room each have one.
type account struct {
	log     zerolog.Logger
	cfg     client.Config
	timeout time.Duration

	// handle gets every event, in order, on the account's goroutine.
	handle func(*client.Client, client.Event)
	// gone is told when the account cannot go on without the user: the
	// password was refused, or the account signed in elsewhere.
	gone func(error)

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	cl    *client.Client
	ready chan struct{} // closed while cl is set
}

func newAccount(log zerolog.Logger, cfg client.Config, timeout time.Duration) *account {
	done := make(chan struct{})
	close(done) // not running until start
	return &account{log: log, cfg: cfg, timeout: timeout, ready: make(chan struct{}), done: done}
}

// dial signs in once.
func (a *account) dial(ctx context.Context) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return client.Dial(ctx, a.cfg)
}

// start runs the account until stop. first, when not nil, is a client
// already signed in (by /msn login).
func (a *account) start(parent context.Context, first *client.Client) {
	a.mu.Lock()
	a.ctx, a.cancel = context.WithCancel(parent)
	a.done = make(chan struct{})
	a.mu.Unlock()
	go a.run(first)
}

// permanent reports whether a sign-in error needs the user: signing in
// again would fail the same way or sign another session out.
func permanent(err error) bool {
	return errors.Is(err, msnp.ErrAuthFailed) || errors.Is(err, msnp.ErrAuthFailed2) ||
		errors.Is(err, client.ErrSignedInElsewhere) || errors.Is(err, msnp.ErrNoSuchUser) ||
		errors.Is(err, msnp.ErrInvalidPrincipal)
}

func (a *account) run(cl *client.Client) {
	a.mu.Lock()
	done := a.done
	a.mu.Unlock()
	defer close(done)
	delay := time.Second
	for {
		if cl == nil {
			c, err := a.dial(a.ctx)
			if a.ctx.Err() != nil {
				if c != nil {
					c.Close()
				}
				return
			}
			if err != nil {
				if permanent(err) {
					a.log.Warn().Err(err).Msg("MSN sign-in refused")
					a.gone(err)
					return
				}
				a.log.Warn().Err(err).Dur("retry_in", delay).Msg("MSN sign-in failed")
				select {
				case <-time.After(delay):
				case <-a.ctx.Done():
					return
				}
				delay = min(2*delay, time.Minute)
				continue
			}
			cl = c
			delay = time.Second
		}
		a.mu.Lock()
		a.cl = cl
		close(a.ready)
		a.mu.Unlock()
		if a.ctx.Err() != nil {
			// stop ran while we signed in and saw no client to close.
			cl.Close()
		}
		a.log.Info().Str("email", a.cfg.Email).Stringer("version", cl.Version()).Msg("signed in to MSN")

		for ev := range cl.Events() {
			a.handle(cl, ev)
		}
		err := cl.Err()
		cl.Close()
		a.mu.Lock()
		a.cl = nil
		a.ready = make(chan struct{})
		a.mu.Unlock()
		cl = nil
		if a.ctx.Err() != nil {
			return
		}
		if permanent(err) {
			a.log.Warn().Err(err).Msg("MSN session ended")
			a.gone(err)
			return
		}
		a.log.Warn().Err(err).Msg("MSN session ended; signing in again")
	}
}

// client returns the signed-in client, waiting for it within ctx.
func (a *account) client(ctx context.Context) (*client.Client, error) {
	for {
		a.mu.Lock()
		cl, ready, done := a.cl, a.ready, a.done
		a.mu.Unlock()
		if cl != nil {
			return cl, nil
		}
		select {
		case <-ready:
		case <-done:
			return nil, errSignedOut
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// current returns the client if signed in now, else nil.
func (a *account) current() *client.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cl
}

// stop signs out and waits for the account's goroutine.
func (a *account) stop() {
	a.mu.Lock()
	cancel := a.cancel
	a.mu.Unlock()
	if cancel == nil {
		return
	}
	// Cancel first: run closes a client it sets after this.
	cancel()
	a.mu.Lock()
	cl, done := a.cl, a.done
	a.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
	<-done
}
