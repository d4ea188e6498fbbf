// Package mailbox keeps offline messages: the one rule for who may leave
// whom a message while they are offline, and what happens when one is
// left. Every way in uses it alike — the OIM web service (Store2, MSNP13+),
// the switchboard (an MSNP2-12 client talking to an offline contact) and
// the Notification server (MSNP18 UUM) — so a block list or privacy
// setting means the same whichever client the sender runs.
//
// A message someone does not take from the sender (they block the sender,
// or take messages only from their allow list) is dropped as if kept: to
// the sender a block looks like being offline, as it does everywhere else.
//
// A message is stored (bounded per recipient and expiring, by the store)
// and, when the recipient is signed in after all (appearing offline, or
// signed in a moment ago), they are told at once through the directory
// (directory.Peer.Mailed), on whatever node they are.
package mailbox

import (
	"context"
	"errors"
	"strings"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/store"
)

// ErrRefused: the recipient blocks the sender, or takes messages only from
// the people they allow and the sender is not one of them (Allowed), or is
// not on the sender's list (Reachable).
var ErrRefused = errors.New("the recipient does not take messages from this sender")

// Mailbox leaves offline messages. The zero value is not usable; make one
// with New.
type Mailbox struct {
	st  store.Store
	dir *directory.Directory
	log zerolog.Logger
}

// New returns a Mailbox over st; dir, when not nil, is told of each message
// kept for someone signed in.
func New(st store.Store, dir *directory.Directory, log zerolog.Logger) *Mailbox {
	return &Mailbox{st: st, dir: dir, log: log}
}

// Allowed reports whether from may leave to a message: to exists, does not
// block from, and when to allows only the people on their AL, from is on
// it. An unknown recipient is store.ErrNotFound.
func (b *Mailbox) Allowed(ctx context.Context, from, to string) error {
	from, to = strings.ToLower(from), strings.ToLower(to)
	acct, err := b.st.Account(ctx, to)
	if err != nil {
		return err
	}
	l, err := b.st.Listed(ctx, to, from)
	if err != nil {
		return err
	}
	if l&store.Block != 0 || (acct.Privacy == store.BlockByDefault && l&store.Allow == 0) {
		return ErrRefused
	}
	return nil
}

// Reachable reports whether from may talk to to while to is offline, in a
// conversation whose messages are left for them: to is on from's contact
// list (FL). Whether to blocks from is not asked — Leave drops what they
// do not take — so that a caller cannot tell a block from being offline.
// It gives to's friendly name, for showing them in the conversation.
func (b *Mailbox) Reachable(ctx context.Context, from, to string) (name string, err error) {
	from, to = strings.ToLower(from), strings.ToLower(to)
	l, err := b.st.Listed(ctx, from, to)
	if err != nil {
		return "", err
	}
	if l&store.Forward == 0 {
		return "", ErrRefused
	}
	acct, err := b.st.Account(ctx, to)
	if err != nil {
		return "", err
	}
	return acct.FriendlyName, nil
}

// Leave keeps m for m.To if the rule allows it (see Allowed) and tells the
// recipient if they are signed in. It returns the message as kept (with its
// ID and time); one the recipient does not take is dropped, with no error
// and no ID. Errors: store.ErrNotFound (no such recipient),
// store.ErrMailboxFull, store.ErrInvalidMessage.
func (b *Mailbox) Leave(ctx context.Context, m store.OfflineMessage) (store.OfflineMessage, error) {
	m.To, m.From = strings.ToLower(m.To), strings.ToLower(m.From)
	switch err := b.Allowed(ctx, m.From, m.To); {
	case errors.Is(err, ErrRefused):
		b.log.Debug().Str("from", m.From).Str("to", m.To).Msg("offline message dropped: the recipient does not take it")
		return store.OfflineMessage{}, nil
	case err != nil:
		return store.OfflineMessage{}, err
	}
	kept, err := b.st.StoreOffline(ctx, m)
	if err != nil {
		return store.OfflineMessage{}, err
	}
	b.log.Info().Str("from", kept.From).Str("to", kept.To).Msg("offline message kept")
	if b.dir != nil {
		if p := b.dir.Lookup(kept.To); p != nil {
			p.Mailed(directory.Mail{ID: kept.ID, From: kept.From, FromName: kept.FromName, Sent: kept.Sent, Size: len(kept.Body)})
		}
	}
	return kept, nil
}
