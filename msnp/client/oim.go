package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
	"github.com/nudge-im/nudge/msnp/message"
)

// Offline messages of MSNP13+ (OIM): the server tells at sign-in (and when
// one arrives) which wait, by Mail-Data; the client reads each at the
// rsi web service and deletes what it read.

// OfflineMessage is a message someone left while you were offline (or
// hidden from them), read at sign-in or when it arrives (MSNP13+; older
// versions get such messages as a conversation from the sender).
type OfflineMessage struct {
	From         string
	FriendlyName string
	Text         string
	Sent         time.Time
}

func (*OfflineMessage) isEvent() {}

// rsiURL is the offline-message reading service: the address book's host.
func (p PassportConfig) rsiURL() string { return p.addressBookURL() + "/rsi/rsi.asmx" }

// mailData finds the Mail-Data of an OIM notification (the initial one or
// a new message's); "" when m is not one.
func mailData(m *message.Message) string {
	switch typ, _ := m.ContentType(); typ {
	case "text/x-msmsgsinitialmdatanotification", "text/x-msmsgsoimnotification":
	default:
		return ""
	}
	for _, line := range strings.Split(string(m.Body), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Mail-Data:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// oimEntry is one M of a Mail-Data.
type oimEntry struct {
	ID   string `xml:"I"`
	From string `xml:"E"`
}

func parseMailData(md string) []oimEntry {
	var v struct {
		M []oimEntry `xml:"M"`
	}
	if err := xml.Unmarshal([]byte(md), &v); err != nil {
		return nil
	}
	return v.M
}

// readOfflineMessages reads the messages Mail-Data names (all of them,
// asked with GetMetadata, when it says "too-large"), emits each, and
// deletes them at the service.
func (cl *Client) readOfflineMessages(md string) {
	ctx, cancel := context.WithTimeout(cl.ctx, 4*cl.cfg.RequestTimeout)
	defer cancel()
	entries := parseMailData(md)
	if md == "too-large" {
		out, err := cl.rsiCall(ctx, "GetMetadata", `<GetMetadata xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"/>`)
		if err != nil {
			cl.log.Warn().Err(err).Msg("offline messages not listed")
			return
		}
		var r struct {
			M []oimEntry `xml:"Body>GetMetadataResponse>MD>M"`
		}
		if err := xml.Unmarshal(out, &r); err != nil {
			cl.log.Warn().Err(err).Msg("offline messages not listed")
			return
		}
		entries = r.M
	}
	var read []string
	for _, e := range entries {
		out, err := cl.rsiCall(ctx, "GetMessage", `<GetMessage xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageId>`+
			xmlEscape(e.ID)+`</messageId><alsoMarkAsRead>false</alsoMarkAsRead></GetMessage>`)
		if err != nil {
			cl.log.Warn().Err(err).Str("from", e.From).Msg("offline message not read")
			continue
		}
		var r struct {
			Raw string `xml:"Body>GetMessageResponse>GetMessageResult"`
		}
		if err := xml.Unmarshal(out, &r); err != nil {
			continue
		}
		if m, ok := parseOIM(r.Raw, e.From); ok {
			cl.emit(m)
			read = append(read, e.ID)
		}
	}
	if len(read) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString(`<DeleteMessages xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageIds>`)
	for _, id := range read {
		b.WriteString("<messageId>" + xmlEscape(id) + "</messageId>")
	}
	b.WriteString(`</messageIds></DeleteMessages>`)
	if _, err := cl.rsiCall(ctx, "DeleteMessages", b.String()); err != nil {
		cl.log.Warn().Err(err).Msg("offline messages read but not deleted")
	}
}

// parseOIM reads the e-mail GetMessage gives: the sender's name from
// From, the time from Date, the text from the (base64) body.
func parseOIM(raw, from string) (*OfflineMessage, bool) {
	msg, err := mail.ReadMessage(strings.NewReader(strings.ReplaceAll(raw, "\r\n", "\n")))
	if err != nil {
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(msg.Body, 1<<20))
	if err != nil {
		return nil, false
	}
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "base64") {
		if body, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), "")); err != nil {
			return nil, false
		}
	}
	m := &OfflineMessage{From: from, Text: string(body)}
	if a, err := (&mail.AddressParser{WordDecoder: &mime.WordDecoder{}}).Parse(msg.Header.Get("From")); err == nil {
		m.FriendlyName = a.Name
		if m.From == "" {
			m.From = a.Address
		}
	}
	if t, err := msg.Header.Date(); err == nil {
		m.Sent = t
	}
	return m, m.From != ""
}

// rsiCall posts one rsi method with the messenger.msn.com ticket.
func (cl *Client) rsiCall(ctx context.Context, method, body string) ([]byte, error) {
	t, p, _ := strings.Cut(strings.TrimPrefix(cl.Tokens()[TokenMessenger], "t="), "&p=")
	if t == "" {
		return nil, fmt.Errorf("client: no %s token to read offline messages: %w", TokenMessenger, ErrProtocol)
	}
	env := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` +
		`<soap:Header><PassportCookie xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><t>` + xmlEscape(t) + `</t><p>` + xmlEscape(p) +
		`</p></PassportCookie></soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
	u := cl.cfg.Passport.rsiURL()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(env))
	if err != nil {
		return nil, fmt.Errorf("client: offline messages URL %q: %w", u, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "http://www.hotmail.msn.com/ws/2004/09/oim/rsi/"+method)
	resp, err := cl.passportClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: offline messages %s: %w", method, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("client: offline messages %s: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("client: offline messages %s at %s answered %s", method, u, resp.Status)
	}
	return bytes.Clone(out), nil
}

// lockApp is the product whose key answers the Store2 lock key challenge,
// as Windows Live Messenger 8.5 and Pidgin answer it.
const lockApp = "PROD0119GSJUC$18"

var lockKeyRE = regexp.MustCompile(`<LockKeyChallenge[^>]*>\s*(\d+)\s*</LockKeyChallenge>`)

// LeaveIfOffline is for text that could not go to to because a
// conversation with them could not be opened (err, from Conversation):
// when err says to is offline or appears so (msnp.ErrNotOnline; a block
// looks the same) and the client signed in at MSNP13+, it leaves text for
// them as an offline message (SendOffline) and returns what that gives;
// otherwise it returns err as it is. So a program that writes to its
// contacts writes to offline ones too, from MSNP13:
//
//	cv, err := cl.Conversation(ctx, to)
//	if err != nil {
//		return cl.LeaveIfOffline(ctx, to, text, err)
//	}
//	return cv.SendText(ctx, text, nil)
func (cl *Client) LeaveIfOffline(ctx context.Context, to, text string, err error) error {
	if !errors.Is(err, msnp.ErrNotOnline) {
		return err
	}
	if lerr := cl.SendOffline(ctx, to, text); !errors.Is(lerr, ErrNotSupported) {
		return lerr
	}
	return err
}

// SendOffline leaves a text message for someone who is offline (MSNP13+:
// an OIM, kept by the service until their next sign-in). The service
// refuses it for someone who blocks you or has no account
// (ErrNotDelivered).
func (cl *Client) SendOffline(ctx context.Context, to, text string) error {
	ctx, cancel := cl.withTimeout(ctx)
	defer cancel()
	s, err := cl.session(ctx)
	if err != nil {
		return err
	}
	if !s.d.OIM {
		return fmt.Errorf("client: offline messages need MSNP13, signed in with %s: %w", s.d.Version, ErrNotSupported)
	}
	ticket := cl.Tokens()[TokenMessengerSecure]
	if ticket == "" {
		return fmt.Errorf("client: no %s token to send offline messages: %w", TokenMessengerSecure, ErrProtocol)
	}
	self := cl.Self()
	lockkey := ""
	for try := 0; try < 2; try++ {
		out, status, err := cl.store2(ctx, self, to, ticket, lockkey, text)
		if err != nil {
			return err
		}
		if status == http.StatusOK {
			return nil
		}
		m := lockKeyRE.FindSubmatch(out)
		if m == nil || lockkey != "" {
			return fmt.Errorf("client: offline message to %s refused (HTTP %d): %w", to, status, ErrNotDelivered)
		}
		k, _ := auth.LookupProductKey(lockApp)
		lockkey = auth.ChallengeAnswerMSNP11(string(m[1]), k.ID, k.Key)
	}
	return fmt.Errorf("client: offline message to %s refused: %w", to, ErrNotDelivered)
}

// store2 posts one Store2 request, the text as WLM 8.5 writes it.
func (cl *Client) store2(ctx context.Context, self Contact, to, ticket, lockkey, text string) ([]byte, int, error) {
	b64 := base64.StdEncoding.EncodeToString([]byte(text))
	var lines []string
	for len(b64) > 76 {
		lines, b64 = append(lines, b64[:76]), b64[76:]
	}
	lines = append(lines, b64)
	const ns = `xmlns="http://messenger.msn.com/ws/2004/09/oim/"`
	env := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>` +
		`<From memberName="` + xmlEscape(self.Email) + `" friendlyName="=?utf-8?B?` + base64.StdEncoding.EncodeToString([]byte(self.FriendlyName)) + `?=" xml:lang="en-US" proxy="MSNMSGR" ` + ns + ` msnpVer="MSNP15" buildVer="8.5.1302"/>` +
		`<To memberName="` + xmlEscape(to) + `" ` + ns + `/>` +
		`<Ticket passport="` + xmlEscape(ticket) + `" appid="` + xmlEscape(lockApp) + `" lockkey="` + lockkey + `" ` + ns + `/>` +
		`<Sequence xmlns="http://schemas.xmlsoap.org/ws/2003/03/rm"><Identifier xmlns="http://schemas.xmlsoap.org/ws/2002/07/utility">http://messenger.msn.com</Identifier><MessageNumber>1</MessageNumber></Sequence>` +
		`</soap:Header><soap:Body><MessageType ` + ns + `>text</MessageType><Content ` + ns + `>MIME-Version: 1.0` + "\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\nX-OIM-Message-Type: OfflineMessage\r\n" +
		"X-OIM-Run-Id: " + strings.ToUpper(newGUID()) + "\r\nX-OIM-Sequence-Num: 1\r\n\r\n" +
		strings.Join(lines, "\r\n") + `</Content></soap:Body></soap:Envelope>`
	u := cl.cfg.Passport.addressBookURL() + "/OimWS/oim.asmx"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(env))
	if err != nil {
		return nil, 0, fmt.Errorf("client: offline messages URL %q: %w", u, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", "http://messenger.live.com/ws/2006/09/oim/Store2")
	resp, err := cl.passportClient().Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("client: offline message: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("client: offline message: %w", err)
	}
	return out, resp.StatusCode, nil
}
