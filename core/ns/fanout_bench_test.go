package ns_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/config"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// BenchmarkFanout is one status change of a user with many online
// watchers, from the CHG until the last watcher has read its NLN: the
// time per operation is when the last one was told. The watchers are bare
// MSNP7 connections in this process that read until they see the change,
// as nudge bench's are; they share the CPUs with the service. (Ten
// thousand watchers, the goal's figure, need twice as many open files in
// one process: nudge bench --only fanout --contacts 10000 measures those.)
//
//	go test -run '^$' -bench Fanout/watchers=5000 -benchtime 20x ./core/ns/
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("watchers=%d", n), func(b *testing.B) { benchmarkFanout(b, n) })
	}
}

func benchmarkFanout(b *testing.B, n int) {
	srv := coretest.Start(b, coretest.WithoutChallenges(), coretest.WithConfig(func(c *config.Config) {
		c.Log.Level = "warn"
		c.Limits.Unauthenticated = 1 << 20
		c.Limits.UnauthenticatedPerAddress = 1 << 20
	}))
	ctx := context.Background()
	const star = "star@example.com"
	emails := make([]string, n)
	pairs := make([]store.ContactPair, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("w%d@example.com", i)
		pairs[i] = store.ContactPair{Owner: emails[i], Contact: star}
	}
	if err := srv.Store.CreateAccounts(ctx, append(emails, star), "pw", 4); err != nil {
		b.Fatal(err)
	}
	if err := srv.Store.AddContacts(ctx, pairs); err != nil {
		b.Fatal(err)
	}

	var (
		want atomic.Value // the NLN status being waited for
		told atomic.Int64
		all  = make(chan struct{}, 1)
		next atomic.Int64
		wg   sync.WaitGroup
	)
	want.Store("NLN")
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				conn, r, err := benchLogin(srv.NSAddr, emails[i], true)
				if err != nil {
					b.Errorf("%s signs in: %v", emails[i], err)
					return
				}
				b.Cleanup(func() { conn.Close() })
				go func() {
					var c msnp.Command
					for r.ReadInto(&c) == nil {
						if c.Name == "NLN" && c.Param(1) == star && c.Param(0) == want.Load() {
							if told.Add(1) == int64(n) {
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
	conn, r, err := benchLogin(srv.NSAddr, star, false)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	go func() {
		var c msnp.Command
		for r.ReadInto(&c) == nil {
		}
	}()
	change := func(trid int, status string) {
		want.Store(status)
		told.Store(0)
		if _, err := conn.Write([]byte("CHG " + strconv.Itoa(trid) + " " + status + "\r\n")); err != nil {
			b.Fatal(err)
		}
		select {
		case <-all:
		case <-time.After(120 * time.Second):
			b.Fatalf("%d of %d watchers told", told.Load(), n)
		}
	}
	change(5, "NLN") // everyone knows the user is online
	b.ResetTimer()
	for i := range b.N {
		status := "AWY"
		if i%2 == 1 {
			status = "NLN"
		}
		change(6+i, status)
	}
}

// benchLogin signs email in with MSNP7 (MD5, password "pw"), online when
// online is true, and returns the connection and its reader.
func benchLogin(addr, email string, online bool) (net.Conn, *msnp.Reader, error) {
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	r := msnp.NewReader(conn, msnp.FromServer)
	expect := func(name string) (*msnp.Command, error) {
		for {
			c, err := r.ReadCommand()
			if err != nil {
				return nil, err
			}
			if c.IsError() {
				return nil, fmt.Errorf("%s", c)
			}
			if c.Name == name {
				return c, nil
			}
		}
	}
	fail := func(err error) (net.Conn, *msnp.Reader, error) {
		conn.Close()
		return nil, nil, err
	}
	if _, err := conn.Write([]byte("VER 1 MSNP7 CVR0\r\nUSR 2 MD5 I " + email + "\r\n")); err != nil {
		return fail(err)
	}
	salt, err := expect("USR")
	if err != nil {
		return fail(err)
	}
	last, then := "SYN", "USR 3 MD5 S "+auth.MD5Digest(salt.Param(2), "pw")+"\r\nSYN 4 0\r\n"
	if online {
		last, then = "CHG", then+"CHG 5 NLN\r\n"
	}
	if _, err := conn.Write([]byte(then)); err != nil {
		return fail(err)
	}
	if _, err := expect(last); err != nil {
		return fail(err)
	}
	conn.SetDeadline(time.Time{})
	return conn, r, nil
}
