//go:build !linux

package bench

// listener hears the fan-out's contacts with a goroutine and a Reader
// each (an epoll loop does it on Linux).
type listener struct{ readers }

func newListener(t *tally) (*listener, error) { return &listener{readers{t: t}}, nil }

func (l *listener) listen(x *raw) error {
	l.readers.listen(x)
	return nil
}
