package host

import (
	"strings"
	"testing"
)

func TestNoticeText(t *testing.T) {
	one := []*unreadMessage{{from: "Alice", text: "hello\nthere"}}
	group := []*unreadMessage{{from: "Alice", text: "a", group: true}, {from: "Bob", text: strings.Repeat("b", 100), group: true}}
	for _, tc := range []struct {
		reason unreadReason
		msgs   []*unreadMessage
		more   int
		want   string
	}{
		{unreadBusy, one, 0, `⚠ Echo could not keep up and did not read your message "hello there". Please send it again in a moment.`},
		{unreadCrash, one, 0, `⚠ Echo stopped while reading your message "hello there", and did not answer it; it is starting again.`},
		{unreadBusy, group[:1], 0, `⚠ Echo could not keep up and did not read Alice's message "a". Please send it again in a moment.`},
		{unreadBusy, group, 3, `⚠ Echo could not keep up and did not read 5 messages: Alice: "a", Bob: "` + strings.Repeat("b", 59) +
			`…" and 3 more. Please send them again in a moment.`},
	} {
		if got := noticeText("Echo", tc.reason, tc.msgs, tc.more); got != tc.want {
			t.Errorf("notice\n got %s\nwant %s", got, tc.want)
		}
	}
}
