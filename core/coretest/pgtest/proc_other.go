//go:build !linux

package pgtest

import "syscall"

// sysProcAttr runs the server as cred (nil: as this process). Only Linux
// can tie the server's life to the test process; elsewhere a killed test
// process leaves its cluster running until Stop or a reboot.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
