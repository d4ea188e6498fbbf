package format

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/nudge-im/nudge/msnp/message"
)

// MSNToMatrix converts MSN text and its format to a Matrix message: body is
// the plain text, and formatted is the org.matrix.custom.html body, or ""
// when the message has no formatting Matrix can show (bold, italic,
// underline, strikethrough, a colour other than black). The text is
// escaped, so nothing in it is taken for HTML.
func MSNToMatrix(text string, f message.Format) (body, formatted string) {
	var open, close []string
	if f.Color != (message.Color{}) {
		c := fmt.Sprintf("#%02x%02x%02x", f.Color.R, f.Color.G, f.Color.B)
		open, close = append(open, `<font color="`+c+`" data-mx-color="`+c+`">`), append(close, "</font>")
	}
	for _, t := range []struct {
		on  bool
		tag string
	}{{f.Bold, "b"}, {f.Italic, "i"}, {f.Underline, "u"}, {f.Strikethrough, "del"}} {
		if t.on {
			open, close = append(open, "<"+t.tag+">"), append(close, "</"+t.tag+">")
		}
	}
	if len(open) == 0 || strings.TrimSpace(text) == "" {
		return text, ""
	}
	var b strings.Builder
	for _, o := range open {
		b.WriteString(o)
	}
	b.WriteString(strings.ReplaceAll(html.EscapeString(text), "\n", "<br>"))
	for i := len(close) - 1; i >= 0; i-- {
		b.WriteString(close[i])
	}
	return text, b.String()
}

// MatrixToMSN converts a Matrix message to MSN text and, when one style or
// colour covers the whole message, the format for its X-MMS-IM-Format
// header (nil when none). formatted is the org.matrix.custom.html body;
// when it is empty, body is used as it is. The HTML is read for its text
// only — nothing in it reaches MSN as markup — and:
//
//   - b/strong, i/em, u/ins, s/del/strike and a font or span colour that
//     cover the whole message become the format; on a part of it they stay
//     readable as *bold*, _italic_, ~strike~;
//   - code keeps backticks, pre becomes a fenced block, blockquote lines
//     start with "> ", list items with "- " or "1. ", paragraphs and br
//     break lines;
//   - links read "text (url)" unless the text is the URL; mention pills
//     (matrix.to links) read as their text; images read as their alt text;
//     the reply fallback (mx-reply) is left out.
func MatrixToMSN(body, formatted string) (string, *message.Format) {
	if strings.TrimSpace(formatted) == "" {
		return body, nil
	}
	if len(formatted) > MaxMarkup {
		return body, nil
	}
	ctx := &xhtml.Node{Type: xhtml.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := xhtml.ParseFragment(strings.NewReader(formatted), ctx)
	if err != nil {
		return body, nil
	}
	w := htmlWalker{}
	for _, n := range nodes {
		w.node(n, 0, 0, nil)
	}
	w.flushSpace()
	spans := tidyLines(w.spans)
	return toMSN(spans)
}

// htmlWalker turns an HTML tree into spans of text, with line breaks for
// the block elements.
type htmlWalker struct {
	spans spanList
	// needBreak is how many newlines the next text needs before it
	// (1 after a line, 2 after a paragraph); text written so far.
	needBreak int
	written   bool
	space     bool // collapsed white space waiting to be written
	prefix    string
	lastStyle effects
	lastColor *message.Color
}

func (w *htmlWalker) add(text string, style effects, color *message.Color) {
	if text == "" {
		return
	}
	if w.written && w.needBreak > 0 {
		w.spans.add(span{text: strings.Repeat("\n", w.needBreak) + w.prefix})
	} else if !w.written && w.prefix != "" {
		w.spans.add(span{text: w.prefix})
	} else if w.space && w.written {
		w.spans.add(w.styled(" ", w.lastStyle, w.lastColor))
	}
	w.needBreak, w.space = 0, false
	w.spans.add(w.styled(text, style, color))
	w.written = true
	w.lastStyle, w.lastColor = style, color
}

func (w *htmlWalker) styled(text string, style effects, color *message.Color) span {
	s := span{text: text, style: style}
	if color != nil {
		s.color, s.hasColor = *color, true
	}
	return s
}

func (w *htmlWalker) flushSpace() { w.space = false }

func (w *htmlWalker) lineBreak(n int) {
	if w.written && n > w.needBreak {
		w.needBreak = n
	}
	w.space = false
}

func (w *htmlWalker) node(n *xhtml.Node, depth int, style effects, color *message.Color) {
	if depth > maxDepth*4 {
		return
	}
	switch n.Type {
	case xhtml.TextNode:
		w.text(n.Data, style, color)
		return
	case xhtml.ElementNode:
	default:
		return
	}
	kids := func(st effects, c *message.Color) {
		for k := n.FirstChild; k != nil; k = k.NextSibling {
			w.node(k, depth+1, st, c)
		}
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Head, atom.Title:
		return
	case atom.B, atom.Strong:
		kids(style|fxBold, color)
	case atom.I, atom.Em, atom.Cite:
		kids(style|fxItalic, color)
	case atom.U, atom.Ins:
		kids(style|fxUnderline, color)
	case atom.S, atom.Del, atom.Strike:
		kids(style|fxStrike, color)
	case atom.Code:
		w.add(collapse(textOf(n)), style|fxCode, color)
	case atom.Pre:
		w.lineBreak(1)
		code := strings.Trim(textOf(n), "\n")
		if code != "" {
			w.add("```\n"+code+"\n```", verbatim, nil)
		}
		w.lineBreak(1)
	case atom.Br:
		if w.written {
			w.needBreak++
		}
		w.space = false
	case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Table, atom.Details, atom.Summary:
		gap := 1
		if n.DataAtom == atom.P {
			gap = 2
		}
		w.lineBreak(gap)
		st := style
		if isHeading(n.DataAtom) {
			st |= fxBold
		}
		kids(st, color)
		w.lineBreak(gap)
	case atom.Tr:
		w.lineBreak(1)
		kids(style, color)
		w.lineBreak(1)
	case atom.Td, atom.Th:
		if w.written && w.needBreak == 0 {
			w.add(" |", style&^msnEffects, nil)
			w.space = true
		}
		kids(style, color)
	case atom.Blockquote:
		w.lineBreak(1)
		old := w.prefix
		w.prefix += "> "
		if w.written {
			w.needBreak = max(w.needBreak, 1)
		}
		kids(style, color)
		w.prefix = old
		w.lineBreak(1)
	case atom.Ul, atom.Ol:
		w.lineBreak(1)
		num := 0
		if n.DataAtom == atom.Ol {
			num = 1
			if v, err := strconv.Atoi(attr(n, "start")); err == nil && v >= 0 && v < 1e6 {
				num = v
			}
		}
		for k := n.FirstChild; k != nil; k = k.NextSibling {
			if k.Type != xhtml.ElementNode || k.DataAtom != atom.Li {
				continue
			}
			bullet := "- "
			if num > 0 {
				bullet = strconv.Itoa(num) + ". "
				num++
			}
			w.lineBreak(1)
			w.add(bullet, style&^msnEffects, nil)
			for c := k.FirstChild; c != nil; c = c.NextSibling {
				w.node(c, depth+1, style, color)
			}
		}
		w.lineBreak(1)
	case atom.A:
		text := collapse(textOf(n))
		href := attr(n, "href")
		switch {
		case strings.HasPrefix(href, "https://matrix.to/"), href == "", text == href, strings.TrimPrefix(href, "mailto:") == text:
			kids(style, color)
		case strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://"):
			kids(style, color)
			w.add(" ("+href+")", style, color)
		default:
			kids(style, color)
		}
	case atom.Img:
		alt := attr(n, "alt")
		if alt == "" {
			alt = attr(n, "title")
		}
		if alt == "" {
			alt = "[image]"
		}
		w.add(alt, style, color)
	case atom.Hr:
		w.lineBreak(1)
		w.add("----", style&^msnEffects, nil)
		w.lineBreak(1)
	case atom.Font, atom.Span:
		st, c := style, color
		if v := attr(n, "data-mx-color"); v != "" {
			c = parseColor(v, c)
		} else if v := attr(n, "color"); v != "" {
			c = parseColor(v, c)
		}
		if _, ok := attrOK(n, "data-mx-spoiler"); ok {
			st |= fxSpoiler
		}
		kids(st, c)
	default:
		if n.Data == "mx-reply" {
			return
		}
		kids(style, color)
	}
}

// text adds a text node, collapsing white space as HTML does.
func (w *htmlWalker) text(s string, style effects, color *message.Color) {
	if s == "" {
		return
	}
	lead := unicode.IsSpace(rune(s[0]))
	trail := unicode.IsSpace(rune(s[len(s)-1]))
	c := collapse(s)
	if lead {
		w.space = true
	}
	if c != "" {
		w.add(c, style, color)
		if trail {
			w.space = true
		}
	}
}

func isHeading(a atom.Atom) bool {
	switch a {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return true
	}
	return false
}

// tidyLines removes the white space left at the ends of lines.
func tidyLines(spans []span) []span {
	for i := range spans {
		if spans[i].style&verbatim != 0 {
			continue
		}
		t := spans[i].text
		if strings.Contains(t, "\n") {
			lines := strings.Split(t, "\n")
			for j := 0; j < len(lines)-1; j++ {
				lines[j] = strings.TrimRight(lines[j], " \t")
			}
			spans[i].text = strings.Join(lines, "\n")
		}
	}
	return spans
}

// textOf returns the text inside n, as written (for pre and code).
func textOf(n *xhtml.Node) string {
	var b strings.Builder
	var walk func(*xhtml.Node, int)
	walk = func(n *xhtml.Node, depth int) {
		if depth > maxDepth*4 || b.Len() > MaxMarkup {
			return
		}
		switch {
		case n.Type == xhtml.TextNode:
			b.WriteString(n.Data)
		case n.Type == xhtml.ElementNode && n.DataAtom == atom.Br:
			b.WriteByte('\n')
		}
		for k := n.FirstChild; k != nil; k = k.NextSibling {
			walk(k, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func attr(n *xhtml.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *xhtml.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// parseColor reads "#rrggbb" (or "#rgb"); anything else keeps def.
func parseColor(v string, def *message.Color) *message.Color {
	v = strings.TrimPrefix(strings.TrimSpace(v), "#")
	if len(v) == 3 {
		v = string([]byte{v[0], v[0], v[1], v[1], v[2], v[2]})
	}
	if len(v) != 6 {
		return def
	}
	n, err := strconv.ParseUint(v, 16, 32)
	if err != nil {
		return def
	}
	return &message.Color{R: uint8(n >> 16), G: uint8(n >> 8), B: uint8(n)}
}
