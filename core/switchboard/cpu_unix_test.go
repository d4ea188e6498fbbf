//go:build unix

package switchboard

import (
	"syscall"
	"time"
)

// processCPU is the processor time, user and system, the test process has
// used: both ends of a benchmark's connections.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
