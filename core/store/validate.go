package store

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NormalizeEmail checks that s can be an MSN handle and returns it in the
// lower-case form the store keeps. A handle is local@domain.tld: at most
// MaxEmailLength bytes of printable ASCII, one '@', a local part of RFC 5322
// "atext" characters and dots, and a domain of letters, digits and hyphens
// with at least one dot. Anything else returns ErrInvalidEmail (the
// protocol's 201).
//
// The rules are deliberately narrower than RFC 5322: handles travel as
// space-separated command parameters and inside XML payloads, so quoting,
// spaces and non-ASCII are refused rather than escaped.
func NormalizeEmail(s string) (string, error) {
	if len(s) == 0 || len(s) > MaxEmailLength {
		return "", ErrInvalidEmail
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", ErrInvalidEmail
	}
	local, domain := s[:at], s[at+1:]
	for i := 0; i < len(local); i++ {
		if !isAtext(local[i]) && local[i] != '.' {
			return "", ErrInvalidEmail
		}
	}
	if !validDomain(domain) {
		return "", ErrInvalidEmail
	}
	return strings.ToLower(s), nil
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// validDomain accepts dot-separated labels of letters, digits and hyphens,
// at least two of them, none empty.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
			if !ok {
				return false
			}
		}
	}
	return true
}

// validName checks a friendly or group name: non-empty, at most max bytes,
// valid UTF-8 and free of control characters. Names are percent-encoded on
// the wire, but a control character in one is always a client bug or an
// attack on other clients' displays.
func validName(name string, max int) error {
	if name == "" || len(name) > max || !utf8.ValidString(name) {
		return ErrInvalidName
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return ErrInvalidName
		}
	}
	return nil
}

// validPassword refuses what bcrypt would silently truncate or what nobody
// could type.
func validPassword(pw string) error {
	if pw == "" || len(pw) > MaxPassword {
		return ErrInvalidPassword
	}
	return nil
}

// newGUID returns a random (version 4) UUID in the lower-case form MSNP10+
// clients expect in C= and group ids.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80

	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// newCID returns a random positive number for an account's CID. (The odd
// bit keeps it from being 0, which means "none" in the address book.)
func newCID() int64 {
	var b [8]byte
	rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1
}

// newMD5Secret makes a fresh salt for password and the digest an MSNP2–7
// client must answer with.
func newMD5Secret(password string) MD5Secret {
	var b [8]byte
	rand.Read(b[:])
	salt := SaltFrom(b[:])
	sum := md5.Sum([]byte(salt + password))
	return MD5Secret{Salt: salt, Digest: hex.EncodeToString(sum[:])}
}

// SaltFrom makes an MD5 salt from the first 8 bytes of b, which must be
// uniformly random (or look it): two 31-bit decimals joined by a dot,
// like the ones MSN sent ("1013928519.693957190"), with no spaces to trip
// any client's parser. The Notification server makes the salts of unknown
// users with it too, so that they come from the same distribution.
func SaltFrom(b []byte) string {
	return strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[:4])>>1), 10) + "." +
		strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[4:8])>>1), 10)
}
