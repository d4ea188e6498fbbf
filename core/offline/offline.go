// Package offline hands offline messages to people whose clients cannot
// read OIMs (MSN Messenger 1.0 to 7.5, MSNP2-12): when they sign in, the
// service opens a conversation from each sender, as the sender, through
// the real switchboard, says when each message was sent, delivers them,
// and leaves. The recipient's client shows an ordinary conversation window
// from the sender; a reply opens a new conversation with the sender
// themself.
//
// A message is deleted only after the switchboard acknowledged it (MSG A),
// so one that could not be delivered waits for the next sign-in (until it
// expires).
package offline

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/core/switchboard"
	"github.com/nudge-im/nudge/msnp"
)

// Config is what a Courier needs; all of it is required but Log.
type Config struct {
	Store store.Store
	// Open issues a switchboard cookie (switchboard.Server.Open).
	Open func(u switchboard.User) (address, cookie string, err error)
	// Connect opens a connection to the switchboard server, in process.
	Connect func() (net.Conn, error)
	Log     zerolog.Logger
	// Timeout bounds one sender's conversation, from USR to OUT (default
	// 2 minutes: the recipient's client must answer the ring).
	Timeout time.Duration
}

// Courier delivers waiting messages.
type Courier struct {
	cfg Config

	mu   sync.Mutex
	busy map[string]bool // recipients being delivered to: true when asked again meanwhile
}

// New returns a Courier.
func New(cfg Config) *Courier {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	return &Courier{cfg: cfg, busy: map[string]bool{}}
}

// Deliver hands email's waiting messages over, one conversation per
// sender, in the background. A call while a delivery runs makes it look
// once more when it is done (for a message that arrived meanwhile).
func (c *Courier) Deliver(email string) {
	c.mu.Lock()
	if again, busy := c.busy[email]; busy {
		if !again {
			c.busy[email] = true
		}
		c.mu.Unlock()
		return
	}
	c.busy[email] = false
	c.mu.Unlock()
	go func() {
		for {
			c.deliver(email)
			c.mu.Lock()
			if !c.busy[email] {
				delete(c.busy, email)
				c.mu.Unlock()
				return
			}
			c.busy[email] = false
			c.mu.Unlock()
		}
	}()
}

func (c *Courier) deliver(email string) {
	msgs, err := c.cfg.Store.OfflineMessages(context.Background(), email)
	if err != nil || len(msgs) == 0 {
		if err != nil {
			c.cfg.Log.Error().Err(err).Str("email", email).Msg("offline messages not read")
		}
		return
	}
	var order []string
	bySender := map[string][]store.OfflineMessage{}
	for _, m := range msgs {
		if bySender[m.From] == nil {
			order = append(order, m.From)
		}
		bySender[m.From] = append(bySender[m.From], m)
	}
	for _, from := range order {
		n, err := c.conversation(email, bySender[from])
		log := c.cfg.Log.Info()
		if err != nil {
			log = c.cfg.Log.Warn().Err(err)
		}
		log.Str("to", email).Str("from", from).Int("delivered", n).Msg("offline messages")
	}
}

// conversation opens a switchboard session as the sender, calls the
// recipient, sends the messages and leaves. It returns how many were
// delivered.
func (c *Courier) conversation(to string, msgs []store.OfflineMessage) (int, error) {
	from := msgs[0].From
	_, cookie, err := c.cfg.Open(switchboard.User{Email: from, FriendlyName: msgs[len(msgs)-1].FromName, Version: 12, Capabilities: "0", OnlyOnline: true})
	if err != nil {
		return 0, err
	}
	nc, err := c.cfg.Connect()
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(c.cfg.Timeout))
	r := msnp.NewReader(nc, msnp.FromServer)
	r.Version = 12
	trid := uint32(0)
	send := func(cmd *msnp.Command) error {
		_, err := nc.Write(msnp.AppendCommand(nil, cmd))
		return err
	}
	// await reads until a reply to trid (or, with trid 0, a JOI).
	await := func(want uint32) (*msnp.Command, error) {
		for {
			cmd, err := r.ReadCommand()
			if err != nil {
				return nil, err
			}
			if want == 0 && cmd.Name == "JOI" {
				return cmd, nil
			}
			if want != 0 && cmd.HasTrID && cmd.TrID == want {
				if cmd.IsError() {
					return nil, errors.New("switchboard answered " + cmd.Name)
				}
				return cmd, nil
			}
		}
	}
	trid++
	if err := send(msnp.New("USR", trid, from, cookie)); err != nil {
		return 0, err
	}
	if _, err := await(trid); err != nil {
		return 0, err
	}
	trid++
	if err := send(msnp.New("CAL", trid, to)); err != nil {
		return 0, err
	}
	if _, err := await(trid); err != nil {
		return 0, err // 217: signed out again, or not taking calls from the sender
	}
	if _, err := await(0); err != nil {
		return 0, err
	}
	delivered := 0
	for _, m := range msgs {
		trid++
		if err := send(msnp.New("MSG", trid, "A").WithPayload(payload(m))); err != nil {
			return delivered, err
		}
		if _, err := await(trid); err != nil {
			return delivered, err
		}
		if _, err := c.cfg.Store.DeleteOfflineMessages(context.Background(), to, []string{m.ID}); err != nil {
			return delivered, err
		}
		delivered++
	}
	_ = send(msnp.Notice("OUT"))
	return delivered, nil
}

// payload is the message as a plain text MSG, its first line saying when
// it was sent (clients show received time only).
func payload(m store.OfflineMessage) []byte {
	text := string(m.Body)
	if !strings.HasPrefix(strings.ToLower(m.ContentType), "text/plain") {
		text = "(a message of a kind this client cannot show)"
	}
	var b strings.Builder
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n")
	b.WriteString("X-MMS-IM-Format: FN=Microsoft%20Sans%20Serif; EF=I; CO=808080; CS=0; PF=22\r\n\r\n")
	b.WriteString("[Offline message, sent " + m.Sent.UTC().Format("Mon 2 Jan 2006 15:04") + " UTC]\r\n")
	b.WriteString(text)
	return []byte(b.String())
}
