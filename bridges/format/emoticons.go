package format

import "strings"

// msnEmoticons are the MSN Messenger emoticon codes that contain a
// character Discord takes for markup. The parsers read them as text, so
// that "(*)" stays a star and ":-|" a straight face.
var msnEmoticons = []string{
	"(*)", ":-*", ":*", "*-)", "(~)", "|-)", "8o|", "8-|", ":-|", ":|",
	"<:o)", "*red+u", "^o)", "(||)", ":-[", ":[", "(@)", "(&)",
}

// emoticonAt returns the length of the MSN emoticon code that starts s,
// or 0. A code counts only at the start of a word: after the start of the
// text or a space.
func emoticonAt(s string, prev rune) int {
	if prev != 0 && prev != ' ' && prev != '\n' && prev != '\t' {
		return 0
	}
	for _, e := range msnEmoticons {
		if strings.HasPrefix(s, e) {
			return len(e)
		}
	}
	return 0
}
