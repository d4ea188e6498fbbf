package p2p

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
)

// MSNObject types.
const (
	TypeAvatar         = 1
	TypeEmoticon       = 2 // custom emoticon
	TypeDisplayPicture = 3 // "user tile"
	TypeSharedFile     = 4
	TypeBackground     = 5
	TypeHistory        = 6
	TypeDynamicPicture = 7
	TypeWink           = 8
	TypeMapFile        = 9
	TypeDynamicBg      = 10
	TypeVoiceClip      = 11
	TypeAddInState     = 12
	TypeRoaming        = 13
	TypeSignatureSound = 14
	TypeScene          = 16
)

// Object is an MSNObject: the description of a display picture, custom
// emoticon, wink or voice clip its creator serves over P2P.
//
//	<msnobj Creator="alice@example.com" Size="18122" Type="3" Location="TFR2C.tmp"
//	  Friendly="AAA=" SHA1D="…" SHA1C="…"/>
//
// An Object read by ParseObject remembers the text it came from: String
// returns it unchanged, because aMSN serves an object only when a request
// repeats, byte for byte, what it published.
type Object struct {
	Creator  string
	Size     int64
	Type     int
	Location string // a token on the creator's side, never a path to open
	Friendly string // base64 of the UTF-16LE name and a NUL ("AAA=" for none)
	SHA1D    string // base64 SHA-1 of the data: the object's identity
	SHA1C    string // base64 SHA-1 of the other attributes; often absent or wrong
	Extra    []xml.Attr

	raw string
}

// Errors of ParseObject.
var ErrObject = errors.New("p2p: not an MSNObject")

const maxObject = 64 << 10 // winks carry a large stamp

// ParseObject parses an MSNObject as XML (not URL-encoded; see
// msnp.DecodeParam for the form in presence). Trailing NULs, which aMSN
// adds, are ignored. An object needs a Creator, a Type and a SHA1D, and a
// Size that is a number; other attributes are kept in Extra.
func ParseObject(s string) (*Object, error) {
	s = strings.TrimRight(s, "\x00")
	if len(s) > maxObject {
		return nil, fmt.Errorf("%w: %d bytes", ErrObject, len(s))
	}
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = false
	var start *xml.StartElement
	for start == nil {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return nil, ErrObject
			}
			return nil, fmt.Errorf("%w: %v", ErrObject, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			start = &se
		}
	}
	if !strings.EqualFold(start.Name.Local, "msnobj") {
		return nil, ErrObject
	}
	o := &Object{raw: s}
	var err error
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "Creator":
			o.Creator = a.Value
		case "Size":
			o.Size, err = strconv.ParseInt(a.Value, 10, 64)
		case "Type":
			o.Type, err = strconv.Atoi(a.Value)
		case "Location":
			o.Location = a.Value
		case "Friendly":
			o.Friendly = a.Value
		case "SHA1D":
			o.SHA1D = a.Value
		case "SHA1C":
			o.SHA1C = a.Value
		default:
			o.Extra = append(o.Extra, a)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s=%q", ErrObject, a.Name.Local, a.Value)
		}
	}
	if o.Creator == "" || o.Type == 0 || o.SHA1D == "" || o.Size < 0 {
		return nil, fmt.Errorf("%w: Creator, Type and SHA1D are required", ErrObject)
	}
	return o, nil
}

// NewObject describes data as an object of type typ created by creator,
// with its SHA1D and SHA1C computed and no friendly name.
func NewObject(creator string, typ int, location string, data []byte) *Object {
	o := &Object{
		Creator:  creator,
		Size:     int64(len(data)),
		Type:     typ,
		Location: location,
		Friendly: "AAA=",
		SHA1D:    SHA1D(data),
	}
	o.SHA1C = o.checksum()
	return o
}

// SHA1D returns the base64 SHA-1 of data, an object's SHA1D.
func SHA1D(data []byte) string {
	h := sha1.Sum(data)
	return base64.StdEncoding.EncodeToString(h[:])
}

// checksum is SHA1C as Pidgin and aMSN compute it, over the attribute
// values as written.
func (o *Object) checksum() string {
	h := sha1.New()
	io.WriteString(h, "Creator"+o.Creator+"Size"+strconv.FormatInt(o.Size, 10)+"Type"+strconv.Itoa(o.Type)+
		"Location"+o.Location+"Friendly"+o.Friendly+"SHA1D"+o.SHA1D)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// String returns the object's XML: the text it was parsed from, or for a
// new object the attributes in the order Pidgin writes them.
func (o *Object) String() string {
	if o.raw != "" {
		return o.raw
	}
	var b strings.Builder
	b.WriteString("<msnobj")
	attr := func(name, v string) {
		b.WriteString(" " + name + `="`)
		xml.EscapeText(&b, []byte(v))
		b.WriteString(`"`)
	}
	attr("Creator", o.Creator)
	attr("Size", strconv.FormatInt(o.Size, 10))
	attr("Type", strconv.Itoa(o.Type))
	attr("Location", o.Location)
	attr("Friendly", o.Friendly)
	attr("SHA1D", o.SHA1D)
	if o.SHA1C != "" {
		attr("SHA1C", o.SHA1C)
	}
	for _, a := range o.Extra {
		attr(a.Name.Local, a.Value)
	}
	b.WriteString("/>")
	return b.String()
}

// Name returns the friendly name: Friendly decoded from base64 UTF-16LE,
// without its NUL.
func (o *Object) Name() string {
	b, err := base64.StdEncoding.DecodeString(o.Friendly)
	if err != nil {
		return ""
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// SetName sets Friendly to name, encoded as clients do.
func (o *Object) SetName(name string) {
	u := utf16.Encode([]rune(name))
	b := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	b = append(b, 0, 0)
	o.Friendly = base64.StdEncoding.EncodeToString(b)
	if o.raw == "" {
		o.SHA1C = o.checksum()
	}
}

// ErrChecksum is returned by Verify for data that is not the object's.
var ErrChecksum = errors.New("p2p: data does not match the object's SHA1D")

// Verify checks that data is the object's: its SHA-1 is SHA1D.
func (o *Object) Verify(data []byte) error {
	if SHA1D(data) != o.SHA1D {
		return ErrChecksum
	}
	return nil
}

// AppIDFor returns the AppID a requester puts in the INVITE for an object
// of type typ. Owners do not route by it, but MSNPSharp refuses pairs of
// EUF-GUID and AppID it does not know; these are the values the clients
// of the MSNP9–12 era send: 1 for display pictures and voice clips, 11 for
// custom emoticons and winks.
func AppIDFor(typ int) uint32 {
	switch typ {
	case TypeEmoticon, TypeWink:
		return AppIDEmoticon
	}
	return AppIDObject
}
