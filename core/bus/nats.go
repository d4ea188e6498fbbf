package bus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// NATSOptions say how to reach a NATS cluster.
type NATSOptions struct {
	// URLs of the NATS servers ("nats://host:4222"); the client fails over
	// between them and learns the rest of the cluster from them.
	URLs []string
	// Name is this connection's name in the servers' monitoring (the node's).
	Name string
	// Credentials is a .creds file (NATS decentralised auth); User and
	// Password, or Token, are the other ways to sign in.
	Credentials    string
	User, Password string
	Token          string
	// TLS, when set, is used for the connection (CA, client certificate).
	TLS *tls.Config
	Log zerolog.Logger
}

// NATS is a Bus over a NATS connection. It reconnects by itself for ever;
// while it is disconnected, Err says so and published messages wait in the
// client's buffer (8 MiB) until it is back.
type NATS struct {
	nc  *nats.Conn
	log zerolog.Logger

	mu      sync.Mutex
	lastErr error
	subs    map[*natsSub]struct{}
}

// DialNATS connects to NATS. It returns at once even when no server
// answers yet (the connection is made in the background, and Err reports
// it until then), so that a node starts while NATS is down.
func DialNATS(o NATSOptions) (*NATS, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("bus: no NATS server URLs")
	}
	b := &NATS{log: o.Log.With().Str("component", "nats").Logger(), subs: make(map[*natsSub]struct{})}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.PingInterval(2 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.Timeout(2 * time.Second),
		nats.ReconnectBufSize(8 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.setErr(fmt.Errorf("disconnected from NATS: %v", orUnknown(err)))
			b.log.Warn().Err(err).Msg("disconnected from NATS; reconnecting")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.setErr(nil)
			b.log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("connected to NATS again")
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			b.setErr(nil)
			b.log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("connected to NATS")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			b.log.Warn().Err(err).Msg("NATS error")
		}),
		nats.ClosedHandler(func(*nats.Conn) { b.setErr(ErrClosed) }),
	}
	if o.Credentials != "" {
		opts = append(opts, nats.UserCredentials(o.Credentials))
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.TLS != nil {
		opts = append(opts, nats.Secure(o.TLS))
	}
	url := o.URLs[0]
	for _, u := range o.URLs[1:] {
		url += "," + u
	}
	b.lastErr = errors.New("not connected to NATS yet")
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("NATS: %w", err)
	}
	b.nc = nc
	if nc.IsConnected() {
		b.setErr(nil)
	}
	return b, nil
}

func orUnknown(err error) error {
	if err == nil {
		return errors.New("connection closed")
	}
	return err
}

func (b *NATS) setErr(err error) {
	b.mu.Lock()
	b.lastErr = err
	b.mu.Unlock()
}

// Err implements Bus.
func (b *NATS) Err() error {
	if b.nc.IsConnected() {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lastErr == nil {
		return errors.New("not connected to NATS")
	}
	return b.lastErr
}

// Publish implements Bus.
func (b *NATS) Publish(subject string, data []byte) error {
	return b.nc.Publish(subject, data)
}

// Request implements Bus.
func (b *NATS) Request(ctx context.Context, subject string, data []byte) ([]byte, error) {
	m, err := b.nc.RequestWithContext(ctx, subject, data)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, ErrNoResponders
	}
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

// natsSub feeds the messages of several NATS subscriptions through one
// channel, which the client fills in the order they arrive on the socket,
// into one goroutine: the order across subjects is kept.
type natsSub struct {
	b     *NATS
	subs  []*nats.Subscription
	ch    chan *nats.Msg
	queue *queue
}

// Subscribe implements Bus.
func (b *NATS) Subscribe(fn func(*Msg), subjects ...string) (Subscription, error) {
	s := &natsSub{b: b, ch: make(chan *nats.Msg, 8192), queue: newQueue()}
	for _, subj := range subjects {
		ns, err := b.nc.ChanSubscribe(subj, s.ch)
		if err != nil {
			s.Close()
			return nil, err
		}
		// The channel is drained at once into an unbounded queue: the
		// client drops what does not fit (a slow consumer).
		ns.SetPendingLimits(-1, -1)
		s.subs = append(s.subs, ns)
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go func() {
		for m := range s.ch {
			s.queue.push(m)
		}
		s.queue.close()
	}()
	go func() {
		for {
			m, ok := s.queue.pop()
			if !ok {
				return
			}
			var respond func([]byte) error
			if m.Reply != "" {
				respond = m.Respond
			}
			fn(&Msg{Subject: m.Subject, Data: m.Data, respond: respond})
		}
	}()
	return s, nil
}

// Close implements Subscription.
func (s *natsSub) Close() error {
	for _, ns := range s.subs {
		ns.Unsubscribe()
	}
	s.b.mu.Lock()
	_, live := s.b.subs[s]
	delete(s.b.subs, s)
	s.b.mu.Unlock()
	if live {
		close(s.ch)
	}
	return nil
}

// Close implements Bus: what was published is flushed first.
func (b *NATS) Close() error {
	b.nc.FlushTimeout(time.Second)
	b.mu.Lock()
	subs := b.subs
	b.subs = map[*natsSub]struct{}{}
	b.mu.Unlock()
	b.nc.Close()
	for s := range subs {
		close(s.ch)
	}
	return nil
}

// queue is an unbounded FIFO for one consumer.
type queue struct {
	mu     sync.Mutex
	items  []*nats.Msg
	closed bool
	wake   chan struct{}
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

func (q *queue) push(m *nats.Msg) {
	q.mu.Lock()
	q.items = append(q.items, m)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) pop() (*nats.Msg, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			if len(q.items) == 0 {
				q.items = nil
			}
			q.mu.Unlock()
			return m, true
		}
		if q.closed {
			q.mu.Unlock()
			return nil, false
		}
		q.mu.Unlock()
		<-q.wake
	}
}
