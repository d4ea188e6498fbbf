package msnbridge

import (
	"context"
	"errors"
	"strings"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// ErrSignedOut is the error of a request for a session that has ended:
// stopped, or gone until its user signs in again.
var ErrSignedOut = errors.New("msnbridge: not signed in to MSN")

// IsAuth reports whether err is MSN refusing the address or the password.
func IsAuth(err error) bool {
	return errors.Is(err, msnp.ErrAuthFailed) || errors.Is(err, msnp.ErrAuthFailed2)
}

// NeedsUser reports whether a sign-in or session error needs the user:
// signing in again would fail the same way (a refused password, an
// account that does not exist) or sign another session out (the account
// signed in elsewhere).
func NeedsUser(err error) bool {
	return IsAuth(err) || errors.Is(err, client.ErrSignedInElsewhere) ||
		errors.Is(err, msnp.ErrNoSuchUser) || errors.Is(err, msnp.ErrInvalidPrincipal)
}

// Explain says in one line why something failed on the MSN side. who
// names the contact the request was about ("the contact" when empty).
func Explain(err error, who string) string {
	if who == "" {
		who = "the contact"
	}
	var code msnp.ErrorCode
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotContact):
		return who + " is not one of your contacts (add them first)"
	case errors.Is(err, msnp.ErrNotOnline), errors.Is(err, ErrOffline):
		return who + " is offline or appears offline"
	case errors.Is(err, client.ErrNotDelivered):
		return "the MSN server did not deliver it"
	case IsAuth(err):
		return "the MSN server refused the address or the password"
	case errors.Is(err, client.ErrSignedInElsewhere):
		return "the account signed in somewhere else"
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
	case errors.Is(err, client.ErrClosed), errors.Is(err, ErrSignedOut):
		return "not signed in to MSN"
	case errors.Is(err, client.ErrVersionRefused):
		return "the MSN server speaks none of the protocol versions the bridge offers"
	case errors.Is(err, context.DeadlineExceeded):
		return "the MSN server did not answer in time"
	case errors.Is(err, client.ErrMessageTooLarge):
		return "the message is too long for MSN"
	case errors.As(err, &code):
		return "the MSN server said " + code.String()
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return "cannot reach the MSN server: " + OneLine(err)
	}
	return OneLine(err)
}

// OneLine is an error's text on one line.
func OneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
