package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
)

// TestBaselineRelay checks the baseline carries traffic in both modes, so
// the comparison the report makes is against a relay that works.
func TestBaselineRelay(t *testing.T) {
	b := &runner{}
	pipes, base, err := b.baselinePipes(4)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Stop()
	defer closePipes(pipes)
	payload := relayPayload(128)
	rate, _ := pump(context.Background(), pipes, payload, 0, 300*time.Millisecond)
	if rate <= 0 {
		t.Fatalf("saturated baseline delivered %v msg/s", rate)
	}
	rate, lat := pump(context.Background(), pipes, payload, 2000, 300*time.Millisecond)
	if rate <= 0 || len(lat) == 0 {
		t.Fatalf("paced baseline delivered %v msg/s, %d samples", rate, len(lat))
	}
}

// TestRunAgainstTheService runs every scenario, small, against a real
// service: the report has every figure and the accounts are gone after.
func TestRunAgainstTheService(t *testing.T) {
	srv := coretest.Start(t)
	rep, err := Run(context.Background(), Options{
		Servers: []string{srv.NSAddr}, HTTP: []string{srv.HTTPURL}, Token: srv.AdminToken,
		Workers: 4, Logins: 12, Sessions: 10, ListSize: 3, Conversations: 2,
		RelayTime: 300 * time.Millisecond, MessageSize: 200, Contacts: 10,
		Protocol: 18, // idle and fan-out sessions as Windows Live Messenger 2009
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 0 || rep.CrossNode != nil {
		t.Errorf("warnings %q, cross-node %+v against one cheap-hashing node", rep.Warnings, rep.CrossNode)
	}
	if len(rep.Logins) != 4 {
		t.Fatalf("%d sign-in methods measured", len(rep.Logins))
	}
	var serverCPU float64
	for _, l := range rep.Logins {
		if l.Logins == 0 || l.Failed != 0 || l.PerSec <= 0 {
			t.Errorf("%s: %+v", l.Method, l)
		}
		if l.GeneratorCPU <= 0 {
			t.Errorf("%s: the generator's CPU per sign-in is %v µs", l.Method, l.GeneratorCPU)
		}
		serverCPU += l.ServerCPU
	}
	// The server's clock ticks in hundredths of a second: a phase this
	// small may read none, all of them together cannot.
	if serverCPU <= 0 {
		t.Errorf("no server CPU measured in any sign-in phase")
	}
	if rep.Idle == nil || rep.Idle.Sessions != 10 || rep.Idle.ServerSessions < 10 || rep.Idle.ListSize != 3 {
		t.Errorf("idle: %+v", rep.Idle)
	}
	if r := rep.Relay; r == nil || r.Saturation <= 0 || r.Baseline <= 0 || r.AchievedRate <= 0 || r.P99 <= 0 ||
		r.ServerCPU <= 0 || r.GeneratorCPU <= 0 {
		t.Errorf("relay: %+v", rep.Relay)
	}
	if rep.Fanout == nil || rep.Fanout.Contacts != 10 || rep.Fanout.Last <= 0 || rep.Fanout.GeneratorCPU <= 0 {
		t.Errorf("fanout: %+v", rep.Fanout)
	}
	var out strings.Builder
	rep.Print(&out)
	for _, want := range []string{"Sign-ins", "generator µs", "Switchboard relay", "Presence fan-out", "Idle sessions"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if accts, err := srv.Store.Accounts(context.Background()); err != nil || len(accts) != 0 {
		t.Errorf("bench left %d accounts (%v)", len(accts), err)
	}
}
