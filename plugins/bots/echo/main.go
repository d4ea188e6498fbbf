// Command echo is the simplest Nudge bot, and the template to copy: it
// says back whatever it is told. Add echo@bots.localhost as a contact and
// write to it.
package main

import (
	"context"

	"github.com/nudge-im/nudge/plugins/sdk"
)

// echo has no state; each hook is a method.
type echo struct{}

// OnMessage answers every message with the same text, in the same
// formatting (font, colour, bold…).
func (echo) OnMessage(ctx context.Context, m *sdk.Message) error {
	return m.ReplyFormatted(ctx, m.Text, m.Format)
}

// OnNudge nudges back.
func (echo) OnNudge(ctx context.Context, n *sdk.Nudge) error {
	return n.NudgeBack(ctx)
}

func main() { sdk.Serve(echo{}) }
