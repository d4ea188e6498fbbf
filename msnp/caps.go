package msnp

import (
	"strconv"
	"strings"
)

// Client capability flags, sent with the status (CHG, MSNP8+) and shown to
// others with it (ILN, NLN, IRO, JOI). The high nibble is the MSNC (P2P)
// version the client speaks.
const (
	CapMobile     uint32 = 0x01    // a mobile device
	CapMSN8       uint32 = 0x02    // MSN 8 user
	CapInkGIF     uint32 = 0x04    // receives handwriting as GIF
	CapInkISF     uint32 = 0x08    // receives handwriting as ISF
	CapWebcam     uint32 = 0x10    // has a webcam
	CapMultiPkt   uint32 = 0x20    // multi-packet messages
	CapWebClient  uint32 = 0x200   // MSN Web Messenger: contacts see a globe
	CapWinks      uint32 = 0x8000  // receives winks (MSN 7)
	CapVoiceClips uint32 = 0x40000 // receives voice clips (MSN 7.5)
	CapBot        uint32 = 0x20000 // an automated contact
	CapMSNC1      uint32 = 0x10000000
)

// The MSNC generations: the high bits of the capabilities of each official
// client. MSNC1 is MSN Messenger 6.0 (MSNP9); MSNC10 is Windows Live
// Messenger 2009 (MSNP18).
const (
	CapMSNC2  uint32 = 0x20000000 // MSN Messenger 6.1 (MSNP10)
	CapMSNC3  uint32 = 0x30000000 // MSN Messenger 6.2 and 7.0 (MSNP11)
	CapMSNC4  uint32 = 0x40000000 // MSN Messenger 7.5 (MSNP12)
	CapMSNC5  uint32 = 0x50000000 // Windows Live Messenger 8.0 (MSNP13)
	CapMSNC6  uint32 = 0x60000000 // Windows Live Messenger 8.0 (MSNP14)
	CapMSNC7  uint32 = 0x70000000 // Windows Live Messenger 8.1 (MSNP15)
	CapMSNC8  uint32 = 0x80000000 // Windows Live Messenger 8.5
	CapMSNC9  uint32 = 0x90000000 // Windows Live Messenger 9 beta (MSNP16–17)
	CapMSNC10 uint32 = 0xA0000000 // Windows Live Messenger 2009 (MSNP18)

	// CapMSNCMask selects the MSNC generation.
	CapMSNCMask uint32 = 0xF0000000
)

// Extended capabilities (capsEx, MSNP16+).
const (
	CapExP2PV2     uint32 = 0x20  // speaks P2P version 2
	CapExOfflineIM uint32 = 0x100 // takes offline messages
)

// clientCaps is the MSNC generation of each version's official client.
var clientCaps = [LatestVersion + 1]uint32{
	9: CapMSNC1, 10: CapMSNC2, 11: CapMSNC3, 12: CapMSNC4,
	13: CapMSNC5, 14: CapMSNC6, 15: CapMSNC7, 16: CapMSNC9, 17: CapMSNC9, 18: CapMSNC10,
}

// ParseCaps reads capabilities as presence commands carry them: "caps"
// or, from MSNP16, "caps:capsEx" (decimal). An empty string is 0.
func ParseCaps(s string) (caps, capsEx uint32, ok bool) {
	if s == "" {
		return 0, 0, true
	}
	c, x, hasEx := strings.Cut(s, ":")
	n, err := strconv.ParseUint(c, 10, 32)
	if err != nil {
		return 0, 0, false
	}
	if hasEx {
		m, err := strconv.ParseUint(x, 10, 32)
		if err != nil {
			return 0, 0, false
		}
		capsEx = uint32(m)
	}
	return uint32(n), capsEx, true
}

// FormatCaps writes capabilities for a dialect: "caps:capsEx" where it has
// extended ones, "caps" before.
func FormatCaps(caps, capsEx uint32, d *Dialect) string {
	s := strconv.FormatUint(uint64(caps), 10)
	if d.CapsEx {
		s += ":" + strconv.FormatUint(uint64(capsEx), 10)
	}
	return s
}
