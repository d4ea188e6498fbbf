package auth

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// MSNP15+ single sign-on (SSO). The client gets from RST.srf a ticket for
// messengerclear.live.com and, with it, a proof key (the token's
// BinarySecret). The Notification server sends a nonce ("USR t SSO S
// MBI_KEY_OLD <nonce>"); the client answers with the ticket and an RPS
// blob that only the holder of the proof key can make:
//
//	header (7 little-endian uint32): 28, 1 (CBC), 0x6603 (3DES),
//	        0x8004 (SHA-1), 8 (IV length), 20 (hash length), 72 (cipher length)
//	IV (8 bytes), HMAC-SHA1(K2, nonce) (20), 3DES-CBC(K3, IV, nonce ‖ 8×0x08) (72)
//
// with K2 and K3 derived from the proof key (DeriveKey). The blob travels in
// base64.

// The labels K2 and K3 are derived with.
const (
	labelHash       = "WS-SecureConversationSESSION KEY HASH"
	labelEncryption = "WS-SecureConversationSESSION KEY ENCRYPTION"
)

// SSOPolicy is the policy the Notification server names in "USR t SSO S
// <policy> <nonce>"; the client asks RST.srf for messengerclear.live.com
// under it.
const SSOPolicy = "MBI_KEY_OLD"

// NonceLen is the length of an SSO nonce: base64 of 48 bytes. Clients copy
// exactly 72 bytes of ciphertext (64 + 8 of padding), so it must be 64.
const NonceLen = 64

// NewNonce returns a random SSO nonce.
func NewNonce() string {
	var b [48]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// NewProofKey returns a random proof key (the RST BinarySecret): 24 bytes.
func NewProofKey() []byte {
	b := make([]byte, 24)
	rand.Read(b)
	return b
}

// DeriveKey is the WS-SecureConversation key derivation SSO uses:
// h1 = HMAC(k, label), h2 = HMAC(k, h1‖label), h3 = HMAC(k, h1),
// h4 = HMAC(k, h3‖label); the key is h2 ‖ h4[:4] (24 bytes).
func DeriveKey(key []byte, label string) []byte {
	mac := func(parts ...[]byte) []byte {
		h := hmac.New(sha1.New, key)
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	l := []byte(label)
	h1 := mac(l)
	h2 := mac(h1, l)
	h3 := mac(h1)
	h4 := mac(h3, l)
	return append(h2[:20:20], h4[:4]...)
}

const (
	rpsHeaderLen = 28
	rpsIVLen     = 8
	rpsHashLen   = 20
	rpsCipherLen = 72
	rpsLen       = rpsHeaderLen + rpsIVLen + rpsHashLen + rpsCipherLen
)

var rpsHeader = [7]uint32{rpsHeaderLen, 1, 0x6603, 0x8004, rpsIVLen, rpsHashLen, rpsCipherLen}

// ErrRPS is returned for an RPS blob that cannot be checked or made.
var ErrRPS = errors.New("auth: bad SSO response")

// RPSResponse is what a client sends after the ticket: the base64 RPS blob
// for nonce, made with proofKey and the 8-byte iv (nil: random).
func RPSResponse(proofKey []byte, nonce string, iv []byte) (string, error) {
	if len(nonce) != NonceLen {
		return "", ErrRPS
	}
	if iv == nil {
		iv = make([]byte, rpsIVLen)
		rand.Read(iv)
	}
	if len(iv) != rpsIVLen {
		return "", ErrRPS
	}
	hash, ciphertext, err := rpsParts(proofKey, nonce, iv)
	if err != nil {
		return "", err
	}
	b := make([]byte, 0, rpsLen)
	for _, v := range rpsHeader {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = append(b, iv...)
	b = append(b, hash...)
	b = append(b, ciphertext...)
	return base64.StdEncoding.EncodeToString(b), nil
}

// VerifyRPS is what the server does with "USR t SSO S ticket blob": it
// reports whether blob answers nonce with the proof key issued with the
// ticket. Comparisons take constant time.
func VerifyRPS(proofKey []byte, nonce, blob string) bool {
	b, err := base64.StdEncoding.DecodeString(blob)
	if err != nil || len(b) != rpsLen || len(nonce) != NonceLen {
		return false
	}
	for i, v := range rpsHeader {
		if binary.LittleEndian.Uint32(b[4*i:]) != v {
			return false
		}
	}
	iv := b[rpsHeaderLen : rpsHeaderLen+rpsIVLen]
	gotHash := b[rpsHeaderLen+rpsIVLen : rpsHeaderLen+rpsIVLen+rpsHashLen]
	gotCipher := b[rpsHeaderLen+rpsIVLen+rpsHashLen:]
	hash, ciphertext, err := rpsParts(proofKey, nonce, iv)
	if err != nil {
		return false
	}
	// Both compared, so the time taken does not say which was wrong.
	okHash := subtle.ConstantTimeCompare(hash, gotHash)
	okCipher := subtle.ConstantTimeCompare(ciphertext, gotCipher)
	return okHash&okCipher == 1
}

// rpsParts computes the hash and ciphertext of an RPS blob.
func rpsParts(proofKey []byte, nonce string, iv []byte) (hash, ciphertext []byte, err error) {
	if len(proofKey) == 0 {
		return nil, nil, ErrRPS
	}
	k2 := DeriveKey(proofKey, labelHash)
	k3 := DeriveKey(proofKey, labelEncryption)
	h := hmac.New(sha1.New, k2)
	h.Write([]byte(nonce))
	hash = h.Sum(nil)

	block, err := des.NewTripleDESCipher(k3)
	if err != nil {
		return nil, nil, ErrRPS
	}
	// The nonce and eight bytes of 0x08: PKCS#5 padding for a nonce whose
	// length is a multiple of 8, which is what clients do.
	plain := make([]byte, 0, len(nonce)+8)
	plain = append(plain, nonce...)
	for range 8 {
		plain = append(plain, 8)
	}
	ciphertext = make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ciphertext, plain)
	return hash, ciphertext, nil
}
