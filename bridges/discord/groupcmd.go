package discord

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// /msn group and /msn invite: starting a group conversation and inviting a
// contact into one, as the Matrix bridge's create-group and ghost invites
// do (msnbridge.OpenGroup, Offline, Invitable).

// startGroup opens a conversation with the contacts of list (addresses
// separated by commas or spaces) and returns the reply naming its thread.
func (b *Bridge) startGroup(ctx context.Context, u *userSession, cl *client.Client, list string) string {
	self := strings.ToLower(u.rec().Email)
	var emails []string
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }) {
		e, ok := msnbridge.NormalizeHandle(f)
		if !ok {
			return fmt.Sprintf("%q is not an MSN handle: write the contacts' e-mail addresses, separated by commas.", f)
		}
		if e == self {
			continue
		}
		if err := msnbridge.Invitable(cl, e); err == msnbridge.ErrNotContact {
			return "⚠️ " + format.EscapeDiscord(msnbridge.Explain(err, e)) + " with `/msn add`."
		}
		emails = append(emails, e)
	}
	key := msnbridge.ConversationKey(emails)
	if len(msnbridge.KeyMembers(key)) < 2 {
		return "A group needs at least two contacts besides you: for one, use `/msn chat`."
	}
	offline := msnbridge.Offline(cl, msnbridge.KeyMembers(key))
	if len(offline) == len(msnbridge.KeyMembers(key)) {
		return "⚠️ " + format.EscapeDiscord(strings.Join(offline, ", ")) + " are all offline or appear offline."
	}
	if _, err := u.conversation(ctx, key); err != nil {
		return "⚠️ " + format.EscapeDiscord(msnbridge.Explain(err, u.who(key))) + "."
	}
	th, err := u.ensureThread(cl, key)
	if err != nil {
		return "⚠️ " + err.Error()
	}
	reply := fmt.Sprintf("Your group conversation with %s is in <#%s>.", format.EscapeDiscord(u.who(key)), th)
	if len(offline) > 0 {
		reply += " Not in it: " + format.EscapeDiscord(strings.Join(offline, ", ")) + " (offline or appearing offline)."
	}
	return reply
}

// inviteToGroup invites contact into the group conversation of the thread
// the command was run in.
func (b *Bridge) inviteToGroup(ctx context.Context, u *userSession, cl *client.Client, channelID, contact string) string {
	b.mu.Lock()
	ref, ok := b.byThread[channelID]
	b.mu.Unlock()
	if !ok || ref.u != u || len(msnbridge.KeyMembers(ref.key)) < 2 {
		return "Run `/msn invite` in one of your group threads (start one with `/msn group`)."
	}
	if contact == strings.ToLower(u.rec().Email) {
		return "You are in this conversation already."
	}
	if err := msnbridge.Invitable(cl, contact); err != nil {
		hint := "."
		if err == msnbridge.ErrNotContact {
			hint = " with `/msn add`."
		}
		return "⚠️ Not invited: " + format.EscapeDiscord(msnbridge.Explain(err, contact)) + hint
	}
	cv, err := u.conversation(ctx, ref.key)
	if err == nil && len(msnbridge.Missing(cv, []string{contact}, "")) == 0 {
		return format.EscapeDiscord(u.contactName(cl, contact)) + " is in this conversation already."
	}
	if err == nil {
		err = cv.Invite(ctx, contact)
	}
	if err != nil {
		return "⚠️ Not invited: " + format.EscapeDiscord(msnbridge.Explain(err, contact)) + "."
	}
	u.joinedGroup(ref.key, contact)
	return "Invited " + format.EscapeDiscord(u.contactName(cl, contact)) + " into this conversation."
}
