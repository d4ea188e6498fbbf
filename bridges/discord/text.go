package discord

import (
	"context"
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
	"github.com/nudge-im/nudge/msnp"
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

// msnError says in one line why something failed on the MSN side.
func msnError(err error, who string) string {
	if who == "" {
		who = "the contact"
	}
	switch {
	case errors.Is(err, msnp.ErrNotOnline):
		return who + " is offline or appears offline"
	case errors.Is(err, client.ErrNotDelivered):
		return "the MSN server did not deliver it"
	case errors.Is(err, msnp.ErrAuthFailed), errors.Is(err, msnp.ErrAuthFailed2):
		return "the MSN server refused the handle or password"
	case errors.Is(err, msnp.ErrNoSuchUser), errors.Is(err, msnp.ErrInvalidPrincipal), errors.Is(err, msnp.ErrInvalidParameter):
		return who + " is not an MSN account on this server"
	case errors.Is(err, msnp.ErrAlreadyThere):
		return who + " is already on that list"
	case errors.Is(err, msnp.ErrNotOnList), errors.Is(err, client.ErrUnknownContact):
		return who + " is not on your list"
	case errors.Is(err, msnp.ErrListFull):
		return "your contact list is full"
	case errors.Is(err, client.ErrNotSupported):
		return "the MSN server's protocol version does not have that"
	case errors.Is(err, client.ErrClosed), errors.Is(err, errSignedOut):
		return "you are not signed in to MSN (use /msn login)"
	case errors.Is(err, client.ErrVersionRefused):
		return "the MSN server speaks none of the protocol versions the bridge offers"
	case errors.Is(err, context.DeadlineExceeded):
		return "the MSN server did not answer in time"
	case errors.Is(err, client.ErrMessageTooLarge):
		return "the message is too long for MSN"
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return "cannot reach the MSN server: " + err.Error()
	}
	return err.Error()
}

// errSignedOut is the error of a request for a user who is signed out.
var errSignedOut = errors.New("discord: signed out of MSN")

// displayName is the name Discord shows for a message's author: the
// member's server nickname, their display name, or their username.
func displayName(u *discordgo.User, m *discordgo.Member) string {
	if m != nil && m.Nick != "" {
		return m.Nick
	}
	if u == nil {
		return "someone"
	}
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}

// localPart makes a Discord username into the local part of an e-mail
// address: letters, digits, dots, dashes and underscores, lower case.
func localPart(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0 && !strings.HasSuffix(b.String(), "."):
			b.WriteRune(r)
		}
	}
	s := strings.Trim(b.String(), ".")
	if len(s) > 48 {
		s = strings.Trim(s[:48], ".")
	}
	return s
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

// quote shows a short excerpt of a message.
func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return fmt.Sprintf("%q", truncate(s, 60))
}
