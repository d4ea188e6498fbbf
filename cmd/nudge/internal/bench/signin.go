package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/auth"
)

// A signer signs one account in and out again and again over bare
// connections, sending what the Go client sends at its version (VER, INF
// or CVR, USR I and S, SYN, the first CHG, QRY for the challenge that
// follows it, and OUT), and reading every answer: the whole list sync, the
// presence of online contacts, the challenge. It does only that: one
// worker's commands are encoded once, only the parts of a sign-in that
// change (the MD5 answer or the ticket, the challenge's answer) are
// written per sign-in, the list sync is counted rather than kept, and a
// sign-in runs on its worker's goroutine with no timer or context of its
// own (a watchdog ends one that hangs). The generator then costs a small
// part of what the server does per sign-in, where the full client cost
// as much, on the same cores.
type signer struct {
	b     *runner
	d     *msnp.Dialect
	addr  string // the Notification Server
	email string

	ver, inf, usrI, syn, chg []byte // encoded once
	line                     []byte // USR S and QRY, per sign-in
	c                        msnp.Command
	r                        *msnp.Reader
	chl                      string // the challenge after the first CHG
	listed                   int    // list entries the last sign-in read

	mu    sync.Mutex
	conn  net.Conn  // the sign-in under way, for the watchdog
	since time.Time // when it began
	hung  bool      // the watchdog ended it
}

// Trial IDs of a sign-in's commands, as the Go client numbers them.
const (
	tridVER = iota + 1
	tridINF // or CVR
	tridUSRI
	tridUSRS
	tridSYN
	tridCHG
	tridQRY
)

// signInTimeout is how long a sign-in may take before the watchdog ends
// it as failed.
const signInTimeout = 30 * time.Second

// newSigner prepares the commands of v's sign-in for email at addr.
func (b *runner) newSigner(v msnp.Version, email, addr string) *signer {
	d := v.Dialect()
	s := &signer{b: b, d: d, addr: addr, email: email}
	enc := func(name string, trid uint32, params ...string) []byte {
		return msnp.AppendCommand(nil, msnp.New(name, trid, params...))
	}
	s.ver = enc("VER", tridVER, v.String(), msnp.CVR0)
	if d.INF {
		s.inf = enc("INF", tridINF)
	} else {
		// MSN Messenger 7.5's, the client of MSNP12, as the Go client
		// names it.
		s.inf = enc("CVR", tridINF, "0x0409", "winnt", "5.1", "i386", "MSNMSGR", "7.5.0324", "MSMSGS", email)
	}
	s.usrI = enc("USR", tridUSRI, string(d.Auth), "I", email)
	if d.SYNTimestamps {
		s.syn = enc("SYN", tridSYN, "0", "0")
	} else {
		s.syn = enc("SYN", tridSYN, "0")
	}
	if d.Capabilities {
		// What the Go client announces it can take part in.
		var caps uint32
		if d.DataAck {
			caps |= msnp.CapMSNC1
		}
		if d.PersonalMsg {
			caps |= msnp.CapWinks | msnp.CapVoiceClips
		}
		s.chg = enc("CHG", tridCHG, "NLN", msnp.FormatCaps(caps, 0, d))
	} else {
		s.chg = enc("CHG", tridCHG, "NLN")
	}
	return s
}

// signIn signs in and out once; ticket is the Passport ticket for a TWN
// sign-in (MD5 sign-ins answer the salt with the bench's password).
func (s *signer) signIn(ctx context.Context, ticket string) error {
	addr := s.addr
	for hop := 0; ; hop++ {
		next, err := s.signInAt(ctx, addr, ticket)
		s.mu.Lock()
		if s.conn != nil {
			s.conn.Close()
			s.conn = nil
		}
		hung := s.hung
		s.hung = false
		s.mu.Unlock()
		switch {
		case hung:
			return fmt.Errorf("no answer within %s: %w", signInTimeout, err)
		case err != nil || next == "":
			return err
		case hop == 4:
			return fmt.Errorf("more than 5 referrals (XFR NS) in a row")
		}
		addr = next
	}
}

// signInAt signs in at one server, or returns where it refers the client
// (XFR NS).
func (s *signer) signInAt(ctx context.Context, addr, ticket string) (next string, err error) {
	// No TCP keep-alive: four socket options per sign-in for probes
	// that would start after hours.
	d := net.Dialer{LocalAddr: s.b.localAddr(addr), KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.conn, s.since = conn, time.Now()
	s.mu.Unlock()
	s.r = msnp.NewReader(conn, msnp.FromServer)
	s.r.Version = s.d.Version
	s.chl, s.listed = "", 0

	if err := s.call(s.ver, tridVER); err != nil {
		return "", err
	}
	if s.c.Param(0) != s.d.Version.String() {
		return "", fmt.Errorf("VER: the server does not speak %s (answered %s)", s.d.Version, s.c.String())
	}
	if err := s.call(s.inf, tridINF); err != nil {
		return "", err
	}
	if err := s.call(s.usrI, tridUSRI); err != nil {
		return "", err
	}
	if s.c.Name == "XFR" && s.c.Param(0) == "NS" && s.c.Param(1) != "" {
		next = s.c.Param(1)
		_, err := conn.Write(outCommand)
		return next, err
	}
	if s.c.Param(1) != "S" {
		return "", fmt.Errorf("USR I: unexpected answer %s", s.c.String())
	}
	s.line = append(s.line[:0], "USR "...)
	s.line = strconv.AppendUint(s.line, tridUSRS, 10)
	s.line = append(s.line, ' ')
	s.line = append(s.line, s.d.Auth...)
	s.line = append(s.line, " S "...)
	if s.d.Auth == msnp.AuthMD5 {
		s.line = append(s.line, auth.MD5Digest(s.c.Param(2), s.b.password)...)
	} else {
		s.line = append(s.line, ticket...)
	}
	s.line = append(s.line, "\r\n"...)
	if err := s.call(s.line, tridUSRS); err != nil {
		return "", err
	}
	if s.c.Param(0) != "OK" {
		return "", fmt.Errorf("USR S: unexpected answer %s", s.c.String())
	}
	if err := s.call(s.syn, tridSYN); err != nil {
		return "", err
	}
	if err := s.readList(); err != nil {
		return "", fmt.Errorf("SYN: reading the list: %w", err)
	}
	if err := s.call(s.chg, tridCHG); err != nil {
		return "", err
	}
	// The presence of online contacts and the challenge are sent with
	// the answer to the first CHG, in one write.
	for s.chl == "" && s.r.Buffered() > 0 {
		if err := s.read(); err != nil {
			return "", err
		}
	}
	if s.chl != "" {
		product, answer, ok := auth.AnswerChallenge(int(s.d.Version), s.chl)
		if !ok {
			return "", fmt.Errorf("CHL: no product key for %s", s.d.Version)
		}
		s.line = append(s.line[:0], "QRY "...)
		s.line = strconv.AppendUint(s.line, tridQRY, 10)
		s.line = append(s.line, ' ')
		s.line = append(s.line, product...)
		s.line = append(s.line, ' ')
		s.line = strconv.AppendInt(s.line, int64(len(answer)), 10)
		s.line = append(s.line, "\r\n"...)
		s.line = append(s.line, answer...)
		if err := s.call(s.line, tridQRY); err != nil {
			return "", err
		}
	}
	_, err = conn.Write(outCommand)
	return "", err
}

var outCommand = []byte("OUT\r\n")

// call writes cmd and reads up to the answer with trid, into s.c.
func (s *signer) call(cmd []byte, trid uint32) error {
	if _, err := s.conn.Write(cmd); err != nil {
		return err
	}
	for {
		if err := s.read(); err != nil {
			return err
		}
		if s.c.HasTrID && s.c.TrID == trid {
			if s.c.IsError() {
				return fmt.Errorf("%s: %w", cmd[:3], s.c.ErrorCode())
			}
			return nil
		}
	}
}

// read reads the next command into s.c, noting a challenge.
func (s *signer) read() error {
	if err := s.r.ReadInto(&s.c); err != nil {
		return err
	}
	if s.c.Name == "CHL" && s.c.Param(0) != "" {
		s.chl = s.c.Param(0)
	}
	return nil
}

// readList reads the list sync that follows the answer to SYN (in s.c) to
// its end, counting its entries: up to the last reverse-list entry in
// MSNP2–7's numbered lists, or as many groups and contacts as the answer
// announced from MSNP8.
func (s *signer) readList() error {
	p := s.c.Params
	contacts, groups := -1, -1
	switch s.d.ListForm {
	case msnp.ListNumbered:
		// "SYN trid ver": the lists follow unless ver is the one asked.
		if len(p) < 1 || p[0] == "0" {
			return nil
		}
		for {
			if err := s.read(); err != nil {
				return err
			}
			// LST trid LIST ver idx total [handle friendly [groups]]
			q := s.c.Params
			if s.c.Name != "LST" || len(q) < 4 {
				continue
			}
			if len(q) >= 6 {
				s.listed++
			}
			if q[0] == "RL" && q[2] == q[3] {
				return nil
			}
		}
	case msnp.ListCompact:
		// "SYN trid ver contacts groups", or "SYN trid ver" when current.
		if len(p) >= 3 {
			contacts, _ = strconv.Atoi(p[1])
			groups, _ = strconv.Atoi(p[2])
		}
	default:
		// "SYN trid ts1 ts2 contacts groups".
		if len(p) >= 4 {
			contacts, _ = strconv.Atoi(p[2])
			groups, _ = strconv.Atoi(p[3])
		}
	}
	gotGroups := 0
	for s.listed < contacts || gotGroups < groups {
		if err := s.read(); err != nil {
			return err
		}
		switch s.c.Name {
		case "LST":
			s.listed++
		case "LSG":
			gotGroups++
		}
	}
	return nil
}

// watch ends the sign-ins of signers that take longer than
// signInTimeout, until stop is closed; a sign-in so ended fails.
func watch(signers []*signer, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			for _, s := range signers {
				s.mu.Lock()
				if s.conn != nil && now.Sub(s.since) > signInTimeout {
					s.hung = true
					s.conn.Close()
				}
				s.mu.Unlock()
			}
		}
	}
}

// signIns runs sign-ins with one signer per worker, each on its own
// goroutine, for as long as more(w, i) gives worker w the ticket of its
// i-th sign-in ("" for MD5) and true; it reports their rate, latency and
// CPU per sign-in as method.
func (b *runner) signIns(ctx context.Context, method string, signers []*signer, more func(w, i int) (string, bool)) LoginResult {
	var (
		wg       sync.WaitGroup
		lat      = make([]latencies, len(signers))
		failed   = make([]int, len(signers))
		firstErr = make([]error, len(signers))
		stop     = make(chan struct{})
	)
	go watch(signers, stop)
	cpu := markCPU(b.serverClock(ctx))
	start := time.Now()
	for w, s := range signers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				ticket, ok := more(w, i)
				if !ok {
					return
				}
				t0 := time.Now()
				if err := s.signIn(ctx, ticket); err != nil {
					failed[w]++
					if firstErr[w] == nil {
						firstErr[w] = fmt.Errorf("%s: %w", s.email, err)
					}
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	r := LoginResult{Method: method, Workers: len(signers)}
	var all latencies
	var first error
	for w := range signers {
		all = append(all, lat[w]...)
		r.Failed += failed[w]
		if first == nil {
			first = firstErr[w]
		}
	}
	r.GeneratorCPU, r.ServerCPU = cpu.cost(int64(len(all)))
	r.Logins = len(all)
	r.PerSec = float64(len(all)) / elapsed.Seconds()
	r.P50, r.P99 = all.percentile(0.50), all.percentile(0.99)
	if first != nil {
		b.progress("  first failure: %v", first)
	}
	b.progress("  %.0f sign-ins per second, p99 %s, %d failed; CPU per sign-in: generator %s µs, server %s µs", r.PerSec, r.P99, r.Failed, micros(r.GeneratorCPU), micros(r.ServerCPU))
	return r
}
