package msnbridge

import (
	"slices"
	"strings"
)

// MaxHandle is the longest MSN address, in bytes.
const MaxHandle = 129

// ValidHandle reports whether s can be an MSN address: name@domain.tld,
// printable and without the characters that would break a protocol
// command. The server has the last word; this only turns away what cannot
// be one.
func ValidHandle(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > MaxHandle || strings.Count(s, "@") != 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`<>,;:"()[]\`, c) >= 0 {
			return false
		}
	}
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}

// NormalizeHandle trims s, drops a "mailto:" in front and lowers it; ok
// reports whether the result is a valid handle.
func NormalizeHandle(s string) (handle string, ok bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "mailto:")
	return s, ValidHandle(s)
}

// maxLocal bounds the local part LocalPart makes, leaving room for a
// "-NN" suffix and a domain.
const maxLocal = 48

// LocalPart makes a name (a Discord username, a Matrix localpart) into the
// local part of an MSN address: lower-case letters, digits and . _ - = +,
// no leading, trailing or doubled dots. It is empty when nothing usable is
// left.
func LocalPart(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == '=', r == '+':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0 && !strings.HasSuffix(b.String(), "."):
			b.WriteRune(r)
		}
	}
	s := strings.Trim(b.String(), ".")
	if len(s) > maxLocal {
		s = strings.Trim(s[:maxLocal], ".")
	}
	return s
}

// ConversationKey names a conversation by the people in it besides the
// user: their addresses, lower case, sorted and joined by commas. The same
// people make the same key, so a bridge keeps one room (or thread) for
// them however often they meet again.
func ConversationKey(emails []string) string {
	out := make([]string, 0, len(emails))
	for _, e := range emails {
		e = strings.ToLower(strings.TrimSpace(e))
		if e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// KeyMembers is the addresses a ConversationKey was made of.
func KeyMembers(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ",")
}
