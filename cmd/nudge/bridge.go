package main

import "github.com/spf13/cobra"

// bridgeCommands are the subcommands of "nudge bridge", one per bridge;
// each registers itself from its own file.
var bridgeCommands []func() *cobra.Command

func registerBridge(f func() *cobra.Command) { bridgeCommands = append(bridgeCommands, f) }

func bridgeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bridge",
		Short: "Run a bridge that puts MSN conversations into another chat network",
		Args:  cobra.NoArgs,
	}
	for _, f := range bridgeCommands {
		cmd.AddCommand(f())
	}
	return cmd
}
