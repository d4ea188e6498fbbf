package client

import "errors"

// Errors the client returns. Refusals by the server come back as errors
// wrapping the msnp.ErrorCode the server sent, so that
// errors.Is(err, msnp.ErrNotOnline) and the like work; a wrong password is
// always reported as an error wrapping msnp.ErrAuthFailed, whether the
// notification server or the Passport server refused it.
var (
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("client: closed")

	// ErrVersionRefused means the server speaks none of the protocol
	// versions the client offered.
	ErrVersionRefused = errors.New("client: the server refused every protocol version offered")

	// errHungUp marks a connection closed right after VER.
	errHungUp = errors.New("the server hung up")

	// ErrConnectionLost means the server closed the connection.
	ErrConnectionLost = errors.New("client: the server closed the connection")

	// ErrSignedInElsewhere means the server signed the session out because
	// the same account signed in somewhere else (OUT OTH). The client does
	// not reconnect after it, which would sign the other session out.
	ErrSignedInElsewhere = errors.New("client: signed out: the account signed in elsewhere")

	// ErrServerShutdown means the server said it is going down (OUT SSD).
	ErrServerShutdown = errors.New("client: the server is shutting down")

	// ErrPingTimeout means the server did not answer a keep-alive ping.
	ErrPingTimeout = errors.New("client: the server stopped answering pings")

	// ErrNotSupported means the negotiated protocol version has no such
	// feature (groups before MSNP7, personal messages before MSNP11).
	ErrNotSupported = errors.New("client: not supported by the negotiated protocol version")

	// ErrNotDelivered means the switchboard answered a message with NAK.
	ErrNotDelivered = errors.New("client: message not delivered")

	// ErrConversationClosed is returned by the methods of a Conversation
	// after its Close.
	ErrConversationClosed = errors.New("client: conversation closed")

	// ErrMessageTooLarge means a raw message is larger than a switchboard
	// relays (msnp.MaxMessagePayload bytes).
	ErrMessageTooLarge = errors.New("client: message too large for a switchboard")

	// ErrSlowConsumer means the events waiting to be received passed
	// Config.MaxBacklog; the client then closes.
	ErrSlowConsumer = errors.New("client: too many events not received (slow consumer)")

	// ErrUnknownContact means the contact is not on the list the request
	// needs it on.
	ErrUnknownContact = errors.New("client: no such contact")

	// ErrProtocol means the server sent something the client cannot follow.
	ErrProtocol = errors.New("client: unexpected reply from the server")
)
