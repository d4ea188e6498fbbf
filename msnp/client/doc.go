// Package client is an MSN Messenger client: it signs in to any MSNP
// server (Nudge, Escargot, …) with any protocol version from MSNP2 to
// MSNP12, keeps the contact list and the presence of contacts, and chats on
// switchboards. The bridges and the bot host are built on it.
//
// A bot that answers every message:
//
//	c, err := client.Dial(ctx, client.Config{
//		Server:    "127.0.0.1:1863",
//		Email:     "echo@example.com",
//		Password:  "secret",
//		Passport:  client.PassportConfig{URL: "http://127.0.0.1:8080"},
//		Reconnect: true,
//	})
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	for ev := range c.Events() {
//		if m, ok := ev.(*client.Message); ok {
//			m.Conversation.Send(ctx, "you said: "+m.Text)
//		}
//	}
//
// # Signing in
//
// Dial connects to Config.Server, offers the versions from Config.Version
// down to Config.MinVersion, follows a referral to a notification server
// (XFR NS), authenticates — salted MD5 for MSNP2–7, a Passport ticket for
// MSNP8–12 (Passport 1.4 nexus and login2.srf, or the SOAP RST.srf service;
// see PassportConfig) — synchronises the contact list and sets the initial
// status. It returns when all of that is done, or with an error that says
// what failed: a wrong password wraps msnp.ErrAuthFailed, a server that
// speaks none of the offered versions gives ErrVersionRefused.
//
// Once signed in the client answers challenges (CHL), pings the server to
// keep the connection alive and to notice when it is gone, and, with
// Config.Reconnect, signs in again with exponential backoff after the
// connection drops: a Disconnected event with Reconnecting set, later a
// Reconnected one. Calls made meanwhile wait for the new connection (within
// their context).
//
// # Events
//
// Everything the server tells arrives as an Event on the channel returned
// by Events: messages, typing, nudges and other MIME messages, people
// joining and leaving conversations, invitations, presence, people adding
// you to their list, disconnections. Commands the client does not
// interpret arrive as ServerCommand events; nothing is dropped.
//
// Events are delivered in the order they happened, one at a time, by one
// goroutine. Connections never wait for the consumer: every connection's
// reader appends to an in-memory queue and goes on reading, so a slow
// consumer costs memory, not a stalled connection or a deadlock — and the
// consumer may call any method of the client (Send included) while
// handling an event. Backlog reports the queue's length; Config.MaxBacklog
// turns a runaway queue into an error (ErrSlowConsumer).
//
// # Conversations
//
// Client.Conversation opens a conversation with a contact: the client asks
// the notification server for a switchboard (XFR SB), invites the contact
// (CAL) and waits until they joined. Invitations from others (RNG) are
// accepted automatically; an Invited event carries the new Conversation.
// Conversation.Send returns when the switchboard acknowledged the message
// (ACK) or refused it (NAK: ErrNotDelivered). When the server closes a
// conversation's switchboard, the conversation is not lost: the next Send
// opens a new one and invites the same people again. Client.Group opens one
// with several contacts at once and returns when the first joined;
// Conversation.Invite adds someone without holding up messages to those
// already there.
//
// Close ends the session and drops the events not yet received; SignOut
// ends it too but delivers them first, for a consumer that must not lose
// a message on its way out.
//
// # Versions
//
// What differs between protocol versions (the shape of the contact list,
// ADD versus ADC, friendly names by REA or PRP, personal messages from
// MSNP11) comes from msnp.Version.Dialect. Methods that need a later
// version than the negotiated one return ErrNotSupported.
package client
