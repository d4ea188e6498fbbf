package msnbridge

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// fileContextB64 makes a version-2 file transfer context (574 bytes).
func fileContextB64(name string, size uint64) string {
	b := make([]byte, 574)
	le := binary.LittleEndian
	le.PutUint32(b[0:], 574)
	le.PutUint32(b[4:], 2)
	le.PutUint64(b[8:], size)
	le.PutUint32(b[16:], 1)
	for i, u := range utf16.Encode([]rune(name)) {
		le.PutUint16(b[20+2*i:], u)
	}
	le.PutUint32(b[570:], 0xFFFFFFFF)
	return base64.StdEncoding.EncodeToString(b)
}

// p2pInvite is the P2P message body of an MSNSLP file transfer INVITE.
func p2pInvite(context string) []byte {
	body := "EUF-GUID: {5D3E02AB-6190-11D3-BBBB-00C04F795683}\r\nSessionID: 7001\r\nAppID: 2\r\nContext: " + context + "\r\n\r\n\x00"
	slp := "INVITE MSNMSGR:nelly@example.com MSNSLP/1.0\r\nTo: <msnmsgr:nelly@example.com>\r\nFrom: <msnmsgr:bob@example.com>\r\n" +
		"Content-Type: application/x-msnmsgr-sessionreqbody\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	out := make([]byte, message.P2PHeaderLen, message.P2PHeaderLen+len(slp)+4)
	binary.LittleEndian.PutUint32(out[24:], uint32(len(slp)))
	out = append(out, slp...)
	return append(out, 0, 0, 0, 0)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func raw(t *testing.T, mime string) *client.RawMessage {
	t.Helper()
	m, err := message.Parse([]byte(mime))
	if err != nil {
		t.Fatal(err)
	}
	return &client.RawMessage{From: "bob@example.com", FriendlyName: "Bob", Payload: []byte(mime), Message: m}
}

func TestParseExtra(t *testing.T) {
	p2p := "MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: nelly@example.com\r\n\r\n"
	for _, tc := range []struct {
		name, mime string
		kind       Kind
		file       string
		size       int64
		describe   string
	}{
		{"P2P file offer", p2p + string(p2pInvite(fileContextB64("cat.png", 12345))), File, "cat.png", 12345,
			"Bob wants to send you a file, cat.png (12 KB), which the bridge cannot carry yet: ask for a link instead."},
		{"P2P file offer, context cut short", p2p + string(p2pInvite(fileContextB64("holiday.jpg", 3<<20)[:120])), File, "holiday.jpg", 3 << 20, ""},
		{"MSNFTP", "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\nApplication-Name: File Transfer\r\nInvitation-Command: INVITE\r\nInvitation-Cookie: 1\r\nApplication-File: notes.txt\r\nApplication-FileSize: 200\r\n\r\n",
			File, "notes.txt", 200, "Bob wants to send you a file, notes.txt (200 bytes), which the bridge cannot carry yet: ask for a link instead."},
		{"invitation", "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\nApplication-Name: NetMeeting\r\nInvitation-Command: INVITE\r\n\r\n",
			Invitation, "NetMeeting", -1, "Bob invited you to NetMeeting, which the bridge cannot answer."},
		{"wink", string(message.NewDatacast(message.DatacastWink).Bytes()), Wink, "", -1, "Bob sent a wink, which the bridge cannot show."},
		{"voice clip", string(message.NewDatacast(message.DatacastVoiceClip).Bytes()), VoiceClip, "", -1, "Bob sent a voice clip, which the bridge cannot play."},
		{"action", "MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 4\r\nData: waves\r\n\r\n", Action, "waves", -1, "Bob waves"},
	} {
		x := ParseExtra(raw(t, tc.mime))
		if x == nil || x.Kind != tc.kind || x.Name != tc.file || x.Size != tc.size {
			t.Errorf("%s: %+v", tc.name, x)
			continue
		}
		if tc.describe != "" && x.Describe("Bob") != tc.describe {
			t.Errorf("%s: %q", tc.name, x.Describe("Bob"))
		}
	}
	for _, plumbing := range []string{
		p2p + strings.Repeat("\x00", 52),
		"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite\r\n\r\nInvitation-Command: ACCEPT\r\n\r\n",
		"MIME-Version: 1.0\r\nContent-Type: text/x-clientcaps\r\n\r\nClient-Name: x\r\n",
	} {
		if x := ParseExtra(raw(t, plumbing)); x != nil {
			t.Errorf("plumbing %q taken for %+v", plumbing[:40], x)
		}
	}
}

func FuzzParseExtra(f *testing.F) {
	f.Add([]byte("MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n\r\n" + string(p2pInvite(fileContextB64("a.txt", 3)))))
	f.Add([]byte("MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite\r\n\r\nInvitation-Command: INVITE\r\nApplication-File: x\r\nApplication-FileSize: -5\r\n\r\n"))
	f.Add(message.NewDatacast(message.DatacastAction).Bytes())
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := message.Parse(payload)
		if err != nil {
			return
		}
		x := ParseExtra(&client.RawMessage{From: "b@x.y", Payload: payload, Message: m})
		if x != nil {
			if x.Size < -1 {
				t.Fatalf("size %d", x.Size)
			}
			_ = x.Describe("Bob")
		}
	})
}

func FuzzFileContext(f *testing.F) {
	f.Add(fileContextB64("cat.png", 12))
	f.Add("fgIAAAMA")
	f.Fuzz(func(t *testing.T, b64 string) {
		name, size := fileContext(b64)
		if size < -1 || strings.ContainsAny(name, "\x00\r\n") {
			t.Fatalf("%q %d", name, size)
		}
	})
}
