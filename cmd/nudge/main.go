// Command nudge is the Nudge MSN Messenger service, its bridges and its bots,
// in one binary.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "nudge:", err)
		os.Exit(1)
	}
}
