// Package admin is the service's HTTP admin API: account management for
// operators, and for the bridges and the bot host, which make the accounts
// they need through it rather than through the service's internals.
//
// Every request carries "Authorization: Bearer <token>". Bodies and answers
// are JSON; errors are {"error": "..."} with a fitting status code.
//
//	GET    /admin/v1/accounts                  list accounts
//	POST   /admin/v1/accounts                  {"email", "password", "friendly_name"} → 201
//	GET    /admin/v1/accounts/{email}          one account
//	DELETE /admin/v1/accounts/{email}          → 204
//	PUT    /admin/v1/accounts/{email}/password {"password"} → 204
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/store"
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

// Handler serves the admin API. An empty token refuses every request.
func Handler(st store.Store, token string, log zerolog.Logger) http.Handler {
	a := &api{st: st, token: token, log: log.With().Str("component", "admin").Logger()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/accounts", a.list)
	mux.HandleFunc("POST /admin/v1/accounts", a.create)
	mux.HandleFunc("GET /admin/v1/accounts/{email}", a.get)
	mux.HandleFunc("DELETE /admin/v1/accounts/{email}", a.delete)
	mux.HandleFunc("PUT /admin/v1/accounts/{email}/password", a.password)
	return a.authenticate(mux)
}

type api struct {
	st    store.Store
	token string
	log   zerolog.Logger
}

func (a *api) authenticate(next http.Handler) http.Handler {
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

func (a *api) list(w http.ResponseWriter, r *http.Request) {
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

func (a *api) create(w http.ResponseWriter, r *http.Request) {
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

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	acct, err := a.st.Account(r.Context(), r.PathValue("email"))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view(acct))
}

func (a *api) delete(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("email")
	if err := a.st.DeleteAccount(r.Context(), email); err != nil {
		a.fail(w, err)
		return
	}
	a.log.Info().Str("user", email).Msg("account deleted")
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) password(w http.ResponseWriter, r *http.Request) {
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

func (a *api) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such account")
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "account already exists")
	case errors.Is(err, store.ErrInvalidEmail), errors.Is(err, store.ErrInvalidName), errors.Is(err, store.ErrInvalidPassword):
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
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
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
