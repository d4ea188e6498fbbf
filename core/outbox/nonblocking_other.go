//go:build !unix

package outbox

import "net"

// nonblocking is unavailable where file descriptors cannot be written
// directly: every write then goes to a flusher goroutine.
type nonblocking struct{ ok bool }

func (*nonblocking) init(net.Conn) {}

func (*nonblocking) write([]byte) (int, error) { panic("unreachable") }
