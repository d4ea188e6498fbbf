package format

import (
	"strings"
	"unicode/utf8"
)

// Notes. MSN has no replies, edits, reactions or deletions; the bridges
// carry them as words, the same words from every network, quoting the
// start of the message they are about.

// Snippet is the start of a message for a quote: its first line, cut to
// about 60 characters.
func Snippet(text string) string {
	text = strings.TrimSpace(text)
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = strings.TrimSpace(text[:i]) + " …"
	}
	if utf8.RuneCountInString(text) > 60 {
		r := []rune(text)
		text = strings.TrimRightFunc(string(r[:60]), func(r rune) bool { return r == ' ' }) + "…"
	}
	return text
}

// Quoted shows a snippet in quotation marks, or says "a message" when
// there is none.
func Quoted(snippet string) string {
	if strings.TrimSpace(snippet) == "" {
		return "a message"
	}
	return "“" + snippet + "”"
}

// Reply puts the start of the message a reply answers in front of it, as
// a quote: "> what was said\nthe answer".
func Reply(snippet, text string) string {
	if strings.TrimSpace(snippet) == "" {
		return text
	}
	return "> " + snippet + "\n" + text
}

// EditNote is the correction of an edited message.
func EditNote(text string) string { return "(edited) " + text }

// ReactionNote says someone reacted to a message.
func ReactionNote(emoji, snippet string) string {
	return "(reacted " + emoji + " to " + Quoted(snippet) + ")"
}

// UnreactNote says a reaction was taken back.
func UnreactNote(emoji, snippet string) string {
	return "(took back the " + emoji + " reaction to " + Quoted(snippet) + ")"
}

// DeleteNote says a message was deleted.
func DeleteNote(snippet string) string {
	return "(deleted the message " + Quoted(snippet) + ")"
}
