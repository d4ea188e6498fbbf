package passport

import (
	"net/url"
	"strings"
)

// Limits on what a Passport 1.4 Authorization header may carry. The e-mail
// and password limits are generous next to the store's, so the store still
// gives its own answer for values slightly too long.
const (
	maxEmailLen    = 256
	maxPasswordLen = 1024
)

// parseAuthorization reads the credentials from a Passport 1.4 Authorization
// header value:
//
//	Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=<urlenc email>,pwd=<urlenc pwd>,lc=1033,…
//
// The scheme and keys are matched case-insensitively; the other keys (the
// USR TWN S parameters the client echoes) are ignored. Values are
// percent-decoded ('+' stays '+'); a value that does not decode is used as
// sent. ok is false unless both an e-mail and a password are present and
// within limits.
func parseAuthorization(h string) (email, password string, ok bool) {
	h = strings.TrimSpace(h)
	i := strings.IndexAny(h, " \t")
	if i < 0 || !strings.EqualFold(h[:i], "Passport1.4") {
		return "", "", false
	}
	rest := h[i+1:]
	for rest != "" {
		var item string
		item, rest, _ = strings.Cut(rest, ",")
		k, v, found := strings.Cut(item, "=")
		if !found {
			continue
		}
		switch k = strings.TrimSpace(k); {
		case strings.EqualFold(k, "sign-in"):
			email = authValue(v)
		case strings.EqualFold(k, "pwd"):
			password = authValue(v)
		}
	}
	email = strings.TrimSpace(email)
	if email == "" || password == "" || len(email) > maxEmailLen || len(password) > maxPasswordLen {
		return "", "", false
	}
	return email, password, true
}

func authValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		v = v[1 : len(v)-1]
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}
