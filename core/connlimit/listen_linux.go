package connlimit

import (
	"context"
	"net"
	"syscall"
)

// Listen listens on a TCP address. The keep-alive of the connections it
// accepts is set once, on the listening socket, from which Linux copies it
// to each of them: Go would set it with four system calls per accepted
// connection, a tenth of a sign-in's. The probes are Go's own defaults:
// after 15 s of silence, 15 s apart, 9 of them.
func Listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1, Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			for _, o := range [...]struct{ level, name, value int }{
				{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
				{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, keepAliveIdle},
				{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, keepAliveInterval},
				{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, keepAliveProbes},
			} {
				if err == nil {
					err = syscall.SetsockoptInt(int(fd), o.level, o.name, o.value)
				}
			}
		})
		if cerr != nil {
			return cerr
		}
		return err
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}
