package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nudge-im/nudge/core/adminapi"
)

// Routes are the host's admin routes, under the service's admin API and its
// token:
//
//	GET  /admin/v1/bots                      [Status]
//	GET  /admin/v1/bots/{name}               Status
//	POST /admin/v1/bots/{name}/reload        Status once it runs again (or failed)
//	POST /admin/v1/bots/reload               [Change]: the bots made what the configuration says
//	GET  /admin/v1/bots/{name}/logs?after=N&limit=M   [LogEntry] oldest first
type Routes interface {
	Handle(pattern string, h http.Handler)
}

// RegisterAdmin adds the host's routes to the admin API. Register a host
// once per admin API.
func (h *Host) RegisterAdmin(api Routes) {
	api.Handle("GET /admin/v1/bots", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.Status())
	}))
	api.Handle("GET /admin/v1/bots/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := h.BotStatus(r.PathValue("name"))
		if err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, st)
	}))
	api.Handle("POST /admin/v1/bots/{name}/reload", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.StartTimeout+10*time.Second)
		defer cancel()
		st, err := h.Reload(ctx, r.PathValue("name"))
		if err != nil {
			writeError(w, reloadErrorStatus(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, st)
	}))
	api.Handle("POST /admin/v1/bots/reload", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), h.cfg.StartTimeout+10*time.Second)
		defer cancel()
		changes, err := h.ReloadAll(ctx)
		if err != nil {
			writeError(w, reloadErrorStatus(err), err.Error())
			return
		}
		writeJSON(w, http.StatusOK, changes)
	}))
	api.Handle("GET /admin/v1/bots/{name}/logs", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		logs, err := h.Logs(r.PathValue("name"), after, limit)
		if err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, logs)
	}))
}

func reloadErrorStatus(err error) int {
	var ce *ConfigError
	switch {
	case errors.Is(err, ErrNoBot):
		return http.StatusNotFound
	case errors.As(err, &ce):
		return http.StatusUnprocessableEntity
	}
	return http.StatusServiceUnavailable
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// Client calls the host's admin routes on a running server: what
// `nudge bot` uses.
type Client struct {
	API *adminapi.Client
}

// List returns every bot's status.
func (c Client) List(ctx context.Context) ([]Status, error) {
	var out []Status
	err := c.API.Do(ctx, http.MethodGet, "/admin/v1/bots", nil, &out)
	return out, notRunning(err)
}

// Status returns one bot's status.
func (c Client) Status(ctx context.Context, name string) (Status, error) {
	var out Status
	err := c.API.Do(ctx, http.MethodGet, "/admin/v1/bots/"+url.PathEscape(name), nil, &out)
	return out, notRunning(err)
}

// Reload restarts a bot and returns its status once it runs again or
// failed.
func (c Client) Reload(ctx context.Context, name string) (Status, error) {
	var out Status
	err := c.API.Do(ctx, http.MethodPost, "/admin/v1/bots/"+url.PathEscape(name)+"/reload", nil, &out)
	return out, notRunning(err)
}

// ReloadAll makes the server's bots what its configuration says now, and
// returns what it did to each.
func (c Client) ReloadAll(ctx context.Context) ([]Change, error) {
	var out []Change
	err := c.API.Do(ctx, http.MethodPost, "/admin/v1/bots/reload", nil, &out)
	return out, notRunning(err)
}

// Logs returns a bot's log lines after seq (0: all kept), at most limit
// (0: all).
func (c Client) Logs(ctx context.Context, name string, after uint64, limit int) ([]LogEntry, error) {
	var out []LogEntry
	path := fmt.Sprintf("/admin/v1/bots/%s/logs?after=%d&limit=%d", url.PathEscape(name), after, limit)
	err := c.API.Do(ctx, http.MethodGet, path, nil, &out)
	return out, notRunning(err)
}

// notRunning explains a 404 of the list route: the server runs without
// the bot host.
func notRunning(err error) error {
	var ae *adminapi.Error
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound && ae.Message == http.StatusText(http.StatusNotFound) {
		return errors.New("the server runs no bot host (bots are off in its configuration, or it is an older nudge)")
	}
	return err
}
