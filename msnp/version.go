package msnp

import (
	"strconv"
	"strings"
)

// Version is an MSNP protocol revision, 2 for MSNP2 and so on.
type Version int

// The range this package speaks. Versions 13–18 are known by name, so that a
// server can refuse them politely, but have no dialect here.
const (
	MinVersion Version = 2
	MaxVersion Version = 12
	// CVR0 is the pseudo-version clients add to say they speak CVR.
	CVR0 = "CVR0"
)

// ParseVersion parses "MSNP8" into 8. It accepts any MSNPn with n in 2..21
// (the names real clients have sent); it does not say n is supported.
func ParseVersion(s string) (Version, bool) {
	num, ok := strings.CutPrefix(s, "MSNP")
	if !ok || num == "" || len(num) > 2 {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 2 || n > 21 {
		return 0, false
	}
	return Version(n), true
}

func (v Version) String() string { return "MSNP" + strconv.Itoa(int(v)) }

// Supported reports whether the version has a dialect in this package.
func (v Version) Supported() bool { return v >= MinVersion && v <= MaxVersion }

// Negotiate picks the highest version that both sides speak from the
// parameters of a VER command. It reports whether the client offered CVR0.
// The result is 0 when nothing is common.
func Negotiate(offered []string, min, max Version) (v Version, cvr0 bool) {
	for _, p := range offered {
		if p == CVR0 {
			cvr0 = true
			continue
		}
		if o, ok := ParseVersion(p); ok && o >= min && o <= max && o > v {
			v = o
		}
	}
	return v, cvr0
}

// Auth is a login method.
type Auth string

const (
	AuthMD5 Auth = "MD5" // salted MD5 digest (MSNP2–7)
	AuthTWN Auth = "TWN" // Passport 1.4 ticket, "Tweener" (MSNP8–14)
)

// Challenge is the algorithm a client uses to answer CHL.
type Challenge uint8

const (
	ChallengeNone   Challenge = iota // no challenges (MSNP2–5)
	ChallengeMD5                     // md5(challenge + key) (MSNP6–10)
	ChallengeMSNP11                  // the MSNP11 algorithm (MSNP11+)
)

// ListForm is the shape of the contact list dump that answers SYN.
type ListForm uint8

const (
	// ListNumbered (MSNP2–7): every line carries the TrID, the list
	// version and "index total" counters; one LST group per list.
	ListNumbered ListForm = iota
	// ListCompact (MSNP8–9): "SYN trid ver contacts groups", then one LST
	// per contact with its list bits; no TrIDs or versions.
	ListCompact
	// ListGUID (MSNP10–12): timestamps instead of versions; LST N= F= C=
	// with contact and group GUIDs.
	ListGUID
)

// Dialect is what one protocol version looks like on the wire. Servers and
// clients read it instead of comparing version numbers.
type Dialect struct {
	Version Version
	Auth    Auth

	// Login.
	INF            bool // INF lists the auth methods (removed in MSNP8)
	CVRHandle      bool // CVR carries the user's handle
	XFRNSFields    int  // XFR NS: 0 = "addr", 1 = "addr 0", 2 = "addr 0 current"
	USROKFriendly  bool // USR OK carries the friendly name (dropped in MSNP10)
	USROKVerified  bool // USR OK carries the "verified" flag
	USROKRestrict  bool // USR OK carries the "restricted" flag
	ProfileFull    bool // the initial profile has the Passport fields (MSNP3+)
	ProfileAddress bool // the profile carries ClientIP/ClientPort (MSNP8+)
	SBS            bool // "SBS 0 null" follows USR OK (MSNP11+)
	Challenge      Challenge

	// Lists.
	ListForm      ListForm
	ListVersions  bool // list replies carry the list version (MSNP2–9)
	Groups        bool // ADG/RMG/REG/LSG exist (MSNP7+)
	GroupGUIDs    bool // groups are named by GUID (MSNP10+)
	ContactGUIDs  bool // contacts carry a GUID and ADC replaces ADD (MSNP10+)
	LSTNetworkID  bool // LST carries a network id before the groups (MSNP12)
	Phones        bool // PRP/BPR phone numbers (MSNP5+)
	REA           bool // REA renames (MSNP2–9); MSNP10+ uses PRP MFN and SBP
	PersonalMsg   bool // UUX/UBX personal messages (MSNP11+)
	Capabilities  bool // presence carries client capabilities (MSNP8+)
	MSNObject     bool // presence carries an MSNObject (MSNP9+)
	QNGInterval   bool // QNG tells the seconds until the next PNG (MSNP9+)
	DataAck       bool // MSG D for P2P data (MSNP9+)
	RosterCaps    bool // IRO/JOI carry capabilities (MSNP12)
	OUTReasons    bool // OUT carries reasons beyond OTH/SSD (MSNP10+)
	GCF           bool // GCF Shields.xml (MSNP11+)
	SYNTimestamps bool // SYN takes two timestamps (MSNP10+)
}

var dialects [MaxVersion + 1]Dialect

func init() {
	for v := MinVersion; v <= MaxVersion; v++ {
		d := Dialect{Version: v}
		d.Auth = AuthMD5
		if v >= 8 {
			d.Auth = AuthTWN
		}
		d.INF = v <= 7
		d.CVRHandle = v >= 8
		switch {
		case v == 2:
			d.XFRNSFields = 0
		case v <= 6:
			d.XFRNSFields = 1
		default:
			d.XFRNSFields = 2
		}
		d.USROKFriendly = v <= 9
		d.USROKVerified = v >= 6
		d.USROKRestrict = v >= 8
		d.ProfileFull = v >= 3
		d.ProfileAddress = v >= 8
		d.SBS = v >= 11
		switch {
		case v >= 11:
			d.Challenge = ChallengeMSNP11
		case v >= 6:
			d.Challenge = ChallengeMD5
		}
		switch {
		case v >= 10:
			d.ListForm = ListGUID
		case v >= 8:
			d.ListForm = ListCompact
		default:
			d.ListForm = ListNumbered
		}
		d.ListVersions = v <= 9
		d.Groups = v >= 7
		d.GroupGUIDs = v >= 10
		d.ContactGUIDs = v >= 10
		d.LSTNetworkID = v >= 12
		d.Phones = v >= 5
		d.REA = v <= 9
		d.PersonalMsg = v >= 11
		d.Capabilities = v >= 8
		d.MSNObject = v >= 9
		d.QNGInterval = v >= 9
		d.DataAck = v >= 9
		d.RosterCaps = v >= 12
		d.OUTReasons = v >= 10
		d.GCF = v >= 11
		d.SYNTimestamps = v >= 10
		dialects[v] = d
	}
}

// Dialect returns the dialect of a supported version. For an unsupported
// one it returns the dialect of the nearest supported version.
func (v Version) Dialect() *Dialect {
	if v < MinVersion {
		v = MinVersion
	}
	if v > MaxVersion {
		v = MaxVersion
	}
	return &dialects[v]
}
