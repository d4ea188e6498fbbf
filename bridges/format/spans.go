package format

import (
	"strings"
	"unicode"

	"github.com/nudge-im/nudge/msnp/message"
)

// effects is a set of text effects.
type effects uint8

// The effects. fxBold, fxItalic, fxUnderline and fxStrike are the ones MSN's
// X-MMS-IM-Format can carry for a whole message.
const (
	fxBold effects = 1 << iota
	fxItalic
	fxUnderline
	fxStrike
	fxCode    // inline code
	fxSpoiler // hidden until clicked (Discord ||x||, Matrix data-mx-spoiler)

	// verbatim marks text written out as it is, markers included (code
	// blocks); no marker is put around it.
	verbatim
)

// msnEffects are the styles X-MMS-IM-Format has.
const msnEffects = fxBold | fxItalic | fxUnderline | fxStrike

// A span is a run of text with one style and, optionally, one colour.
type span struct {
	text     string
	style    effects
	color    message.Color
	hasColor bool
}

// spanList collects spans, merging neighbours of the same look.
type spanList []span

func (l *spanList) add(s span) {
	if s.text == "" {
		return
	}
	if n := len(*l); n > 0 {
		last := &(*l)[n-1]
		if last.style == s.style && last.hasColor == s.hasColor && last.color == s.color && s.style&verbatim == 0 {
			last.text += s.text
			return
		}
	}
	*l = append(*l, s)
}

// toMSN turns spans into MSN text and whole-message formatting: the
// effects (and colour) every visible span shares become the format, the
// rest is written with readable markers.
func toMSN(spans []span) (string, *message.Format) {
	common := msnEffects
	var color message.Color
	colorCommon, seen := true, false
	for _, s := range spans {
		if strings.TrimSpace(s.text) == "" {
			continue
		}
		if s.style&verbatim != 0 {
			common = 0
		}
		common &= s.style
		switch {
		case !s.hasColor:
			colorCommon = false
		case !seen:
			color = s.color
		case s.color != color:
			colorCommon = false
		}
		seen = true
	}
	if !seen {
		common, colorCommon = 0, false
	}
	text := render(spans, common)
	if common == 0 && !colorCommon {
		return text, nil
	}
	f := &message.Format{
		Bold:          common&fxBold != 0,
		Italic:        common&fxItalic != 0,
		Underline:     common&fxUnderline != 0,
		Strikethrough: common&fxStrike != 0,
	}
	if colorCommon {
		f.Color = color
	}
	return text, f
}

// markerOrder is the order styles are opened in (and closed in reverse).
var markerOrder = []effects{fxSpoiler, fxStrike, fxBold, fxItalic | fxUnderline, fxCode}

// marker is the plain-text marker of a style, as people wrote it in
// plain-text chat before clients drew formatting.
func marker(s effects) string {
	switch s {
	case fxBold:
		return "*"
	case fxItalic | fxUnderline:
		return "_"
	case fxStrike:
		return "~"
	case fxCode:
		return "`"
	case fxSpoiler:
		return "||"
	}
	return ""
}

// render writes spans as plain text, with markers for the styles not in
// skip. Markers hug the text: "*bold* text", never "*bold *text".
func render(spans []span, skip effects) string {
	var b strings.Builder
	var open []effects // marker groups open, outermost first
	pending := ""      // white space waiting to be written
	closeTo := func(keep int) {
		for len(open) > keep {
			b.WriteString(marker(open[len(open)-1]))
			open = open[:len(open)-1]
		}
	}
	for _, s := range spans {
		if s.style&verbatim != 0 {
			closeTo(0)
			b.WriteString(pending)
			pending = ""
			b.WriteString(s.text)
			continue
		}
		core := strings.TrimLeftFunc(s.text, unicode.IsSpace)
		lead := s.text[:len(s.text)-len(core)]
		trimmed := strings.TrimRightFunc(core, unicode.IsSpace)
		trail := core[len(trimmed):]
		core = trimmed
		if core == "" {
			pending += s.text
			continue
		}
		var want []effects
		for _, g := range markerOrder {
			if s.style&g&^skip != 0 {
				want = append(want, g)
			}
		}
		// Keep the open groups that are a prefix of what this span wants;
		// close the rest, then open what is missing.
		keep := 0
		for keep < len(open) && keep < len(want) && open[keep] == want[keep] {
			keep++
		}
		closeTo(keep)
		b.WriteString(pending)
		b.WriteString(lead)
		pending = ""
		for _, g := range want[keep:] {
			b.WriteString(marker(g))
			open = append(open, g)
		}
		b.WriteString(core)
		pending = trail
	}
	closeTo(0)
	b.WriteString(pending)
	return b.String()
}
