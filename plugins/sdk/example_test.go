package sdk_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nudge-im/nudge/plugins/sdk"
	"github.com/nudge-im/nudge/plugins/sdk/sdktest"
)

// greeter is a whole bot: it greets whoever writes to it.
type greeter struct{}

func (greeter) OnMessage(ctx context.Context, m *sdk.Message) error {
	return m.Reply(ctx, "Hello, "+m.From.Name()+"!")
}

func Example() {
	// In the bot's main: sdk.Serve(greeter{})
	//
	// In its tests, a fake host stands in for the real one:
	k := sdktest.New(&testing.T{}, greeter{}, nil)
	fmt.Println(k.Say("alice@example.com", "hi"))
	// Output: [Hello, alice!]
}
