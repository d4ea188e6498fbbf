package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// Windows Live Messenger (MSNP13–18): tokens from RST for every service,
// single sign-on with the proof key, the list read from the address book
// and kept with ADL/RML, and the machine GUID of MSNP16+.

// DefaultVersion is what a Client offers when Config.Version is 0:
// MSNP12, where offline messages arrive as a conversation from their
// sender (Message events), as bridges and bots written for the older
// versions expect. From MSNP13 they arrive as OfflineMessage events; set
// Config.Version to 18 to sign in as Windows Live Messenger 2009 does.
const DefaultVersion msnp.Version = 12

// DefaultRSTURL is where Windows Live Messenger asked for its tokens.
const DefaultRSTURL = "https://login.live.com/RST.srf"

// The services an MSNP13+ sign-in asks tokens for, as Windows Live
// Messenger 8 does; messengerclear.live.com gets the policy the server
// named in USR SSO S (MSNP15+).
const (
	TokenMessengerClear  = "messengerclear.live.com"  // the SSO ticket (MSNP15+)
	TokenMessenger       = "messenger.msn.com"        // the TWN ticket (MSNP13–14); OIM retrieval
	TokenContacts        = "contacts.msn.com"         // the address book
	TokenMessengerSecure = "messengersecure.live.com" // sending offline messages
	TokenStorage         = "storage.msn.com"          // the roaming profile
)

func liveAddresses(policy string) []rstAddress {
	return []rstAddress{
		{"http://Passport.NET/tb", ""},
		{TokenMessengerClear, policy},
		{TokenMessenger, "?id=507"},
		{TokenContacts, "MBI"},
		{TokenMessengerSecure, "MBI_SSL"},
		{TokenStorage, "MBI_SSL"},
	}
}

// rstURL is where an MSNP13+ sign-in asks for its tokens: RSTURL; else
// URL/RST.srf; else RST.srf beside the nexus or login server; else
// DefaultRSTURL.
func (p PassportConfig) rstURL() string {
	switch {
	case p.RSTURL != "":
		return p.RSTURL
	case p.URL != "":
		return strings.TrimSuffix(p.URL, "/") + "/RST.srf"
	}
	for _, s := range []string{p.LoginURL, p.NexusURL} {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host + "/RST.srf"
		}
	}
	return DefaultRSTURL
}

// addressBookURL is the base of the address book service: AddressBookURL,
// else the host the tokens came from.
func (p PassportConfig) addressBookURL() string {
	if p.AddressBookURL != "" {
		return strings.TrimSuffix(p.AddressBookURL, "/")
	}
	if u, err := url.Parse(p.rstURL()); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return "https://contacts.msn.com"
}

// Tokens returns the Passport tokens of the last MSNP13+ sign-in by the
// address they apply to, in lower case (TokenContacts,
// TokenMessengerSecure, TokenMessenger, TokenStorage…), each as the
// compact "t=…&p=…" text the web services take. Empty before MSNP13 (or
// before signing in).
func (cl *Client) Tokens() map[string]string {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return maps.Clone(cl.tokens)
}

// MachineGUID is the endpoint this client signs in as from MSNP16:
// Config.MachineGUID, or one made when the client was made, "{…}" in
// lower case.
func (cl *Client) MachineGUID() string { return cl.cfg.MachineGUID }

// newGUID makes a random (version 4) GUID, "{…}" in lower case.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("{%x-%x-%x-%x-%x}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// liveAnswer gets the tokens and makes the answer to "USR t TWN S params"
// (MSNP13–14: the messenger.msn.com ticket) or "USR t SSO S policy nonce"
// (MSNP15+: the messengerclear ticket and the nonce answered with its
// proof key, then the machine GUID from MSNP16).
func (cl *Client) liveAnswer(ctx context.Context, d *msnp.Dialect, usr *msnp.Command) ([]string, error) {
	cfg := &cl.cfg
	policy := "MBI_KEY_OLD"
	if d.Auth == msnp.AuthSSO && usr.Param(2) != "" {
		policy = usr.Param(2)
	}
	ans, err := requestTokens(ctx, cl.passportClient(), cfg.Passport.rstURL(), cfg.Email, cfg.Password, liveAddresses(policy))
	if err != nil {
		return nil, err
	}
	cl.mu.Lock()
	cl.tokens = ans.tokens
	cl.mu.Unlock()
	if d.Auth != msnp.AuthSSO {
		t, err := ans.ticket(TokenMessenger)
		return []string{t}, err
	}
	ticket, key := ans.tokens[TokenMessengerClear], ans.secrets[TokenMessengerClear]
	if ticket == "" || key == nil {
		return nil, fmt.Errorf("client: the RST answer has no %s ticket with its proof key: %w", TokenMessengerClear, ErrProtocol)
	}
	blob, err := auth.RPSResponse(key, usr.Param(3), nil)
	if err != nil {
		return nil, fmt.Errorf("client: answering the sign-in nonce %q: %w", usr.Param(3), ErrProtocol)
	}
	params := []string{ticket, blob}
	if d.MachineGUID {
		params = append(params, cl.cfg.MachineGUID)
	}
	return params, nil
}

// --- the address book ---

// onML reads the server's ADL or RML notice: someone put the user on
// their list (RL), or took them off.
func (s *nsSession) onML(cmd *msnp.Command) {
	if cmd.TrID != 0 {
		return // the answer to the client's own ADL/RML
	}
	m, err := msnp.ParseML(cmd.Payload)
	if err != nil {
		return
	}
	for _, c := range m.Contacts {
		if List(c.Lists)&Reverse == 0 {
			continue
		}
		if cmd.Name == "ADL" {
			s.onAdd(msnp.New("ADD", 0, "RL", "0", c.Email, msnp.EncodeParam(c.Friendly)))
		} else {
			s.onRem(msnp.New("REM", 0, "RL", c.Email))
		}
	}
}

// mlCommand is the ADL or RML that puts email on list, or takes them off.
func mlCommand(name string, list List, email string) *msnp.Command {
	ml := msnp.ML{Contacts: []msnp.MLContact{{Email: email, Lists: int(list), Network: msnp.NetworkMessenger}}}
	return msnp.New(name, 0).WithPayload(ml.Marshal())
}

// applyML records what the client's own ADL or RML changed, once the
// server said OK.
func (s *nsSession) applyML(name string, lists List, email string) {
	for _, list := range []List{Forward, Allow, Block} {
		switch {
		case !lists.Has(list):
		case name == "ADL":
			s.onAdd(msnp.New("ADD", 0, list.String(), "0", email, msnp.EncodeParam(email)))
		default:
			s.onRem(msnp.New("REM", 0, list.String(), email))
		}
	}
}

// sbHandle is how the user names itself to a switchboard: with its
// machine GUID from MSNP16 ("email;{guid}").
func (s *nsSession) sbHandle() string {
	email := s.cl.Self().Email
	if s.d.MachineGUID {
		return email + ";" + s.cl.cfg.MachineGUID
	}
	return email
}
