//go:build goolm

package matrix

import (
	"strings"

	"github.com/rs/xid"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"
)

// Identifiers. An MSN account is its e-mail address in lower case: that is
// the login ID of a Matrix user's MSN account and the user ID of an MSN
// contact's ghost. A one-to-one chat is keyed by the contact, for each
// login; a conversation with more people gets an ID of its own, made when
// it starts, because a switchboard session has no name that outlives it.
// Message IDs are made up too (MSN messages have none): xids, unique across
// restarts and machines, so the bridge's de-duplication never mistakes a
// new message for an old one.

const groupPrefix = "group:"

func userID(email string) networkid.UserID { return networkid.UserID(strings.ToLower(email)) }

func loginID(email string) networkid.UserLoginID {
	return networkid.UserLoginID(strings.ToLower(email))
}

func dmPortalKey(login networkid.UserLoginID, contact string) networkid.PortalKey {
	return networkid.PortalKey{ID: networkid.PortalID(strings.ToLower(contact)), Receiver: login}
}

func newGroupPortalKey(login networkid.UserLoginID) networkid.PortalKey {
	return networkid.PortalKey{ID: networkid.PortalID(groupPrefix + xid.New().String()), Receiver: login}
}

func isGroup(id networkid.PortalID) bool { return strings.HasPrefix(string(id), groupPrefix) }

func newMessageID() networkid.MessageID { return networkid.MessageID(xid.New().String()) }

// UserLoginMetadata is what the bridge keeps about an MSN login.
type UserLoginMetadata struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// Server and the Passport URLs, when a password login chose another
	// server than the configured one.
	Server      string `json:"server,omitempty"`
	PassportURL string `json:"passport_url,omitempty"`
	NexusURL    string `json:"nexus_url,omitempty"`
	// Hosted is set for accounts the bridge made on the Nudge server.
	Hosted bool `json:"hosted,omitempty"`
	// Status is the MSN status the user chose with the status command;
	// empty means it follows their Matrix presence (hosted logins).
	Status string `json:"status,omitempty"`
}

// PortalMetadata is what the bridge keeps about a group chat.
type PortalMetadata struct {
	// Members are the contacts in the conversation the last time the
	// bridge saw it, to invite again when it has to be reopened.
	Members []string `json:"members,omitempty"`
}

// MessageMetadata keeps the start of a message's text, for the text
// fallbacks of reactions, edits and redactions that refer to it.
type MessageMetadata struct {
	Snippet string `json:"snippet,omitempty"`
}

func dbMetaTypes() database.MetaTypes {
	return database.MetaTypes{
		Portal:    func() any { return &PortalMetadata{} },
		Message:   func() any { return &MessageMetadata{} },
		UserLogin: func() any { return &UserLoginMetadata{} },
	}
}

// snippet returns the first line of text, cut to about 60 characters.
func snippet(text string) string {
	text = strings.TrimSpace(text)
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i] + " …"
	}
	r := []rune(text)
	if len(r) > 60 {
		text = string(r[:60]) + "…"
	}
	return text
}
