// Package clientweb answers the small web requests MSN Messenger and
// Windows Live Messenger make besides signing in and the web services:
//
//	GET/POST /Config/MsgrConfig.asmx   the client configuration: WLM asks
//	                                   with GET ?ver=8.x or ?ver=14.x, MSN 6
//	                                   and 7 POST a SOAP GetClientConfig
//	                                   (also /config/… and /etc/MsgrConfig)
//	POST /                             the "key port" probe of MSN 7.5 and
//	                                   WLM: an empty 200
//	POST /ppsecure/sha1auth.srf        WLM's way into MSN web pages (MSN
//	                                   Today, the inbox) with its ticket
//
// The answers say what this service has, which is little: no relay for
// calls, no phone dialer, no MSN Today, no web pages. A client takes that
// quietly; without a configuration it asks again and again, and WLM shows
// its "MSN Today" only while one names a page.
package clientweb

import (
	"net/http"
	"strings"

	"github.com/nudge-im/nudge/core/soap"
)

// Paths are the request paths Handler answers; root is served for POST
// only (the key-port probe).
func Paths() []string {
	return []string{"/Config/MsgrConfig.asmx", "/config/MsgrConfig.asmx", "/etc/MsgrConfig", "/ppsecure/sha1auth.srf"}
}

// RootPattern is the pattern of the key-port probe, for a ServeMux.
const RootPattern = "POST /{$}"

// maxConfigRequest bounds the GetClientConfig envelope MSN 6 and 7 POST.
const maxConfigRequest = 16 << 10

// config is the configuration every client gets: expire at once (ask
// again at the next sign-in), no phone dialer, no relay for voice and
// video. Nothing names a page, so WLM shows no MSN Today and no tabs.
const config = `<MsgrConfig><Simple><Config><ExpiresInDays>0</ExpiresInDays></Config>` +
	`<DisablePhoneDialer>1</DisablePhoneDialer><Relay><Enabled>0</Enabled><MaxCallLength>0</MaxCallLength></Relay>` +
	`</Simple></MsgrConfig>`

// Handler serves the paths above.
func Handler() http.Handler { return http.HandlerFunc(serve) }

func serve(w http.ResponseWriter, r *http.Request) {
	switch p := soap.CleanPath(r.URL.Path); {
	case p == "/":
		probe(w, r)
	case strings.HasSuffix(p, "/sha1auth.srf"):
		sha1auth(w, r)
	default:
		msgrConfig(w, r)
	}
}

// probe answers MSN's "key port" check of the login server.
func probe(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// msgrConfig answers GET ?ver=… with the configuration as XML, and the
// GetClientConfig SOAP request with it inside the SOAP answer.
func msgrConfig(w http.ResponseWriter, r *http.Request) {
	ver := r.URL.Query().Get("ver")
	if ver != "" {
		if strings.Trim(ver, "0123456789.") != "" || len(ver) > 32 {
			http.Error(w, "ver is a version number such as 14.0.8117", http.StatusBadRequest)
			return
		}
		writeXML(w, `<?xml version="1.0" encoding="utf-8"?>`+config)
		return
	}
	if r.Method == http.MethodGet {
		writeXML(w, `<?xml version="1.0" encoding="utf-8"?>`+config)
		return
	}
	env := soap.Read(w, r, maxConfigRequest, func(code, msg string) []byte { return soap.Fault(code, "", msg, "", "") })
	if env == nil {
		return
	}
	if !strings.EqualFold(env.Action().Name, "GetClientConfig") {
		soap.Write(w, http.StatusInternalServerError, soap.Fault("soap:Client", "", "This service answers GetClientConfig only.", "", ""))
		return
	}
	var b soap.Builder
	b.Start()
	b.Raw(`<soap:Body><GetClientConfigResponse xmlns="http://www.msn.com/webservices/Messenger/Client"><GetClientConfigResult>`)
	b.Esc(config)
	b.Raw(`</GetClientConfigResult></GetClientConfigResponse></soap:Body>`)
	b.End()
	soap.Write(w, http.StatusOK, b.Bytes())
}

func writeXML(w http.ResponseWriter, doc string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(doc))
}

// sha1auth is where WLM opens MSN web pages signed in: there are none
// here, and it says so instead of sending the browser on to a page that
// no longer exists.
func sha1auth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "sha1auth.srf is POSTed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Nudge</title></head>` +
		`<body><p>This Messenger service has no web pages: there is nothing to show here.</p></body></html>`))
}
