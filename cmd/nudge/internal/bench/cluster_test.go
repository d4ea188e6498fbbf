package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/coretest/clustertest"
)

// TestRunAgainstACluster runs the sign-ins, relay and fan-out, small,
// against two nodes of a cluster (real nodes on PostgreSQL and NATS, the
// switchboard on the first): the report has each figure for the first node
// alone and across the nodes, in the same run.
func TestRunAgainstACluster(t *testing.T) {
	nodes := clustertest.Start(t, 2, func(i int, c *config.Config) {
		if i > 0 {
			c.Listen.SB = ""
		}
	})
	rep, err := Run(context.Background(), Options{
		Servers: []string{nodes[0].NSAddr, nodes[1].NSAddr},
		HTTP:    []string{nodes[0].HTTPURL, nodes[1].HTTPURL},
		Token:   nodes[0].AdminToken,
		Only:    []string{"logins", "relay", "fanout"},
		Workers: 4, Logins: 8, Conversations: 2,
		RelayTime: 300 * time.Millisecond, MessageSize: 200, Contacts: 6,
	})
	if err != nil {
		t.Fatal(err)
	}
	x := rep.CrossNode
	if x == nil || x.Nodes != 2 || len(rep.Nodes) != 2 {
		t.Fatalf("no cross-node figures: %+v", rep)
	}
	if len(rep.Logins) != 4 || len(x.Logins) != 4 {
		t.Fatalf("%d sign-in methods at one node, %d across", len(rep.Logins), len(x.Logins))
	}
	for _, l := range append(rep.Logins, x.Logins...) {
		if l.Logins == 0 || l.Failed != 0 || l.PerSec <= 0 {
			t.Errorf("%s: %+v", l.Method, l)
		}
	}
	for _, r := range []*RelayResult{rep.Relay, x.Relay} {
		if r == nil || r.Saturation <= 0 || r.AchievedRate <= 0 || r.P99 <= 0 {
			t.Errorf("relay: %+v", r)
		}
	}
	for _, f := range []*FanoutResult{rep.Fanout, x.Fanout} {
		if f == nil || f.Contacts != 6 || f.Last <= 0 || f.P50 <= 0 || f.P50 > f.Last {
			t.Errorf("fanout: %+v", f)
		}
	}
	var out strings.Builder
	rep.Print(&out)
	for _, want := range []string{"Across 2 nodes", "sign-ins, Passport (MSNP12)", "relay at saturation", "fan-out to 6"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if accts, err := nodes[0].Store.Accounts(context.Background()); err != nil || len(accts) != 0 {
		t.Errorf("bench left %d accounts (%v)", len(accts), err)
	}
}

// A server that hashes passwords at a cost above 4 gets a one-line
// warning: its Passport sign-ins would measure bcrypt.
func TestWarnsOfCostlyHashes(t *testing.T) {
	srv := coretest.Start(t, coretest.WithConfig(func(c *config.Config) { c.Login.BcryptCost = 10 }))
	rep, err := Run(context.Background(), Options{
		Servers: []string{srv.NSAddr}, HTTP: []string{srv.HTTPURL}, Token: srv.AdminToken,
		Only: []string{"fanout"}, Contacts: 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "bcrypt cost 10") || !strings.Contains(rep.Warnings[0], "login.bcrypt_cost: 4") {
		t.Fatalf("warnings %q", rep.Warnings)
	}
	var out strings.Builder
	rep.Print(&out)
	if strings.Count(out.String(), "warning:") != 1 {
		t.Errorf("report:\n%s", out.String())
	}
}
