package auth

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// A ProductKey is a client product key pair used to answer challenges. The
// public ID is sent in QRY; the private key is mixed into the hash and never
// sent.
type ProductKey struct {
	ID  string // public product ID, sent as the first QRY argument
	Key string // private key

	// Since is the first protocol version whose clients used this pair;
	// MaxVersion is the last version at which a server accepts it.
	Since, MaxVersion int

	Client string // the client that shipped the pair, informational
}

// ValidFor reports whether a server accepts the pair at protocol version v.
// Like the historical service, a pair is accepted from MSNP6 (the first
// version with challenges) up to its MaxVersion, because a client that offers
// several versions keeps its product ID when the server picks an older one.
func (k ProductKey) ValidFor(v int) bool {
	return v >= MinChallengeVersion && v <= k.MaxVersion
}

// Protocol versions that matter to challenges.
const (
	MinChallengeVersion = 6  // first version whose servers send CHL
	MSNP11              = 11 // first version with the keyed challenge hash
	MaxChallengeVersion = 18 // highest version this package knows keys for
)

// ChallengeLen is the length of a challenge answer: 32 hex digits.
const ChallengeLen = 32

// productKeys is ordered by preference: for each version, the first pair whose
// range covers it is the default a client uses.
var productKeys = []ProductKey{
	// MSNP6–10: md5(challenge + key).
	{"msmsgs@msnmsgr.com", "Q1P7W2E4J9R8U3S5", 6, 10, "MSN Messenger 3.6.0038"},
	{"PROD0038W!61ZTF9", "VT6PX?UQTM4WM%YR", 6, 10, "MSN Messenger"},
	{"PROD0058#7IL2{QD", "QHDCY@7R1TB6W?5B", 6, 10, "MSN Messenger"},
	{"PROD0061VRRZH@4F", "JXQ6J@TUOGYV@N0M", 6, 10, "MSN Messenger"},
	{"PROD00504RLUG%WL", "I2EBK%PYNLZL5_J4", 6, 10, "MSN Messenger"},
	{"PROD0076ENE8*@AW", "CEQJ8}OE0!WTSWII", 6, 10, "MSN Messenger"},
	// MSNP11–12: the keyed hash.
	{"PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL", 11, 12, "MSN Messenger 7.0"},
	{"PROD0101{0RM?UBW", "CFHUR$52U_{VIX5T", 11, 12, "msn-pecan"},
	{"PROD00974#MT*RC2", "LMCVO*18PQJ3H!K3", 11, 12, "MSN Messenger 7.x"},
	{"PROD0104U6VVM{UJ", "VK67B}379XYM5}$T", 11, 12, "MSN Messenger 7.5"},
	// MSNP13–14.
	{"PROD01065C%ZFN6F", "O4BG@C7BWLYQX?5G", 13, 14, "Windows Live Messenger 8.0"},
	{"PROD0112J1LW7%NB", "RH96F{PHI8PPX_TJ", 13, 14, "Windows Live Messenger 8.x"},
	// MSNP15 and later.
	{"PROD0113H11T8$X_", "RG@XY*28Q5QHS%Q5", 15, 18, "Windows Live Messenger 8.5"},
	{"PROD0114ES4Z%Q5W", "PK}_A_0N_K%O?A9S", 15, 18, "Windows Live Messenger 8.5"},
	{"PROD0118R6%2WYOS", "YIXPX@5I2P0UT*LK", 15, 18, "Windows Live Messenger"},
	{"PROD0119GSJUC$18", "ILTXC!4IXB5FB*PX", 15, 18, "Windows Live Messenger"},
	{"PROD0120PW!CCV9@", "C1BX{V4W}Q3*10SM", 15, 18, "Windows Live Messenger 2009"},
}

// ProductKeys returns the known product key pairs, most preferred first. The
// returned slice is a copy.
func ProductKeys() []ProductKey {
	return append([]ProductKey(nil), productKeys...)
}

// LookupProductKey returns the known pair with the given public product ID.
// Product IDs are matched exactly.
func LookupProductKey(id string) (ProductKey, bool) {
	for _, k := range productKeys {
		if k.ID == id {
			return k, true
		}
	}
	return ProductKey{}, false
}

// DefaultProductKey returns the pair a client uses at protocol version v: the
// preferred pair introduced for that range of versions. It reports false for
// versions without challenges (below MSNP6) or above MaxVersion.
func DefaultProductKey(v int) (ProductKey, bool) {
	for _, k := range productKeys {
		if v >= k.Since && v <= k.MaxVersion {
			return k, true
		}
	}
	return ProductKey{}, false
}

// ChallengeAnswer returns the 32-digit lower-case hex answer to challenge at
// protocol version v with the given product pair: [ChallengeAnswerMD5] below
// MSNP11, [ChallengeAnswerMSNP11] from MSNP11 on.
func ChallengeAnswer(v int, challenge, productID, privateKey string) string {
	if v < MSNP11 {
		return ChallengeAnswerMD5(challenge, privateKey)
	}
	return ChallengeAnswerMSNP11(challenge, productID, privateKey)
}

// AnswerChallenge is what a client does on "CHL 0 <challenge>": it picks the
// default product pair for protocol version v and computes the answer. The
// client then sends "QRY trid <productID> 32\r\n<answer>". It reports false
// if no pair is known for v.
func AnswerChallenge(v int, challenge string) (productID, answer string, ok bool) {
	k, ok := DefaultProductKey(v)
	if !ok {
		return "", "", false
	}
	return k.ID, ChallengeAnswer(v, challenge, k.ID, k.Key), true
}

// VerifyQRY is what a server does on "QRY trid <productID> 32": it reports
// whether answer is the right answer to challenge for a known product pair
// that is valid at protocol version v. Hex digits are compared without
// regard to case.
func VerifyQRY(v int, challenge, productID, answer string) bool {
	if len(answer) != ChallengeLen || challenge == "" {
		return false
	}
	k, ok := LookupProductKey(productID)
	if !ok || !k.ValidFor(v) {
		return false
	}
	want := ChallengeAnswer(v, challenge, k.ID, k.Key)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(answer)), []byte(want)) == 1
}

// ChallengeAnswerMD5 returns the MSNP6–10 challenge answer: the lower-case
// hex md5 of challenge followed by the private key.
func ChallengeAnswerMD5(challenge, privateKey string) string {
	return MD5Digest(challenge, privateKey)
}

// ChallengeAnswerMSNP11 returns the MSNP11 and later challenge answer:
//
//  1. h = md5(challenge + privateKey), read as four little-endian 32-bit
//     words H[0..3]; M[i] = H[i] & 0x7FFFFFFF.
//  2. s = challenge + productID, right-padded with ASCII '0' by 8 - len%8
//     bytes, read as little-endian 32-bit words C[].
//  3. For each pair (C[i], C[i+1]), with P = 0x7FFFFFFF:
//     t = (M0 * ((0x0E79A9C1 * C[i]) mod P + high) + M1) mod P;
//     high = (M2 * ((C[i+1] + t) mod P) + M3) mod P; low += high + t.
//  4. high = (high + M1) mod P; low = (low + M3) mod P.
//  5. The answer is the hex of the little-endian words
//     H0^high, H1^low, H2^high, H3^low.
//
// Step 5 XORs the unmasked words H, not M; implementations that XOR the
// masked words produce answers that official servers reject.
func ChallengeAnswerMSNP11(challenge, productID, privateKey string) string {
	h := md5.New()
	h.Write([]byte(challenge))
	h.Write([]byte(privateKey))
	var sum [md5.Size]byte
	h.Sum(sum[:0])

	var hw, m [4]uint64
	for i := range hw {
		hw[i] = uint64(binary.LittleEndian.Uint32(sum[4*i:]))
		m[i] = hw[i] & 0x7FFFFFFF
	}

	// Build challenge+productID padded with '0' on the stack when it fits.
	var stack [64]byte
	n := len(challenge) + len(productID)
	n += 8 - n%8
	var s []byte
	if n <= len(stack) {
		s = stack[:0]
	} else {
		s = make([]byte, 0, n)
	}
	s = append(s, challenge...)
	s = append(s, productID...)
	for len(s) < n {
		s = append(s, '0')
	}

	const p = 0x7FFFFFFF
	var high, low uint64
	for i := 0; i+8 <= len(s); i += 8 {
		c0 := uint64(binary.LittleEndian.Uint32(s[i:]))
		c1 := uint64(binary.LittleEndian.Uint32(s[i+4:]))
		t := (m[0]*((0x0E79A9C1*c0)%p+high) + m[1]) % p
		high = (m[2]*((c1+t)%p) + m[3]) % p
		low += high + t
	}
	high = (high + m[1]) % p
	low = (low + m[3]) % p

	var out [16]byte
	binary.LittleEndian.PutUint32(out[0:], uint32(hw[0]^high))
	binary.LittleEndian.PutUint32(out[4:], uint32(hw[1]^low))
	binary.LittleEndian.PutUint32(out[8:], uint32(hw[2]^high))
	binary.LittleEndian.PutUint32(out[12:], uint32(hw[3]^low))
	return hex.EncodeToString(out[:])
}

// NewChallenge returns a fresh random challenge for "CHL 0 <challenge>": a
// 20-digit decimal number (without a leading zero) drawn from crypto/rand.
func NewChallenge() string {
	var out [20]byte
	var buf [32]byte
	i := 0
	for i < len(out) {
		rand.Read(buf[:])
		for _, b := range buf {
			if b >= 250 { // keep digits uniform
				continue
			}
			d := b % 10
			if i == 0 && d == 0 {
				continue
			}
			out[i] = '0' + d
			i++
			if i == len(out) {
				break
			}
		}
	}
	return string(out[:])
}
