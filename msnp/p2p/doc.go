// Package p2p reads and writes MSN Messenger's peer-to-peer layer (MSNC),
// the protocol clients from MSN Messenger 6 on speak to each other, through
// the switchboard, to exchange display pictures, custom emoticons, winks,
// voice clips and files. It holds the formats only; who sends what when is
// the business of a client (msnp/client).
//
// The layers, from the switchboard up:
//
//   - A switchboard "MSG trid D len" carries an application/x-msnmsgrp2p
//     MIME message (message.NewP2P, with its P2P-Dest header) whose body is
//     a Packet: the 48-byte binary Header (message.P2PHeader), up to
//     MaxChunk bytes of data and a big-endian AppID footer. Parse reads one
//     and checks its offsets against its sizes; Classify says whether it is
//     MSNSLP, a data preparation, data, an ACK or a NAK, by flag bits, so
//     that every generation's flag values are understood. Ack builds the
//     acknowledgement of a whole message.
//   - A message longer than one packet is Split into chunks that share its
//     Identifier; Assembler (buffering) and Stream (for data written out
//     as it arrives) put them together again, refusing gaps and overflow.
//   - Packets of SessionID 0 carry MSNSLP (SLP): INVITE, 200 OK, 603
//     Decline and BYE, SIP-like text that opens and closes sessions. The
//     INVITE's EUF-GUID names the application (EUFObject, EUFFile) and its
//     Context describes what is asked for: an MSNObject (Object, base64)
//     or a FileContext.
//   - Objects are announced outside P2P: in presence (CHG/ILN/NLN, URL
//     encoded), in text/x-mms-emoticon messages (ParseEmoticons,
//     EmoticonBody) and in wink and voice clip datacasts.
//
// Every parser here reads network input: none panics, and each bounds what
// it allocates by its input or a stated limit (FuzzXxx targets run them).
//
// Version 1, above, is what every client of MSNP9 to MSNP15 speaks, and
// what WLM 2009 and later still speak to peers that do not announce P2P
// version 2. Version 2 (MSNP16+, the capsEx bit msnp.CapExP2PV2) changes
// only the binary header and the acknowledgements: ParseV2 and
// PacketV2.AppendTo read and write its header of TLVs (HeaderV2), AckV2
// answers a packet that asks for it (OpRAK, echoing a SYN's peer info),
// ToV2 writes a version 1 chunk as the version 2 packet carrying the same
// bytes, and V2Reader turns received version 2 packets back into version 1
// chunks, so that MSNSLP, objects, file contexts, the Assembler and
// Classify serve both versions unchanged.
package p2p
