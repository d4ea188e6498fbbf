package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/coretest/clustertest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp/client"
)

// The cluster's cost, measured: the same flows with both people on one
// node and on two (or three) nodes. The nodes run in this process, each a
// whole service on its own ports, joined over a real nats-server and one
// PostgreSQL database, as separate machines would be; they share this
// machine's CPUs, so more nodes here measure the cluster's overhead, not
// its added capacity.
//
//	go test -run '^$' -bench . -benchtime 300x -count 3 ./core/cluster/

// inProcess starts n nodes in this process; the first has the only
// switchboard, as a cluster of Notification nodes and one Switchboard node
// does.
func inProcess(b testing.TB, n int) []*coretest.Server {
	b.Helper()
	return clustertest.Start(b, n, func(i int, c *config.Config) {
		c.Limits.Switchboards = 1 << 20
		c.Limits.SwitchboardRequests = 1 << 20
		c.Limits.SwitchboardCookies = 1 << 20
		c.Limits.SignIn.AddressFailures = 1 << 20
		if i > 0 {
			c.Listen.SB = ""
		}
	}, coretest.WithoutChallenges())
}

// benchUser signs email in at node (its Passport and its NS) and passes on
// its events.
func benchUser(b testing.TB, node *coretest.Server, email string) (*client.Client, <-chan client.Event) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, client.Config{Server: node.NSAddr, Email: email, Password: "pw",
		Passport: client.PassportConfig{URL: node.HTTPURL}})
	if err != nil {
		b.Fatalf("%s signs in: %v", email, err)
	}
	b.Cleanup(func() { cl.Close() })
	return cl, cl.Events()
}

func awaitEvent(b testing.TB, events <-chan client.Event, what string, ok func(client.Event) bool) {
	b.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, open := <-events:
			if !open {
				b.Fatalf("the client ended while waiting for %s", what)
			}
			if ok(ev) {
				return
			}
		case <-timeout:
			b.Fatalf("no %s within a minute", what)
		}
	}
}

// pair signs Alice in at the first node and Bob at the last, as friends who
// see each other online.
func pair(b testing.TB, nodes []*coretest.Server) (alice, bob *client.Client, aliceEv, bobEv <-chan client.Event) {
	b.Helper()
	for _, e := range []string{"alice@example.com", "bob@example.com"} {
		nodes[0].AddUser(b, e, "pw", strings.Split(e, "@")[0])
	}
	alice, aliceEv = benchUser(b, nodes[0], "alice@example.com")
	bob, bobEv = benchUser(b, nodes[len(nodes)-1], "bob@example.com")
	ctx := context.Background()
	if err := alice.AddContact(ctx, "bob@example.com"); err != nil {
		b.Fatal(err)
	}
	if err := bob.AddContact(ctx, "alice@example.com"); err != nil {
		b.Fatal(err)
	}
	awaitEvent(b, aliceEv, "bob online", func(ev client.Event) bool {
		p, ok := ev.(*client.Presence)
		return ok && p.Email == "bob@example.com" && p.Status == client.Online
	})
	return alice, bob, aliceEv, bobEv
}

// BenchmarkPresence is one status change, from Bob's CHG until Alice's
// client has it.
func BenchmarkPresence(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := inProcess(b, n)
			_, bob, aliceEv, _ := pair(b, nodes)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				st := client.Away
				if i%2 == 1 {
					st = client.Online
				}
				if err := bob.SetStatus(ctx, st); err != nil {
					b.Fatal(err)
				}
				awaitEvent(b, aliceEv, "bob's status", func(ev client.Event) bool {
					p, ok := ev.(*client.Presence)
					return ok && p.Email == "bob@example.com" && p.Status == st
				})
			}
		})
	}
}

// BenchmarkCall is a conversation from nothing: Alice's XFR SB, CAL, Bob's
// RNG (from his own node) and ANS, the first message in Bob's client, and
// Alice leaving.
func BenchmarkCall(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := inProcess(b, n)
			alice, _, _, bobEv := pair(b, nodes)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				cv, err := alice.Conversation(ctx, "bob@example.com")
				if err != nil {
					b.Fatal(err)
				}
				text := fmt.Sprint("call ", i)
				if err := cv.Send(ctx, text); err != nil {
					b.Fatal(err)
				}
				awaitEvent(b, bobEv, "the message", func(ev client.Event) bool {
					m, ok := ev.(*client.Message)
					return ok && m.Text == text
				})
				cv.Close()
			}
		})
	}
}

// BenchmarkMessage is one message in a conversation that is open, from
// Alice's MSG until Bob's client has it. The switchboard is on the first
// node whoever is where, so this is the same path on one node and on two:
// the cluster adds nothing to it.
func BenchmarkMessage(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := inProcess(b, n)
			alice, _, _, bobEv := pair(b, nodes)
			ctx := context.Background()
			cv, err := alice.Conversation(ctx, "bob@example.com")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				text := fmt.Sprint("message ", i)
				if err := cv.Send(ctx, text); err != nil {
					b.Fatal(err)
				}
				awaitEvent(b, bobEv, "the message", func(ev client.Event) bool {
					m, ok := ev.(*client.Message)
					return ok && m.Text == text
				})
			}
		})
	}
}

// BenchmarkSignIn is Passport sign-ins (login2.srf, then USR at the NS)
// of distinct accounts by 8 clients at once, spread over the nodes; each
// sign-in is announced to the other nodes.
func BenchmarkSignIn(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := inProcess(b, n)
			emails := make([]string, b.N)
			for i := range emails {
				emails[i] = fmt.Sprintf("u%d@example.com", i)
			}
			if err := nodes[0].Store.CreateAccounts(context.Background(), emails, "pw", 4); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			var mu sync.Mutex
			var clients []*client.Client
			b.Cleanup(func() {
				for _, c := range clients {
					c.Close()
				}
			})
			b.ResetTimer()
			start := time.Now()
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						node := nodes[i%n]
						ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
						cl, err := client.Dial(ctx, client.Config{Server: node.NSAddr, Email: emails[i], Password: "pw",
							Passport: client.PassportConfig{URL: node.HTTPURL}})
						cancel()
						if err != nil {
							b.Errorf("%s signs in: %v", emails[i], err)
							return
						}
						mu.Lock()
						clients = append(clients, cl)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signins/s")
		})
	}
}

// BenchmarkFanout is one status change of Alice's, until the last of her
// 1,000 online contacts has it in their clients: with everyone on one
// node, and with Alice on one node and the contacts on the other.
func BenchmarkFanout(b *testing.B) {
	const contacts = 1000
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := inProcess(b, n)
			ctx := context.Background()
			emails := make([]string, contacts)
			pairs := make([]store.ContactPair, contacts)
			for i := range emails {
				emails[i] = fmt.Sprintf("w%d@example.com", i)
				pairs[i] = store.ContactPair{Owner: emails[i], Contact: "alice@example.com"}
			}
			if err := nodes[0].Store.CreateAccounts(ctx, append(emails, "alice@example.com"), "pw", 4); err != nil {
				b.Fatal(err)
			}
			if err := nodes[0].Store.AddContacts(ctx, pairs); err != nil {
				b.Fatal(err)
			}
			alice, _ := benchUser(b, nodes[0], "alice@example.com")

			var want atomic.Value // the status being waited for
			want.Store(client.Online)
			var told atomic.Int64
			all := make(chan struct{}, 1)
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= contacts {
							return
						}
						node := nodes[n-1]
						dctx, cancel := context.WithTimeout(ctx, 120*time.Second)
						cl, err := client.Dial(dctx, client.Config{Server: node.NSAddr, Email: emails[i], Password: "pw", Version: 7})
						cancel()
						if err != nil {
							b.Errorf("%s signs in: %v", emails[i], err)
							return
						}
						b.Cleanup(func() { cl.Close() })
						go func() {
							for ev := range cl.Events() {
								if p, ok := ev.(*client.Presence); ok && p.Email == "alice@example.com" && p.Status == want.Load() {
									if told.Add(1) == contacts {
										all <- struct{}{}
									}
								}
							}
						}()
					}
				}()
			}
			wg.Wait()
			if b.Failed() {
				return
			}
			b.ResetTimer()
			for i := range b.N {
				st := client.Away
				if i%2 == 1 {
					st = client.Online
				}
				want.Store(st)
				told.Store(0)
				if err := alice.SetStatus(ctx, st); err != nil {
					b.Fatal(err)
				}
				select {
				case <-all:
				case <-time.After(120 * time.Second):
					b.Fatalf("%d of %d contacts told", told.Load(), contacts)
				}
			}
		})
	}
}
