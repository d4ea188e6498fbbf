//go:build goolm

package matrix

import (
	"context"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/id"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/core/adminapi"
)

// Hosted accounts, with msnbridge's policy: an account is the Matrix user's
// it was made for, recorded by their Matrix ID; its address comes from the
// localpart once (@alice:example.org → alice@example.org) and a newcomer
// whose address is taken — by an MSN user, or by @alice of another
// homeserver when email_domain puts both on one domain — gets the next
// free one (alice-2@example.org). The bridge only creates accounts. Their
// passwords derive from a secret and the Matrix ID, so that a bridge that
// lost its database finds its accounts again by signing in with them.

// hostedPurpose separates these derived passwords from any other use of
// the secret.
const hostedPurpose = "nudge-matrix-hosted"

// hostedDomain is the domain of a Matrix user's hosted address: the
// configured one, or their homeserver's (without a port). It refuses a
// domain an MSN address cannot have.
func hostedDomain(mxid id.UserID, configured string) (string, error) {
	_, server, err := mxid.Parse()
	if err != nil {
		return "", fmt.Errorf("%s is not a Matrix user ID: %w", mxid, err)
	}
	domain := configured
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
	return domain, nil
}

// hostedLocal is the local part a Matrix user's address is made from.
func hostedLocal(mxid id.UserID) string {
	local, _, _ := mxid.Parse()
	if msnbridge.LocalPart(local) == "" {
		return "matrix-user"
	}
	return local
}

// openHosted prepares the hosted-account policy: the admin API and the
// table of owners in the bridge's database.
func (mc *Connector) openHosted(ctx context.Context) error {
	tok, err := mc.Config.Hosted.adminToken()
	if err != nil {
		return err
	}
	owners, err := msnbridge.OpenOwners(ctx, mc.Bridge.DB.RawDB, "nudge_msn_hosted")
	if err != nil {
		return err
	}
	secret := mc.Config.Hosted.PasswordSecret
	mc.hosted = &msnbridge.Hosted{
		Admin:  adminapi.New(mc.Config.Hosted.AdminURL, tok),
		Owners: owners,
		NewPassword: func(owner string) string {
			return msnbridge.DerivedPassword(secret, hostedPurpose, owner)
		},
		Proof: func(ctx context.Context, email, password string) bool {
			cl, err := mc.dial(ctx, &UserLoginMetadata{Email: email, Password: password})
			if err != nil {
				return false
			}
			cl.Close()
			return true
		},
	}
	return nil
}

// hostedAccount returns (making it when there is none) the hosted account
// of a Matrix user.
func (mc *Connector) hostedAccount(ctx context.Context, mxid id.UserID, friendly string) (msnbridge.HostedAccount, error) {
	domain, err := hostedDomain(mxid, mc.Config.Hosted.EmailDomain)
	if err != nil {
		return msnbridge.HostedAccount{}, err
	}
	acct, _, err := mc.hosted.Account(ctx, string(mxid), msnbridge.Want{Local: hostedLocal(mxid), Domain: domain, FriendlyName: friendly})
	return acct, err
}

// refusedHosted makes a hosted account again when its server refused the
// password because its admin deleted it; an account that exists is left
// alone (its password was changed: the user must ask).
func (mc *Connector) refusedHosted(ctx context.Context, owner id.UserID, meta *UserLoginMetadata) bool {
	if mc.hosted == nil {
		return false
	}
	made, err := mc.hosted.Recreate(ctx, msnbridge.HostedAccount{Owner: string(owner), Email: meta.Email, Password: meta.Password}, "")
	if err != nil {
		mc.Bridge.Log.Warn().Err(err).Str("email", meta.Email).Msg("Could not make a hosted account again")
	}
	return made
}
