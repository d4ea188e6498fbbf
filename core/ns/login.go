package ns

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/core/throttle"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
	"github.com/nudge-im/nudge/msnp/message"
)

// handleVER negotiates the version: the highest both sides speak, echoed
// with CVR0 when the client offered it; "VER trid 0" and a disconnect when
// nothing is common. A second VER is out of order.
func (s *session) handleVER(c *msnp.Command) error {
	if s.version != 0 {
		return s.fail(c, msnp.ErrNotExpected)
	}
	v, cvr0 := msnp.Negotiate(c.Params, s.srv.cfg.MinVersion, s.srv.cfg.MaxVersion)
	if v == 0 {
		s.reply(c, "0")
		s.log.Info().Strs("offered", c.Params).Msg("no common protocol version")
		return errClose
	}
	s.version, s.dialect, s.cvr0 = v, v.Dialect(), cvr0
	if cvr0 {
		s.reply(c, v.String(), msnp.CVR0)
	} else {
		s.reply(c, v.String())
	}
	return nil
}

// handleCVR answers the client version check with the client's own version
// as the recommended and minimum one, so that no client is told to upgrade.
func (s *session) handleCVR(c *msnp.Command) error {
	if len(c.Params) < 6 {
		return s.fail(c, msnp.ErrBadCVR)
	}
	ver := c.Params[5]
	s.reply(c, ver, ver, ver, "http://messenger.msn.com", "http://messenger.msn.com")
	return nil
}

// handleINF lists the authentication methods; MSNP8 removed it.
func (s *session) handleINF(c *msnp.Command) error {
	if s.dialect == nil {
		return s.fail(c, msnp.ErrNotExpected)
	}
	if !s.dialect.INF {
		return errClose
	}
	s.reply(c, string(msnp.AuthMD5))
	return nil
}

// handleUSR signs the client in: "I" names the user, "S" proves who it is.
// The proof is an MD5 digest (MSNP2–7), a Passport ticket (TWN, MSNP8–14)
// or a ticket and the answer to a nonce made with its proof key (SSO,
// MSNP15+; see ssoProof).
func (s *session) handleUSR(c *msnp.Command) error {
	if s.dialect == nil {
		return s.failClose(c, msnp.ErrNotExpected)
	}
	if len(c.Params) < 3 {
		return s.failClose(c, msnp.ErrSyntax)
	}
	method, stage, arg := msnp.Auth(c.Params[0]), c.Params[1], c.Params[2]
	if method != s.dialect.Auth {
		s.log.Info().Str("method", string(method)).Msg("login method not allowed for this version")
		return s.failClose(c, msnp.ErrAuthFailed)
	}
	switch stage {
	case "I":
		email := strings.ToLower(arg)
		if !validHandle(email) {
			return s.failClose(c, msnp.ErrInvalidPrincipal)
		}
		s.loginEmail = email
		if s.srv.cfg.Referral != "" || s.srv.cfg.Refer != nil {
			return s.refer(c)
		}
		if method == msnp.AuthMD5 {
			return s.md5Initial(c, email)
		}
		if s.dialect.GCFPush {
			// Windows Live Messenger takes its policies here, before the
			// challenge.
			s.send(msnp.New("GCF", 0).WithPayload([]byte(policies)))
		}
		if method == msnp.AuthSSO {
			s.ssoNonce = auth.NewNonce()
			s.reply(c, string(msnp.AuthSSO), "S", auth.SSOPolicy, s.ssoNonce)
			return nil
		}
		s.reply(c, string(msnp.AuthTWN), "S", twnParams())
		return nil
	case "S":
		if s.loginEmail == "" {
			return s.failClose(c, msnp.ErrNotExpected)
		}
		var ok bool
		switch method {
		case msnp.AuthMD5:
			done, err := s.srv.cfg.SignIn.Attempt(s.srv.closing, "md5", s.conn.RemoteAddr().String(), s.loginEmail)
			if err != nil {
				if errors.Is(err, throttle.ErrRefused) {
					s.log.Info().Str("user", s.loginEmail).Msg("sign-in refused: too many failed sign-ins")
					return s.failClose(c, msnp.ErrServerBusy)
				}
				return errClose
			}
			ok = s.md5Digest != "" && subtle.ConstantTimeCompare([]byte(strings.ToLower(arg)), []byte(s.md5Digest)) == 1
			done(ok)
		case msnp.AuthTWN:
			ticket, _, err := auth.ParseTicket(arg)
			ok = err == nil && s.srv.cfg.Tickets != nil && s.srv.cfg.Tickets.Redeem(ticket, s.loginEmail)
		case msnp.AuthSSO:
			ok = s.ssoProof(arg, c.Param(3), c.Param(4))
		}
		s.countLogin(method, ok)
		if !ok {
			s.log.Info().Str("user", s.loginEmail).Msg("authentication failed")
			return s.failClose(c, msnp.ErrAuthFailed)
		}
		return s.signIn(c)
	}
	return s.failClose(c, msnp.ErrInvalidParameter)
}

// ssoProof checks "USR t SSO S ticket blob [machine-guid]": the ticket of
// messengerclear.live.com, redeemed once, and the blob made from the nonce
// with the proof key RST gave the ticket's holder (msnp/auth.VerifyRPS), so
// that someone who only saw the ticket on its way cannot sign in with it.
// From MSNP16 the client also names its machine, the endpoint this session
// is (with or without braces, in any case).
func (s *session) ssoProof(ticketArg, blob, guid string) bool {
	nonce := s.ssoNonce
	s.ssoNonce = "" // one answer per nonce
	if nonce == "" || blob == "" || s.srv.cfg.Tickets == nil {
		return false
	}
	ticket, _, err := auth.ParseTicket(ticketArg)
	if err != nil {
		return false
	}
	key, ok := s.srv.cfg.Tickets.RedeemKey(ticket, s.loginEmail)
	if !ok || !auth.VerifyRPS(key, nonce, blob) {
		return false
	}
	if s.dialect.MachineGUID {
		id, ok := msnp.NormalizeGUID(guid)
		if !ok {
			return false
		}
		s.ep.Store(&msnp.Endpoint{ID: id})
	}
	return true
}

// md5Initial sends the user's salt. An unknown user gets a made-up salt, so
// that USR I does not reveal which accounts exist; no digest can match it.
func (s *session) md5Initial(c *msnp.Command, email string) error {
	secret, err := s.srv.cfg.Store.MD5Secret(s.srv.ctx(), email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		secret = store.MD5Secret{Salt: s.srv.fakeSalt(email)}
	case err != nil:
		return s.failClose(c, msnp.ErrDatabase)
	}
	s.md5Digest = secret.Digest
	s.reply(c, string(msnp.AuthMD5), "S", secret.Salt)
	return nil
}

// fakeSalt is the salt an unknown handle gets: drawn from exactly the
// distribution of real salts (store.SaltFrom) with bits that only the
// server can compute, the same for one handle every time, as a real one
// would be. Without the key, comparing salts tells nothing.
func (srv *Server) fakeSalt(email string) string {
	mac := hmac.New(sha256.New, srv.cfg.SaltKey)
	mac.Write([]byte(strings.ToLower(email)))
	return store.SaltFrom(mac.Sum(nil))
}

// twnParams is the Passport challenge string of USR TWN S, with every key
// real clients read (msn-pecan rebuilds its login request from them).
func twnParams() string {
	var tpf [16]byte
	rand.Read(tpf[:])
	return "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=" +
		strconv.FormatInt(time.Now().Unix(), 10) + ",kpp=1,kv=5,ver=2.1.0173.1,tpf=" + hex.EncodeToString(tpf[:])
}

// refer answers USR I on a Dispatch Server with the Notification Server to
// use, in the shape of the client's version.
func (s *session) refer(c *msnp.Command) error {
	to := s.srv.cfg.Referral
	if s.srv.cfg.Refer != nil {
		if to = s.srv.cfg.Refer(); to == "" {
			s.log.Warn().Msg("no notification server is up to refer a client to")
			return s.failClose(c, msnp.ErrServerBusy)
		}
	}
	fields := []string{"NS", s.referral(to)}
	switch s.dialect.XFRNSFields {
	case 1:
		fields = append(fields, "0")
	case 2:
		fields = append(fields, "0", s.referral(s.srv.cfg.Address))
	case 3:
		fields = append(fields, "U", "D")
	}
	s.queue(msnp.New("XFR", c.TrID, fields...))
	s.log.Info().Str("user", s.loginEmail).Str("to", to).Msg("referred to a notification server")
	return errClose
}

func (s *session) countLogin(method msnp.Auth, ok bool) {
	if m := s.srv.cfg.Metrics; m != nil {
		result := "ok"
		if !ok {
			result = "failed"
		}
		m.Logins.WithLabelValues(strings.ToLower(string(method)), result).Inc()
	}
}

// signIn completes a login: load the account and its lists, take over from
// any older session of the same user, and send USR OK and the profile.
func (s *session) signIn(c *msnp.Command) error {
	ctx := s.srv.ctx()
	st := s.srv.cfg.Store
	// Read after the password was checked: a change made before this
	// sign-in does not end it, one made after does (Revoke).
	acct, knownEvent, err := st.SignInAccount(ctx, s.loginEmail)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return s.failClose(c, msnp.ErrAuthFailed)
		}
		return s.failClose(c, msnp.ErrDatabase)
	}
	// The handle is on other users' lists too: one copy serves them all.
	acct.Email = intern(acct.Email)
	contacts, groups, err := st.Contacts(ctx, acct.Email)
	if err != nil {
		return s.failClose(c, msnp.ErrDatabase)
	}
	s.knownEvent = knownEvent
	s.signInList = &listSnapshot{account: acct, contacts: contacts, groups: groups}

	s.mu.Lock()
	s.email = acct.Email
	s.cid = acct.CID
	s.presence = directory.Presence{Email: acct.Email, FriendlyName: acct.FriendlyName, Status: directory.Offline}
	s.privacy = acct.Privacy
	s.promptOnAdd = acct.PromptOnAdd
	s.listVersion = acct.ListVersion
	s.roster.fill(contacts)
	s.mu.Unlock()

	// Signed in: the place among connections not signed in is free before
	// the client hears USR OK.
	s.authenticated()
	d := s.dialect
	params := []string{"OK", acct.Email}
	if d.USROKFriendly {
		params = append(params, msnp.EncodeParam(acct.FriendlyName))
	}
	if d.USROKVerified {
		params = append(params, "1")
	}
	if d.USROKRestrict || !d.USROKFriendly {
		params = append(params, "0")
	}
	s.reply(c, params...)
	if d.SBS {
		s.queue(msnp.New("SBS", 0, "null"))
	}
	s.queue(msnp.Notice("MSG", "Hotmail", "Hotmail").WithPayload(s.profile()))
	if d.SelfUBX {
		// The user's own (empty) UBX: WLM 2009 waits for it.
		s.queue(msnp.Notice("UBX", d.Handle(acct.Email)...).WithPayload([]byte{}))
	}

	s.registered = true
	s.loginEmail, s.md5Digest = acct.Email, "" // kept for the session's life: drop the copies
	if m := s.srv.cfg.Metrics; m != nil {
		m.Sessions.Inc()
	}
	for _, old := range s.srv.cfg.Directory.Register(acct.Email, s) {
		old.Replace()
	}
	s.log.Info().Msg("signed in")
	return nil
}

// profile is the initial profile message that follows USR OK.
func (s *session) profile() []byte {
	id := memberID(s.email)
	p := message.Profile{
		LoginTime:      time.Now(),
		MemberIDHigh:   int64(id >> 32),
		MemberIDLow:    int64(id & 0xffffffff),
		LangPreference: 1033,
		PreferredEmail: s.email,
		Country:        "US",
		Flags:          1027,
		SID:            507,
		KV:             "2",
		MSPAuth:        "0",
		ABCHMigrated:   s.dialect.ContactGUIDs,
		MPOPEnabled:    s.Endpoint().ID != "",
	}
	if host, port, err := net.SplitHostPort(s.conn.RemoteAddr().String()); err == nil {
		p.ClientIP = host
		p.ClientPort, _ = strconv.Atoi(port)
	}
	return message.NewProfile(p, int(s.version)).Bytes()
}

// memberID derives a stable 64-bit Passport member id from the handle.
func memberID(email string) uint64 {
	sum := md5.Sum([]byte(email))
	var id uint64
	for _, b := range sum[:8] {
		id = id<<8 | uint64(b)
	}
	return id
}

// validHandle accepts what the store accepts as an account name.
func validHandle(h string) bool {
	if len(h) < 3 || len(h) > store.MaxEmailLength {
		return false
	}
	at := strings.IndexByte(h, '@')
	if at <= 0 || at == len(h)-1 || strings.IndexByte(h[at+1:], '@') >= 0 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if h[i] <= ' ' || h[i] == 0x7f || h[i] == ',' {
			return false
		}
	}
	return true
}
