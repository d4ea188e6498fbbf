package msnbridge

import (
	"net/http"
	"net/url"
)

// RewriteTransport returns an HTTP transport that sends every request to
// base's scheme and host, keeping its path and query: a client made for
// one service (Discord's API) talks to a compatible server or an emulator
// instead, without the library's endpoint globals being changed.
func RewriteTransport(base *url.URL) http.RoundTripper { return rewrite{base: base} }

type rewrite struct{ base *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.base.Scheme, r.base.Host, r.base.Host
	return http.DefaultTransport.RoundTrip(req)
}
