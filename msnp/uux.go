package msnp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// UUX is what a client's UUX payload says. MSNP11 clients send <Data>
// (personal message, current media; MSNP13 adds MachineGuid); MSNP16+
// clients also send <EndpointData> (this endpoint's capabilities) and
// <PrivateEndpointData> (its name and state, shown only to the user's own
// other endpoints).
type UUX struct {
	Kind UUXKind
	// Data.
	PSM, CurrentMedia, MachineGUID string
	// EndpointData.
	Capabilities string
	// PrivateEndpointData.
	Private EndpointPrivate
}

// UUXKind is the root element of a UUX payload.
type UUXKind uint8

const (
	UUXData UUXKind = iota + 1
	UUXEndpoint
	UUXPrivateEndpoint
)

// EndpointPrivate is what an endpoint tells the user's other endpoints
// about itself.
type EndpointPrivate struct {
	Name       string // EpName: the machine's name
	Idle       bool
	ClientType int    // 1 computer, 2 web, 3 mobile …
	State      string // its status (NLN, BSY …)
}

// Endpoint is one place the user is signed in at (MSNP16+), as UBX lists
// it.
type Endpoint struct {
	ID           string // the machine GUID, "{…}"
	Capabilities string // "caps:capsEx"
	Private      EndpointPrivate
}

// MaxUUX bounds a UUX payload.
const MaxUUX = 8 << 10

var errUUX = errors.New("msnp: bad UUX payload")

// ParseUUX reads a UUX payload. Elements it does not know are skipped.
func ParseUUX(b []byte) (UUX, error) {
	var u UUX
	if len(b) > MaxUUX {
		return u, errUUX
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var stack []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return UUX{}, errUUX
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > 16 {
				return UUX{}, errUUX
			}
			if len(stack) == 0 {
				if u.Kind != 0 {
					return UUX{}, errUUX // two roots
				}
				switch t.Name.Local {
				case "Data":
					u.Kind = UUXData
				case "EndpointData":
					u.Kind = UUXEndpoint
				case "PrivateEndpointData":
					u.Kind = UUXPrivateEndpoint
				default:
					return UUX{}, errUUX
				}
			}
			stack = append(stack, t.Name.Local)
			text.Reset()
		case xml.CharData:
			if text.Len() < MaxUUX {
				text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 2 {
				u.set(stack[1], text.String())
			}
			stack = stack[:len(stack)-1]
			text.Reset()
		}
	}
	if u.Kind == 0 {
		return UUX{}, errUUX
	}
	return u, nil
}

func (u *UUX) set(field, v string) {
	switch u.Kind {
	case UUXData:
		switch field {
		case "PSM":
			u.PSM = v
		case "CurrentMedia":
			u.CurrentMedia = v
		case "MachineGuid":
			u.MachineGUID = strings.TrimSpace(v)
		}
	case UUXEndpoint:
		if field == "Capabilities" {
			u.Capabilities = strings.TrimSpace(v)
		}
	case UUXPrivateEndpoint:
		switch field {
		case "EpName":
			u.Private.Name = v
		case "Idle":
			u.Private.Idle = strings.EqualFold(strings.TrimSpace(v), "true")
		case "ClientType":
			u.Private.ClientType, _ = strconv.Atoi(strings.TrimSpace(v))
		case "State":
			u.Private.State = strings.TrimSpace(v)
		}
	}
}

// UBXPayload is the <Data> of a UBX: the user's last <Data> (or an empty
// one) with, for MSNP16+, an <EndpointData> per endpoint and, when private
// (the user's own endpoints see it), a <PrivateEndpointData> per endpoint.
func UBXPayload(data []byte, endpoints []Endpoint, private bool) []byte {
	body := data
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("<Data><PSM></PSM><CurrentMedia></CurrentMedia></Data>")
	}
	if len(endpoints) == 0 {
		return body
	}
	end := bytes.LastIndex(body, []byte("</Data>"))
	if end < 0 {
		// A <Data/> or something else odd: start afresh rather than
		// splice into it.
		body, end = []byte("<Data></Data>"), len("<Data>")
	}
	var b bytes.Buffer
	b.Grow(len(body) + 200*len(endpoints))
	b.Write(body[:end])
	for _, e := range endpoints {
		b.WriteString(`<EndpointData id="`)
		xml.EscapeText(&b, []byte(e.ID))
		b.WriteString(`"><Capabilities>`)
		xml.EscapeText(&b, []byte(e.Capabilities))
		b.WriteString(`</Capabilities></EndpointData>`)
	}
	if private {
		for _, e := range endpoints {
			b.WriteString(`<PrivateEndpointData id="`)
			xml.EscapeText(&b, []byte(e.ID))
			b.WriteString(`"><EpName>`)
			xml.EscapeText(&b, []byte(e.Private.Name))
			b.WriteString(`</EpName><Idle>`)
			b.WriteString(strconv.FormatBool(e.Private.Idle))
			b.WriteString(`</Idle><ClientType>`)
			b.WriteString(strconv.Itoa(e.Private.ClientType))
			b.WriteString(`</ClientType><State>`)
			xml.EscapeText(&b, []byte(e.Private.State))
			b.WriteString(`</State></PrivateEndpointData>`)
		}
	}
	b.Write(body[end:])
	return b.Bytes()
}

// Endpoints reads the endpoints a UBX payload lists (MSNP16+): the
// <EndpointData> elements, with the <PrivateEndpointData> of the same id
// when present.
func Endpoints(b []byte) ([]Endpoint, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	var out []Endpoint
	index := map[string]int{}
	var cur *Endpoint
	var field string
	var text strings.Builder
	private := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, errUUX
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "EndpointData", "PrivateEndpointData":
				id, _ := attr(t, "id")
				i, ok := index[strings.ToLower(id)]
				if !ok {
					if len(out) >= 64 {
						return out, errUUX
					}
					i = len(out)
					index[strings.ToLower(id)] = i
					out = append(out, Endpoint{ID: id})
				}
				cur, private = &out[i], t.Name.Local == "PrivateEndpointData"
			default:
				field = t.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if cur != nil && text.Len() < MaxUUX {
				text.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "EndpointData", "PrivateEndpointData":
				cur = nil
			default:
				if cur != nil && t.Name.Local == field {
					u := UUX{Kind: UUXEndpoint}
					if private {
						u.Kind = UUXPrivateEndpoint
					}
					u.set(field, text.String())
					if private {
						cur.Private = mergePrivate(cur.Private, field, u.Private)
					} else if field == "Capabilities" {
						cur.Capabilities = u.Capabilities
					}
				}
			}
		}
	}
}

func mergePrivate(p EndpointPrivate, field string, v EndpointPrivate) EndpointPrivate {
	switch field {
	case "EpName":
		p.Name = v.Name
	case "Idle":
		p.Idle = v.Idle
	case "ClientType":
		p.ClientType = v.ClientType
	case "State":
		p.State = v.State
	}
	return p
}

// NormalizeGUID writes a machine GUID the way the service keys endpoints:
// lower case, in braces. It reports false for anything but 8-4-4-4-12 hex
// digits with or without braces.
func NormalizeGUID(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}")
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return "", false
			}
		}
	}
	return "{" + strings.ToLower(s) + "}", true
}
