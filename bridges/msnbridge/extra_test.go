package msnbridge

import (
	"strings"
	"testing"

	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

func raw(t *testing.T, mime string) *client.RawMessage {
	t.Helper()
	m, err := message.Parse([]byte(mime))
	if err != nil {
		t.Fatal(err)
	}
	return &client.RawMessage{From: "bob@example.com", FriendlyName: "Bob", Payload: []byte(mime), Message: m}
}

func TestExtras(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ev       client.Event
		kind     Kind
		file     string
		size     int64
		describe string
	}{
		{"file offer", &client.FileOffer{From: "bob@example.com", Transfer: &client.Transfer{Name: "cat.png", Size: 12345}}, File, "cat.png", 12345,
			"Bob wants to send you a file, cat.png (12 KB), which the bridge cannot carry yet: ask for a link instead."},
		{"wink", &client.Wink{From: "bob@example.com"}, Wink, "", -1, "Bob sent a wink, which the bridge cannot show."},
		{"voice clip", &client.VoiceClip{From: "bob@example.com"}, VoiceClip, "", -1, "Bob sent a voice clip, which the bridge cannot play."},
		{"MSNFTP", raw(t, "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\nApplication-Name: File Transfer\r\nInvitation-Command: INVITE\r\nInvitation-Cookie: 1\r\nApplication-File: notes.txt\r\nApplication-FileSize: 200\r\n\r\n"),
			File, "notes.txt", 200, "Bob wants to send you a file, notes.txt (200 bytes), which the bridge cannot carry yet: ask for a link instead."},
		{"invitation", raw(t, "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\nApplication-Name: NetMeeting\r\nInvitation-Command: INVITE\r\n\r\n"),
			Invitation, "NetMeeting", -1, "Bob invited you to NetMeeting, which the bridge cannot answer."},
		{"bare wink", raw(t, string(message.NewDatacast(message.DatacastWink).Bytes())), Wink, "", -1, ""},
		{"action", raw(t, "MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 4\r\nData: waves\r\n\r\n"), Action, "waves", -1, "Bob waves"},
	} {
		x := extraOf(tc.ev)
		if x == nil || x.Kind != tc.kind || x.Name != tc.file || x.Size != tc.size {
			t.Errorf("%s: %+v", tc.name, x)
			continue
		}
		if tc.describe != "" && x.Describe("Bob") != tc.describe {
			t.Errorf("%s: %q", tc.name, x.Describe("Bob"))
		}
	}
	for _, plumbing := range []client.Event{
		raw(t, "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite\r\n\r\nInvitation-Command: ACCEPT\r\n\r\n"),
		raw(t, "MIME-Version: 1.0\r\nContent-Type: text/x-clientcaps\r\n\r\nClient-Name: x\r\n"),
		&client.Message{Text: "hi"},
		&client.Emoticons{},
	} {
		if x := extraOf(plumbing); x != nil {
			t.Errorf("%T taken for %+v", plumbing, x)
		}
	}
}

func FuzzParseExtra(f *testing.F) {
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
			if d := x.Describe("Bob"); !strings.HasPrefix(d, "Bob") {
				t.Fatalf("%q", d)
			}
		}
	})
}
