//go:build !unix

package msnp

import "syscall"

// socket is unused where file descriptors cannot be read directly: Readers
// then keep their buffer and read through the connection.
type socket struct{ ok bool }

func (*socket) init(syscall.Conn, *input) {}

func (*socket) read(int) (int, error) { panic("unreachable") }
