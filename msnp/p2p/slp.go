package p2p

import (
	"errors"
	"strconv"
	"strings"

	"github.com/nudge-im/nudge/msnp/message"
)

// MSNSLP content types.
const (
	ContentSessionRequest = "application/x-msnmsgr-sessionreqbody"   // INVITE, 200 and 603 of a session
	ContentTransRequest   = "application/x-msnmsgr-transreqbody"     // direct-connection negotiation
	ContentTransResponse  = "application/x-msnmsgr-transrespbody"    // its answer
	ContentSessionClose   = "application/x-msnmsgr-sessionclosebody" // BYE
)

// SLP methods and the statuses clients answer with.
const (
	MethodInvite = "INVITE"
	MethodBye    = "BYE"

	StatusOK       = 200
	StatusNotFound = 404
	StatusError    = 500
	StatusDecline  = 603
)

var reasons = map[int]string{
	StatusOK: "OK", StatusNotFound: "Not Found", StatusError: "Internal Error", StatusDecline: "Decline",
}

// SLP is an MSNSLP message: the SIP-like text carried in packets of
// SessionID 0 that opens (INVITE), answers (200 OK, 603 Decline) and
// closes (BYE) a P2P session.
//
//	INVITE MSNMSGR:bob@example.com MSNSLP/1.0
//	To: <msnmsgr:bob@example.com>
//	From: <msnmsgr:alice@example.com>
//	Via: MSNSLP/1.0/TLP ;branch={8A2F…}
//	CSeq: 0
//	Call-ID: {51B1…}
//	Max-Forwards: 0
//	Content-Type: application/x-msnmsgr-sessionreqbody
//	Content-Length: 123
//
//	EUF-GUID: {A4268EEC-FEC5-49E5-95C3-F126696BDBF6}
//	SessionID: 7001
//	AppID: 1
//	Context: PG1zbm9iaiBD…
//
// followed by a NUL byte.
type SLP struct {
	Method string // "INVITE", "BYE"; "" in a response
	URI    string // the request's target after "MSNMSGR:"
	Status int    // a response's status: 200, 603, …
	Reason string // a response's reason phrase: "OK", "Decline"

	To, From    string // the handles in <msnmsgr:…>; MSNP16+ adds ";{guid}"
	Branch      string // the Via header's branch, "{GUID}"
	CSeq        int
	CallID      string
	ContentType string

	// Body is the body's "Key: Value" lines, in order.
	Body message.Fields
}

// IsRequest reports whether s is a request (INVITE, BYE) rather than a
// response.
func (s *SLP) IsRequest() bool { return s.Method != "" }

// ErrNotSLP is returned by ParseSLP for data that is not MSNSLP.
var ErrNotSLP = errors.New("p2p: not an MSNSLP message")

// maxSLP bounds the text ParseSLP reads.
const maxSLP = 64 << 10

// ParseSLP parses an MSNSLP message, as leniently as the clients that
// read them: trailing NULs are ignored (and their absence tolerated),
// header names are matched without regard to case, "CSeq: 0 " with its
// trailing space is read, Content-Length is not trusted (the official
// client's disagrees with its body), unknown headers and body keys are
// kept or skipped, and lines may end in CRLF or LF.
func ParseSLP(b []byte) (*SLP, error) {
	if len(b) > maxSLP {
		return nil, ErrTooLarge
	}
	text := strings.TrimRight(string(b), "\x00")
	start, rest, _ := cutLine(text)
	s := &SLP{}
	if r, ok := strings.CutPrefix(start, "MSNSLP/1.0 "); ok {
		code, reason, _ := strings.Cut(r, " ")
		n, err := strconv.Atoi(code)
		if err != nil || n < 100 || n > 999 {
			return nil, ErrNotSLP
		}
		s.Status, s.Reason = n, strings.TrimSpace(reason)
	} else {
		f := strings.Fields(start)
		if len(f) != 3 || f[2] != "MSNSLP/1.0" || !hasPrefixFold(f[1], "MSNMSGR:") {
			return nil, ErrNotSLP
		}
		s.Method, s.URI = f[0], f[1][len("MSNMSGR:"):]
	}
	for {
		var line string
		var ok bool
		line, rest, ok = cutLine(rest)
		if line == "" {
			break
		}
		name, value, found := strings.Cut(line, ":")
		if !found {
			if !ok {
				break
			}
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "to":
			s.To = handleOf(value)
		case "from":
			s.From = handleOf(value)
		case "via":
			s.Branch = branchOf(value)
		case "cseq":
			s.CSeq, _ = strconv.Atoi(value)
		case "call-id":
			s.CallID = value
		case "content-type":
			s.ContentType = value
		}
		if !ok {
			break
		}
	}
	s.Body = parseBody(rest)
	return s, nil
}

// parseBody reads "Key: Value" lines up to an empty line or the end;
// lines without a colon are skipped.
func parseBody(s string) message.Fields {
	var f message.Fields
	for s != "" {
		var line string
		var ok bool
		line, s, ok = cutLine(s)
		if line == "" && ok {
			break
		}
		if k, v, found := strings.Cut(line, ":"); found && strings.TrimSpace(k) != "" {
			f = append(f, message.Field{Name: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
		}
	}
	return f
}

func cutLine(s string) (line, rest string, ok bool) {
	line, rest, ok = strings.Cut(s, "\n")
	return strings.TrimSuffix(line, "\r"), rest, ok
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// indexFold is strings.Index ignoring ASCII case; it never changes byte
// offsets, as lowering invalid UTF-8 would.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// handleOf reads "<msnmsgr:bob@example.com>" (or a bare handle).
func handleOf(v string) string {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	if hasPrefixFold(v, "msnmsgr:") {
		v = v[len("msnmsgr:"):]
	}
	return v
}

// branchOf reads the branch of "MSNSLP/1.0/TLP ;branch={…}".
func branchOf(v string) string {
	i := indexFold(v, "branch=")
	if i < 0 {
		return ""
	}
	b := v[i+len("branch="):]
	if j := strings.IndexAny(b, "; \t"); j >= 0 {
		b = b[:j]
	}
	return b
}

// SessionID returns the body's SessionID, or 0.
func (s *SLP) SessionID() uint32 {
	n, _ := strconv.ParseUint(s.Body.Get("SessionID"), 10, 32)
	return uint32(n)
}

// AppID returns the body's AppID, or 0.
func (s *SLP) AppID() uint32 {
	n, _ := strconv.ParseUint(s.Body.Get("AppID"), 10, 32)
	return uint32(n)
}

// EUFGUID returns the body's EUF-GUID, which names the application of an
// INVITE, in upper case.
func (s *SLP) EUFGUID() string { return strings.ToUpper(s.Body.Get("EUF-GUID")) }

// Context returns the body's Context, base64 as sent.
func (s *SLP) Context() string { return s.Body.Get("Context") }

// Bytes returns the wire form: start line, headers in the order clients
// write them, the body and a NUL. Content-Length counts the body with its
// ending empty line and the NUL, as every client computes it.
func (s *SLP) Bytes() []byte {
	var b strings.Builder
	if s.IsRequest() {
		b.WriteString(s.Method + " MSNMSGR:" + s.URI + " MSNSLP/1.0\r\n")
	} else {
		reason := s.Reason
		if reason == "" {
			reason = reasons[s.Status]
		}
		b.WriteString("MSNSLP/1.0 " + strconv.Itoa(s.Status) + " " + reason + "\r\n")
	}
	body := append(s.Body.AppendTo(nil), '\r', '\n', 0)
	b.WriteString("To: <msnmsgr:" + s.To + ">\r\n")
	b.WriteString("From: <msnmsgr:" + s.From + ">\r\n")
	b.WriteString("Via: MSNSLP/1.0/TLP ;branch=" + s.Branch + "\r\n")
	b.WriteString("CSeq: " + strconv.Itoa(s.CSeq) + "\r\n")
	b.WriteString("Call-ID: " + s.CallID + "\r\n")
	b.WriteString("Max-Forwards: 0\r\n")
	b.WriteString("Content-Type: " + s.ContentType + "\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	return append([]byte(b.String()), body...)
}

// NewInvite returns an INVITE from from to to opening a new session: a
// fresh branch and Call-ID, CSeq 0, Content-Type sessionreqbody and the
// body EUF-GUID, SessionID, AppID, Context.
func NewInvite(to, from, eufGUID string, sessionID, appID uint32, context string) *SLP {
	return &SLP{
		Method: MethodInvite, URI: to, To: to, From: from,
		Branch: message.NewGUID(), CallID: message.NewGUID(),
		ContentType: ContentSessionRequest,
		Body: message.Fields{
			{Name: "EUF-GUID", Value: eufGUID},
			{Name: "SessionID", Value: strconv.FormatUint(uint64(sessionID), 10)},
			{Name: "AppID", Value: strconv.FormatUint(uint64(appID), 10)},
			{Name: "Context", Value: context},
		},
	}
}

// Reply returns the response to request s: To and From swapped, the same
// branch and Call-ID, CSeq one more, the given content type (s's when "")
// and body.
func (s *SLP) Reply(status int, contentType string, body message.Fields) *SLP {
	if contentType == "" {
		contentType = s.ContentType
	}
	return &SLP{
		Status: status, To: s.From, From: s.To,
		Branch: s.Branch, CSeq: s.CSeq + 1, CallID: s.CallID,
		ContentType: contentType, Body: body,
	}
}

// NewBye returns the BYE that closes the session of Call-ID callID: a new
// branch, CSeq 0, Content-Type sessionclosebody and, as MSNPSharp writes
// it, the SessionID in the body.
func NewBye(to, from, callID string, sessionID uint32) *SLP {
	return &SLP{
		Method: MethodBye, URI: to, To: to, From: from,
		Branch: message.NewGUID(), CallID: callID,
		ContentType: ContentSessionClose,
		Body:        message.Fields{{Name: "SessionID", Value: strconv.FormatUint(uint64(sessionID), 10)}},
	}
}

// SessionBody is the body of a 200 OK or 603 Decline of a session:
// "SessionID: n".
func SessionBody(sessionID uint32) message.Fields {
	return message.Fields{{Name: "SessionID", Value: strconv.FormatUint(uint64(sessionID), 10)}}
}
