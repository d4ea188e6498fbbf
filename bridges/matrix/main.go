//go:build goolm

package matrix

import (
	"os"
	"slices"
	"time"

	flag "maunium.net/go/mauflag"
	"maunium.net/go/mautrix/bridgev2/matrix/mxmain"
)

// Main runs the bridge the way every mautrix bridge runs, with args as its
// command line: -c config.yaml, -g -r registration.yaml to generate the
// registration, -e to write an example config, and so on (see -h). It
// exits the process when the bridge stops.
func Main(name string, args []string, version string) {
	flag.DefaultSet().InputArgs = args
	m := NewBridgeMain(name, version)
	if c, ok := m.Connector.(*Connector); ok {
		c.example = slices.ContainsFunc(args, func(a string) bool { return a == "-e" || a == "--generate-example-config" })
	}
	m.PreInit()
	m.Init()
	m.Start()
	code := m.WaitForInterrupt()
	// mxmain's own Run gives the logins 5 seconds to disconnect; a
	// homeserver slow to take the last messages would lose them.
	m.Bridge.StopWithTimeout(stopWait)
	os.Exit(code)
}

// stopWait bounds a stop: long enough for the MSN messages already
// received to reach a slow homeserver (see drainWait), short of the 90
// seconds service managers wait before killing.
const stopWait = 30 * time.Second

// NewBridgeMain returns the mxmain bridge with the MSN connector.
func NewBridgeMain(name, version string) *mxmain.BridgeMain {
	conn := &Connector{}
	m := &mxmain.BridgeMain{
		Name:        name,
		Description: "A Matrix bridge for MSN Messenger",
		URL:         "https://github.com/nudge-im/nudge",
		Version:     "0.1.0",
		// The database belongs to the bridge whatever its command is called.
		DBOwner:   "megabridge/nudge-matrix",
		Connector: conn,
	}
	conn.configPath = func() string { return m.ConfigPath }
	m.InitVersion(version, "", "")
	return m
}
