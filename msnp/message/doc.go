// Package message reads and writes the MIME messages carried by the MSN
// Messenger protocol's MSG command (and by the NS "MSG Hotmail Hotmail"
// notifications).
//
// A message is a block of "Name: Value" header lines, an empty line, and a
// body:
//
//	MIME-Version: 1.0\r\n
//	Content-Type: text/plain; charset=UTF-8\r\n
//	X-MMS-IM-Format: FN=Arial; EF=I; CO=0; CS=0; PF=22\r\n
//	\r\n
//	Hello
//
// [Parse] keeps the exact bytes of the header block, so a message that is
// parsed and not changed is written back byte for byte by [Message.Bytes]:
// a switchboard can inspect a message and still relay content it does not
// understand untouched. Header names keep their order and case; lookups are
// case-insensitive.
//
// Constructors and accessors cover the content types in common use: plain
// text with its X-MMS-IM-Format ([NewText], [Format]), typing notifications
// ([NewTyping]), nudges and other datacasts ([NewNudge], [NewDatacast]), the
// initial profile the notification server sends after sign-in
// ([NewProfile]), MSNC0 invitations ([NewInvite]), system messages
// ([NewSystemMessage]) and the binary P2P (MSNC1) header ([ParseP2PHeader],
// [Message.P2P], [NewP2P]; the layers above it are in msnp/p2p).
// [Message.Kind] classifies a message. Long messages travel split over
// several MSGs ("Message-ID", "Chunks", "Chunk"): [Split] cuts one up and
// [ChunkAssembler] puts one together.
//
// Every parser in this package reads network input: none of them panics, and
// the memory they allocate is bounded by a small multiple of the input size.
package message
