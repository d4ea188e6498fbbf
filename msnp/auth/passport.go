package auth

import (
	"errors"
	"strings"

	"github.com/nudge-im/nudge/msnp"
)

// Errors returned by the Passport parsers.
var (
	ErrEmptyTicket   = errors.New("auth: empty ticket")
	ErrBadTicket     = errors.New("auth: malformed ticket string")
	ErrNotPassport14 = errors.New("auth: not a Passport1.4 header")
	ErrBadParams     = errors.New("auth: malformed Passport parameter list")
	ErrNoFromPP      = errors.New("auth: Authentication-Info has no from-PP")
	ErrNoDALogin     = errors.New("auth: PassportURLs has no DALogin")
	ErrNoSignIn      = errors.New("auth: Passport1.4 Authorization has no sign-in")
)

// Scheme is the authentication scheme name of Passport 1.4 headers.
const Scheme = "Passport1.4"

// FormatTicket returns the ticket string a client sends in
// "USR trid TWN S <ticket string>": "t=<ticket>&p=<profile>". The profile
// may be empty ("t=<ticket>&p=").
func FormatTicket(ticket, profile string) string {
	return "t=" + ticket + "&p=" + profile
}

// ParseTicket splits the ticket string of "USR trid TWN S" into its ticket
// (t) and profile (p) values. It accepts what real clients send:
//
//   - "t=<ticket>&p=<profile>", in any order, with other keys ignored;
//   - "&amp;" instead of "&", as copied unescaped from an RST
//     BinarySecurityToken;
//   - a missing or empty p;
//   - a bare ticket with no "t=" at all (it may not contain "&").
//
// Values are returned as sent (tickets are opaque; they are not URL-decoded).
// A ticket string never contains spaces or control characters, since it is a
// command parameter; such input is rejected.
func ParseTicket(s string) (ticket, profile string, err error) {
	if s == "" {
		return "", "", ErrEmptyTicket
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return "", "", ErrBadTicket
		}
	}
	if strings.Contains(s, "&amp;") {
		s = strings.ReplaceAll(s, "&amp;", "&")
	}
	if !strings.HasPrefix(s, "t=") && !strings.Contains(s, "&t=") {
		if strings.HasPrefix(s, "p=") || strings.Contains(s, "&p=") {
			return "", "", ErrEmptyTicket
		}
		if strings.IndexByte(s, '&') >= 0 {
			return "", "", ErrBadTicket
		}
		return s, "", nil // a bare ticket
	}
	seenT := false
	for part := range strings.SplitSeq(s, "&") {
		key, val, _ := strings.Cut(part, "=")
		switch key {
		case "t":
			if !seenT {
				ticket, seenT = val, true
			}
		case "p":
			profile = val
		}
	}
	if ticket == "" {
		return "", "", ErrEmptyTicket
	}
	return ticket, profile, nil
}

// A Param is one key=value item of a Passport 1.4 header. Items without "="
// (such as "prompt" in WWW-Authenticate) have an empty Value and NoValue set.
type Param struct {
	Key, Value string
	NoValue    bool
}

// Params is an ordered Passport 1.4 parameter list:
// "key=value,key='quoted, value',flag".
type Params []Param

// Get returns the value of the first parameter named key, compared without
// regard to case, and "" if there is none.
func (p Params) Get(key string) string {
	v, _ := p.Lookup(key)
	return v
}

// Lookup is like Get but reports whether the parameter was present.
func (p Params) Lookup(key string) (string, bool) {
	for _, x := range p {
		if strings.EqualFold(x.Key, key) {
			return x.Value, true
		}
	}
	return "", false
}

// String formats the list as "k=v,k=v". Values are written as they are held:
// callers quote or URL-encode them as the header requires.
func (p Params) String() string {
	var b strings.Builder
	for i, x := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x.Key)
		if !x.NoValue {
			b.WriteByte('=')
			b.WriteString(x.Value)
		}
	}
	return b.String()
}

// ParseParams parses a Passport 1.4 parameter list such as the USR TWN S
// string ("lc=1033,id=507,tw=40,…") or the part of a Passport1.4 header after
// the scheme. Items are separated by commas; a value that starts with a
// single quote runs to the next single quote (so it may contain commas) and
// is returned without the quotes. Spaces around items are ignored. Empty
// items are skipped. Values are not URL-decoded.
func ParseParams(s string) (Params, error) {
	var out Params
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out, nil
		}
		if s[0] == ',' {
			s = s[1:]
			continue
		}
		end := strings.IndexAny(s, "=,")
		if end < 0 || s[end] == ',' {
			// A flag without a value.
			var key string
			if end < 0 {
				key, s = s, ""
			} else {
				key, s = s[:end], s[end+1:]
			}
			key = strings.TrimRight(key, " \t")
			if key == "" {
				return nil, ErrBadParams
			}
			out = append(out, Param{Key: key, NoValue: true})
			continue
		}
		key := strings.TrimRight(s[:end], " \t")
		if key == "" {
			return nil, ErrBadParams
		}
		s = strings.TrimLeft(s[end+1:], " \t")
		var val string
		if s != "" && s[0] == '\'' {
			q := strings.IndexByte(s[1:], '\'')
			if q < 0 {
				return nil, ErrBadParams
			}
			val, s = s[1:1+q], s[2+q:]
			s = strings.TrimLeft(s, " \t")
			if s != "" && s[0] != ',' {
				return nil, ErrBadParams
			}
		} else if c := strings.IndexByte(s, ','); c >= 0 {
			val, s = strings.TrimRight(s[:c], " \t"), s[c:]
		} else {
			val, s = strings.TrimRight(s, " \t"), ""
		}
		out = append(out, Param{Key: key, Value: val})
	}
}

// cutScheme removes a leading "Passport1.4" scheme (matched without regard
// to case) and the white space after it. It reports whether the scheme was
// present.
func cutScheme(h string) (string, bool) {
	h = strings.TrimLeft(h, " \t")
	if len(h) < len(Scheme) || !strings.EqualFold(h[:len(Scheme)], Scheme) {
		return h, false
	}
	rest := h[len(Scheme):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return h, false
	}
	return strings.TrimLeft(rest, " \t"), true
}

// PassportAuthorization is the "Authorization: Passport1.4 …" header a client
// sends to the Passport login server (login2.srf):
//
//	Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=<urlenc>,pwd=<urlenc>,lc=1033,id=507,…
//
// The items after pwd are the parameters of the "USR trid TWN S" string.
type PassportAuthorization struct {
	OrgVerb  string // usually "GET"
	OrgURL   string // decoded, usually "http://messenger.msn.com"
	SignIn   string // decoded account name
	Password string // decoded password
	Params   Params // the other items in order, values as sent
}

// NewPassportAuthorization returns the Authorization a messenger client sends
// for account signIn with password, given the parameter string the
// notification server sent in "USR trid TWN S <params>".
func NewPassportAuthorization(signIn, password, usrParams string) (*PassportAuthorization, error) {
	p, err := ParseParams(usrParams)
	if err != nil {
		return nil, err
	}
	return &PassportAuthorization{
		OrgVerb:  "GET",
		OrgURL:   "http://messenger.msn.com",
		SignIn:   signIn,
		Password: password,
		Params:   p,
	}, nil
}

// String returns the header value, scheme included, with OrgURL, SignIn and
// Password URL-encoded.
func (a *PassportAuthorization) String() string {
	var b strings.Builder
	b.WriteString(Scheme)
	b.WriteString(" OrgVerb=")
	b.WriteString(a.OrgVerb)
	b.WriteString(",OrgURL=")
	b.WriteString(urlEncode(a.OrgURL))
	b.WriteString(",sign-in=")
	b.WriteString(urlEncode(a.SignIn))
	b.WriteString(",pwd=")
	b.WriteString(urlEncode(a.Password))
	if len(a.Params) > 0 {
		b.WriteByte(',')
		b.WriteString(a.Params.String())
	}
	return b.String()
}

// ParsePassportAuthorization parses the value of an "Authorization:
// Passport1.4 …" header. OrgVerb, OrgURL, sign-in and pwd are matched without
// regard to case and URL-decoded ("+" is kept as a plus sign; a value that is
// not valid percent-encoding is kept as sent). Other items are returned in
// Params in order. It fails if the scheme is not Passport1.4 or the header
// has no sign-in.
func ParsePassportAuthorization(h string) (*PassportAuthorization, error) {
	rest, ok := cutScheme(h)
	if !ok {
		return nil, ErrNotPassport14
	}
	params, err := ParseParams(rest)
	if err != nil {
		return nil, err
	}
	a := &PassportAuthorization{}
	var signIn bool
	for _, p := range params {
		switch {
		case strings.EqualFold(p.Key, "OrgVerb"):
			a.OrgVerb = p.Value
		case strings.EqualFold(p.Key, "OrgURL"):
			a.OrgURL = msnp.DecodeParam(p.Value)
		case strings.EqualFold(p.Key, "sign-in"):
			a.SignIn, signIn = msnp.DecodeParam(p.Value), true
		case strings.EqualFold(p.Key, "pwd"):
			a.Password = msnp.DecodeParam(p.Value)
		default:
			a.Params = append(a.Params, p)
		}
	}
	if !signIn || a.SignIn == "" {
		return nil, ErrNoSignIn
	}
	return a, nil
}

// AuthenticationInfo is the "Authentication-Info: Passport1.4 …" header of a
// successful login (and, with Status "failed", the "WWW-Authenticate" header
// of a failed one):
//
//	Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec,from-PP='t=…&p=…',ru=http://messenger.msn.com
type AuthenticationInfo struct {
	Status string // da-status: "success", "failed", "redir", …
	FromPP string // the ticket string, without its quotes
	Params Params // every item in order, da-status and from-PP included
}

// ParseAuthenticationInfo parses an "Authentication-Info" or
// "WWW-Authenticate" header value in the Passport1.4 scheme. The from-PP value
// is single-quoted and is returned without the quotes; it is what a client
// sends in "USR trid TWN S". A header with da-status=success but no from-PP is
// an error ([ErrNoFromPP]).
func ParseAuthenticationInfo(h string) (*AuthenticationInfo, error) {
	rest, ok := cutScheme(h)
	if !ok {
		return nil, ErrNotPassport14
	}
	params, err := ParseParams(rest)
	if err != nil {
		return nil, err
	}
	ai := &AuthenticationInfo{Params: params}
	ai.Status = params.Get("da-status")
	fromPP, ok := params.Lookup("from-PP")
	if !ok && strings.EqualFold(ai.Status, "success") {
		return nil, ErrNoFromPP
	}
	ai.FromPP = fromPP
	return ai, nil
}

// NewAuthenticationInfo returns the Authentication-Info a login server sends
// with a successful login, carrying the ticket string fromPP (see
// [FormatTicket]).
func NewAuthenticationInfo(fromPP string) *AuthenticationInfo {
	return &AuthenticationInfo{
		Status: "success",
		FromPP: fromPP,
		Params: Params{
			{Key: "da-status", Value: "success"},
			{Key: "tname", Value: "MSPAuth"},
			{Key: "tname", Value: "MSPProf"},
			{Key: "tname", Value: "MSPSec"},
			{Key: "from-PP", Value: fromPP},
			{Key: "ru", Value: "http://messenger.msn.com"},
		},
	}
}

// String returns the header value, scheme included. The from-PP value is
// written in single quotes.
func (ai *AuthenticationInfo) String() string {
	var b strings.Builder
	b.WriteString(Scheme)
	b.WriteByte(' ')
	for i, p := range ai.Params {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.Key)
		if p.NoValue {
			continue
		}
		b.WriteByte('=')
		if strings.EqualFold(p.Key, "from-PP") {
			b.WriteByte('\'')
			b.WriteString(p.Value)
			b.WriteByte('\'')
		} else {
			b.WriteString(p.Value)
		}
	}
	return b.String()
}

// PassportURLs is the "PassportURLs" header of the Passport nexus
// (/rdr/pprdr.asp):
//
//	PassportURLs: DARealm=Passport.Net,DALogin=login.passport.com/login2.srf,ConfigVersion=15
//
// The header name is case-sensitive for some clients; a Go server must set it
// with h["PassportURLs"] = …, since http.Header.Set would canonicalise it.
type PassportURLs struct {
	DARealm string
	DALogin string // host and path, usually without a scheme
	Params  Params // every item in order
}

// ParsePassportURLs parses a PassportURLs header value. It fails if the
// header has no DALogin ([ErrNoDALogin]).
func ParsePassportURLs(h string) (*PassportURLs, error) {
	rest, _ := cutScheme(h)
	params, err := ParseParams(rest)
	if err != nil {
		return nil, err
	}
	u := &PassportURLs{Params: params, DARealm: params.Get("DARealm")}
	u.DALogin = params.Get("DALogin")
	if u.DALogin == "" {
		return nil, ErrNoDALogin
	}
	return u, nil
}

// LoginURL returns DALogin as an absolute URL, adding "https://" when DALogin
// has no scheme (the usual form).
func (u *PassportURLs) LoginURL() string {
	if strings.Contains(u.DALogin, "://") {
		return u.DALogin
	}
	return "https://" + u.DALogin
}

// String returns the header value.
func (u *PassportURLs) String() string {
	if len(u.Params) > 0 {
		return u.Params.String()
	}
	p := Params{{Key: "DARealm", Value: u.DARealm}, {Key: "DALogin", Value: u.DALogin}}
	if u.DARealm == "" {
		p = p[1:]
	}
	return p.String()
}

// urlEncode percent-encodes every byte except ASCII letters, digits and
// "-_.~", as Passport clients do.
func urlEncode(s string) string {
	const hexdig = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexdig[c>>4], hexdig[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
