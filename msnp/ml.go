package msnp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// ML is the payload of ADL, RML and FQY (MSNP13+): contacts grouped by
// domain, each with its lists and network.
//
//	<ml l="1"><d n="example.com"><c n="bob" l="3" t="1"/></d></ml>
//
// Clients write it with either quote character and with or without
// self-closing elements (libpurple writes <ml l='1'/> for an empty list),
// so it is read with an XML parser, never matched as text.
type ML struct {
	// Initial is l="1" on <ml>: the list a client sends right after
	// signing in, which tells the server what it already knows.
	Initial  bool
	Contacts []MLContact
}

// MLContact is one <c> of an ML.
type MLContact struct {
	Email    string // local@domain
	Lists    int    // l: FL=1, AL=2, BL=4, RL=8, PL=16; 0 when absent (FQY)
	Network  int    // t: 1 Messenger, 32 e-mail/Yahoo, 9 circle …; 0 when absent
	Friendly string // f, decoded: the adder's name in the server's "ADL 0"
}

// Limits on an ML payload.
const (
	MaxMLContacts = 1000 // <c> elements in one payload (clients send ≤ 150)
	maxMLDepth    = 3
)

// ErrML is what ParseML returns, wrapped in an MLError that carries the
// protocol's reply code.
var ErrML = errors.New("msnp: bad ADL/RML/FQY payload")

// MLError says why an ML payload was refused and with which code: 240 for
// a domain without a name, 241 for anything else malformed.
type MLError struct {
	Code   ErrorCode
	Reason string
}

func (e *MLError) Error() string { return "msnp: " + e.Reason }
func (e *MLError) Unwrap() error { return ErrML }

func mlErr(code ErrorCode, reason string) error { return &MLError{Code: code, Reason: reason} }

// ParseML reads an ML payload.
func ParseML(b []byte) (ML, error) {
	var m ML
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var stack []string
	var domain string
	seenRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ML{}, mlErr(ErrInvalidXML, "not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if t.Name.Space != "" || len(stack) >= maxMLDepth {
				return ML{}, mlErr(ErrInvalidXML, "unexpected element "+name)
			}
			switch {
			case len(stack) == 0 && name == "ml" && !seenRoot:
				seenRoot = true
				if v, ok := attr(t, "l"); ok {
					m.Initial = v == "1"
				}
			case len(stack) == 1 && name == "d":
				domain, _ = attr(t, "n")
				domain = strings.ToLower(strings.TrimSpace(domain))
				if domain == "" {
					return ML{}, mlErr(ErrEmptyDomain, "domain without a name")
				}
				if strings.ContainsAny(domain, "@ \t\r\n") {
					return ML{}, mlErr(ErrInvalidXML, "bad domain "+domain)
				}
			case len(stack) == 2 && name == "c":
				c, err := parseMLContact(t, domain)
				if err != nil {
					return ML{}, err
				}
				if len(m.Contacts) == MaxMLContacts {
					return ML{}, mlErr(ErrInvalidXML, "too many contacts")
				}
				m.Contacts = append(m.Contacts, c)
			default:
				return ML{}, mlErr(ErrInvalidXML, "unexpected element "+name)
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return ML{}, mlErr(ErrInvalidXML, "text in the list")
			}
		}
	}
	if !seenRoot {
		return ML{}, mlErr(ErrInvalidXML, "no <ml>")
	}
	return m, nil
}

func parseMLContact(t xml.StartElement, domain string) (MLContact, error) {
	var c MLContact
	local, _ := attr(t, "n")
	local = strings.ToLower(strings.TrimSpace(local))
	if local == "" || strings.ContainsAny(local, "@ \t\r\n;:,") {
		return c, mlErr(ErrInvalidXML, "bad contact name")
	}
	c.Email = local + "@" + domain
	for _, a := range []struct {
		name string
		dst  *int
	}{{"l", &c.Lists}, {"t", &c.Network}} {
		v, ok := attr(t, a.name)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 || n > 0xFFFF {
			return c, mlErr(ErrInvalidXML, "bad "+a.name+" on "+c.Email)
		}
		*a.dst = n
	}
	if f, ok := attr(t, "f"); ok {
		c.Friendly = DecodeParam(f)
	}
	return c, nil
}

func attr(t xml.StartElement, name string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// Marshal writes the payload with the contacts grouped by domain, in the
// order each domain first appears. Lists and Network are written when not
// zero, Friendly (URL-encoded, as the service sent it) when not empty.
func (m ML) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("<ml")
	if m.Initial {
		b.WriteString(` l="1"`)
	}
	b.WriteString(">")
	var domains []string
	by := map[string][]MLContact{}
	for _, c := range m.Contacts {
		i := strings.LastIndexByte(c.Email, '@')
		if i < 0 {
			continue
		}
		d := c.Email[i+1:]
		if _, ok := by[d]; !ok {
			domains = append(domains, d)
		}
		by[d] = append(by[d], c)
	}
	for _, d := range domains {
		b.WriteString(`<d n="`)
		xml.EscapeText(&b, []byte(d))
		b.WriteString(`">`)
		for _, c := range by[d] {
			b.WriteString(`<c n="`)
			xml.EscapeText(&b, []byte(c.Email[:strings.LastIndexByte(c.Email, '@')]))
			b.WriteString(`"`)
			if c.Lists != 0 {
				b.WriteString(` l="` + strconv.Itoa(c.Lists) + `"`)
			}
			if c.Network != 0 {
				b.WriteString(` t="` + strconv.Itoa(c.Network) + `"`)
			}
			if c.Friendly != "" {
				b.WriteString(` f="`)
				xml.EscapeText(&b, []byte(EncodeParam(c.Friendly)))
				b.WriteString(`"`)
			}
			b.WriteString("/>")
		}
		b.WriteString("</d>")
	}
	b.WriteString("</ml>")
	return b.Bytes()
}
