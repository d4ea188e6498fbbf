//go:build !unix

package outbox

import "net"

// nonblocking is unavailable where file descriptors cannot be written
// directly: every write then goes to a flusher goroutine.
type nonblocking struct{}

func newNonblocking(net.Conn) *nonblocking { return nil }

func (*nonblocking) write([]byte) (int, error) { panic("unreachable") }
