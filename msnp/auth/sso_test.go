package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// The test vector of msnp13-18.md §2.3: a zero proof key, the nonce that is
// base64 of bytes 0..47, a zero IV.
func TestRPSVector(t *testing.T) {
	key := make([]byte, 24)
	nonce := base64.StdEncoding.EncodeToString(func() []byte {
		b := make([]byte, 48)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}())
	if nonce != "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v" {
		t.Fatal(nonce)
	}
	if k2 := hex.EncodeToString(DeriveKey(key, labelHash)); k2 != "51fecc58efdcf0b3a156dd7fb63b2b35525abb6e44fb28bc" {
		t.Errorf("K2 = %s", k2)
	}
	if k3 := hex.EncodeToString(DeriveKey(key, labelEncryption)); k3 != "5fb82627f21ddea543ca19997f4ad06e16aa09a623b78152" {
		t.Errorf("K3 = %s", k3)
	}
	const want = "HAAAAAEAAAADZgAABIAAAAgAAAAUAAAASAAAAAAAAAAAAAAA8g97FIO36bgUzZf+dNYEujpQ1vT+aS1V/hS3ba9AuvwTeTvzG5XugmwsnK30g95koO50epTLsaNmJubWmXCTRS9H8zICXwBbjja2i+xRxk1taFRl5n/f2eNyuJg="
	blob, err := RPSResponse(key, nonce, make([]byte, 8))
	if err != nil || blob != want {
		t.Fatalf("RPSResponse = %s, %v", blob, err)
	}
	if !strings.HasPrefix(blob, "HAAAAAEAAAADZgAABIAAAAgAAAAUAAAASAAAA") {
		t.Error("header prefix")
	}
	if !VerifyRPS(key, nonce, want) {
		t.Fatal("the vector does not verify")
	}
}

// A blob verifies only with its own key and nonce, unaltered.
func TestVerifyRPS(t *testing.T) {
	key, nonce := NewProofKey(), NewNonce()
	if len(nonce) != NonceLen || len(key) != 24 {
		t.Fatalf("nonce %q, key %d bytes", nonce, len(key))
	}
	blob, err := RPSResponse(key, nonce, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !VerifyRPS(key, nonce, blob) {
		t.Fatal("a good blob failed")
	}
	other := NewProofKey()
	if VerifyRPS(other, nonce, blob) {
		t.Error("verified with another key: a stolen ticket would be enough")
	}
	if VerifyRPS(key, NewNonce(), blob) {
		t.Error("verified against another nonce: a replay would work")
	}
	raw, _ := base64.StdEncoding.DecodeString(blob)
	for _, i := range []int{0, 12, 30, 40, 60, len(raw) - 1} {
		bad := bytes.Clone(raw)
		bad[i] ^= 1
		if VerifyRPS(key, nonce, base64.StdEncoding.EncodeToString(bad)) {
			t.Errorf("a blob with byte %d changed verified", i)
		}
	}
	for _, bad := range []string{"", "!!!", base64.StdEncoding.EncodeToString(raw[:100]), blob + "AAAA"} {
		if VerifyRPS(key, nonce, bad) {
			t.Errorf("VerifyRPS(%q) = true", bad)
		}
	}
	if VerifyRPS(nil, nonce, blob) {
		t.Error("verified without a key")
	}
	if _, err := RPSResponse(key, "short", nil); err == nil {
		t.Error("RPSResponse took a short nonce")
	}
}

func FuzzVerifyRPS(f *testing.F) {
	key := make([]byte, 24)
	nonce := NewNonce()
	blob, _ := RPSResponse(key, nonce, nil)
	f.Add(blob, nonce)
	f.Add("HAAAAAEAAAADZgAABIAAAAgAAAAUAAAASAAAA", nonce)
	f.Fuzz(func(t *testing.T, blob, nonce string) {
		VerifyRPS(key, nonce, blob)
	})
}
