package msnbridge

import (
	"strings"
	"sync"

	"github.com/nudge-im/nudge/msnp/client"
)

// Group conversations reopened from a bridged room: everyone is invited at
// once and a message goes as soon as the first has joined, so those who
// are offline, or slow to answer, hold nobody up — but do not get it. The
// room is told who they are, once each time that changes, not after every
// message; both bridges say it the same way.

// Missing returns those of emails who are not in the conversation now
// (self, the bridged user, is never missing).
func Missing(cv *client.Conversation, emails []string, self string) []string {
	return absent(cv.Participants(), emails, self)
}

// NotReached returns those of emails the last message sent in cv did not
// go to: not in the conversation when it was written, though they may have
// joined since.
func NotReached(cv *client.Conversation, emails []string, self string) []string {
	return absent(cv.Reached(), emails, self)
}

func absent(present []client.Participant, emails []string, self string) []string {
	in := map[string]bool{strings.ToLower(self): true}
	for _, p := range present {
		in[strings.ToLower(p.Email)] = true
	}
	var out []string
	for _, e := range emails {
		if e = strings.ToLower(e); !in[e] {
			in[e] = true
			out = append(out, e)
		}
	}
	return out
}

// Absences remembers, per group room, whom it was last told a message did
// not reach. The zero value is ready to use.
type Absences struct {
	mu   sync.Mutex
	said map[string]string
}

// Notice returns what a room (key) is to be told now that a message went
// without names (those Missing, as the bridge shows them); ok is false
// when that is what it was told last, or when nobody was missing.
func (a *Absences) Notice(key string, names []string) (notice string, ok bool) {
	said := strings.Join(names, ", ")
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.said == nil {
		a.said = map[string]string{}
	}
	if a.said[key] == said {
		return "", false
	}
	if said == "" {
		delete(a.said, key)
		return "", false
	}
	a.said[key] = said
	return "Not delivered to " + said + ": offline, or not answering. They get what is written once they join the conversation.", true
}
