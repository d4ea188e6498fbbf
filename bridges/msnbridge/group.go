package msnbridge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nudge-im/nudge/msnp/client"
)

// Starting a group conversation and inviting someone into one, the same
// way on both bridges: the Matrix bridge's create-group and ghost invites,
// the Discord bridge's /msn group and /msn invite.

// Why someone cannot be invited into a conversation.
var (
	ErrNotContact = errors.New("msnbridge: not on the contact list")
	ErrOffline    = errors.New("msnbridge: offline")
)

// OpenGroup starts a conversation with several contacts: one switchboard,
// everyone invited at once; it is there as soon as the first has joined —
// a contact slow to answer, or offline, holds nobody up.
func OpenGroup(ctx context.Context, cl *client.Client, emails []string) (*client.Conversation, error) {
	conv, err := cl.Group(ctx, emails...)
	if err != nil {
		return nil, fmt.Errorf("none of %s could be reached: %w", strings.Join(emails, ", "), err)
	}
	return conv, nil
}

// Offline returns those of emails the contact list shows offline: invited,
// they will not join.
func Offline(cl *client.Client, emails []string) []string {
	var out []string
	for _, e := range emails {
		if ct, ok := cl.Contact(e); ok && (ct.Status == client.Offline || ct.Status == "") && ct.Lists.Has(client.Forward) {
			out = append(out, e)
		}
	}
	return out
}

// Invitable says why email cannot be invited into a conversation now
// (ErrNotContact, ErrOffline), or nil: a bridge asks before inviting so
// that the user learns it at once, in a line they can act on.
func Invitable(cl *client.Client, email string) error {
	ct, ok := cl.Contact(email)
	if !ok || !ct.Lists.Has(client.Forward) {
		return ErrNotContact
	}
	if ct.Status == client.Offline || ct.Status == "" {
		return ErrOffline
	}
	return nil
}
