package message

import (
	"errors"
	"strconv"
	"strings"

	"github.com/nudge-im/nudge/msnp"
)

// A Color is an RGB colour.
type Color struct {
	R, G, B uint8
}

// Format is the text formatting carried by the X-MMS-IM-Format header of a
// text message:
//
//	X-MMS-IM-Format: FN=Arial; EF=I; CO=0; CS=0; PF=22
//
// FN is the URL-encoded font name; EF the effects, any of the letters B, I, U
// and S; CO the colour as hexadecimal BGR (0x00BBGGRR) with leading zeros
// dropped, so red is "ff" and blue "ff0000"; CS the Windows character set,
// in hexadecimal; PF the Windows pitch-and-family byte, written as two
// digits (family, then pitch: "22" is a variable-pitch Swiss font); RL=1
// marks right-to-left text.
type Format struct {
	Font          string
	Bold          bool
	Italic        bool
	Underline     bool
	Strikethrough bool
	Color         Color
	Charset       uint8 // CS
	PitchFamily   uint8 // PF, e.g. 0x22
	RightToLeft   bool  // RL=1
}

// ErrBadFormat is returned by [ParseFormat] for a malformed value.
var ErrBadFormat = errors.New("message: malformed X-MMS-IM-Format value")

// ParseFormat parses an X-MMS-IM-Format header value. Items are separated by
// ";" and may come in any order; keys are matched without regard to case and
// unknown keys are ignored. A malformed number is reported as [ErrBadFormat]
// but the other items are still returned, so a caller may use the result
// anyway.
func ParseFormat(s string) (Format, error) {
	var f Format
	var err error
	for s != "" {
		var item string
		item, s, _ = strings.Cut(s, ";")
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		k, v = trimSpace(k), trimSpace(v)
		switch strings.ToUpper(k) {
		case "FN":
			f.Font = msnp.DecodeParam(v)
		case "EF":
			for i := 0; i < len(v); i++ {
				switch v[i] | 0x20 {
				case 'b':
					f.Bold = true
				case 'i':
					f.Italic = true
				case 'u':
					f.Underline = true
				case 's':
					f.Strikethrough = true
				}
			}
		case "CO":
			n, e := parseHex(v, 24)
			if e != nil {
				err = e
				continue
			}
			f.Color = Color{R: uint8(n), G: uint8(n >> 8), B: uint8(n >> 16)}
		case "CS":
			n, e := parseHex(v, 8)
			if e != nil {
				err = e
				continue
			}
			f.Charset = uint8(n)
		case "PF":
			n, e := parseHex(v, 8)
			if e != nil {
				err = e
				continue
			}
			f.PitchFamily = uint8(n)
		case "RL":
			f.RightToLeft = v == "1"
		}
	}
	return f, err
}

func parseHex(v string, bits int) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 16, bits)
	if err != nil {
		return 0, ErrBadFormat
	}
	return n, nil
}

// String returns the header value in the order the official client writes
// it: FN, EF, CO, CS, PF, then RL=1 if set.
func (f Format) String() string {
	return string(f.AppendTo(make([]byte, 0, 40+len(f.Font))))
}

// AppendTo appends the header value to dst.
func (f Format) AppendTo(dst []byte) []byte {
	dst = append(dst, "FN="...)
	dst = appendURLEncoded(dst, f.Font)
	dst = append(dst, "; EF="...)
	if f.Bold {
		dst = append(dst, 'B')
	}
	if f.Italic {
		dst = append(dst, 'I')
	}
	if f.Underline {
		dst = append(dst, 'U')
	}
	if f.Strikethrough {
		dst = append(dst, 'S')
	}
	dst = append(dst, "; CO="...)
	bgr := uint64(f.Color.B)<<16 | uint64(f.Color.G)<<8 | uint64(f.Color.R)
	dst = strconv.AppendUint(dst, bgr, 16)
	dst = append(dst, "; CS="...)
	dst = strconv.AppendUint(dst, uint64(f.Charset), 16)
	dst = append(dst, "; PF="...)
	dst = strconv.AppendUint(dst, uint64(f.PitchFamily), 16)
	if f.RightToLeft {
		dst = append(dst, "; RL=1"...)
	}
	return dst
}

// NewText returns a plain text message:
//
//	MIME-Version: 1.0
//	Content-Type: text/plain; charset=UTF-8
//	X-MMS-IM-Format: <f>
//
// followed by text. If f is nil the X-MMS-IM-Format header is left out.
func NewText(text string, f *Format) *Message {
	m := &Message{fields: make(Fields, 0, 3)}
	m.fields = append(m.fields,
		Field{HeaderMIMEVersion, "1.0"},
		Field{HeaderContentType, "text/plain; charset=UTF-8"})
	if f != nil {
		m.fields = append(m.fields, Field{HeaderFormat, f.String()})
	}
	m.Body = []byte(text)
	return m
}

// Format returns the parsed X-MMS-IM-Format header. It reports false if the
// header is missing or malformed.
func (m *Message) Format() (Format, bool) {
	v, ok := m.Lookup(HeaderFormat)
	if !ok {
		return Format{}, false
	}
	f, err := ParseFormat(v)
	return f, err == nil
}

// appendURLEncoded percent-encodes every byte except ASCII letters, digits
// and "-_.~".
func appendURLEncoded(dst []byte, s string) []byte {
	const hexdig = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexdig[c>>4], hexdig[c&15])
		}
	}
	return dst
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
