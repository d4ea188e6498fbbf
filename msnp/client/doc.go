// Package client is an MSN Messenger client: it signs in to any MSNP
// server (Nudge, Escargot, …) with any protocol version from MSNP2 to
// MSNP18 (MSNP12 unless Config.Version asks for more), keeps the contact list and the presence of contacts, chats on
// switchboards, and exchanges display pictures, files, custom emoticons,
// winks and voice clips with other clients. The bridges and the bot host
// are built on it.
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
// see PassportConfig), from MSNP13 every service's token from RST.srf and,
// from MSNP15, single sign-on answered with the proof key (Tokens keeps
// them) — reads the contact list (SYN, or from MSNP13 the address book,
// then the first ADL) and sets the initial status. It returns when all of that is done, or with an error that says
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
// # Pictures, files, emoticons, winks (P2P)
//
// From MSNP9 the client speaks MSN's peer-to-peer layer over the
// switchboard (msnp/p2p has its formats): the binary packets, MSNSLP
// INVITE/200/603/BYE, chunking, acknowledgements, data preparation,
// timeouts and cancels. Everything goes through the switchboard; direct
// connections offered by the other side are declined, which every client
// answers by staying on the switchboard. A bridge uses it so:
//
//   - Display pictures. Config.DisplayPicture or SetDisplayPicture puts a
//     picture's MSNObject in your presence and serves it to whoever asks.
//     A contact's picture arrives as DisplayPictureChanged (and in
//     Contact.DisplayPicture); FetchObject(ctx, obj) returns its bytes,
//     checked against the object's SHA1D and kept in Config.ObjectCache,
//     keyed by SHA1D, so each picture crosses the network once.
//   - Files. A FileOffer event carries a Transfer: Accept(w) writes the
//     file to an io.Writer as it arrives, Decline refuses it. SendFile(ctx,
//     to, File{Name, Size, Reader, Preview}) offers one from an io.Reader.
//     Both sides follow a Transfer with Progress, TransferProgress events
//     (at most four a second), Done, Wait and TransferEnded; Cancel stops
//     it and tells the contact. Err says how it ended: nil, ErrDeclined,
//     ErrCancelled (by whom is in the message), ErrTransferTimeout
//     (Config.TransferTimeout without progress, Config.OfferTimeout
//     without an answer).
//   - Custom emoticons arrive as an Emoticons event (shortcut and
//     MSNObject pairs, before the text that uses them), winks and voice
//     clips as Wink and VoiceClip events; FetchObject gets their files.
//     Conversation.SendEmoticons, SendWink and SendVoiceClip send them.
//
// Contacts whose clients have no P2P — MSNP2–8, or no MSNC version in
// their capabilities — get and send files by MSNFTP instead: an
// invitation on the switchboard (text/x-msmsgsinvite) and a direct TCP
// connection, made by the receiver to a port the sender listens on
// (Config.FileTransferAddr). The Transfer API is the same; Transfer.Legacy
// tells them apart.
//
// One sender goroutine per contact writes P2P packets, keeping up to eight
// waiting for the switchboard's ACK: the switchboard holds its ACK while
// the reader is behind, so a transfer goes at the reader's pace. Control
// messages go first and data messages take turns chunk by chunk, so
// several transfers share a switchboard. A received file is handed to its
// io.Writer by a goroutine of its own, through a buffer of 4 MiB; a
// writer slower than that holds the sender back the same way. Close ends
// the transfers under way (their Err wraps ErrClosed) and does not wait
// for an io.Reader or io.Writer stuck in a call.
//
// From MSNP16 the client announces P2P version 2 (msnp.CapExP2PV2 in its
// capabilities, as WLM 2009 does) and speaks it to a contact's endpoint
// that announces it too: the packets go to "email;{guid}" with version 2
// headers (package numbers, SYN, acknowledgements asked for with RAK, no
// data preparation), so that of a user signed in at several places only
// that endpoint answers. Client.Endpoints lists a contact's endpoints
// from their UBX; FetchObject and SendFile pick the first that speaks
// version 2, and SendFile to "email;{guid}" picks one by name. Everyone
// else — MSNP9–15 clients, MSNP16+ clients that do not announce version
// 2 (Pidgin), and this client below MSNP16 — gets version 1 as before.
// Sessions, MSNSLP, objects and the API are the same in both.
//
// # Versions
//
// What differs between protocol versions (the shape of the contact list,
// ADD versus ADC, friendly names by REA or PRP, personal messages from
// MSNP11, handles as "1:bob@x" in MSNP18, lists edited with ADL/RML from
// MSNP13) comes from msnp.Version.Dialect. Methods that need a later
// version than the negotiated one return ErrNotSupported. From MSNP13 the
// lists and groups are edited in the address book first and told to the
// server with ADL/RML after, as Windows Live Messenger and Pidgin do; a
// group's ID is then the GUID the address book gives it. The client reads
// the book again whenever the server says it changed (NOT), so an edit
// made at another of the user's machines shows in Contacts and Groups
// too. From MSNP16 the client names its
// machine (Config.MachineGUID); an account may be signed in at several
// machines at once. From MSNP13 offline messages are read as OIMs at sign-in
// and arrive as OfflineMessage events (with the time they were sent), and
// SendOffline leaves one for someone offline: Conversation still fails for
// an offline contact (msnp.ErrNotOnline, as on MSN), and LeaveIfOffline
// turns that failure into an offline message for the text that was to go.
// Before MSNP13 the client cannot leave them (ErrNotSupported), and the
// service brings those left for it as a conversation from their sender.
package client
