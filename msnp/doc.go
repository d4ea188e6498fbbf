// Package msnp implements the MSN Messenger Protocol, versions MSNP2 to
// MSNP12: its commands and framing, its error codes and its versions.
//
// It is a protocol library in the spirit of net/textproto: it knows how
// commands look on the wire, not what a server or client does with them.
// Servers (the Dispatch, Notification and Switchboard servers of package core)
// and clients (package msnp/client) are built on it.
//
// # Commands
//
// Every exchange is a line of ASCII words ended by CRLF:
//
//	VER 1 MSNP8 CVR0\r\n
//
// The first word is the command name (three upper-case letters) or, for
// errors, a three-digit code. Most client commands carry a transaction id
// (TrID) that the server echoes in its replies. A few commands carry a
// payload: their last parameter is the payload length in bytes, and exactly
// that many bytes follow the CRLF, with no line ending of their own:
//
//	MSG 4 N 133\r\nMIME-Version: 1.0\r\n...
//
// Which commands carry a payload differs between the two directions, so a
// Reader is made for one direction (FromClient or FromServer).
//
// Parameters are kept exactly as they were on the wire. Friendly names, group
// names and MSNObjects are URL-encoded by the protocol; DecodeParam and
// EncodeParam convert them where the caller knows a parameter is such a name.
// Keeping the raw form lets a relay pass on what it does not interpret
// without changing a byte.
//
// # Versions and dialects
//
// A Version is one MSNP revision. Each has a Dialect: the table of what
// changed in that revision (how a client authenticates, the shape of USR OK,
// of XFR, of the list dump, of presence lines, ADD versus ADC, personal
// messages). Servers and clients consult the dialect rather than compare
// version numbers.
//
// # Errors
//
// Error replies are commands whose name is a number ("201 7"); ErrorCode
// names every code and its meaning. Reading never panics and never allocates
// beyond the configured limits: an over-long line, an oversized payload or a
// malformed TrID comes back as a *ReadError that says whether the stream is
// still in step, so a server can answer with the right code or hang up.
package msnp
