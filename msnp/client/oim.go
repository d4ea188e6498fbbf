package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"time"

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
