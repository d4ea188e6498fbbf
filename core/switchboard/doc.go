// Package switchboard is the Switchboard server of MSNP2–MSNP12: the rooms in
// which clients chat.
//
// The Notification Server hands a user who asks for a switchboard ("XFR trid
// SB") a single-use cookie from Server.Open. The user connects, presents it
// with USR and is alone in a new session. CAL invites others: the callee's
// Notification Server connection is rung through the directory
// (directory.Peer.Ring) with a second cookie, bound to the callee and the
// session, which the callee presents with ANS. Messages (MSG) are relayed to
// every other participant with their payload unchanged; OUT, a dropped
// connection or a long silence ends a participant's stay, and the session
// ends with its last participant.
//
// # Connections
//
// Each connection has one goroutine that reads and acts, and writes only
// through an outbox.Outbox, so a participant that reads too slowly is cut off
// (and leaves, with BYE to the others) instead of slowing the room. The
// message path takes no lock: a session's participants are an immutable
// slice replaced on every join and leave, so a relay loads it and queues the
// message to each outbox. Joins and leaves are serialised per session, and
// everything a join or leave sends is queued under that session's lock, so
// every participant sees IRO/ANS OK before any message, and JOI and BYE in one
// order.
//
// # Choices where the protocol references are silent
//
//   - Handles are compared without regard to case and looked up in the
//     directory in lower case, the form the store keeps.
//   - A cookie is consumed when it is presented, even if the handle beside it
//     is wrong; a ring cookie is void once its session has ended.
//   - The first command must be USR or ANS. Any other first command, and any
//     failed USR or ANS, gets 911 (when it had a TrID) and the connection is
//     closed. A repeated USR/ANS, an unknown command or a bad ack letter
//     closes the connection without a reply, as the official servers did.
//   - CAL answers 217 alike for a callee who is offline, hidden, blocks the
//     caller or allows only their allow list, so a refusal reveals nothing.
//     It answers 215 while an earlier ring to the same callee is unexpired.
//   - CAL RINGING is queued before the callee is rung, so the caller always
//     sees RINGING before the callee's JOI.
//   - JOI goes to the participants already there, not to the joiner (the 1999
//     draft says the joiner gets one too; the deployed servers did not send
//     it, and clients treat the IRO list as the roster).
//   - An MSG that cannot be relayed because nobody else is present, or because
//     a participant's outbox refused it (that participant is leaving or was cut
//     off), is a failure: NAK for N, A and D. "MSG D" is accepted from any
//     version. An MSG over 1664 bytes closes the sender's connection without a
//     reply and is not relayed, as on the MSN switchboard.
//   - The ACK of an A or D message waits while a recipient has more than a
//     quarter of its outbox unread. P2P senders send their next chunk only
//     on the ACK of the last, so a file to someone on a slow line goes at
//     their pace instead of filling their outbox until they are cut off.
//   - A participant with no capabilities is shown with caps "0" in IRO and JOI
//     to MSNP12 recipients; an empty friendly name is shown as the handle.
//   - The idle deadline is refreshed at most every IdleTimeout/64, so that the
//     message path rarely touches the timer; a silent participant is dropped
//     between IdleTimeout and 65/64 of it.
package switchboard
