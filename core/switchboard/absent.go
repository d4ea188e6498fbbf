package switchboard

import (
	"context"

	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/message"
)

// Talking to someone who is offline, when the service is configured to
// (Config.Mailbox set; offline.accept_calls): a participant who calls a
// contact who is offline (or appears so) gets RINGING and the contact's
// JOI as for anyone else, and what they say in the conversation is kept
// for the contact, who reads it at their next sign-in — as an OIM
// (MSNP13+), or as a conversation the service opens from the sender
// (MSNP2-12). So MSN Messenger 1.0 to 7.5 leave offline messages the way
// they talk. Hidden and offline look alike to the caller, as they must.
// Without a mailbox such a call is 217, as on MSN.

// Mailbox keeps messages for people who are offline (core/mailbox).
type Mailbox interface {
	// Reachable reports whether from may talk to to while to is offline
	// (an error when not), and to's friendly name.
	Reachable(ctx context.Context, from, to string) (name string, err error)
	// Leave keeps m for m.To.
	Leave(ctx context.Context, m store.OfflineMessage) (store.OfflineMessage, error)
}

// absentee is a participant who is not there: what is said to them is
// kept.
type absentee struct {
	email string
	name  string // decoded
}

// callAbsent answers CAL of key, who is not online, when what is said to
// them can be kept: RINGING, then JOI at once. It reports false when CAL
// is to be refused as before (217).
func (c *conn) callAbsent(trid uint32, key string) bool {
	mb := c.srv.cfg.Mailbox
	if mb == nil || c.onlyOnline {
		return false
	}
	name, err := mb.Reachable(context.Background(), c.email, key)
	if err != nil {
		return false
	}
	if name == "" {
		name = key
	}
	s := c.sess
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		c.fail(msnp.ErrSwitchboardFailed, trid)
		return true
	}
	for _, a := range s.absent {
		if a.email == key {
			s.mu.Unlock()
			c.fail(msnp.ErrAlreadyThere, trid)
			return true
		}
	}
	s.absent = append(s.absent, absentee{email: key, name: name})
	s.anyAbsent.Store(true)
	s.mu.Unlock()
	params := []string{key, msnp.EncodeParam(name)}
	if c.dialect.RosterCaps {
		params = append(params, msnp.FormatCaps(0, 0, c.dialect))
	}
	c.out.Queue(msnp.New("CAL", trid, "RINGING", s.id))
	c.out.Queue(msnp.Notice("JOI", params...))
	c.log.Debug().Str("callee", key).Msg("callee offline; what is said is kept")
	return true
}

// keepForAbsent keeps c's message for the session's absentees and returns
// whether the message counts as delivered: relayed says whether the
// participants who are there got it. Only text is kept. Anything else
// (typing, nudges, P2P, invitations) is for someone there: it counts as
// delivered only if someone there got it, so a client that asks an absent
// contact for their picture hears NAK at once instead of waiting for an
// answer that never comes.
func (c *conn) keepForAbsent(payload []byte, relayed bool) bool {
	s := c.sess
	if !s.anyAbsent.Load() {
		return relayed
	}
	s.mu.Lock()
	absent := s.absent
	s.mu.Unlock()
	if len(absent) == 0 {
		return relayed
	}
	if others := len(*s.members.Load()) > 1; others && !relayed {
		return false
	}
	msg, err := message.Parse(payload)
	if err != nil {
		return false
	}
	if typ, _ := msg.ContentType(); typ != "text/plain" || msg.Get("Chunks") != "" {
		return relayed
	}
	kept := true
	for _, a := range absent {
		_, err := c.srv.cfg.Mailbox.Leave(context.Background(), store.OfflineMessage{
			To: a.email, From: c.email, FromName: c.name,
			ContentType: "text/plain; charset=UTF-8", Body: []byte(msg.Text()),
		})
		if err != nil {
			c.log.Info().Err(err).Str("to", a.email).Msg("message for someone offline not kept")
			kept = false
		}
	}
	return kept
}
