package msnp

import (
	"strconv"
	"strings"
)

// Version is an MSNP protocol revision, 2 for MSNP2 and so on.
type Version int

// The range this package speaks: every version from MinVersion to
// LatestVersion has a dialect, and servers and clients speak up to
// MaxVersion (the Go client offers less by default: see
// client.DefaultVersion).
const (
	MinVersion    Version = 2
	MaxVersion    Version = 18
	LatestVersion Version = 18
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
func (v Version) Supported() bool { return v >= MinVersion && v <= LatestVersion }

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
	AuthSSO Auth = "SSO" // single sign-on: RST ticket and its proof key (MSNP15+)
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
	// ListAddressBook (MSNP13+): no SYN; the client reads its list from the
	// address book web service and sends it with ADL.
	ListAddressBook
)

// HandleForm is how presence commands (ILN, NLN, FLN, UBX) name a contact.
type HandleForm uint8

const (
	HandlePlain         HandleForm = iota // "bob@example.com" (MSNP2–13)
	HandleNetworkParam                    // "bob@example.com 1": a network id after it (MSNP14–17)
	HandleNetworkPrefix                   // "1:bob@example.com" (MSNP18)
)

// NetworkMessenger is the network id of Messenger (Passport) accounts, the
// only network this service has.
const NetworkMessenger = 1

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
	GCF           bool // GCF Shields.xml on request (MSNP11–12)
	SYNTimestamps bool // SYN takes two timestamps (MSNP10+)

	// Windows Live Messenger (MSNP13+).
	GCFPush     bool       // the server pushes "GCF 0" policies before USR … S (MSNP13+)
	Handles     HandleForm // how presence commands name a contact
	CapsEx      bool       // capabilities are "caps:capsEx" (MSNP16+)
	InitialNLN  bool       // the first CHG is answered with NLN, not ILN (MSNP18)
	FQY         bool       // FQY asks which network a contact is on (MSNP14+)
	UUN         bool       // UUN/UBN notices between users and endpoints (MSNP13+)
	OIM         bool       // offline messages wait as OIMs: Mail-Data at the first CHG, read over rsi (MSNP13+)
	UUM         bool       // UUM/UBM: messages through the NS (MSNP14+; offline ones in MSNP18)
	MachineGUID bool       // USR SSO S names the machine; several at once, SB handles "email;{guid}" (MSNP16+)
	SelfUBX     bool       // the user's own UBX follows the profile and each change (MSNP16+)
	Circles     bool       // the group-chat commands (USR SHA, PUT, SDG, DEL, NFY) exist (MSNP18)
	// XFRSBTail and RNGTail are the parameters after the cookie (XFR SB) or
	// the caller's name (RNG): MSNP13 adds the authentication method and
	// host, MSNP14 a "1" (direct connections allowed).
	XFRSBTail []string
	RNGTail   []string
	// ClientCaps is the MSNC generation of this version's official client,
	// the high bits of its capabilities (MSNP9+).
	ClientCaps uint32
}

var dialects [LatestVersion + 1]Dialect

func init() {
	for v := MinVersion; v <= LatestVersion; v++ {
		d := Dialect{Version: v}
		switch {
		case v >= 15:
			d.Auth = AuthSSO
		case v >= 8:
			d.Auth = AuthTWN
		default:
			d.Auth = AuthMD5
		}
		d.INF = v <= 7
		d.CVRHandle = v >= 8
		switch {
		case v == 2:
			d.XFRNSFields = 0
		case v <= 6:
			d.XFRNSFields = 1
		case v <= 12:
			d.XFRNSFields = 2
		default:
			d.XFRNSFields = 3
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
		case v >= 13:
			d.ListForm = ListAddressBook
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
		d.GCF = v == 11 || v == 12
		d.SYNTimestamps = v >= 10

		d.GCFPush = v >= 13
		switch {
		case v >= 18:
			d.Handles = HandleNetworkPrefix
		case v >= 14:
			d.Handles = HandleNetworkParam
		}
		d.CapsEx = v >= 16
		d.InitialNLN = v >= 18
		d.FQY = v >= 14
		d.UUN = v >= 13
		d.OIM = v >= 13
		d.UUM = v >= 14
		d.MachineGUID = v >= 16
		d.SelfUBX = v >= 16
		d.Circles = v >= 18
		switch {
		case v >= 14:
			d.XFRSBTail = []string{"U", "messenger.msn.com", "1"}
			d.RNGTail = []string{"U", "messenger.hotmail.com", "1"}
		case v == 13:
			d.XFRSBTail = []string{"U", "messenger.msn.com"}
			d.RNGTail = []string{"U", "messenger.hotmail.com"}
		}
		d.ClientCaps = clientCaps[v]
		dialects[v] = d
	}
}

// Dialect returns the dialect of a supported version. For an unsupported
// one it returns the dialect of the nearest supported version.
func (v Version) Dialect() *Dialect {
	if v < MinVersion {
		v = MinVersion
	}
	if v > LatestVersion {
		v = LatestVersion
	}
	return &dialects[v]
}

// Handle is how presence commands of this dialect name a Messenger
// contact: one parameter, or the handle and its network id.
func (d *Dialect) Handle(email string) []string {
	switch d.Handles {
	case HandleNetworkParam:
		return []string{email, "1"}
	case HandleNetworkPrefix:
		return []string{"1:" + email}
	}
	return []string{email}
}

// ParseHandle reads a handle that may carry a network prefix ("1:bob@x")
// or an endpoint ("bob@x;{guid}"): it returns the bare handle, the network
// (NetworkMessenger when none is given) and the endpoint GUID as written
// ("" when none).
func ParseHandle(s string) (email string, network int, endpoint string) {
	network = NetworkMessenger
	if i := strings.IndexByte(s, ':'); i > 0 && i <= 2 {
		if n, err := strconv.Atoi(s[:i]); err == nil && n > 0 {
			network, s = n, s[i+1:]
		}
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s, endpoint = s[:i], s[i+1:]
	}
	return s, network, endpoint
}
