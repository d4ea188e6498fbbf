//go:build goolm

package main

import (
	"github.com/spf13/cobra"

	"github.com/nudge-im/nudge/bridges/matrix"
)

func init() { registerBridge(bridgeMatrixCommand) }

// bridgeMatrixCommand runs the Matrix bridge with the command line of every
// mautrix bridge, which mxmain parses itself.
func bridgeMatrixCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "matrix [-c config.yaml] [-g -r registration.yaml] [-e] [--ignore-unsupported-server]",
		Short: "Run the Matrix bridge (a mautrix appservice)",
		Long: `Run the Matrix bridge, an appservice that puts MSN contacts and conversations
into Matrix rooms. It takes the flags of every mautrix bridge:

  -e, --generate-example-config   write an example config to the -c path and quit
  -g, --generate-registration     write the appservice registration to the -r path and quit
  -c, --config PATH               the config file (default config.yaml)
  -r, --registration PATH         the registration file (default registration.yaml)
  -n, --no-update                 do not write updated defaults back to the config
      --ignore-unsupported-server run on homeservers older than spec v1.4 (Dendrite)

Typical set-up:

  nudge bridge matrix -e -c bridge.yaml          # then edit bridge.yaml
  nudge bridge matrix -g -c bridge.yaml -r msn-registration.yaml
  # add msn-registration.yaml to the homeserver, restart it, then:
  nudge bridge matrix -c bridge.yaml`,
		DisableFlagParsing: true,
		Run: func(cmd *cobra.Command, args []string) {
			matrix.Main("nudge bridge matrix", args, version)
		},
	}
}
