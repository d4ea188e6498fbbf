//go:build goolm

package matrix

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/nudge-im/nudge/core/adminapi"
)

// Hosted accounts. The bridge names a Matrix user's account after their
// Matrix ID and derives its password from a secret in the config, so it
// keeps no password of its own: logging in again after a logout, or after
// the bridge's database was lost, signs in to the same account. An account
// of that name that the bridge did not make (its derived password does not
// work) is refused unless hosted.adopt_existing says otherwise, so a
// Matrix user cannot take over an MSN user's account by sharing a name.

// hostedEmail maps a Matrix ID to the address of its hosted account:
// @alice:example.org → alice@example.org, or alice@<domain> when the
// config names an e-mail domain. It refuses localparts an MSN address
// cannot carry.
func hostedEmail(mxid id.UserID, domain string) (string, error) {
	local, server, err := mxid.Parse()
	if err != nil {
		return "", fmt.Errorf("%s is not a Matrix user ID: %w", mxid, err)
	}
	if domain == "" {
		domain = server
		if i := strings.LastIndexByte(domain, ':'); i >= 0 && !strings.HasSuffix(domain, "]") {
			domain = domain[:i] // a port is not part of an e-mail domain
		}
	}
	domain = strings.ToLower(domain)
	if !strings.Contains(domain, ".") {
		return "", fmt.Errorf("the homeserver's domain %q has no dot, which MSN addresses need: set network.hosted.email_domain", domain)
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return "", fmt.Errorf("the domain %q cannot be an MSN address's domain: set network.hosted.email_domain", domain)
		}
	}
	if local == "" {
		return "", fmt.Errorf("%s has an empty localpart", mxid)
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		ok := 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte(".-_=+/", c) >= 0
		if !ok {
			return "", fmt.Errorf("the Matrix localpart %q has characters an MSN address cannot carry: log in with a password instead", local)
		}
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", fmt.Errorf("the Matrix localpart %q cannot start or end an MSN address: log in with a password instead", local)
	}
	email := local + "@" + domain
	if len(email) > 129 {
		return "", fmt.Errorf("%s is too long for an MSN address", email)
	}
	return email, nil
}

// hostedPassword derives a hosted account's password from the secret.
func hostedPassword(secret, email string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("nudge-matrix-hosted:" + strings.ToLower(email)))
	return hex.EncodeToString(m.Sum(nil))[:40]
}

// hostedAccounts makes hosted accounts through a Nudge server's admin API.
type hostedAccounts struct {
	cfg *HostedConfig
}

func (h *hostedAccounts) admin() (*adminapi.Client, error) {
	tok, err := h.cfg.adminToken()
	if err != nil {
		return nil, err
	}
	return adminapi.New(h.cfg.AdminURL, tok), nil
}

// ensure makes the account if there is none. created reports whether it
// did; when the account existed already, the caller must check that the
// derived password works (or adopt it, which ensure does when allowed).
func (h *hostedAccounts) ensure(ctx context.Context, email, friendly string) (password string, created bool, err error) {
	api, err := h.admin()
	if err != nil {
		return "", false, err
	}
	password = hostedPassword(h.cfg.PasswordSecret, email)
	acct := adminapi.NewAccount{Email: email, Password: password, FriendlyName: friendly}
	if h.cfg.AdoptExisting {
		_, err = api.CreateOrResetAccount(ctx, acct)
		if err != nil {
			return "", false, fmt.Errorf("making the MSN account %s through the admin API (%s): %w", email, h.cfg.AdminURL, err)
		}
		return password, false, nil
	}
	_, err = api.CreateAccount(ctx, acct)
	switch {
	case err == nil:
		return password, true, nil
	case errors.Is(err, adminapi.ErrExists):
		return password, false, nil
	case errors.Is(err, adminapi.ErrUnauthorized):
		return "", false, fmt.Errorf("the admin API at %s refused the bridge's token: check network.hosted.admin_token", h.cfg.AdminURL)
	default:
		return "", false, fmt.Errorf("making the MSN account %s through the admin API (%s): %w", email, h.cfg.AdminURL, err)
	}
}
