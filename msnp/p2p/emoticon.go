package p2p

import (
	"errors"
	"net/url"
	"strings"
)

// Emoticon is a custom emoticon: the text it replaces and the MSNObject
// (Type 2) its picture is fetched by.
type Emoticon struct {
	Shortcut string
	Object   *Object
}

// MaxEmoticons bounds the pairs ParseEmoticons reads from one message.
const MaxEmoticons = 32

// ErrEmoticons is returned for a text/x-mms-emoticon body with no valid
// pair.
var ErrEmoticons = errors.New("p2p: no custom emoticon in the message")

// ParseEmoticons reads the body of a text/x-mms-emoticon (or
// text/x-mms-animemoticon) message: shortcut and MSNObject pairs separated
// by tabs, with or without a final tab. An object may be URL-encoded, as
// Pidgin accepts it. Pairs whose object does not parse are skipped.
func ParseEmoticons(body []byte) ([]Emoticon, error) {
	parts := strings.Split(strings.TrimRight(string(body), "\t\r\n\x00"), "\t")
	var out []Emoticon
	for i := 0; i+1 < len(parts) && len(out) < MaxEmoticons; i += 2 {
		sc, obj := parts[i], parts[i+1]
		if strings.HasPrefix(obj, "%3C") || strings.HasPrefix(obj, "%3c") {
			if d, err := url.PathUnescape(obj); err == nil {
				obj = d
			}
		}
		o, err := ParseObject(obj)
		if err != nil || sc == "" || len(sc) > 7*4 {
			continue
		}
		out = append(out, Emoticon{Shortcut: sc, Object: o})
	}
	if len(out) == 0 {
		return nil, ErrEmoticons
	}
	return out, nil
}

// EmoticonBody returns the body of a text/x-mms-emoticon message
// announcing list: "shortcut\tobject\t" for each, as MSNPSharp and the
// official client write it.
func EmoticonBody(list []Emoticon) []byte {
	var b strings.Builder
	for _, e := range list {
		b.WriteString(e.Shortcut + "\t" + e.Object.String() + "\t")
	}
	return []byte(b.String())
}
