package oim_test

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/oim"
	"github.com/nudge-im/nudge/core/store"
)

// Store2 as Pidgin 2.6 writes it (oim.h MSN_OIM_SEND_TEMPLATE): the
// messengersecure.live.com ticket in Ticket@passport, a lock key once it
// has one, the text in base64 lines of 76.
func store2(from, name, to, ticket, lockkey, seq, text string) string {
	b64 := base64.StdEncoding.EncodeToString([]byte(text))
	var lines []string
	for len(b64) > 76 {
		lines, b64 = append(lines, b64[:76]), b64[76:]
	}
	lines = append(lines, b64)
	return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>` +
		`<From memberName="` + from + `" friendlyName="=?utf-8?B?` + base64.StdEncoding.EncodeToString([]byte(name)) + `?=" xml:lang="en-US" proxy="MSNMSGR" xmlns="http://messenger.msn.com/ws/2004/09/oim/" msnpVer="MSNP15" buildVer="8.5.1288"/>` +
		`<To memberName="` + to + `" xmlns="http://messenger.msn.com/ws/2004/09/oim/"/>` +
		`<Ticket passport="` + strings.ReplaceAll(ticket, "&", "&amp;") + `" appid="PROD0119GSJUC$18" lockkey="` + lockkey + `" xmlns="http://messenger.msn.com/ws/2004/09/oim/"/>` +
		`<Sequence xmlns="http://schemas.xmlsoap.org/ws/2003/03/rm"><Identifier xmlns="http://schemas.xmlsoap.org/ws/2002/07/utility">http://messenger.msn.com</Identifier><MessageNumber>` + seq + `</MessageNumber></Sequence>` +
		`</soap:Header><soap:Body><MessageType xmlns="http://messenger.msn.com/ws/2004/09/oim/">text</MessageType><Content xmlns="http://messenger.msn.com/ws/2004/09/oim/">MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64
X-OIM-Message-Type: OfflineMessage
X-OIM-Run-Id: {3A3BE82F-6F7A-4B2A-8B2E-D8D4F5F6C1A2}
X-OIM-Sequence-Num: ` + seq + `

` + strings.Join(lines, "\r\n") + `</Content></soap:Body></soap:Envelope>`
}

func post(t *testing.T, url, action, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", action)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

const storeAction = "http://messenger.live.com/ws/2006/09/oim/Store2"

var challengeRE = regexp.MustCompile(`<LockKeyChallenge xmlns="http://messenger.msn.com/ws/2004/09/oim/">(\d+)</LockKeyChallenge>`)

// send leaves a message the way Pidgin does: a try without a lock key, the
// challenge, the answer.
func send(t *testing.T, srv *coretest.Server, ticket, from, to, text string) (int, string) {
	t.Helper()
	status, out := post(t, srv.HTTPURL+"/OimWS/oim.asmx", storeAction, store2(from, "Alice ☺", to, ticket, "", "1", text))
	m := challengeRE.FindStringSubmatch(out)
	if status != http.StatusInternalServerError || m == nil ||
		!strings.Contains(out, `<faultcode xmlns:q0="http://messenger.msn.com/ws/2004/09/oim/">q0:AuthenticationFailed</faultcode>`) {
		t.Fatalf("first try: HTTP %d\n%s", status, out)
	}
	return post(t, srv.HTTPURL+"//OimWS/oim.asmx", storeAction, store2(from, "Alice ☺", to, ticket, oim.LockKey(m[1]), "1", text))
}

func rsi(t *testing.T, srv *coretest.Server, token, action, body string) (int, string) {
	t.Helper()
	tp, pp, _ := strings.Cut(strings.TrimPrefix(token, "t="), "&p=")
	return post(t, srv.HTTPURL+"/rsi/rsi.asmx", "http://www.hotmail.msn.com/ws/2004/09/oim/rsi/"+action,
		`<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><PassportCookie xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><t>`+
			strings.ReplaceAll(tp, "&", "&amp;")+`</t><p>`+pp+`</p></PassportCookie></soap:Header><soap:Body>`+body+`</soap:Body></soap:Envelope>`)
}

func TestStoreAndRead(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "pw-alice", "Alice")
	srv.AddUser(t, "bob@example.com", "pw-bob", "Bob")
	a := srv.Tokens(t, "alice@example.com", "pw-alice")
	text := "Hello Bob, are you there? " + strings.Repeat("é", 60)
	if status, out := send(t, srv, a["messengersecure.live.com"], "alice@example.com", "bob@example.com", text); status != http.StatusOK ||
		!strings.Contains(out, `<AcknowledgmentRange Upper="1" Lower="1"/>`) || !strings.Contains(out, "<StoreResponse") {
		t.Fatalf("store: HTTP %d\n%s", status, out)
	}

	// A wrong lock key gets the challenge again; a wrong ticket or a
	// From that is not the ticket's owner is refused.
	if status, out := post(t, srv.HTTPURL+"/OimWS/oim.asmx", storeAction, store2("alice@example.com", "A", "bob@example.com", a["messengersecure.live.com"], strings.Repeat("0", 32), "2", "x")); status != 500 || !challengeRE.MatchString(out) {
		t.Errorf("wrong lock key: %d %s", status, out)
	}
	for name, tk := range map[string]string{"sign-in ticket": a["messengerclear.live.com"], "none": ""} {
		if status, out := post(t, srv.HTTPURL+"/OimWS/oim.asmx", storeAction, store2("alice@example.com", "A", "bob@example.com", tk, "", "1", "x")); status != 500 || challengeRE.MatchString(out) || !strings.Contains(out, "AuthenticationFailed") {
			t.Errorf("%s: %d %s", name, status, out)
		}
	}
	if status, out := post(t, srv.HTTPURL+"/OimWS/oim.asmx", storeAction, store2("bob@example.com", "A", "alice@example.com", a["messengersecure.live.com"], "", "1", "x")); status != 500 || challengeRE.MatchString(out) {
		t.Errorf("From someone else: %d %s", status, out)
	}
	if status, out := send(t, srv, a["messengersecure.live.com"], "alice@example.com", "nobody@example.com", "x"); status != 500 || !strings.Contains(out, "q0:SystemUnavailable") {
		t.Errorf("to nobody: %d %s", status, out)
	}

	// Bob reads it with his messenger.msn.com token, after signing in with it.
	b := srv.Tokens(t, "bob@example.com", "pw-bob")
	if !srv.Tickets.Redeem(strings.TrimSuffix(strings.TrimPrefix(b["messenger.msn.com"], "t="), "&p="), "bob@example.com") {
		t.Fatal("bob's sign-in ticket refused")
	}
	status, out := rsi(t, srv, b["messenger.msn.com"], "GetMetadata", `<GetMetadata xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"/>`)
	id := regexp.MustCompile(`<I>([0-9a-f-]{36})</I>`).FindStringSubmatch(out)
	if status != 200 || id == nil || !strings.Contains(out, "<E>alice@example.com</E>") || !strings.Contains(out, "<GetMetadataResponse") {
		t.Fatalf("GetMetadata: %d\n%s", status, out)
	}
	status, out = rsi(t, srv, b["messenger.msn.com"], "GetMessage", `<GetMessage xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageId>`+id[1]+`</messageId><alsoMarkAsRead>false</alsoMarkAsRead></GetMessage>`)
	if status != 200 || !strings.Contains(out, "From: =?utf-8?B?") || !strings.Contains(out, "&lt;alice@example.com&gt;") || !strings.Contains(out, "Date: ") {
		t.Fatalf("GetMessage: %d\n%s", status, out)
	}
	var res struct {
		Raw string `xml:"Body>GetMessageResponse>GetMessageResult"`
	}
	if err := xml.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// As a parser reads it, the way Pidgin 2.5–2.10 (oim.c) then takes it
	// apart: lines end at "\n", the body after "\n\n". The service wrote
	// CRLF as it is, which a parser reads as "\n"; a "\r" escaped as a
	// character reference survived, so Pidgin found no body and crashed.
	raw := res.Raw
	head, body, ok := strings.Cut(raw, "\n\n")
	if !ok || strings.Contains(raw, "\r") || !strings.Contains(head, "\nContent-Transfer-Encoding: base64\n") {
		t.Fatalf("GetMessageResult as parsed: %q", raw)
	}
	got, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil || string(got) != text {
		t.Errorf("body %q (%v), want %q", got, err, text)
	}
	// Alice's ticket does not read Bob's mail.
	if status, _ := rsi(t, srv, a["messengersecure.live.com"], "GetMetadata", `<GetMetadata xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"/>`); status != 500 {
		t.Errorf("alice's send ticket read mail: %d", status)
	}
	status, out = rsi(t, srv, b["messenger.msn.com"], "DeleteMessages", `<DeleteMessages xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageIds><messageId>`+id[1]+`</messageId></messageIds></DeleteMessages>`)
	if status != 200 {
		t.Fatalf("DeleteMessages: %d\n%s", status, out)
	}
	if msgs, _ := srv.Store.OfflineMessages(context.Background(), "bob@example.com"); len(msgs) != 0 {
		t.Errorf("left after delete: %d", len(msgs))
	}
	if status, _ := rsi(t, srv, b["messenger.msn.com"], "DeleteMessages", `<DeleteMessages xmlns="http://www.hotmail.msn.com/ws/2004/09/oim/rsi"><messageIds><messageId>`+id[1]+`</messageId></messageIds></DeleteMessages>`); status != 500 {
		t.Errorf("second delete: %d", status)
	}
}

func TestWhoMayLeaveMessages(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) { c.Offline.MaxPerUser = 2 }))
	for _, u := range []string{"alice", "bob", "carol"} {
		srv.AddUser(t, u+"@example.com", "pw-"+u, u)
	}
	ctx := context.Background()
	if _, err := srv.Store.AddToList(ctx, "bob@example.com", "carol@example.com", store.Block, "", ""); err != nil {
		t.Fatal(err)
	}
	c := srv.Tokens(t, "carol@example.com", "pw-carol")
	// A blocked sender is answered as anyone, and nothing is kept: a block
	// looks like being offline.
	if status, out := send(t, srv, c["messengersecure.live.com"], "carol@example.com", "bob@example.com", "hi"); status != 200 {
		t.Errorf("blocked sender: %d %s", status, out)
	}
	if msgs, _ := srv.Store.OfflineMessages(ctx, "bob@example.com"); len(msgs) != 0 {
		t.Errorf("kept from a blocked sender: %+v", msgs)
	}
	if status, out := send(t, srv, c["messengersecure.live.com"], "carol@example.com", "nobody@example.com", "hi"); status != 500 || !strings.Contains(out, "q0:SystemUnavailable") {
		t.Errorf("no such recipient: %d %s", status, out)
	}
	a := srv.Tokens(t, "alice@example.com", "pw-alice")
	for i := range 2 {
		if status, out := send(t, srv, a["messengersecure.live.com"], "alice@example.com", "bob@example.com", "hi"); status != 200 {
			t.Fatalf("message %d: %d %s", i, status, out)
		}
	}
	if status, out := send(t, srv, a["messengersecure.live.com"], "alice@example.com", "bob@example.com", "hi"); status != 500 || !strings.Contains(out, "q0:SenderThrottleLimitExceeded") {
		t.Errorf("full mailbox: %d %s", status, out)
	}
	// Carol allows only her AL: Alice, not on it, may not leave one.
	if _, err := srv.Store.SetPrivacy(ctx, "carol@example.com", store.BlockByDefault); err != nil {
		t.Fatal(err)
	}
	if status, _ := send(t, srv, a["messengersecure.live.com"], "alice@example.com", "carol@example.com", "hi"); status != 200 {
		t.Errorf("BLP BL, not on AL: %d", status)
	}
	if msgs, _ := srv.Store.OfflineMessages(ctx, "carol@example.com"); len(msgs) != 0 {
		t.Errorf("kept from someone off the allow list: %+v", msgs)
	}
}

func TestMailData(t *testing.T) {
	m := store.OfflineMessage{ID: "6a5e7c6e-1111-4222-8333-444455556666", From: "a&b@example.com", FromName: "A <b>", Body: []byte("hi")}
	md := oim.MailData([]store.OfflineMessage{m}, false)
	for _, want := range []string{"<MD><E><I>0</I>", "<M><T>11</T><S>6</S><RT>", "<E>a&amp;b@example.com</E>", "<I>" + m.ID + "</I>", "<F>00000000-0000-0000-0000-000000000009</F>", "<N>=?utf-8?B?"} {
		if !strings.Contains(md, want) {
			t.Errorf("Mail-Data lacks %s: %s", want, md)
		}
	}
	many := make([]store.OfflineMessage, 26)
	if oim.MailData(many, false) != "too-large" {
		t.Error("26 messages not too-large")
	}
	if n := oim.NewMailData(directory.Mail{ID: m.ID, From: m.From, FromName: m.FromName, Sent: m.Sent, Size: len(m.Body)}); !strings.Contains(n, "<F>.!!OIM</F>") || strings.Contains(n, "<RT>") {
		t.Errorf("new mail data %s", n)
	}
}
