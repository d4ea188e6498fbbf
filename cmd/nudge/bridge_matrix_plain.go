//go:build !goolm

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func init() { registerBridge(bridgeMatrixPlainCommand) }

// errNoMatrix is what "nudge bridge matrix" says in a nudge built without
// the goolm tag, which leaves the Matrix bridge out (see bridges/matrix).
var errNoMatrix = errors.New("this nudge was built without the Matrix bridge: build it with make build, or go build -tags goolm ./cmd/nudge")

// bridgeMatrixPlainCommand stands in for the Matrix bridge's command.
func bridgeMatrixPlainCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "matrix",
		Short:              "Run the Matrix bridge (not in this build: it needs -tags goolm)",
		DisableFlagParsing: true,
		RunE:               func(*cobra.Command, []string) error { return errNoMatrix },
	}
}
