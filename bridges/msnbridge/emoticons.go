package msnbridge

import (
	"html"
	"sort"
	"strings"
	"sync"

	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// Emoticons remembers the custom emoticons contacts announce (a
// client.Emoticons event comes before the message that uses them), so
// that a bridge can show that message with the pictures inline.
type Emoticons struct {
	mu      sync.Mutex
	pending map[emoticonKey][]p2p.Emoticon
}

type emoticonKey struct {
	conv *client.Conversation
	from string
}

// maxPendingEmoticons bounds the announcements kept for messages that
// never came.
const maxPendingEmoticons = 1024

// Announce keeps what a contact announced, for their next message.
func (e *Emoticons) Announce(ev *client.Emoticons) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pending == nil || len(e.pending) >= maxPendingEmoticons {
		e.pending = map[emoticonKey][]p2p.Emoticon{}
	}
	e.pending[emoticonKey{ev.Conversation, strings.ToLower(ev.From)}] = ev.Emoticons
}

// Used returns the announced emoticons a contact's message uses, longest
// shortcut first, and forgets the announcement.
func (e *Emoticons) Used(conv *client.Conversation, from, text string) []p2p.Emoticon {
	e.mu.Lock()
	k := emoticonKey{conv, strings.ToLower(from)}
	all := e.pending[k]
	delete(e.pending, k)
	e.mu.Unlock()
	var used []p2p.Emoticon
	for _, em := range all {
		if em.Shortcut != "" && em.Object != nil && strings.Contains(text, em.Shortcut) {
			used = append(used, em)
		}
	}
	sort.SliceStable(used, func(i, j int) bool { return len(used[i].Shortcut) > len(used[j].Shortcut) })
	return used
}

// InlineEmoticons puts pictures in a message's HTML where its text has
// their shortcuts: img gives the markup of each emoticon ("" leaves its
// shortcut as typed). The shortcuts are matched as the HTML escapes them,
// longest first, in one pass.
func InlineEmoticons(htmlText string, used []p2p.Emoticon, img func(p2p.Emoticon) string) string {
	var pairs []string
	for _, em := range used {
		if tag := img(em); tag != "" {
			pairs = append(pairs, html.EscapeString(em.Shortcut), tag)
		}
	}
	if len(pairs) == 0 {
		return htmlText
	}
	return strings.NewReplacer(pairs...).Replace(htmlText)
}
