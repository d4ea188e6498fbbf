package ns_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// BenchmarkSignIn is whole sign-ins at the Notification Server by 100
// clients at once, each on its own account, as `nudge bench --only logins`
// makes them: MD5 (MSNP7: VER, USR I, USR S, SYN, CHG) and Passport
// tickets (MSNP12: VER, CVR, USR I, USR S with a ticket issued beforehand,
// SYN, CHG), with an empty list and with 20 contacts, half of them
// online. The client side runs in the same process, on the same cores, as
// the bench's generator does. Goals: 4,000 MD5 and 5,000 ticket sign-ins
// a second on two cores.
func BenchmarkSignIn(b *testing.B) {
	for _, list := range []int{0, 20} {
		for _, method := range []string{"md5", "ticket"} {
			b.Run(fmt.Sprintf("%s/list=%d", method, list), func(b *testing.B) {
				benchmarkSignIn(b, method, list)
			})
		}
	}
}

const benchClients = 100

func benchmarkSignIn(b *testing.B, method string, list int) {
	srv := coretest.Start(b)
	ctx := context.Background()
	emails := make([]string, benchClients)
	for i := range emails {
		emails[i] = fmt.Sprintf("c%03d@example.com", i)
	}
	if err := srv.Store.CreateAccounts(ctx, emails, "pw", 4); err != nil {
		b.Fatal(err)
	}
	var online []net.Conn
	if list > 0 {
		// Each signing-in account lists friends (who list it back), half
		// of whom are online and get its presence.
		friends := make([]string, list)
		for i := range friends {
			friends[i] = fmt.Sprintf("f%03d@example.com", i)
		}
		if err := srv.Store.CreateAccounts(ctx, friends, "pw", 4); err != nil {
			b.Fatal(err)
		}
		var pairs []store.ContactPair
		for _, e := range emails {
			for _, f := range friends {
				pairs = append(pairs, store.ContactPair{Owner: e, Contact: f}, store.ContactPair{Owner: f, Contact: e})
			}
		}
		if err := srv.Store.AddContacts(ctx, pairs); err != nil {
			b.Fatal(err)
		}
		for _, f := range friends[:list/2] {
			x := benchDial(b, srv.NSAddr, 0)
			if err := x.md5SignIn(f); err != nil {
				b.Fatal(err)
			}
			online = append(online, x.conn)
			go x.drain()
		}
	}
	b.Cleanup(func() {
		for _, c := range online {
			c.Close()
		}
	})
	var next atomic.Int64
	b.SetParallelism((benchClients + 1) / 2) // 100 clients on two cores
	start, cpu := time.Now(), cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := int(next.Add(1)) - 1
		email := emails[n%len(emails)]
		for pb.Next() {
			x := benchDial(b, srv.NSAddr, n)
			var err error
			if method == "md5" {
				err = x.md5SignIn(email)
			} else {
				err = x.ticketSignIn(email, srv.Tickets.Issue(email))
			}
			x.conn.Close()
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signins/s")
	// The CPU time of both sides per sign-in, which a loaded machine does
	// not inflate as it does the rate: two cores make at most 2 s / this
	// many sign-ins a second.
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/signin")
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type benchConn struct {
	conn net.Conn
	r    *msnp.Reader
	w    *msnp.Writer
	trID uint32
}

// benchDial connects from 127.0.0.(2+n%250), as the bench does, so that
// the per-address caps see many clients rather than one.
func benchDial(b *testing.B, addr string, n int) *benchConn {
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+n%250))}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(time.Minute))
	return &benchConn{conn: conn, r: msnp.NewReader(conn, msnp.FromServer), w: msnp.NewWriter(conn)}
}

// call sends a command and reads to its answer, answering challenges.
func (x *benchConn) call(name string, params ...string) (*msnp.Command, error) {
	x.trID++
	c := msnp.New(name, x.trID, params...)
	if err := x.w.WriteCommand(c); err != nil {
		return nil, err
	}
	if err := x.w.Flush(); err != nil {
		return nil, err
	}
	for {
		r, err := x.r.ReadCommand()
		if err != nil {
			return nil, err
		}
		if r.HasTrID && r.TrID == c.TrID {
			if r.IsError() {
				return nil, fmt.Errorf("%s: %w", name, r.ErrorCode())
			}
			return r, nil
		}
		if r.Name == "CHL" {
			product, answer, _ := auth.AnswerChallenge(7, r.Param(0))
			x.w.WriteCommand(msnp.New("QRY", 1000, product).WithPayload([]byte(answer)))
		}
	}
}

func (x *benchConn) md5SignIn(email string) error {
	if _, err := x.call("VER", "MSNP7", "CVR0"); err != nil {
		return err
	}
	salt, err := x.call("USR", "MD5", "I", email)
	if err != nil {
		return err
	}
	if _, err := x.call("USR", "MD5", "S", auth.MD5Digest(salt.Param(2), "pw")); err != nil {
		return err
	}
	if _, err := x.call("SYN", "0"); err != nil {
		return err
	}
	_, err = x.call("CHG", "NLN")
	return err
}

func (x *benchConn) ticketSignIn(email, ticket string) error {
	steps := [][]string{
		{"VER", "MSNP12", "MSNP11", "CVR0"},
		{"CVR", "0x0409", "winnt", "5.1", "i386", "MSNMSGR", "7.5.0324", "MSMSGS", email},
		{"USR", "TWN", "I", email},
		{"USR", "TWN", "S", ticket},
		{"SYN", "0", "0"},
		{"CHG", "NLN", "0"},
	}
	for _, s := range steps {
		if _, err := x.call(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// drain reads what an online friend is told until the connection closes.
func (x *benchConn) drain() {
	x.conn.SetDeadline(time.Time{})
	for {
		c, err := x.r.ReadCommand()
		if err != nil {
			return
		}
		if c.Name == "CHL" {
			product, answer, _ := auth.AnswerChallenge(7, c.Param(0))
			x.w.WriteCommand(msnp.New("QRY", 1000, product).WithPayload([]byte(answer)))
			x.w.Flush()
		}
	}
}
