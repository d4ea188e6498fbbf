//go:build goolm

package matrix

import (
	"strings"

	"github.com/rs/xid"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/nudge-im/nudge/bridges/msnbridge"
)

// Identifiers. An MSN account is its e-mail address in lower case: that is
// the login ID of a Matrix user's MSN account and the user ID of an MSN
// contact's ghost. A one-to-one chat is keyed by the contact, for each
// login; a conversation with more people by who is in it
// (msnbridge.ConversationKey), so that the same people meet in the same
// room however often their conversation ends and starts again. Message
// IDs are made up (MSN messages have none): xids, unique across restarts
// and machines, so the bridge's de-duplication never mistakes a new
// message for an old one.

const groupPrefix = "group:"

func userID(email string) networkid.UserID { return networkid.UserID(strings.ToLower(email)) }

func loginID(email string) networkid.UserLoginID {
	return networkid.UserLoginID(strings.ToLower(email))
}

func dmPortalKey(login networkid.UserLoginID, contact string) networkid.PortalKey {
	return networkid.PortalKey{ID: networkid.PortalID(strings.ToLower(contact)), Receiver: login}
}

// groupPortalKey is the portal of a login's conversation with members.
func groupPortalKey(login networkid.UserLoginID, members []string) networkid.PortalKey {
	return networkid.PortalKey{ID: networkid.PortalID(groupPrefix + msnbridge.ConversationKey(members)), Receiver: login}
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
	// Members are the contacts who have been in the conversation, to
	// invite again when it has to be reopened.
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
