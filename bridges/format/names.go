package format

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NudgeText is what a nudge from name reads like on a network that has no
// nudges.
func NudgeText(name string) string {
	if name == "" {
		name = "Someone"
	}
	return name + " sent a nudge!"
}

// PlainName returns an MSN friendly name as plain text: without the colour
// and style codes of Messenger Plus! ([c=4]…[/c], [b], [a=2], ·$4, …),
// control characters and runs of white space.
func PlainName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); {
		if n := plusCodeAt(name[i:]); n > 0 {
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		i += size
		switch {
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.IsControl(r), r == 0xFFFD && size == 1:
		default:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// plusCodeAt returns the length of the Messenger Plus! code at the start of
// s, or 0: "[b]", "[/c]", "[c=4]", "[c=#ff0000]", "[a=12]", "[/a=3]",
// or the Plus! 2 codes "·$4", "·$#ff0000", "·#", "·&", "·@", "·'", "·0".
func plusCodeAt(s string) int {
	if rest, ok := strings.CutPrefix(s, "·"); ok { // U+00B7, two bytes
		if rest == "" {
			return 0
		}
		switch rest[0] {
		case '#', '&', '@', '\'', '0':
			return 3
		case '$':
			n := 3 // "·$"
			if strings.HasPrefix(rest[1:], "#") {
				return n + 1 + countWhile(rest[2:], isHex, 6)
			}
			n += countWhile(rest[1:], isDigit, 2)
			if after := s[n:]; strings.HasPrefix(after, ",") {
				if d := countWhile(after[1:], isDigit, 2); d > 0 {
					n += 1 + d
				}
			}
			return n
		}
		return 0
	}
	if len(s) < 3 || s[0] != '[' {
		return 0
	}
	end := strings.IndexByte(s, ']')
	if end < 0 || end > 16 {
		return 0
	}
	tag := strings.ToLower(s[1:end])
	tag = strings.TrimPrefix(tag, "/")
	name, arg, hasArg := strings.Cut(tag, "=")
	switch name {
	case "b", "i", "u", "s":
		if hasArg {
			return 0
		}
	case "c", "a":
		if !hasArg {
			// [/c] and [/a] close without an argument; [c] alone is not a code.
			if !strings.HasPrefix(s, "[/") {
				return 0
			}
			break
		}
		arg = strings.TrimPrefix(arg, "#")
		if arg == "" {
			return 0
		}
		for i := 0; i < len(arg); i++ {
			if !isHex(arg[i]) {
				return 0
			}
		}
	default:
		return 0
	}
	return end + 1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// countWhile counts the leading bytes of s that satisfy ok, up to max.
func countWhile(s string, ok func(byte) bool, max int) int {
	n := 0
	for n < len(s) && n < max && ok(s[n]) {
		n++
	}
	return n
}
