package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/p2p"
	"github.com/rs/zerolog"
)

// Dialer opens a network connection, like net.Dialer.DialContext.
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Config configures a Client. Server, Email and Password are required.
type Config struct {
	// Server is the "host:port" of the dispatch or notification server,
	// such as "messenger.hotmail.com:1863" or "127.0.0.1:1863".
	Server   string
	Email    string
	Password string

	// Version is the highest protocol version offered (default
	// DefaultVersion, up to msnp.MaxVersion);
	// MinVersion the lowest (default MSNP2). The server picks one.
	Version    msnp.Version
	MinVersion msnp.Version

	// Status is the status to sign in with; the default is Online.
	Status Status
	// Capabilities are the client capability flags sent with the status
	// (MSNP8+).
	Capabilities uint32

	// Passport says where MSNP8+ sign-ins get their ticket (and, from
	// MSNP13, their other tokens and the address book).
	Passport PassportConfig

	// MachineGUID names this client's machine from MSNP16, where an
	// account may be signed in at several machines at once; a second
	// sign-in with the same GUID replaces the first. Empty means a random
	// one per Client.
	MachineGUID string

	// Reconnect makes the client sign in again, with exponential backoff
	// between ReconnectMinDelay (default 1s) and ReconnectMaxDelay
	// (default 1m), when the connection to the notification server drops.
	Reconnect         bool
	ReconnectMinDelay time.Duration
	ReconnectMaxDelay time.Duration

	// RequestTimeout bounds a call whose context has no deadline
	// (default 30s).
	RequestTimeout time.Duration
	// PingInterval is how often the client pings the notification server
	// to keep the connection alive and to notice when it is gone
	// (default 45s, or less if the server asks for it).
	PingInterval time.Duration

	// MaxBacklog, when positive, is how many events may wait to be
	// received; past it the client closes with ErrSlowConsumer. The
	// default is no limit.
	MaxBacklog int

	// DisplayPicture is the picture (PNG, JPEG or GIF) contacts see
	// beside your name from sign-in on (MSNP9+); SetDisplayPicture
	// changes it.
	DisplayPicture []byte
	// ObjectCache keeps the display pictures, emoticons, winks and voice
	// clips FetchObject got, by SHA1D. nil means a MemoryCache of 32 MiB.
	ObjectCache ObjectCache
	// MaxObjectSize is the largest object FetchObject accepts (default
	// 4 MiB).
	MaxObjectSize int
	// TransferTimeout ends a transfer or object fetch that made no
	// progress for so long (default 2m). OfferTimeout ends a file offer
	// nobody answered (default 10m).
	TransferTimeout time.Duration
	OfferTimeout    time.Duration
	// FileTransferAddr is where to listen ("host:port") when sending a
	// file by MSNFTP to a client without P2P. The default is the address
	// the switchboard connection leaves from, with a port the system
	// picks; behind NAT, set a forwarded address.
	FileTransferAddr string

	// Dialer opens the TCP connections; nil means net.Dialer.
	Dialer Dialer
	// Logger receives the client's diagnostics (Trace level logs every
	// command, secrets redacted). nil means no logging.
	Logger *zerolog.Logger
}

func (cfg *Config) setDefaults() error {
	if cfg.Server == "" {
		return errors.New("client: Config.Server is empty")
	}
	if cfg.Email == "" || !strings.Contains(cfg.Email, "@") {
		return fmt.Errorf("client: Config.Email %q is not an e-mail address", cfg.Email)
	}
	if strings.ContainsAny(cfg.Email, " \t\r\n") {
		return fmt.Errorf("client: Config.Email %q contains white space", cfg.Email)
	}
	if cfg.Version == 0 {
		cfg.Version = DefaultVersion
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = msnp.MinVersion
	}
	if !cfg.Version.Supported() || !cfg.MinVersion.Supported() || cfg.MinVersion > cfg.Version {
		return fmt.Errorf("client: versions %s to %s: the client speaks %s to %s",
			cfg.MinVersion, cfg.Version, msnp.MinVersion, msnp.LatestVersion)
	}
	if cfg.Status == "" {
		cfg.Status = Online
	}
	if cfg.MachineGUID == "" {
		cfg.MachineGUID = newGUID()
	} else if g, ok := msnp.NormalizeGUID(cfg.MachineGUID); ok {
		cfg.MachineGUID = g
	} else {
		return fmt.Errorf("client: Config.MachineGUID %q is not a GUID", cfg.MachineGUID)
	}
	if !cfg.Status.Valid() || cfg.Status == Offline {
		return fmt.Errorf("client: cannot sign in with status %q", cfg.Status)
	}
	if cfg.ReconnectMinDelay <= 0 {
		cfg.ReconnectMinDelay = time.Second
	}
	if cfg.ReconnectMaxDelay <= 0 {
		cfg.ReconnectMaxDelay = time.Minute
	}
	if cfg.ReconnectMaxDelay < cfg.ReconnectMinDelay {
		cfg.ReconnectMaxDelay = cfg.ReconnectMinDelay
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 45 * time.Second
	}
	if cfg.MaxObjectSize <= 0 {
		cfg.MaxObjectSize = 4 << 20
	}
	if cfg.TransferTimeout <= 0 {
		cfg.TransferTimeout = 2 * time.Minute
	}
	if cfg.OfferTimeout <= 0 {
		cfg.OfferTimeout = 10 * time.Minute
	}
	return nil
}

// Client is a signed-in MSN Messenger session. It is safe for concurrent
// use.
type Client struct {
	cfg    Config
	log    zerolog.Logger
	events *eventQueue
	ctx    context.Context // ends with the client
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine but the event pump
	done   chan struct{}  // closed when the client has ended

	mu      sync.Mutex
	ns      *nsSession    // nil while reconnecting
	nsReady chan struct{} // closed when ns is set
	err     error         // set when the client has ended
	self    Contact
	list    contactList
	convs   map[*Conversation]struct{}
	convSeq uint64
	tokens  map[string]string // RST tokens by address (MSNP13+)

	// bookMu makes edits of the address book and its re-reading take
	// turns (MSNP13+); bookStale says a re-reading is queued.
	bookMu    sync.Mutex
	bookStale bool

	p2p *p2pState

	httpOnce sync.Once
	http     *http.Client
}

// closeIdleHTTP closes the Passport connections kept for reuse, unless
// they belong to the caller's HTTP client.
func (cl *Client) closeIdleHTTP() {
	if cl.cfg.Passport.HTTPClient == nil {
		cl.passportClient().CloseIdleConnections()
	}
}

// passportClient is the HTTP client of every Passport sign-in of this
// client, so that they share its connections.
func (cl *Client) passportClient() *http.Client {
	cl.httpOnce.Do(func() { cl.http = cl.cfg.Passport.httpClient() })
	return cl.http
}

// Dial signs in and returns when the contact list is synchronised and the
// initial status is set. A wrong password gives an error wrapping
// msnp.ErrAuthFailed; a server that speaks none of the offered versions,
// one wrapping ErrVersionRefused.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	cl := &Client{
		cfg:     cfg,
		log:     zerolog.Nop(),
		done:    make(chan struct{}),
		nsReady: make(chan struct{}),
		list:    newContactList(),
		convs:   map[*Conversation]struct{}{},
	}
	if cfg.Logger != nil {
		cl.log = cfg.Logger.With().Str("user", cfg.Email).Logger()
	}
	cl.self = Contact{Email: cfg.Email, FriendlyName: cfg.Email, Status: Offline}
	cl.ctx, cl.cancel = context.WithCancel(context.Background())
	cl.events = newEventQueue(cfg.MaxBacklog)
	cache := cfg.ObjectCache
	if cache == nil {
		cache = NewMemoryCache(32 << 20)
	}
	cl.p2p = newP2PState(cache)
	if len(cfg.DisplayPicture) > 0 {
		cl.p2p.picture = cl.PublishObject(p2p.TypeDisplayPicture, "", cfg.DisplayPicture)
	}

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*cfg.RequestTimeout)
		defer cancel()
	}
	s, err := cl.connect(ctx)
	if err != nil {
		cl.cancel()
		cl.events.discard()
		cl.closeIdleHTTP()
		return nil, err
	}
	cl.publish(s)
	cl.wg.Add(1)
	go cl.supervise(s)
	return cl, nil
}

// Events returns the channel on which the client delivers events, in the
// order they happened (so, in order per conversation). The client queues
// events without bound until they are received: a consumer that falls
// behind costs memory, never a stalled connection (see Config.MaxBacklog).
// The channel is closed after the final Disconnected event, or at Close.
func (cl *Client) Events() <-chan Event { return cl.events.out }

// Backlog returns how many events are waiting to be received.
func (cl *Client) Backlog() int { return cl.events.backlog() }

// emit queues an event for the consumer.
func (cl *Client) emit(ev Event) {
	if !cl.events.push(ev) {
		cl.log.Error().Int("backlog", cl.events.backlog()).Msg("events are not being received; closing")
		go cl.shutdown(ErrSlowConsumer)
	}
}

// Version returns the negotiated protocol version.
func (cl *Client) Version() msnp.Version {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.ns == nil {
		return 0
	}
	return cl.ns.d.Version
}

// Self returns your own account as the server knows it: e-mail address,
// friendly name, status and personal message.
func (cl *Client) Self() Contact {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.self.clone()
}

// Contacts returns the contacts on any of your lists, sorted by e-mail
// address.
func (cl *Client) Contacts() []Contact {
	cl.mu.Lock()
	out := make([]Contact, 0, len(cl.list.contacts))
	for _, ct := range cl.list.contacts {
		out = append(out, ct.clone())
	}
	cl.mu.Unlock()
	slices.SortFunc(out, func(a, b Contact) int { return strings.Compare(key(a.Email), key(b.Email)) })
	return out
}

// Contact returns one contact.
func (cl *Client) Contact(email string) (Contact, bool) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	ct, ok := cl.list.contacts[key(email)]
	if !ok {
		return Contact{}, false
	}
	return ct.clone(), true
}

// Groups returns the contact groups in the server's order.
func (cl *Client) Groups() []Group {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	out := make([]Group, 0, len(cl.list.order))
	for _, id := range cl.list.order {
		out = append(out, *cl.list.groups[id])
	}
	return out
}

// Done is closed when the client has ended: after Close, or after a
// disconnection it does not recover from. Err then says why.
func (cl *Client) Done() <-chan struct{} { return cl.done }

// Err returns why the client ended, or nil while it runs.
func (cl *Client) Err() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.err
}

// Close signs out, leaves every conversation and closes Events; events not
// yet received are discarded. It waits for the client's goroutines to end.
func (cl *Client) Close() error {
	cl.shutdown(nil)
	cl.events.discard()
	cl.wg.Wait()
	return nil
}

// SignOut ends the session as Close does — it signs out (OUT), leaves every
// conversation and does not reconnect — but keeps what already arrived:
// Events delivers the events received before, then a Disconnected with
// ErrClosed, and closes. A bridge that stops uses it so that nothing an MSN
// user sent (and the switchboard acknowledged) is dropped on the way out.
func (cl *Client) SignOut() error {
	cl.shutdownWith(nil, true)
	cl.wg.Wait()
	return nil
}

// signOutDrain bounds how long SignOut reads a switchboard after its OUT.
const signOutDrain = 2 * time.Second

// shutdown ends the client. reason nil means Close: events are discarded.
// Otherwise the consumer gets the queued events and a final Disconnected.
func (cl *Client) shutdown(reason error) { cl.shutdownWith(reason, false) }

// shutdownWith ends the client. keep (with reason nil: a sign-out the user
// asked for) delivers the queued events and a final Disconnected, as an
// ending for another reason does.
func (cl *Client) shutdownWith(reason error, keep bool) {
	cl.mu.Lock()
	if cl.err != nil {
		cl.mu.Unlock()
		return
	}
	if reason == nil {
		cl.err = ErrClosed
	} else {
		cl.err = fmt.Errorf("%w: %w", ErrClosed, reason)
	}
	s := cl.ns
	cl.ns = nil
	convs := make([]*Conversation, 0, len(cl.convs))
	for cv := range cl.convs {
		convs = append(convs, cv)
	}
	cl.mu.Unlock()

	if reason == nil && !keep {
		cl.events.discard()
	}
	if keep {
		// Read what the switchboards already sent before leaving them.
		var wg sync.WaitGroup
		for _, cv := range convs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cv.leaveDraining(signOutDrain)
			}()
		}
		wg.Wait()
	}
	cl.cancel()
	cl.p2p.shutdown(cl.closedErr())
	if s != nil {
		if reason == nil {
			s.c.send(msnp.Notice("OUT"))
		}
		s.c.closeWait(ErrClosed)
	}
	cl.closeIdleHTTP()
	for _, cv := range convs {
		cv.leave()
	}
	if reason != nil || keep {
		ev := &Disconnected{Err: reason}
		if reason == nil {
			ev.Err = ErrClosed
		}
		cl.events.push(ev)
		cl.events.end()
	}
	close(cl.done)
}

// closedErr returns the error for calls after the end.
func (cl *Client) closedErr() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.err
}

// session returns the current notification server session, waiting while
// the client reconnects.
func (cl *Client) session(ctx context.Context) (*nsSession, error) {
	for {
		cl.mu.Lock()
		s, ready, err := cl.ns, cl.nsReady, cl.err
		cl.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if s != nil {
			return s, nil
		}
		select {
		case <-ready:
		case <-cl.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("client: not connected: %w", ctx.Err())
		}
	}
}

// withTimeout gives ctx the default request timeout when it has no deadline.
func (cl *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, cl.cfg.RequestTimeout)
}

func (cl *Client) publish(s *nsSession) {
	cl.mu.Lock()
	cl.ns = s
	close(cl.nsReady)
	cl.mu.Unlock()
	cl.wg.Add(1)
	go func() {
		defer cl.wg.Done()
		s.keepAlive()
	}()
}

// supervise waits for the session to end and signs in again.
func (cl *Client) supervise(s *nsSession) {
	defer cl.wg.Done()
	for {
		<-s.c.done
		err := s.c.Err()
		cl.mu.Lock()
		if cl.err != nil {
			cl.mu.Unlock()
			return
		}
		cl.ns = nil
		cl.nsReady = make(chan struct{})
		cl.mu.Unlock()
		cl.log.Info().Err(err).Msg("disconnected from the notification server")
		if !cl.cfg.Reconnect || isFinal(err) {
			cl.shutdown(err)
			return
		}
		cl.emit(&Disconnected{Err: err, Reconnecting: true})
		if s = cl.reconnect(); s == nil {
			return
		}
	}
}

// reconnect signs in again with backoff. It returns nil when the client
// ended meanwhile.
func (cl *Client) reconnect() *nsSession {
	for attempt := 1; ; attempt++ {
		t := time.NewTimer(backoff(attempt, cl.cfg.ReconnectMinDelay, cl.cfg.ReconnectMaxDelay))
		select {
		case <-t.C:
		case <-cl.ctx.Done():
			t.Stop()
			return nil
		}
		ctx, cancel := context.WithTimeout(cl.ctx, 2*cl.cfg.RequestTimeout)
		s, err := cl.connect(ctx)
		cancel()
		if err == nil {
			cl.mu.Lock()
			ended := cl.err != nil
			cl.mu.Unlock()
			if ended {
				s.c.closeWait(ErrClosed)
				return nil
			}
			cl.publish(s)
			cl.log.Info().Int("attempts", attempt).Msg("signed in again")
			cl.emit(&Reconnected{Attempts: attempt})
			return s
		}
		if cl.ctx.Err() != nil {
			return nil
		}
		cl.log.Info().Err(err).Int("attempt", attempt).Msg("sign-in failed")
		if isFinal(err) {
			cl.shutdown(err)
			return nil
		}
	}
}

// backoff is the wait before the n-th attempt (n ≥ 1): min·2^(n-1), capped
// at max, less up to a fifth at random so that many clients dropped at once
// do not come back in step.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// isFinal reports whether signing in again cannot help.
func isFinal(err error) bool {
	return errors.Is(err, msnp.ErrAuthFailed) || errors.Is(err, msnp.ErrAuthFailed2) ||
		// A server that hangs up on VER is taken for refusing the
		// version when signing in, but may just be restarting.
		errors.Is(err, ErrVersionRefused) && !errors.Is(err, errHungUp) ||
		errors.Is(err, ErrSignedInElsewhere) ||
		errors.Is(err, ErrClosed) || errors.Is(err, ErrSlowConsumer)
}
