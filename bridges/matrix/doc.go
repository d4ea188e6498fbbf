// Package matrix is the Matrix bridge: a mautrix bridgev2 network connector
// that puts MSN Messenger contacts and conversations into Matrix rooms.
//
// Each Matrix user who logs in gets an MSN session that the bridge keeps
// signed in (bridges/msnbridge, shared with the Discord bridge). Logins are
// "hosted" — an account on a Nudge server, made through its admin API,
// named after the Matrix ID and recorded as that Matrix ID's, so MSN users
// can add a Matrix user as a contact — or "password", any account on any
// MSN server.
//
// Every MSN contact is a ghost (display name from the friendly name,
// presence and personal message as Matrix presence); every one-to-one
// conversation is a DM portal per (login, contact), and a switchboard
// session with several contacts becomes a group portal — one per set of
// people — whose invites and leaves go both ways. Text crosses with its
// formatting (bridges/format), nudges as notices and "!nudge", typing both
// ways; what MSN cannot carry (media, edits, reactions, deletions) crosses
// as words and links, and what Matrix cannot (files offered, winks) is
// announced. A delivery failure (NAK, an offline contact) is an error on
// the Matrix event. Bot commands manage the contact list and status.
//
// Run it with Main (the "nudge bridge matrix" command): it is a mautrix
// bridge like any other, with mxmain's config, registration, database and
// provisioning API.
//
// The package is built with the goolm tag (go build -tags goolm; the
// Makefile sets it): end-to-end encryption then uses mautrix's pure-Go olm
// instead of the C libolm, which Go would otherwise look for (olm/olm.h)
// and fail without. Without the tag the package is this documentation
// alone, so that a plain "go build ./cmd/nudge" or "go test ./..." works
// from a clone, and the nudge it builds has no Matrix bridge.
package matrix
