package auth

import (
	"strings"
	"testing"
)

func TestMD5Digest(t *testing.T) {
	got := MD5Digest("1013928519.693957190", "mypassword")
	if want := "6f3963009fc8a9d2b2ff137da0905c55"; got != want {
		t.Fatalf("MD5Digest = %s, want %s", got, want)
	}
}

func TestChallengeAnswer(t *testing.T) {
	tests := []struct {
		v                  int
		challenge, id, key string
		want               string
	}{
		{6, "11111111111111111111", "msmsgs@msnmsgr.com", "Q1P7W2E4J9R8U3S5", "3b6666b60157322b6fc6e41a115968f5"},
		{10, "11111111111111111111", "msmsgs@msnmsgr.com", "Q1P7W2E4J9R8U3S5", "3b6666b60157322b6fc6e41a115968f5"},
		{11, "22210219642164014968", "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL", "85ecb0db8f32113df79ce0892b9a102c"},
		{11, "36819795137093047918", "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL", "e7ad3cb09d3e9e4e7c720175984809e9"},
		{12, "21948129323261853323", "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL", "59bcf63ed21f44906c3d3e121ddbed65"},
		{15, "11533365622852247127", "PROD0113H11T8$X_", "RG@XY*28Q5QHS%Q5", "f086d1ded067186deca8dba2231602cf"},
	}
	for _, tt := range tests {
		got := ChallengeAnswer(tt.v, tt.challenge, tt.id, tt.key)
		if got != tt.want {
			t.Errorf("ChallengeAnswer(%d, %q, %q) = %s, want %s", tt.v, tt.challenge, tt.id, got, tt.want)
		}
		if !VerifyQRY(tt.v, tt.challenge, tt.id, tt.want) {
			t.Errorf("VerifyQRY(%d, %q, %q, %s) = false", tt.v, tt.challenge, tt.id, tt.want)
		}
		if !VerifyQRY(tt.v, tt.challenge, tt.id, strings.ToUpper(tt.want)) {
			t.Errorf("VerifyQRY rejects upper-case answer")
		}
	}
}

// The masked-XOR variant found in one server implementation gives a
// different answer; make sure it is refused.
func TestVerifyQRYRejectsMaskedXOR(t *testing.T) {
	const challenge, id = "22210219642164014968", "PROD0090YUAUV{2B"
	good := "85ecb0db8f32113df79ce0892b9a102c"
	bad := "85ecb05b" + good[8:] // the high bit of H0 cleared
	if VerifyQRY(11, challenge, id, bad) {
		t.Fatal("VerifyQRY accepted masked-XOR answer")
	}
}

func TestVerifyQRY(t *testing.T) {
	const chl = "11111111111111111111"
	md5ans := "3b6666b60157322b6fc6e41a115968f5"
	tests := []struct {
		name   string
		v      int
		id     string
		answer string
		want   bool
	}{
		{"msnp6 ok", 6, "msmsgs@msnmsgr.com", md5ans, true},
		{"msnp5 no challenges", 5, "msmsgs@msnmsgr.com", md5ans, false},
		{"msnp11 wrong algorithm", 11, "msmsgs@msnmsgr.com", md5ans, false},
		{"unknown product", 8, "PROD9999XXXXXXXX", md5ans, false},
		{"short answer", 8, "msmsgs@msnmsgr.com", md5ans[:31], false},
		{"long answer", 8, "msmsgs@msnmsgr.com", md5ans + "0", false},
		{"wrong answer", 8, "msmsgs@msnmsgr.com", strings.Repeat("0", 32), false},
		{"empty", 8, "", "", false},
		{"msnp13 key at msnp15", 15, "PROD01065C%ZFN6F", ChallengeAnswerMSNP11(chl, "PROD01065C%ZFN6F", "O4BG@C7BWLYQX?5G"), false},
		{"msnp15 key at msnp18", 18, "PROD0120PW!CCV9@", ChallengeAnswerMSNP11(chl, "PROD0120PW!CCV9@", "C1BX{V4W}Q3*10SM"), true},
		{"msnp12 key at msnp10", 10, "PROD0104U6VVM{UJ", ChallengeAnswerMD5(chl, "VK67B}379XYM5}$T"), true},
		{"msnp19", 19, "PROD0120PW!CCV9@", ChallengeAnswerMSNP11(chl, "PROD0120PW!CCV9@", "C1BX{V4W}Q3*10SM"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyQRY(tt.v, chl, tt.id, tt.answer); got != tt.want {
				t.Fatalf("VerifyQRY = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnswerChallengeEveryVersion(t *testing.T) {
	for v := 2; v <= 18; v++ {
		chl := NewChallenge()
		id, ans, ok := AnswerChallenge(v, chl)
		if v < MinChallengeVersion {
			if ok {
				t.Errorf("MSNP%d: AnswerChallenge ok, want no key", v)
			}
			continue
		}
		if !ok || len(ans) != ChallengeLen {
			t.Fatalf("MSNP%d: AnswerChallenge = %q, %q, %v", v, id, ans, ok)
		}
		if !VerifyQRY(v, chl, id, ans) {
			t.Errorf("MSNP%d: VerifyQRY refuses own answer (%s)", v, id)
		}
	}
	if id, _, _ := AnswerChallenge(11, "1"); id != "PROD0090YUAUV{2B" {
		t.Errorf("MSNP11 default product = %q", id)
	}
}

func TestProductKeys(t *testing.T) {
	keys := ProductKeys()
	if len(keys) != 17 {
		t.Errorf("len(ProductKeys()) = %d, want 17", len(keys))
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k.ID] {
			t.Errorf("duplicate product ID %q", k.ID)
		}
		seen[k.ID] = true
		if len(k.Key) != 16 || k.Since < MinChallengeVersion || k.Since > k.MaxVersion {
			t.Errorf("bad entry %+v", k)
		}
	}
	keys[0].ID = "changed"
	if _, ok := LookupProductKey("msmsgs@msnmsgr.com"); !ok {
		t.Error("ProductKeys returned the table itself")
	}
}

func TestNewChallenge(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c := NewChallenge()
		if len(c) != 20 || c[0] == '0' {
			t.Fatalf("NewChallenge = %q", c)
		}
		for _, r := range c {
			if r < '0' || r > '9' {
				t.Fatalf("NewChallenge = %q: not decimal", c)
			}
		}
		if seen[c] {
			t.Fatalf("NewChallenge repeated %q", c)
		}
		seen[c] = true
	}
}

func BenchmarkChallengeAnswerMSNP11(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ChallengeAnswerMSNP11("22210219642164014968", "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL")
	}
}

func BenchmarkVerifyQRY11(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		VerifyQRY(11, "22210219642164014968", "PROD0090YUAUV{2B", "85ecb0db8f32113df79ce0892b9a102c")
	}
}
