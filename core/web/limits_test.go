package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
)

// The service gives the Web Messenger's relay the HTTP gateway's session
// limits (limits.gateway_sessions and _per_address): a browser is a
// gateway client that speaks over a WebSocket.
func TestServiceAppliesGatewayLimitsToTheRelay(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) {
		c.Limits.GatewaySessionsPerAddress = 2
	}))
	url := "ws" + strings.TrimPrefix(srv.HTTPURL, "http") + "/web/relay?server=ns"
	for i := 0; i < 2; i++ {
		ws, _, err := dialWS(t, url, "")
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		defer ws.Close()
		read(t, ws)
	}
	if _, resp, err := dialWS(t, url, ""); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third session from one address: %v, want 503", err)
	}
}
