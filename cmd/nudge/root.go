package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "nudge",
		Short: "A self-hosted MSN Messenger service",
		Long: `Nudge is a self-hosted MSN Messenger service. Vintage MSN Messenger clients
(MSNP2 to MSNP12) sign in to it and chat; bridges put MSN conversations into
Matrix and Discord; bots are MSN contacts anyone can add.

Start the service with "nudge serve", make accounts with "nudge user add".`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), userCommand(), chatCommand(), benchCommand(), baselineRelayCommand(), bridgeCommand(), versionCommand())
	root.AddCommand(botCommand())
	return root
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of nudge",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			v := version
			if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
				v = info.Main.Version
			}
			fmt.Fprintln(cmd.OutOrStdout(), "nudge", v)
		},
	}
}
