package format

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nudge-im/nudge/msnp/message"
)

// Names resolves the IDs in Discord markup to names, so that "<@80351110224678912>"
// reads "@Nelly" on MSN. A nil Names, a nil function or an empty answer
// leaves the ID in place of the name.
type Names struct {
	User    func(id string) string // a member's display name
	Channel func(id string) string // a channel's name, without "#"
	Role    func(id string) string // a role's name, without "@"
}

func (n *Names) user(id string) string    { return n.lookup(n.userFn(), id) }
func (n *Names) channel(id string) string { return n.lookup(n.channelFn(), id) }
func (n *Names) role(id string) string    { return n.lookup(n.roleFn(), id) }

func (n *Names) userFn() func(string) string {
	if n == nil {
		return nil
	}
	return n.User
}

func (n *Names) channelFn() func(string) string {
	if n == nil {
		return nil
	}
	return n.Channel
}

func (n *Names) roleFn() func(string) string {
	if n == nil {
		return nil
	}
	return n.Role
}

func (*Names) lookup(f func(string) string, id string) string {
	if f != nil {
		if name := f(id); name != "" {
			return name
		}
	}
	return id
}

// MaxMarkup is the longest text the markup parsers read as markup; the rest
// of a longer text is taken as plain text. It bounds their work on hostile
// input and is well above any network's message size (Discord: 4000).
const MaxMarkup = 16 << 10

// maxDepth bounds the nesting of markup the parsers follow.
const maxDepth = 24

// DiscordToMSN converts a Discord message's markdown to MSN text and, when
// one style covers the whole message, the format for its X-MMS-IM-Format
// header (nil when the message needs none). fxBold, italic, underline and
// strikethrough of a part of the message stay readable as *bold*,
// _italic_, _underline_ and ~strike~; inline code keeps its backticks and
// code blocks their fences. Mentions, channels, roles, custom emoji, slash
// commands and timestamps are written out with names from n (which may be
// nil); masked links become "text (url)".
func DiscordToMSN(md string, n *Names) (string, *message.Format) {
	markup, rest := md, ""
	if len(md) > MaxMarkup {
		markup, rest = md[:MaxMarkup], md[MaxMarkup:]
	}
	p := discordParser{src: markup, names: n}
	var spans spanList
	p.parse(0, len(markup), 0, 0, &spans)
	if rest != "" {
		spans = append(spans, span{text: rest, style: verbatim})
	}
	return toMSN(spans)
}

type discordParser struct {
	src   string
	names *Names
}

var (
	// Discord's inline entities: <@id> <@!id> <@&id> <#id> <:name:id>
	// <a:name:id> <t:unix[:style]> </command:id> <https://…>
	discordEntityRE = regexp.MustCompile(`^<(?:@!?(\d{1,20})|@&(\d{1,20})|#(\d{1,20})|a?:(\w{1,32}):(\d{1,20})|t:(-?\d{1,13})(?::([tTdDfFR]))?|/([^:<>\n]{1,64}):(\d{1,20})|(https?://[^\s<>]+))>`)
	urlRE           = regexp.MustCompile(`^https?://[^\s<]+[^<.,:;"')\]\s]`)
	maskedLinkRE    = regexp.MustCompile(`^\[((?:\\.|[^\[\]\\\n]){1,256})\]\(<?(https?://[^\s()<>]+)>?\)`)
)

// parse reads src[i:end] with the given style into out.
func (p *discordParser) parse(i, end int, style effects, depth int, out *spanList) {
	src := p.src
	lit := i // start of literal text not yet added
	flush := func(to int) {
		out.add(span{text: src[lit:to], style: style})
	}
	emit := func(from, to int, text string, st effects) {
		flush(from)
		out.add(span{text: text, style: st})
		lit = to
	}
	nest := func(from, innerStart, innerEnd, to int, add effects) {
		flush(from)
		p.parse(innerStart, innerEnd, style|add, depth+1, out)
		lit = to
	}
	for i < end {
		c := src[i]
		var prev byte
		if i > 0 {
			prev = src[i-1]
		}
		if c == '(' || c == ':' || c == '*' || c == '|' || c == '8' || c == '<' || c == '^' {
			var pr rune
			if i > 0 {
				pr = rune(prev)
			}
			if n := emoticonAt(src[i:end], pr); n > 0 {
				i += n
				continue
			}
		}
		switch c {
		case '\\':
			if i+1 < end && isASCIIPunct(src[i+1]) {
				emit(i, i+2, src[i+1:i+2], style)
				i += 2
				continue
			}
		case '`':
			if n, ok := p.code(i, end, style, out, flush); ok {
				lit, i = n, n
				continue
			}
			// An unclosed run of backticks is text.
			j := i
			for j < end && src[j] == '`' {
				j++
			}
			i = j
			continue
		case '<':
			if m := discordEntityRE.FindStringSubmatchIndex(src[i:end]); m != nil {
				emit(i, i+m[1], p.entity(src[i:i+m[1]], m), style)
				i += m[1]
				continue
			}
		case 'h':
			if !isWordByte(prev) {
				if m := urlRE.FindStringIndex(src[i:end]); m != nil {
					i += m[1] // links are text; nothing inside them is markup
					continue
				}
			}
		case '[':
			if m := maskedLinkRE.FindStringSubmatch(src[i:end]); m != nil {
				text := unescapeDiscord(m[1])
				link := m[2]
				if text != link {
					link = text + " (" + link + ")"
				}
				emit(i, i+len(m[0]), link, style)
				i += len(m[0])
				continue
			}
		}
		if depth < maxDepth {
			if inStart, inEnd, to, add, ok := p.delimited(i, end, prev); ok {
				nest(i, inStart, inEnd, to, add)
				i = to
				continue
			}
		}
		i++
	}
	flush(end)
}

// code reads a code block (```…```) or inline code (`…`, “…“) at i.
// It returns the end of it and whether there was one.
func (p *discordParser) code(i, end int, style effects, out *spanList, flush func(int)) (int, bool) {
	src := p.src
	n := 0
	for i+n < end && src[i+n] == '`' {
		n++
	}
	if n >= 3 {
		if j := strings.Index(src[i+3:end], "```"); j >= 0 {
			body := src[i+3 : i+3+j]
			// An optional language name on the first line.
			if nl := strings.IndexByte(body, '\n'); nl > 0 && isLangName(body[:nl]) {
				body = body[nl+1:]
			}
			body = strings.Trim(body, "\n")
			if strings.TrimSpace(body) != "" {
				flush(i)
				out.add(span{text: "```\n" + body + "\n```", style: verbatim})
				return i + 3 + j + 3, true
			}
		}
	}
	// Inline code: a run of n backticks closed by a run of exactly n.
	for j := i + n; j < end; {
		if src[j] != '`' {
			j++
			continue
		}
		k := j
		for k < end && src[k] == '`' {
			k++
		}
		if k-j == n && j > i+n {
			body := src[i+n : j]
			if n > 1 {
				body = strings.TrimSpace(body)
			}
			flush(i)
			out.add(span{text: body, style: style | fxCode})
			return k, true
		}
		j = k
	}
	return 0, false
}

// delimited finds markup enclosed in delimiters at i — **bold**,
// __underline__, *italic*, _italic_, ~~strike~~, ||spoiler|| — and returns
// where its inside starts and ends, where it ends, and its style.
func (p *discordParser) delimited(i, end int, prev byte) (inStart, inEnd, to int, add effects, ok bool) {
	src := p.src
	at := func(k int, s string) bool { return k+len(s) <= end && src[k:k+len(s)] == s }
	// closer finds the first delim after from (with at least one byte
	// inside) for which okAt holds, skipping escaped characters.
	closer := func(from int, delim string, okAt func(k int) bool) int {
		for k := from + 1; k < end; k++ {
			if src[k] == '\\' {
				k++
				continue
			}
			if at(k, delim) && okAt(k) {
				return k
			}
		}
		return -1
	}
	switch src[i] {
	case '*':
		if at(i, "**") {
			if k := closer(i+2, "**", func(k int) bool { return !at(k+2, "*") }); k > 0 {
				return i + 2, k, k + 2, fxBold, true
			}
		}
		if i+1 < end && !isSpace(src[i+1]) {
			for k := i + 1; k < end; k++ {
				switch {
				case src[k] == '\\':
					k++
				case at(k, "**"):
					k++
				case src[k] == '*' && k > i+1 && !isSpace(src[k-1]):
					return i + 1, k, k + 1, fxItalic, true
				}
			}
		}
	case '_':
		if at(i, "__") {
			if k := closer(i+2, "__", func(k int) bool { return !at(k+2, "_") }); k > 0 {
				return i + 2, k, k + 2, fxUnderline, true
			}
		}
		if !isWordByte(prev) {
			for k := i + 1; k < end; k++ {
				switch {
				case src[k] == '\\':
					k++
				case at(k, "__"):
					k++
				case src[k] == '_' && k > i+1 && (k+1 == end || !isWordByte(src[k+1])):
					return i + 1, k, k + 1, fxItalic, true
				}
			}
		}
	case '~':
		if at(i, "~~") {
			if k := closer(i+2, "~~", func(int) bool { return true }); k > 0 {
				return i + 2, k, k + 2, fxStrike, true
			}
		}
	case '|':
		if at(i, "||") {
			if k := closer(i+2, "||", func(int) bool { return true }); k > 0 {
				return i + 2, k, k + 2, fxSpoiler, true
			}
		}
	}
	return 0, 0, 0, 0, false
}

// entity renders a <…> entity matched by discordEntityRE.
func (p *discordParser) entity(s string, m []int) string {
	g := func(n int) string {
		if m[2*n] < 0 {
			return ""
		}
		return s[m[2*n]:m[2*n+1]]
	}
	switch {
	case g(1) != "":
		return "@" + p.names.user(g(1))
	case g(2) != "":
		return "@" + p.names.role(g(2))
	case g(3) != "":
		return "#" + p.names.channel(g(3))
	case g(4) != "":
		return ":" + g(4) + ":"
	case g(6) != "":
		return timestamp(g(6), g(7))
	case g(8) != "":
		return "/" + g(8)
	default:
		return g(10)
	}
}

// timestamp writes a Discord <t:…> timestamp in UTC.
func timestamp(unix, style string) string {
	n, err := strconv.ParseInt(unix, 10, 64)
	if err != nil || n < -62135596800 || n > 253402300799 {
		return unix
	}
	t := time.Unix(n, 0).UTC()
	switch style {
	case "t":
		return t.Format("15:04 UTC")
	case "T":
		return t.Format("15:04:05 UTC")
	case "d", "D":
		return t.Format("2 January 2006")
	case "F":
		return t.Format("Monday, 2 January 2006 15:04 UTC")
	default:
		return t.Format("2 January 2006 15:04 UTC")
	}
}

// MSNToDiscord converts MSN text and its format to Discord markdown: the
// text is escaped so that nothing in it is taken for markup or a mention,
// and the bold, italic, underline and strikethrough of the format are put
// around it. Font and colour have no Discord equivalent and are dropped.
// Links are left as they are, so they stay clickable.
func MSNToDiscord(text string, f message.Format) string {
	esc := EscapeDiscord(text)
	var open, close string
	if f.Strikethrough {
		open, close = open+"~~", "~~"+close
	}
	if f.Underline {
		open, close = open+"__", "__"+close
	}
	if f.Bold {
		open, close = open+"**", "**"+close
	}
	if f.Italic {
		open, close = open+"*", "*"+close
	}
	core := strings.TrimSpace(esc)
	if open == "" || core == "" {
		return esc
	}
	lead := esc[:strings.Index(esc, core)]
	trail := esc[len(lead)+len(core):]
	return lead + open + core + close + trail
}

// EscapeDiscord escapes text so that Discord shows it as written: markup
// characters get a backslash, as do the ones that start a quote, heading or
// list at the beginning of a line. URLs are left alone.
func EscapeDiscord(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	lineStart := true
	for i := 0; i < len(s); {
		c := s[i]
		if lineStart {
			// Indentation, then the block markers.
			if c == ' ' || c == '\t' {
				b.WriteByte(c)
				i++
				continue
			}
			lineStart = false
			switch {
			case c == '>' || c == '#':
				b.WriteByte('\\')
			case (c == '-' || c == '+') && i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '#'):
				b.WriteByte('\\')
			case isDigit(c):
				j := i
				for j < len(s) && isDigit(s[j]) {
					j++
				}
				if j+1 < len(s) && s[j] == '.' && s[j+1] == ' ' {
					b.WriteString(s[i:j])
					b.WriteString(`\.`)
					i = j + 1
					continue
				}
			}
		}
		if c == 'h' && (i == 0 || !isWordByte(s[i-1])) && (strings.HasPrefix(s[i:], "http://") || strings.HasPrefix(s[i:], "https://")) {
			j := i
			for j < len(s) && !isSpace(s[j]) && s[j] != '<' {
				j++
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		switch c {
		case '\\', '*', '_', '~', '|', '`', '<', '[':
			b.WriteByte('\\')
		case '\n':
			lineStart = true
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// unescapeDiscord removes Discord's backslash escapes.
func unescapeDiscord(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isLangName(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || strings.IndexByte("_+-.#", c) >= 0) {
			return false
		}
	}
	return true
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

// isWordByte is a regular expression's \w, on bytes (a byte of a
// multi-byte character is not a word byte, as in JavaScript).
func isWordByte(c byte) bool {
	return c == '_' || isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
