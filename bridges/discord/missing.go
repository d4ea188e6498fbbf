package discord

import (
	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/msnp/client"
)

// tellMissing says in a group thread who of its people was not in the
// conversation when a message went — offline, or not answering an
// invitation yet — when that changes (msnbridge.Absences), as the Matrix
// bridge says it in a group room.
func (u *userSession) tellMissing(key string, cv *client.Conversation) {
	members := msnbridge.KeyMembers(key)
	if len(members) < 2 {
		return
	}
	cl := u.session().Current()
	var names []string
	for _, e := range msnbridge.Missing(cv, members, u.rec().Email) {
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
