package admin

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/store"
)

// The key-value routes give the parts beside the service (the bot host)
// the store's per-namespace key-value data:
//
//	GET    /admin/v1/kv/{namespace}?prefix=P   {"keys": [...]} sorted
//	GET    /admin/v1/kv/{namespace}/{key...}   {"value": base64}, 404 when missing
//	PUT    /admin/v1/kv/{namespace}/{key...}   {"value": base64} → 204
//	DELETE /admin/v1/kv/{namespace}/{key...}   → 204, also when missing
func (a *API) kvRoutes() {
	a.mux.HandleFunc("GET /admin/v1/kv/{namespace}", a.kvList)
	a.mux.HandleFunc("GET /admin/v1/kv/{namespace}/{key...}", a.kvGet)
	a.mux.HandleFunc("PUT /admin/v1/kv/{namespace}/{key...}", a.kvSet)
	a.mux.HandleFunc("DELETE /admin/v1/kv/{namespace}/{key...}", a.kvDelete)
}

func (a *API) kvList(w http.ResponseWriter, r *http.Request) {
	keys, err := a.st.KVList(r.Context(), r.PathValue("namespace"), r.URL.Query().Get("prefix"))
	if err != nil {
		a.kvFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, adminapi.KVKeys{Keys: keys})
}

func (a *API) kvGet(w http.ResponseWriter, r *http.Request) {
	v, err := a.st.KVGet(r.Context(), r.PathValue("namespace"), r.PathValue("key"))
	if err != nil {
		a.kvFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, adminapi.KVValue{Value: v})
}

func (a *API) kvSet(w http.ResponseWriter, r *http.Request) {
	// The general 64 KiB body limit is too small for a value at the
	// store's limit once base64 has grown it by a third.
	var req adminapi.KVValue
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, store.MaxKVValue*2))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "value larger than the key-value limit")
			return
		}
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return
	}
	if err := a.st.KVSet(r.Context(), r.PathValue("namespace"), r.PathValue("key"), req.Value); err != nil {
		a.kvFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) kvDelete(w http.ResponseWriter, r *http.Request) {
	if err := a.st.KVDelete(r.Context(), r.PathValue("namespace"), r.PathValue("key")); err != nil {
		a.kvFail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) kvFail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNoKey):
		writeError(w, http.StatusNotFound, "no such key")
	case errors.Is(err, store.ErrInvalidKey):
		writeError(w, http.StatusBadRequest, "namespace, key or value not valid (keys: 1 to 256 bytes of UTF-8; values: at most 64 KiB)")
	case errors.Is(err, store.ErrKVFull):
		writeError(w, http.StatusInsufficientStorage, "namespace full: delete keys first")
	default:
		a.log.Error().Err(err).Msg("admin key-value request failed")
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}
