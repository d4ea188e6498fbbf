package shim

import (
	"errors"
	"os/exec"
)

// initArg0 is the argv[0] of the sandbox's init.
const initArg0 = "nudge-bot-init"

// Sandbox says how to confine a bot.
type Sandbox struct{}

func sandboxCommand(Spec) (*exec.Cmd, error) { return nil, errors.New("no sandbox yet") }

func sandboxInit(string) int { return 1 }
