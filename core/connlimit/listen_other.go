//go:build !linux

package connlimit

import "net"

// Listen listens on a TCP address; Go sets the keep-alive of each
// connection it accepts (on Linux the listening socket passes it on).
func Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
