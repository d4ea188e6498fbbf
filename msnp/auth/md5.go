package auth

import (
	"crypto/md5"
	"encoding/hex"
)

// MD5Digest returns the lower-case hex MD5 digest of salt followed by
// password. It is the answer a client sends in "USR trid MD5 S <digest>"
// after the server sent "USR trid MD5 S <salt>" (MSNP2–7).
//
// A server that stores passwords in a form that allows it (or that stores the
// digest for a fixed salt) compares the client's answer with this value.
func MD5Digest(salt, password string) string {
	h := md5.New()
	h.Write([]byte(salt))
	h.Write([]byte(password))
	var sum [md5.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}
