package discord

import (
	"context"
	"slices"
	"strings"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// Group threads, as Matrix group rooms: a conversation everyone left is
// opened again with all its people — those it was made with and those who
// joined since — invited at once; the message goes to those who answer
// first, and the thread is told who did not get it.

// members returns whom a thread's conversation is with: the people of its
// key and those who joined it since.
func (u *userSession) members(key string) []string {
	emails := msnbridge.KeyMembers(key)
	if len(emails) < 2 {
		return emails
	}
	more, err := u.b.store.ThreadMembers(u.b.ctx, u.id, key)
	if err != nil {
		u.log.Error().Err(err).Msg("database")
	}
	for _, e := range more {
		if !slices.Contains(emails, e) {
			emails = append(emails, e)
		}
	}
	return emails
}

// joinedGroup records that email joined the group conversation of key.
func (u *userSession) joinedGroup(key, email string) {
	email = strings.ToLower(email)
	if len(msnbridge.KeyMembers(key)) < 2 || slices.Contains(msnbridge.KeyMembers(key), email) {
		return
	}
	if err := u.b.store.AddThreadMember(u.b.ctx, u.id, key, email); err != nil {
		u.log.Error().Err(err).Msg("database")
	}
}

// openGroup opens a group's conversation again with everyone invited at
// once, and leaves old, the conversation everyone had left.
func (u *userSession) openGroup(ctx context.Context, cl *client.Client, key string, old *client.Conversation) (*client.Conversation, error) {
	cv, err := msnbridge.OpenGroup(ctx, cl, u.members(key))
	if err != nil {
		return nil, err
	}
	if old != nil {
		go old.Close()
	}
	return cv, nil
}

// tellMissing says in a group thread who of its people was not in the
// conversation when a message went — offline, or not answering an
// invitation yet — when that changes (msnbridge.Absences), as the Matrix
// bridge says it in a group room.
func (u *userSession) tellMissing(key string, cv *client.Conversation) {
	members := u.members(key)
	if len(members) < 2 {
		return
	}
	cl := u.session().Current()
	var names []string
	for _, e := range msnbridge.NotReached(cv, members, u.rec().Email) {
		if n := u.contactName(cl, e); n != e {
			e = n + " (" + e + ")"
		}
		names = append(names, e)
	}
	notice, ok := u.missing.Notice(key, names)
	if th := u.thread(key); ok && th != "" {
		u.b.notice(th, "⚠️ "+format.EscapeDiscord(notice))
	}
}
