// Package admin is the service's HTTP admin API: account management for
// operators, and for the bridges and the bot host, which make the accounts
// they need through it rather than through the service's internals.
//
// Creating an account only creates: an address that exists is 409 and its
// account is left as it is, so a client (a bridge making its users'
// accounts) cannot take over someone else's by asking for the same name.
// Changing a password is a request of its own.
//
// Every request carries "Authorization: Bearer <token>". Bodies and answers
// are JSON; errors are {"error": "..."} with a fitting status code.
//
//	GET    /admin/v1/accounts                  list accounts
//	POST   /admin/v1/accounts                  {"email", "password", "friendly_name"} → 201; 409 if it exists
//	GET    /admin/v1/accounts/{email}          one account
//	DELETE /admin/v1/accounts/{email}          → 204
//	PUT    /admin/v1/accounts/{email}/password {"password"} → 204
//	POST   /admin/v1/batch/accounts            {"emails", "password", "bcrypt_cost"} → 204
//	POST   /admin/v1/batch/delete              {"emails"} → 204
//	POST   /admin/v1/batch/contacts            {"pairs": [{"owner", "contact"}]} → 204: each owner puts the contact on its FL
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/store"
)

// Account and NewAccount are the API's JSON shapes; package adminapi is
// their client.
type (
	Account    = adminapi.Account
	NewAccount = adminapi.NewAccount
)

// API is the admin API's handler. Parts of the program outside core (the
// bot host) add their own routes with Handle, behind the same token.
type API struct {
	st    store.Store
	token string
	log   zerolog.Logger
	mux   *http.ServeMux
	auth  http.Handler

	mu     sync.Mutex
	routes map[string]*route // what Handle added, by pattern
}

// route is a Handle route whose handler a later Handle replaces.
type route struct {
	mu sync.RWMutex
	h  http.Handler
}

func (r *route) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.RLock()
	h := r.h
	r.mu.RUnlock()
	h.ServeHTTP(w, req)
}

// New returns the admin API. An empty token refuses every request.
func New(st store.Store, token string, log zerolog.Logger) *API {
	a := &API{st: st, token: token, log: log.With().Str("component", "admin").Logger(), mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /admin/v1/accounts", a.list)
	a.mux.HandleFunc("POST /admin/v1/accounts", a.create)
	a.mux.HandleFunc("GET /admin/v1/accounts/{email}", a.get)
	a.mux.HandleFunc("DELETE /admin/v1/accounts/{email}", a.delete)
	a.mux.HandleFunc("PUT /admin/v1/accounts/{email}/password", a.password)
	a.kvRoutes()
	a.mux.HandleFunc("POST /admin/v1/batch/accounts", a.createBatch)
	a.mux.HandleFunc("POST /admin/v1/batch/delete", a.deleteBatch)
	a.mux.HandleFunc("POST /admin/v1/batch/contacts", a.contactsBatch)
	a.auth = a.authenticate(a.mux)
	return a
}

// Handler is New as an http.Handler.
func Handler(st store.Store, token string, log zerolog.Logger) http.Handler {
	return New(st, token, log)
}

// Handle adds a route under /admin/, served only to requests with the token.
// Handling a pattern again replaces its handler: a part that stops and
// starts again in one process (a cluster node taking the bots back)
// registers its routes anew.
func (a *API) Handle(pattern string, h http.Handler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.routes[pattern]; ok {
		r.mu.Lock()
		r.h = h
		r.mu.Unlock()
		return
	}
	if a.routes == nil {
		a.routes = map[string]*route{}
	}
	r := &route{h: h}
	a.routes[pattern] = r
	a.mux.Handle(pattern, r)
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.auth.ServeHTTP(w, r) }

// Protect serves h only to requests that carry the admin token.
func (a *API) Protect(h http.Handler) http.Handler { return a.authenticate(h) }

func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if a.token == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nudge admin"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong admin token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	accts, err := a.st.Accounts(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]Account, 0, len(accts))
	for _, acct := range accts {
		out = append(out, view(acct))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	var req NewAccount
	if !readJSON(w, r, &req) {
		return
	}
	if req.Password == "" {
		writeError(w, http.StatusBadRequest, "password must not be empty")
		return
	}
	acct, err := a.st.CreateAccount(r.Context(), req.Email, req.Password, req.FriendlyName)
	if err != nil {
		a.fail(w, err)
		return
	}
	a.log.Info().Str("user", acct.Email).Msg("account created")
	writeJSON(w, http.StatusCreated, view(acct))
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	acct, err := a.st.Account(r.Context(), r.PathValue("email"))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view(acct))
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("email")
	if err := a.st.DeleteAccount(r.Context(), email); err != nil {
		a.fail(w, err)
		return
	}
	a.log.Info().Str("user", email).Msg("account deleted")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) password(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.Password == "" {
		writeError(w, http.StatusBadRequest, "password must not be empty")
		return
	}
	if err := a.st.SetPassword(r.Context(), r.PathValue("email"), req.Password); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// createBatch makes many accounts sharing one password, hashed once (load
// tests); an optional bcrypt_cost makes that one hash cheap.
func (a *API) createBatch(w http.ResponseWriter, r *http.Request) {
	var req adminapi.NewAccounts
	if !readJSONLimit(w, r, &req, 8<<20) {
		return
	}
	if len(req.Emails) == 0 {
		writeError(w, http.StatusBadRequest, "emails must not be empty")
		return
	}
	if err := a.st.CreateAccounts(r.Context(), req.Emails, req.Password, req.BcryptCost); err != nil {
		a.fail(w, err)
		return
	}
	a.log.Info().Int("accounts", len(req.Emails)).Msg("accounts created in a batch")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) deleteBatch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Emails []string `json:"emails"`
	}
	if !readJSONLimit(w, r, &req, 8<<20) {
		return
	}
	if err := a.st.DeleteAccounts(r.Context(), req.Emails); err != nil {
		a.fail(w, err)
		return
	}
	a.log.Info().Int("accounts", len(req.Emails)).Msg("accounts deleted in a batch")
	w.WriteHeader(http.StatusNoContent)
}

// contactsBatch builds contact lists for load tests: each owner puts its
// contact on its FL, in one transaction.
func (a *API) contactsBatch(w http.ResponseWriter, r *http.Request) {
	var req adminapi.NewContacts
	if !readJSONLimit(w, r, &req, 16<<20) {
		return
	}
	pairs := make([]store.ContactPair, len(req.Pairs))
	for i, p := range req.Pairs {
		pairs[i] = store.ContactPair{Owner: p.Owner, Contact: p.Contact}
	}
	if err := a.st.AddContacts(r.Context(), pairs); err != nil {
		a.fail(w, err)
		return
	}
	a.log.Info().Int("contacts", len(pairs)).Msg("contacts added in a batch")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such account")
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "account already exists")
	case errors.Is(err, store.ErrInvalidEmail), errors.Is(err, store.ErrInvalidName), errors.Is(err, store.ErrInvalidPassword),
		errors.Is(err, store.ErrBatchTooLarge), errors.Is(err, store.ErrListFull):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		a.log.Error().Err(err).Msg("admin request failed")
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func view(a store.Account) Account {
	return Account{Email: a.Email, FriendlyName: a.FriendlyName, Created: a.Created}
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return readJSONLimit(w, r, v, 64<<10)
}

func readJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// A body over the limit is not malformed JSON: say so with 413, so
		// a client knows that retrying the same request cannot work.
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
