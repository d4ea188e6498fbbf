package discord

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/format"
	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/message"
)

// Discord's limits.
const (
	maxContent     = 2000 // characters in a message
	maxWebhookName = 80   // characters in a webhook name or username override
	maxThreadName  = 100
)

// truncate cuts s to at most n characters, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), unicode.IsSpace) + "…"
}

// webhookName makes an MSN friendly name acceptable to Discord as a
// webhook username: plain text (no Messenger Plus! codes), at most 80
// characters, and without the words Discord refuses ("clyde", "discord"),
// which get a look-alike letter. An empty result falls back to the e-mail
// address.
func webhookName(friendly, email string) string {
	n := format.PlainName(friendly)
	if strings.TrimSpace(n) == "" {
		n = email
	}
	n = defuse(n, "discord", 1, 'і') // U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
	n = defuse(n, "clyde", 2, 'у')   // U+0443 CYRILLIC SMALL LETTER U
	switch strings.ToLower(n) {
	case "everyone", "here":
		n += " (MSN)"
	}
	return truncate(n, maxWebhookName)
}

// defuse replaces, in every case-insensitive occurrence of word in s, the
// letter at index i with r.
func defuse(s, word string, i int, r rune) string {
	if !strings.Contains(strings.ToLower(s), word) {
		return s
	}
	rs := []rune(s)
	n := utf8.RuneCountInString(word)
	for k := 0; k+n <= len(rs); k++ {
		if strings.EqualFold(string(rs[k:k+n]), word) {
			if unicode.IsUpper(rs[k+i]) {
				rs[k+i] = unicode.ToUpper(r)
			} else {
				rs[k+i] = r
			}
		}
	}
	return string(rs)
}

// avatarURL fills the avatar template for a contact.
func avatarURL(template, email string) string {
	if template == "" {
		return ""
	}
	e := strings.ToLower(strings.TrimSpace(email))
	m := md5.Sum([]byte(e))
	s := sha256.Sum256([]byte(e))
	return strings.NewReplacer("{email}", url.QueryEscape(e), "{md5}", hex.EncodeToString(m[:]), "{sha256}", hex.EncodeToString(s[:])).Replace(template)
}

// toDiscord converts MSN text to Discord messages of at most 2000
// characters, cutting long texts at line or word breaks.
func toDiscord(text string, f message.Format) []string {
	md := format.MSNToDiscord(text, f)
	if utf8.RuneCountInString(md) <= maxContent {
		if strings.TrimSpace(md) == "" {
			return nil
		}
		return []string{md}
	}
	r := []rune(text)
	cut := len(r) / 2
	// Prefer a line break, then a space, near the middle.
	for _, sep := range []rune{'\n', ' '} {
		for d := 0; d < len(r)/4; d++ {
			if cut+d < len(r) && r[cut+d] == sep {
				cut += d + 1
				goto split
			}
			if cut-d > 0 && r[cut-d] == sep {
				cut = cut - d + 1
				goto split
			}
		}
	}
split:
	return append(toDiscord(string(r[:cut]), f), toDiscord(string(r[cut:]), f)...)
}

// restCode returns the Discord JSON error code of a REST error, or 0.
func restCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// permissionHint explains a Discord refusal to an operator.
func permissionHint(err error) string {
	if restCode(err) == discordgo.ErrCodeMissingPermissions || restCode(err) == discordgo.ErrCodeMissingAccess {
		return "the bot lacks a permission here: it needs View Channels, Send Messages, Send Messages in Threads, " +
			"Create Public Threads, Manage Threads, Manage Channels, Manage Webhooks and Read Message History (see the README's invite link)"
	}
	return err.Error()
}

// statusWord shows a presence status with a dot of its colour.
func statusWord(st client.Status) string {
	switch st {
	case client.Online:
		return "🟢 online"
	case client.Busy, client.OnThePhone:
		return "🔴 " + st.String()
	case client.Idle, client.Away, client.BeRightBack, client.OutToLunch:
		return "🟡 " + st.String()
	default:
		return "⚫ offline"
	}
}

// offlineContents is an offline message as Discord messages: its text and
// a line saying when it was sent, since a webhook cannot backdate a
// message (<t:…:f> shows the time in each reader's own time zone).
func offlineContents(m *client.OfflineMessage) []string {
	contents := toDiscord(m.Text, message.Format{})
	note := fmt.Sprintf("-# offline message, sent at <t:%d:f>", m.Sent.Unix())
	if n := len(contents); n > 0 && utf8.RuneCountInString(contents[n-1])+1+len(note) <= maxContent {
		contents[n-1] += "\n" + note
	} else {
		contents = append(contents, note)
	}
	return contents
}
