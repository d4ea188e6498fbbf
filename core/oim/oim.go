// Package oim is the offline message (OIM) web service of Windows Live
// Messenger: Store2 at /OimWS/oim.asmx, where a client leaves a message for
// someone who is offline, and GetMetadata/GetMessage/DeleteMessages at
// /rsi/rsi.asmx, where the recipient reads them after signing in. It also
// writes the Mail-Data payloads the Notification server sends to say
// messages are waiting.
//
// Messages are left through core/mailbox: kept in the store, bounded per
// recipient and expiring, by the one rule for who may leave one for whom
// (the recipient's block list and privacy mode), and told at once to a
// recipient who is signed in after all.
package oim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/mailbox"
	"github.com/nudge-im/nudge/core/soap"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp/auth"
)

// Ticket domains: sending uses the messengersecure.live.com token, reading
// the messenger.msn.com one (reference/msnp13-18.md §5).
const (
	SendDomain = "messengersecure.live.com"
	ReadDomain = "messenger.msn.com"
)

// Namespaces.
const (
	nsOIM    = "http://messenger.msn.com/ws/2004/09/oim/"
	nsRSI    = "http://www.hotmail.msn.com/ws/2004/09/oim/rsi"
	nsRM     = "http://schemas.xmlsoap.org/ws/2003/03/rm"
	nsWSU    = "http://schemas.xmlsoap.org/ws/2002/07/utility"
	lockApp  = "PROD0119GSJUC$18" // the product id clients answer the lock key challenge with
	maxBody  = 64 << 10
	maxMails = 25 // more and Mail-Data says "too-large": the client asks GetMetadata
)

// Config is what Handler needs. Store and Grants are required.
type Config struct {
	Store  store.Store
	Grants soap.Tickets
	// Mailbox leaves the messages (nil: one over Store that tells nobody
	// signed in).
	Mailbox *mailbox.Mailbox
	Log     zerolog.Logger
}

// Paths are the request paths Handler answers.
func Paths() []string { return []string{"/OimWS/oim.asmx", "/rsi/rsi.asmx"} }

// Handler serves Store2 and the rsi methods.
func Handler(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.Grants == nil {
		panic("oim: Config.Store and Config.Grants are required")
	}
	if cfg.Mailbox == nil {
		cfg.Mailbox = mailbox.New(cfg.Store, nil, cfg.Log)
	}
	h := &handler{cfg: cfg}
	_, _ = rand.Read(h.key[:])
	return h
}

type handler struct {
	cfg Config
	key [32]byte // makes lock key challenges
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(soap.CleanPath(r.URL.Path), "/rsi.asmx") {
		h.rsi(w, r)
		return
	}
	h.store(w, r)
}

func fault(code, msg, detail string) []byte {
	return soap.Fault(code, nsOIM, msg, "", detail)
}

// --- Store2 ---

// store keeps a message for someone offline. The first try of a session
// carries no lock key and is answered with a challenge; the client answers
// it (the MSNP11 challenge algorithm with the PROD0119 key) and sends
// again. The challenge is derived from the ticket, so it needs no memory.
func (h *handler) store(w http.ResponseWriter, r *http.Request) {
	env := soap.Read(w, r, maxBody, func(code, msg string) []byte { return fault("q0:InvalidContent", msg, "") })
	if env == nil {
		return
	}
	hd := env.Header()
	ticket := hd.Child("Ticket")
	from, ok := h.cfg.Grants.Check(ticket.Attr("passport"), SendDomain)
	if !ok || !strings.EqualFold(from, hd.Child("From").Attr("memberName")) {
		soap.Write(w, http.StatusInternalServerError, fault("q0:AuthenticationFailed",
			"Exception of type 'System.Web.Services.Protocols.SoapException' was thrown.", ""))
		return
	}
	challenge := h.challenge(ticket.Attr("passport"))
	if !validLockKey(challenge, ticket.Attr("appid"), ticket.Attr("lockkey")) {
		soap.Write(w, http.StatusInternalServerError, fault("q0:AuthenticationFailed",
			"Exception of type 'System.Web.Services.Protocols.SoapException' was thrown.",
			`<TweenerChallenge xmlns="`+nsOIM+`">ct=1,rver=5.5.4177.0,wp=FS_40SEC_0_COMPACT,lc=1033,id=507,ru=http:%2F%2Fmessenger.msn.com,tw=0,kpp=1,kv=4,ver=2.1.6000.1,rn=1lgjBfIL,tpf=b0735e3a873dfb5e75054465196398e0</TweenerChallenge>`+
				`<LockKeyChallenge xmlns="`+nsOIM+`">`+challenge+`</LockKeyChallenge>`))
		return
	}
	to := strings.ToLower(strings.TrimSpace(hd.Child("To").Attr("memberName")))
	seq := hd.Value("Sequence", "MessageNumber")
	text, err := decodeContent(env.Child("Body").Value("Content"))
	if err != nil {
		soap.Write(w, http.StatusInternalServerError, fault("q0:InvalidContent", err.Error(), ""))
		return
	}
	_, err = h.cfg.Mailbox.Leave(r.Context(), store.OfflineMessage{
		To: to, From: from, FromName: decodeWord(hd.Child("From").Attr("friendlyName"), from),
		ContentType: "text/plain; charset=UTF-8", Body: []byte(text),
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		soap.Write(w, http.StatusInternalServerError, fault("q0:SystemUnavailable",
			"There is no such user.", ""))
		return
	case errors.Is(err, store.ErrMailboxFull):
		soap.Write(w, http.StatusInternalServerError, fault("q0:SenderThrottleLimitExceeded",
			"Too many offline messages are waiting for this person.", ""))
		return
	case errors.Is(err, store.ErrInvalidMessage):
		soap.Write(w, http.StatusInternalServerError, fault("q0:InvalidContent", "The message is too long or not valid.", ""))
		return
	case err != nil:
		h.cfg.Log.Error().Err(err).Str("from", from).Msg("offline message not stored")
		soap.Write(w, http.StatusInternalServerError, soap.Fault("soap:Server", "", "Try again later.", "", ""))
		return
	}
	if _, err := strconv.Atoi(seq); err != nil {
		seq = "1"
	}
	var b soap.Builder
	b.Start()
	b.Raw(`<soap:Header><SequenceAcknowledgment xmlns="`, nsRM, `"><Identifier xmlns="`, nsWSU, `">http://messenger.msn.com</Identifier>`,
		`<AcknowledgmentRange Upper="`, seq, `" Lower="`, seq, `"/></SequenceAcknowledgment></soap:Header>`,
		`<soap:Body><StoreResponse xmlns="`, nsOIM, `"><PointsConsumed>0</PointsConsumed></StoreResponse></soap:Body>`)
	b.End()
	soap.Write(w, http.StatusOK, b.Bytes())
}

// challenge is a number derived from the ticket with a key of this
// process: the same for every try with one ticket, unguessable without it.
func (h *handler) challenge(ticket string) string {
	mac := hmac.New(sha256.New, h.key[:])
	mac.Write([]byte(strings.TrimSpace(ticket)))
	n := binary.BigEndian.Uint64(mac.Sum(nil)) % 10_000_000_000
	return strconv.FormatUint(1_000_000_000+n%9_000_000_000, 10)
}

// validLockKey checks the client's answer to the challenge: the MSNP11
// challenge answer with the product pair its appid names (any WLM pair),
// or with PROD0119's.
func validLockKey(challenge, appid, lockkey string) bool {
	if len(lockkey) != 32 {
		return false
	}
	lockkey = strings.ToLower(lockkey)
	ids := []string{lockApp}
	if appid != "" && appid != lockApp {
		ids = append(ids, appid)
	}
	for _, id := range ids {
		k, ok := auth.LookupProductKey(id)
		if !ok || !k.ValidFor(15) {
			continue
		}
		if hmac.Equal([]byte(auth.ChallengeAnswerMSNP11(challenge, k.ID, k.Key)), []byte(lockkey)) {
			return true
		}
	}
	return false
}

// LockKey is the answer to a Store2 lock key challenge (for clients).
func LockKey(challenge string) string {
	k, _ := auth.LookupProductKey(lockApp)
	return auth.ChallengeAnswerMSNP11(challenge, k.ID, k.Key)
}

// decodeContent reads the MIME message of a Store2 body: headers, a blank
// line, base64 text (Pidgin and WLM), or plain text after a plain header.
func decodeContent(content string) (string, error) {
	content = strings.ReplaceAll(content, "\r\n", "\n")
	head, body, ok := strings.Cut(content, "\n\n")
	if !ok {
		return "", errors.New("the message has no headers")
	}
	b64 := false
	for _, line := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(line, ":")
		if strings.EqualFold(strings.TrimSpace(k), "Content-Transfer-Encoding") {
			b64 = strings.EqualFold(strings.TrimSpace(v), "base64")
		}
	}
	text := body
	if b64 {
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
		if err != nil {
			return "", errors.New("the message is not valid base64")
		}
		text = string(raw)
	}
	if text == "" || !utf8.ValidString(text) || len(text) > store.MaxOfflineBody {
		return "", errors.New("the message is empty, too long or not UTF-8")
	}
	return text, nil
}

// decodeWord reads an RFC 2047 friendly name (=?utf-8?B?…?=).
func decodeWord(s, def string) string {
	if s == "" {
		return def
	}
	d := new(mime.WordDecoder)
	if out, err := d.DecodeHeader(s); err == nil && out != "" && utf8.ValidString(out) {
		return out
	}
	return s
}

// encodeWord always encodes (mime.BEncoding leaves plain ASCII as it is,
// and a name like "A <b>" would then break the From header).
func encodeWord(s string) string {
	return "=?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
}

// --- rsi: reading ---

func (h *handler) rsi(w http.ResponseWriter, r *http.Request) {
	env := soap.Read(w, r, maxBody, func(code, msg string) []byte { return soap.Fault(code, "", msg, "", "") })
	if env == nil {
		return
	}
	pc := env.Header().Child("PassportCookie")
	token := "t=" + pc.Value("t") + "&p=" + pc.Value("p")
	owner, ok := h.cfg.Grants.Check(token, ReadDomain)
	if !ok {
		soap.Write(w, http.StatusInternalServerError, soap.Fault("q0:AuthenticationFailed", nsRSI,
			"The ticket is missing or expired; sign in again.", "", ""))
		return
	}
	ctx := r.Context()
	act := env.Action()
	msgs, err := h.cfg.Store.OfflineMessages(ctx, owner)
	if err != nil {
		h.cfg.Log.Error().Err(err).Str("email", owner).Msg("offline messages not read")
		soap.Write(w, http.StatusInternalServerError, soap.Fault("soap:Server", "", "Try again later.", "", ""))
		return
	}
	var b soap.Builder
	b.Start()
	b.Raw("<soap:Body>")
	switch strings.ToLower(act.Name) {
	case "getmetadata":
		b.Raw(`<GetMetadataResponse xmlns="`, nsRSI, `">`, MailData(msgs, true), `</GetMetadataResponse>`)
	case "getmessage":
		id := strings.ToLower(strings.Trim(act.Value("messageId"), "{} "))
		var found *store.OfflineMessage
		for i := range msgs {
			if msgs[i].ID == id {
				found = &msgs[i]
			}
		}
		if found == nil {
			soap.Write(w, http.StatusInternalServerError, soap.Fault("q0:MessageDoesNotExist", nsRSI, "There is no such message.", "", ""))
			return
		}
		b.Raw(`<GetMessageResponse xmlns="`, nsRSI, `"><GetMessageResult>`)
		b.Lines(Format(*found))
		b.Raw(`</GetMessageResult></GetMessageResponse>`)
	case "deletemessages":
		var ids []string
		for _, n := range act.Child("messageIds").All("messageId") {
			ids = append(ids, strings.ToLower(strings.Trim(n.Text, "{} ")))
		}
		n, err := h.cfg.Store.DeleteOfflineMessages(ctx, owner, ids)
		if err != nil || (n == 0 && len(ids) > 0) {
			soap.Write(w, http.StatusInternalServerError, soap.Fault("q0:MessageDoesNotExist", nsRSI, "There is no such message.", "", ""))
			return
		}
		b.Raw(`<DeleteMessagesResponse xmlns="`, nsRSI, `"/>`)
	default:
		soap.Write(w, http.StatusInternalServerError, soap.Fault("soap:Client", "", "This service does not do "+act.Name+".", "", ""))
		return
	}
	b.Raw("</soap:Body>")
	b.End()
	soap.Write(w, http.StatusOK, b.Bytes())
}

// MailData is the Mail-Data of the notifications that offline messages
// wait (text/x-msmsgsinitialmdatanotification at sign-in, the rsi
// GetMetadata answer): one M per message, or "too-large" past 25 unless
// all is set, when the client must ask GetMetadata.
func MailData(msgs []store.OfflineMessage, all bool) string {
	if len(msgs) > maxMails && !all {
		return "too-large"
	}
	var b strings.Builder
	b.WriteString("<MD><E><I>0</I><IU>0</IU><O>0</O><OU>0</OU></E><Q><QTM>409600</QTM><QNM>204800</QNM></Q>")
	for _, m := range msgs {
		writeM(&b, directory.Mail{ID: m.ID, From: m.From, FromName: m.FromName, Sent: m.Sent, Size: len(m.Body)},
			"00000000-0000-0000-0000-000000000009", true)
	}
	b.WriteString("</MD>")
	return b.String()
}

// NewMailData is the Mail-Data of text/x-msmsgsoimnotification: a message
// arrived while the recipient is signed in.
func NewMailData(m directory.Mail) string {
	var b strings.Builder
	b.WriteString("<MD>")
	writeM(&b, m, ".!!OIM", false)
	b.WriteString("<SU> </SU></MD>")
	return b.String()
}

func writeM(b *strings.Builder, m directory.Mail, folder string, sent bool) {
	var e soap.Builder
	e.Esc(m.From)
	b.WriteString("<M><T>11</T><S>6</S>")
	if sent {
		b.WriteString("<RT>" + m.Sent.UTC().Format("2006-01-02T15:04:05.000Z") + "</RT>")
	}
	b.WriteString("<RS>0</RS><SZ>" + strconv.Itoa(m.Size+500) + "</SZ><E>" + e.String() + "</E><I>" + m.ID + "</I><F>" + folder + "</F><N>")
	var n soap.Builder
	n.Esc(encodeWord(m.FromName))
	b.WriteString(n.String() + "</N></M>")
}

// Format is a message as rsi GetMessage gives it: an e-mail whose From
// names the sender, whose Date is when it was sent, with the text in
// base64 (Pidgin reads the sender from From's <…> and the time from Date).
func Format(m store.OfflineMessage) string {
	body := base64.StdEncoding.EncodeToString(m.Body)
	var lines []string
	for len(body) > 76 {
		lines, body = append(lines, body[:76]), body[76:]
	}
	lines = append(lines, body)
	return strings.Join([]string{
		"X-Message-Info: cwRBnLifKNE8dVZlNj6AiX8142B67OTjG9BFMLMyzuui1H4Xx7m3NQ==",
		"Received: from Nudge by nudge with Nudge offline messages",
		"From: " + encodeWord(m.FromName) + " <" + m.From + ">",
		"To: " + m.To,
		"Subject: ",
		"X-OIM-originatingSource: 127.0.0.1",
		"X-OIMProxy: MSNMSGR",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=UTF-8",
		"Content-Transfer-Encoding: base64",
		"X-OIM-Message-Type: OfflineMessage",
		"X-OIM-Run-Id: {" + strings.ToUpper(m.ID) + "}",
		"X-OIM-Sequence-Num: 1",
		"Message-ID: <" + m.ID + "@nudge>",
		"X-OriginalArrivalTime: " + m.Sent.UTC().Format("02 Jan 2006 15:04:05.0000 (MST)") + " FILETIME=[" + filetime(m.Sent) + "]",
		"Date: " + m.Sent.UTC().Format(time.RFC1123Z),
		"Return-Path: ndr@oim.messenger.msn.com",
		"",
		strings.Join(lines, "\r\n"),
	}, "\r\n")
}

func filetime(t time.Time) string {
	ft := uint64(t.UnixNano()/100) + 116444736000000000
	return fmt.Sprintf("%08X:%08X", uint32(ft), uint32(ft>>32))
}
