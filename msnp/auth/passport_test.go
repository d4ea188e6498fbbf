package auth

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseTicket(t *testing.T) {
	tests := []struct {
		in              string
		ticket, profile string
		err             error
	}{
		{"t=abc&p=def", "abc", "def", nil},
		{"t=53*1hAu8ADuD3TEwdXoOMi08sD*2!cMrntTwVMTjoB3p6stWTqzbkKZPVQzA5NOt19SLI60PY!b8K1uhAQKBACa8*Tg$$&p=MSPProf",
			"53*1hAu8ADuD3TEwdXoOMi08sD*2!cMrntTwVMTjoB3p6stWTqzbkKZPVQzA5NOt19SLI60PY!b8K1uhAQKBACa8*Tg$$", "MSPProf", nil},
		{"t=abc&amp;p=def", "abc", "def", nil},
		{"t=abc&p=", "abc", "", nil},
		{"t=abc", "abc", "", nil},
		{"p=def&t=abc", "abc", "def", nil},
		{"t=abc&x=1&p=def", "abc", "def", nil},
		{"t=a=b&p=c", "a=b", "c", nil},
		{"abcdefghij0123456789", "abcdefghij0123456789", "", nil},
		{"", "", "", ErrEmptyTicket},
		{"t=&p=x", "", "", ErrEmptyTicket},
		{"p=x", "", "", ErrEmptyTicket},
		{"a&b", "", "", ErrBadTicket},
		{"t=a b", "", "", ErrBadTicket},
		{"t=a\r\n", "", "", ErrBadTicket},
	}
	for _, tt := range tests {
		ticket, profile, err := ParseTicket(tt.in)
		if !errors.Is(err, tt.err) || ticket != tt.ticket || profile != tt.profile {
			t.Errorf("ParseTicket(%q) = %q, %q, %v; want %q, %q, %v", tt.in, ticket, profile, err, tt.ticket, tt.profile, tt.err)
		}
	}
}

func TestTicketRoundTrip(t *testing.T) {
	s := FormatTicket("tok*en!$", "prof")
	if s != "t=tok*en!$&p=prof" {
		t.Fatalf("FormatTicket = %q", s)
	}
	ticket, profile, err := ParseTicket(s)
	if err != nil || ticket != "tok*en!$" || profile != "prof" {
		t.Fatalf("ParseTicket(%q) = %q, %q, %v", s, ticket, profile, err)
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		in   string
		want Params
		err  bool
	}{
		{"", nil, false},
		{"lc=1033,id=507", Params{{Key: "lc", Value: "1033"}, {Key: "id", Value: "507"}}, false},
		{"a='x,y',b=2", Params{{Key: "a", Value: "x,y"}, {Key: "b", Value: "2"}}, false},
		{" a = 1 , prompt ,b=", Params{{Key: "a", Value: "1"}, {Key: "prompt", NoValue: true}, {Key: "b"}}, false},
		{"a=1,,b=2,", Params{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}, false},
		{"flag", Params{{Key: "flag", NoValue: true}}, false},
		{"a='unterminated", nil, true},
		{"a='x'y", nil, true},
		{"=1", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseParams(tt.in)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseParams(%q) = %#v, %v; want %#v, err=%v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

const usrTWNS = "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1062764229,kpp=1,kv=5,ver=2.1.0173.1,tpf=43f8a4c8ed940c04e3740be46c4d1619"

func TestParsePassportAuthorization(t *testing.T) {
	h := "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=example%40passport.com,pwd=p%40ss%2Cword+1," + usrTWNS
	a, err := ParsePassportAuthorization(h)
	if err != nil {
		t.Fatal(err)
	}
	if a.OrgVerb != "GET" || a.OrgURL != "http://messenger.msn.com" || a.SignIn != "example@passport.com" || a.Password != "p@ss,word+1" {
		t.Errorf("got %+v", a)
	}
	if len(a.Params) != 10 || a.Params.Get("id") != "507" || a.Params.Get("TPF") != "43f8a4c8ed940c04e3740be46c4d1619" {
		t.Errorf("Params = %v", a.Params)
	}

	bad := []string{
		"",
		"Basic dXNlcjpwdw==",
		"Passport1.4",
		"Passport1.4 pwd=x",
		"Passport1.4 sign-in=",
		"Passport1.4x sign-in=a",
		"Passport1.4 sign-in='a",
	}
	for _, h := range bad {
		if _, err := ParsePassportAuthorization(h); err == nil {
			t.Errorf("ParsePassportAuthorization(%q) succeeded", h)
		}
	}

	// Tolerated: lower-case scheme and keys, invalid escapes kept as sent.
	a, err = ParsePassportAuthorization("passport1.4  SIGN-IN=a%40b.c,PWD=100%")
	if err != nil || a.SignIn != "a@b.c" || a.Password != "100%" {
		t.Errorf("lenient parse = %+v, %v", a, err)
	}
}

func TestPassportAuthorizationRoundTrip(t *testing.T) {
	a, err := NewPassportAuthorization("user+tag@example.com", "p a,s=s'%", usrTWNS)
	if err != nil {
		t.Fatal(err)
	}
	h := a.String()
	want := "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger.msn.com,sign-in=user%2Btag%40example.com,pwd=p%20a%2Cs%3Ds%27%25," + usrTWNS
	if h != want {
		t.Errorf("String() =\n%s\nwant\n%s", h, want)
	}
	b, err := ParsePassportAuthorization(h)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("round trip: %+v != %+v", b, a)
	}
}

func TestParseAuthenticationInfo(t *testing.T) {
	h := "Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec,from-PP='t=53*1hAu8ADuD3TEwdXoOMi08sD*2!cMrntTwVMTjoB3p6stWTqzbkKZPVQzA5NOt19SLI60PY!b8K1uhAQKBACa8*Tg$$&p=MSPProf,x',ru=http://messenger.msn.com"
	ai, err := ParseAuthenticationInfo(h)
	if err != nil {
		t.Fatal(err)
	}
	if ai.Status != "success" || ai.FromPP != "t=53*1hAu8ADuD3TEwdXoOMi08sD*2!cMrntTwVMTjoB3p6stWTqzbkKZPVQzA5NOt19SLI60PY!b8K1uhAQKBACa8*Tg$$&p=MSPProf,x" {
		t.Errorf("got %+v", ai)
	}
	if ai.Params.Get("ru") != "http://messenger.msn.com" || len(ai.Params) != 6 {
		t.Errorf("Params = %v", ai.Params)
	}
	if ai.String() != h {
		t.Errorf("String() = %s", ai.String())
	}

	// Minimal success and the failure header.
	ai, err = ParseAuthenticationInfo("Passport1.4 da-status=success,from-PP='abcdefghij0123456789'")
	if err != nil || ai.FromPP != "abcdefghij0123456789" {
		t.Errorf("minimal: %+v, %v", ai, err)
	}
	ai, err = ParseAuthenticationInfo("Passport1.4 da-status=failed,srealm=Passport.NET,ts=-3,prompt,cburl=http://x/y.gif,cbtxt=Sign%20in")
	if err != nil || ai.Status != "failed" || ai.FromPP != "" {
		t.Errorf("failed: %+v, %v", ai, err)
	}
	for _, h := range []string{"", "Passport1.4 da-status=success", "Passport1.4 from-PP='t=x", "Bearer x"} {
		if _, err := ParseAuthenticationInfo(h); err == nil {
			t.Errorf("ParseAuthenticationInfo(%q) succeeded", h)
		}
	}

	ai = NewAuthenticationInfo(FormatTicket("tok", "prof"))
	back, err := ParseAuthenticationInfo(ai.String())
	if err != nil || back.FromPP != "t=tok&p=prof" {
		t.Errorf("NewAuthenticationInfo round trip: %+v, %v", back, err)
	}
}

func TestParsePassportURLs(t *testing.T) {
	tests := []struct {
		in, login, url string
	}{
		{"DARealm=Passport.Net,DALogin=login.passport.com/login2.srf,ConfigVersion=15", "login.passport.com/login2.srf", "https://login.passport.com/login2.srf"},
		{"DALogin=https://login.example.org/login", "https://login.example.org/login", "https://login.example.org/login"},
		{" dalogin=h/p ", "h/p", "https://h/p"},
	}
	for _, tt := range tests {
		u, err := ParsePassportURLs(tt.in)
		if err != nil || u.DALogin != tt.login || u.LoginURL() != tt.url {
			t.Errorf("ParsePassportURLs(%q) = %+v, %v", tt.in, u, err)
		}
	}
	if _, err := ParsePassportURLs("DARealm=Passport.Net"); !errors.Is(err, ErrNoDALogin) {
		t.Errorf("missing DALogin: %v", err)
	}
	u := &PassportURLs{DARealm: "Passport.Net", DALogin: "h/login2.srf"}
	if u.String() != "DARealm=Passport.Net,DALogin=h/login2.srf" {
		t.Errorf("String() = %s", u.String())
	}
}

func FuzzParseTicket(f *testing.F) {
	for _, s := range []string{"t=abc&p=def", "t=abc&amp;p=", "bare", "p=x&t=y", "", "t=&p="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ticket, profile, err := ParseTicket(s)
		if err != nil {
			return
		}
		if ticket == "" {
			t.Fatalf("ParseTicket(%q): empty ticket without error", s)
		}
		if strings.Contains(ticket, "&") || strings.Contains(profile, "&") {
			t.Fatalf("ParseTicket(%q) = %q, %q: separator in value", s, ticket, profile)
		}
		t2, p2, err := ParseTicket(FormatTicket(ticket, profile))
		if err != nil || t2 != ticket || p2 != profile {
			t.Fatalf("round trip of %q: %q, %q, %v", s, t2, p2, err)
		}
	})
}

func FuzzParsePassportAuthorization(f *testing.F) {
	f.Add("Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=a%40b.c,pwd=x," + usrTWNS)
	f.Add("Passport1.4 sign-in='a,b',pwd=%")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParsePassportAuthorization(h)
		if err != nil {
			return
		}
		b, err := ParsePassportAuthorization(a.String())
		if err != nil {
			t.Fatalf("reparse of %q: %v", a.String(), err)
		}
		if b.SignIn != a.SignIn || b.Password != a.Password || b.OrgURL != a.OrgURL {
			t.Fatalf("round trip changed %+v to %+v", a, b)
		}
	})
}

func FuzzParseAuthenticationInfo(f *testing.F) {
	f.Add("Passport1.4 da-status=success,tname=MSPAuth,from-PP='t=x&p=y',ru=http://messenger.msn.com")
	f.Add("Passport1.4 da-status=failed,prompt")
	f.Fuzz(func(t *testing.T, h string) {
		ai, err := ParseAuthenticationInfo(h)
		if err != nil {
			return
		}
		_ = ai.String()
	})
}

func FuzzParsePassportURLs(f *testing.F) {
	f.Add("DARealm=Passport.Net,DALogin=login.passport.com/login2.srf,ConfigVersion=15")
	f.Fuzz(func(t *testing.T, h string) {
		u, err := ParsePassportURLs(h)
		if err != nil {
			return
		}
		if u.DALogin == "" {
			t.Fatal("empty DALogin without error")
		}
		_ = u.LoginURL()
	})
}
