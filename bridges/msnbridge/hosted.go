package msnbridge

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nudge-im/nudge/core/adminapi"
)

// Hosted accounts. A bridge makes MSN accounts on a Nudge server for the
// people (and rooms) it bridges, through the server's admin API. Who an
// account belongs to is recorded by an ID that never changes and is never
// given to anyone else — a Discord user or channel ID, a Matrix user ID —
// and never by a name: a Discord username can be given up and taken by
// someone else, a channel and a person can have the same name, and two
// Matrix IDs can share a localpart. The account's address is made from the
// name once (nelly@discord.invalid), and a newcomer whose name is taken
// gets the next free one (nelly-2@…). The bridge only ever creates
// accounts: one that exists and that it did not make is someone else's,
// and its password is never touched.

// HostedAccount is an account a bridge made, and for whom.
type HostedAccount struct {
	Owner    string // the ID it was made for
	Email    string
	Password string
}

// ErrTaken means an address is recorded for another owner.
var ErrTaken = errors.New("msnbridge: the address belongs to someone else")

// Owners is the record of the accounts a bridge made: one per owner, one
// owner per address. It is a table in the bridge's own database (SQLite or
// PostgreSQL; the SQL is what both speak).
type Owners struct {
	db    *sql.DB
	table string
}

var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// OpenOwners opens (and makes) the table of owners in db.
func OpenOwners(ctx context.Context, db *sql.DB, table string) (*Owners, error) {
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("msnbridge: %q is not a table name", table)
	}
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		owner TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password TEXT NOT NULL, created BIGINT NOT NULL)`)
	if err != nil {
		return nil, fmt.Errorf("msnbridge: making the table %s: %w", table, err)
	}
	return &Owners{db: db, table: table}, nil
}

// Get returns the account made for owner.
func (o *Owners) Get(ctx context.Context, owner string) (HostedAccount, bool, error) {
	a := HostedAccount{Owner: owner}
	err := o.db.QueryRowContext(ctx, `SELECT email, password FROM `+o.table+` WHERE owner = $1`, owner).Scan(&a.Email, &a.Password)
	if errors.Is(err, sql.ErrNoRows) {
		return HostedAccount{}, false, nil
	}
	return a, err == nil, err
}

// Owner returns whom an address was made for.
func (o *Owners) Owner(ctx context.Context, email string) (string, bool, error) {
	var owner string
	err := o.db.QueryRowContext(ctx, `SELECT owner FROM `+o.table+` WHERE email = $1`, strings.ToLower(email)).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return owner, err == nil, err
}

// Put records an account. An address recorded for another owner is
// ErrTaken.
func (o *Owners) Put(ctx context.Context, a HostedAccount) error {
	a.Email = strings.ToLower(a.Email)
	if other, ok, err := o.Owner(ctx, a.Email); err != nil {
		return err
	} else if ok && other != a.Owner {
		return ErrTaken
	}
	_, err := o.db.ExecContext(ctx, `INSERT INTO `+o.table+` (owner, email, password, created) VALUES ($1, $2, $3, $4)
		ON CONFLICT (owner) DO UPDATE SET email = excluded.email, password = excluded.password`,
		a.Owner, a.Email, a.Password, time.Now().Unix())
	if err != nil {
		if other, ok, _ := o.Owner(ctx, a.Email); ok && other != a.Owner {
			return ErrTaken // made meanwhile for someone else
		}
	}
	return err
}

// Hosted makes and finds hosted accounts.
type Hosted struct {
	// Admin is the Nudge server's admin API.
	Admin *adminapi.Client
	// Domain is the domain of the addresses (discord.invalid).
	Domain string
	// Owners records who each account is for.
	Owners *Owners
	// NewPassword gives a new account's password; nil makes a random one.
	NewPassword func(owner string) string
	// Proof, when set, is asked about an address that exists but that no
	// record names: is it owner's after all? A bridge whose passwords
	// derive from a secret and the owner answers by signing in with that
	// password, so that losing its database does not lose the accounts.
	Proof func(ctx context.Context, email, password string) bool

	mu sync.Mutex
}

// Want is what a bridge asks of Account.
type Want struct {
	// Local is the local part the address is made from (see LocalPart).
	Local string
	// Domain, when set, is the address's domain instead of Hosted.Domain
	// (a Matrix user's homeserver).
	Domain string
	// Exact asks for Local@Domain and nothing else (a room whose handle
	// was chosen): if it is taken, Account fails instead of numbering.
	Exact bool
	// FriendlyName is a new account's friendly name.
	FriendlyName string
}

// maxNumbered is how far Account numbers addresses (name-2 … name-99).
const maxNumbered = 99

// Account returns owner's hosted account, making it when there is none:
// the first of Local@Domain, Local-2@Domain, … that no account has. An
// address that exists and is not owner's is skipped, never changed.
// created reports whether the account is new.
func (h *Hosted) Account(ctx context.Context, owner string, w Want) (acct HostedAccount, created bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if a, ok, err := h.Owners.Get(ctx, owner); err != nil {
		return HostedAccount{}, false, err
	} else if ok {
		return a, false, nil
	}
	local := LocalPart(w.Local)
	if local == "" {
		return HostedAccount{}, false, errors.New("msnbridge: no name to make an address from")
	}
	domain := h.Domain
	if w.Domain != "" {
		domain = w.Domain
	}
	password := h.password(owner)
	for n := 1; n <= maxNumbered; n++ {
		email := local + "@" + domain
		if n > 1 {
			email = fmt.Sprintf("%s-%d@%s", local, n, domain)
		}
		if !ValidHandle(email) {
			return HostedAccount{}, false, fmt.Errorf("msnbridge: %s cannot be an MSN address", email)
		}
		a := HostedAccount{Owner: owner, Email: email, Password: password}
		mine, err := h.claim(ctx, a, w.FriendlyName)
		if err != nil {
			return HostedAccount{}, false, err
		}
		if mine != nil {
			return a, *mine, nil
		}
		if w.Exact {
			return HostedAccount{}, false, fmt.Errorf("%s is taken: choose another name", email)
		}
	}
	return HostedAccount{}, false, fmt.Errorf("msnbridge: no free address for %s@%s", local, domain)
}

// claim tries to make a the owner's. It returns nil when the address is
// someone else's, and otherwise whether the account was made now.
func (h *Hosted) claim(ctx context.Context, a HostedAccount, friendly string) (created *bool, err error) {
	yes, no := true, false
	if _, ok, err := h.Owners.Owner(ctx, a.Email); err != nil || ok {
		return nil, err // recorded: another owner's (owner's own was found before)
	}
	_, err = h.Admin.CreateAccount(ctx, adminapi.NewAccount{Email: a.Email, Password: a.Password, FriendlyName: friendly})
	switch {
	case err == nil:
		created = &yes
	case errors.Is(err, adminapi.ErrExists):
		if h.Proof == nil || !h.Proof(ctx, a.Email, a.Password) {
			return nil, nil
		}
		created = &no
	case errors.Is(err, adminapi.ErrUnauthorized):
		return nil, fmt.Errorf("the admin API at %s refused the bridge's token: check the admin token in the bridge's config", h.Admin.BaseURL)
	default:
		return nil, fmt.Errorf("making the MSN account %s through the admin API: %w", a.Email, err)
	}
	if err := h.Owners.Put(ctx, a); err != nil {
		return nil, fmt.Errorf("recording the MSN account %s: %w", a.Email, err)
	}
	return created, nil
}

// Recreate makes an owner's account again with its address and password,
// after its server refused the password: its admin may have deleted it.
// It never changes an account that exists: made reports whether the
// account was missing and is back.
func (h *Hosted) Recreate(ctx context.Context, a HostedAccount, friendly string) (made bool, err error) {
	_, err = h.Admin.CreateAccount(ctx, adminapi.NewAccount{Email: a.Email, Password: a.Password, FriendlyName: friendly})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, adminapi.ErrExists):
		return false, nil
	}
	return false, err
}

// Adopt records an account made before owners were recorded, for its
// owner (a login that exists from an older release). ErrTaken means the
// address is already recorded for someone else.
func (h *Hosted) Adopt(ctx context.Context, a HostedAccount) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok, err := h.Owners.Get(ctx, a.Owner); err != nil || ok {
		return err // the record wins over what an older release kept
	}
	return h.Owners.Put(ctx, a)
}

func (h *Hosted) password(owner string) string {
	if h.NewPassword != nil {
		return h.NewPassword(owner)
	}
	return RandomPassword()
}

// RandomPassword returns a new random password.
func RandomPassword() string {
	p := make([]byte, 18)
	rand.Read(p)
	return base64.RawURLEncoding.EncodeToString(p)
}

// DerivedPassword derives an owner's password from a secret, so that a
// bridge finds its accounts again without keeping their passwords.
func DerivedPassword(secret, purpose, owner string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose + ":" + owner))
	return hex.EncodeToString(m.Sum(nil))[:40]
}
