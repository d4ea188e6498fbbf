package host

import (
	"context"
	"fmt"
	"strings"
)

// Notices: when the bot does not read a message — its conversation's queue
// was full, or the bot stopped while reading it — the host says so in the
// conversation, as the bot, naming the message, so that nothing is lost
// without its sender knowing. Messages not read while a notice is being
// sent are named together in the next one.

// unreadReason is why the bot did not read a message.
type unreadReason int

const (
	unreadBusy  unreadReason = iota // the conversation's queue was full
	unreadCrash                     // the bot stopped while reading it
)

type unreadKey struct {
	conv   string
	reason unreadReason
}

// unread are the messages of one conversation not read for one reason,
// waiting to be named.
type unread struct {
	msgs    []*unreadMessage // up to maxUnread
	more    int              // and how many after them, counted only
	sending bool
}

// namedPerNotice is how many messages one notice quotes; more take more
// notices.
const namedPerNotice = 10

// maxUnread bounds the messages waiting to be named per conversation: a
// flood beyond it is counted, not quoted.
const maxUnread = 1000

// quoteWidth is how much of a message a notice quotes.
const quoteWidth = 60

func (s *session) noteUnread(reason unreadReason, m *unreadMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noteUnreadLocked(reason, m)
}

func (s *session) noteUnreadLocked(reason unreadReason, m *unreadMessage) {
	k := unreadKey{m.conv, reason}
	u := s.unread[k]
	if u == nil {
		u = &unread{}
		s.unread[k] = u
	}
	if len(u.msgs) < maxUnread {
		u.msgs = append(u.msgs, m)
	} else {
		u.more++
	}
	if !u.sending {
		u.sending = true
		go s.sendNotices(k, u)
	}
}

// sendNotices sends what u holds until it is empty.
func (s *session) sendNotices(k unreadKey, u *unread) {
	ctx := s.b.ctx
	for {
		s.mu.Lock()
		msgs, more := u.msgs, 0
		if len(msgs) > namedPerNotice {
			msgs = msgs[:namedPerNotice:namedPerNotice]
			u.msgs = u.msgs[namedPerNotice:]
		} else {
			u.msgs, more, u.more = nil, u.more, 0
		}
		if len(msgs) == 0 {
			u.sending = false
			delete(s.unread, k)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		text := noticeText(s.b.displayName(), k.reason, msgs, more)
		cv, ok := s.conv(k.conv)
		if !ok {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, s.b.h.cfg.HookTimeout)
		if err := cv.SendText(sctx, text, nil); err != nil {
			s.b.log.warn("cannot tell %s that the bot did not read their message: %v", msgs[0].from, err)
		}
		cancel()
	}
}

// displayName is what people call the bot.
func (b *bot) displayName() string {
	if b.cfg.FriendlyName != "" {
		return b.cfg.FriendlyName
	}
	return b.cfg.Name
}

// noticeText says which messages the bot did not read, and why.
func noticeText(bot string, reason unreadReason, msgs []*unreadMessage, more int) string {
	n := len(msgs) + more
	var b strings.Builder
	b.WriteString("⚠ ")
	b.WriteString(bot)
	switch {
	case reason == unreadCrash:
		b.WriteString(" stopped while reading ")
	default:
		b.WriteString(" could not keep up and did not read ")
	}
	if n == 1 {
		m := msgs[0]
		if m.group {
			fmt.Fprintf(&b, "%s's message %s", m.from, quote(m.text))
		} else {
			fmt.Fprintf(&b, "your message %s", quote(m.text))
		}
	} else {
		fmt.Fprintf(&b, "%d messages: ", n)
		for i, m := range msgs {
			if i > 0 {
				b.WriteString(", ")
			}
			if m.group {
				b.WriteString(m.from + ": ")
			}
			b.WriteString(quote(m.text))
		}
		if more > 0 {
			fmt.Fprintf(&b, " and %d more", more)
		}
	}
	switch {
	case reason == unreadCrash && n == 1:
		b.WriteString(", and did not answer it; it is starting again.")
	case reason == unreadCrash:
		b.WriteString(", and did not answer them; it is starting again.")
	case n == 1:
		b.WriteString(". Please send it again in a moment.")
	default:
		b.WriteString(". Please send them again in a moment.")
	}
	return b.String()
}

// quote puts a message in quotes on one line, cut to quoteWidth.
func quote(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > quoteWidth {
		text = string(r[:quoteWidth-1]) + "…"
	}
	return `"` + text + `"`
}
