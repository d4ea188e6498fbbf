// Package adminapi is the client of the service's admin HTTP API, and the
// types it speaks. The bridges and the bot host use it to make the MSN
// accounts they need on a Nudge server, without importing the server.
package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Account is an account as the API shows it.
type Account struct {
	Email        string    `json:"email"`
	FriendlyName string    `json:"friendly_name"`
	Created      time.Time `json:"created"`
}

// NewAccount is the body of an account creation.
type NewAccount struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	FriendlyName string `json:"friendly_name,omitempty"`
}

// NewAccounts is the body of a batch creation: many accounts with one
// password, hashed once (with BcryptCost when not 0). Load tests use it.
type NewAccounts struct {
	Emails     []string `json:"emails"`
	Password   string   `json:"password"`
	BcryptCost int      `json:"bcrypt_cost,omitempty"`
}

// ContactPair is one FL entry of a batch: Owner puts Contact on its FL.
type ContactPair struct {
	Owner   string `json:"owner"`
	Contact string `json:"contact"`
}

// NewContacts is the body of a batch of FL entries (load tests).
type NewContacts struct {
	Pairs []ContactPair `json:"pairs"`
}

// Error is a refusal from the API, with its HTTP status.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("admin API: %s (HTTP %d)", e.Message, e.Status) }

// Sentinel statuses, for errors.Is.
var (
	ErrNotFound     = &Error{Status: http.StatusNotFound}
	ErrExists       = &Error{Status: http.StatusConflict}
	ErrUnauthorized = &Error{Status: http.StatusUnauthorized}
)

// Is matches errors by status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status
}

// Client calls the admin API of one server.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Token   string
	HTTP    *http.Client // nil means a client with a 30 s timeout
}

// New returns a client for baseURL with the bearer token.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), Token: token}
}

// CreateAccount makes an account, and only makes one: an address that
// exists already is ErrExists (HTTP 409), and the account that has it is
// left as it is. Bridges make their users' accounts with it alone.
func (c *Client) CreateAccount(ctx context.Context, a NewAccount) (Account, error) {
	var out Account
	err := c.Do(ctx, http.MethodPost, "/admin/v1/accounts", a, &out)
	return out, err
}

// Account returns one account (ErrNotFound when there is none).
func (c *Client) Account(ctx context.Context, email string) (Account, error) {
	var out Account
	err := c.Do(ctx, http.MethodGet, "/admin/v1/accounts/"+url.PathEscape(email), nil, &out)
	return out, err
}

// Accounts lists the accounts.
func (c *Client) Accounts(ctx context.Context) ([]Account, error) {
	var out []Account
	err := c.Do(ctx, http.MethodGet, "/admin/v1/accounts", nil, &out)
	return out, err
}

// DeleteAccount deletes an account.
func (c *Client) DeleteAccount(ctx context.Context, email string) error {
	return c.Do(ctx, http.MethodDelete, "/admin/v1/accounts/"+url.PathEscape(email), nil, nil)
}

// SetPassword changes an account's password.
func (c *Client) SetPassword(ctx context.Context, email, password string) error {
	body := map[string]string{"password": password}
	return c.Do(ctx, http.MethodPut, "/admin/v1/accounts/"+url.PathEscape(email)+"/password", body, nil)
}

// CreateAccounts makes many accounts at once (see NewAccounts).
func (c *Client) CreateAccounts(ctx context.Context, a NewAccounts) error {
	return c.Do(ctx, http.MethodPost, "/admin/v1/batch/accounts", a, nil)
}

// DeleteAccounts deletes many accounts at once; missing ones are skipped.
func (c *Client) DeleteAccounts(ctx context.Context, emails []string) error {
	return c.Do(ctx, http.MethodPost, "/admin/v1/batch/delete", map[string][]string{"emails": emails}, nil)
}

// AddContacts puts each pair's contact on its owner's FL, in one
// transaction on the server (see NewContacts).
func (c *Client) AddContacts(ctx context.Context, pairs []ContactPair) error {
	return c.Do(ctx, http.MethodPost, "/admin/v1/batch/contacts", NewContacts{Pairs: pairs}, nil)
}

// CreateOrResetAccount makes the account if it does not exist and
// otherwise sets a new password on the one that does, which locks out
// whoever used the old one. It is only for
// addresses the caller alone may use — the bot host's configured bots —
// and never for an address a person chose (use CreateAccount).
func (c *Client) CreateOrResetAccount(ctx context.Context, a NewAccount) (Account, error) {
	acct, err := c.CreateAccount(ctx, a)
	if errors.Is(err, ErrExists) {
		if err := c.SetPassword(ctx, a.Email, a.Password); err != nil {
			return Account{}, err
		}
		return c.Account(ctx, a.Email)
	}
	return acct, err
}

// Do sends one request with a JSON body (when in is not nil) and decodes
// the JSON answer into out (when not nil). Other API routes (such as the
// bot host's) use it too.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin API at %s unreachable: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(data, &e)
		if e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		return &Error{Status: resp.StatusCode, Message: e.Error}
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}
