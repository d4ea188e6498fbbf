package config_test

import (
	"strings"
	"testing"

	"github.com/nudge-im/nudge/core/config"
)

// A cluster that cannot work is refused at start, in one line naming the
// line and the key.
func TestClusterValidation(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"cluster:\n  node: n1\n", "cluster.nats.urls: must list"},
		{"cluster:\n  node: \"a b\"\n  nats: {urls: [nats://x:4222]}\n", "cluster.node: \"a b\" is not a node name"},
		{"cluster:\n  node: n1\n  nats: {urls: [http://x]}\n", "is not a NATS URL"},
		{"cluster:\n  node: n1\n  nats: {urls: [nats://x:4222]}\n", "database.url: must name the PostgreSQL database"},
		{"database: {url: postgres://u@h/db}\ncluster:\n  node: n1\n  nats: {urls: [nats://x:4222], cert: c.pem}\n", "cluster.nats.cert and cluster.nats.key go together"},
		{"database: {url: postgres://u@h/db}\ncluster:\n  node: n1\n  nats: {urls: [nats://x:4222]}\n  heartbeat: 2s\n  node_timeout: 3s\n", "cluster.node_timeout: 3s is too short"},
		{"cluster:\n  nats: {urls: [nats://x:4222]}\n", "cluster.node: must be set"},
		{"database: {url: postgres://u@h/db}\nlisten: {ns: \"\", sb: \"\"}\ncluster:\n  node: n1\n  nats: {urls: [nats://x:4222]}\n", "must serve at least one"},
	} {
		cfg := config.Default()
		err := config.Decode(strings.NewReader(c.yaml), "nudge.yaml", &cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v, want one line with %q", c.yaml, err, c.want)
		}
	}
	cfg := config.Default()
	ok := "database: {url: postgres://u@h/db}\nlisten: {ns: \"\", sb: 127.0.0.1:1864}\ncluster:\n  node: sb-1\n  nats: {urls: [nats://a:4222, tls://b:4222]}\n"
	if err := config.Decode(strings.NewReader(ok), "nudge.yaml", &cfg); err != nil {
		t.Fatalf("a switchboard-only node: %v", err)
	}
}
