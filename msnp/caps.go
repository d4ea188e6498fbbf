package msnp

// Client capability flags, sent with the status (CHG, MSNP8+) and shown to
// others with it (ILN, NLN, IRO, JOI). The high nibble is the MSNC (P2P)
// version the client speaks.
const (
	CapMobile    uint32 = 0x01    // a mobile device
	CapMSN8      uint32 = 0x02    // MSN 8 user
	CapInkGIF    uint32 = 0x04    // receives handwriting as GIF
	CapInkISF    uint32 = 0x08    // receives handwriting as ISF
	CapWebcam    uint32 = 0x10    // has a webcam
	CapMultiPkt  uint32 = 0x20    // multi-packet messages
	CapWebClient uint32 = 0x200   // MSN Web Messenger: contacts see a globe
	CapBot       uint32 = 0x20000 // an automated contact
	CapMSNC1     uint32 = 0x10000000
)
