// Package msnbridge is what a bridge does with an MSN account, written once
// for every bridge (Matrix, Discord) so that they behave alike:
//
//   - Session keeps an account signed in: it signs in, hands every event
//     to the bridge in order, signs in again with backoff when the server
//     goes away, and says when the account cannot go on without its user
//     (a refused password, a sign-in elsewhere). SignOut ends it without
//     dropping what MSN users already sent.
//   - Hosted is the hosted-account policy: the accounts a bridge makes on a
//     Nudge server through the admin API belong to whom they were made for,
//     recorded by an ID that never changes (a Discord user or channel ID, a
//     Matrix user ID) and never by a name, which can change or collide. A
//     newcomer whose name is taken gets a distinct address, and the bridge
//     never changes an account it did not make: it only ever creates.
//   - Explain says in one line why MSN refused something; NeedsUser tells
//     the failures that need the user from those that pass.
//   - Extra names what MSN sends besides text — a file offered, a wink, a
//     voice clip, an invitation — so that a bridge can announce it; this is
//     where carrying files and display pictures will be added, once, for
//     every bridge.
//   - ValidHandle, LocalPart and ConversationKey are the small rules about
//     addresses, and RewriteTransport points HTTP clients at a compatible
//     server or an emulator.
package msnbridge
