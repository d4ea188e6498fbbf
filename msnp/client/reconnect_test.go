package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestReconnectAfterDrop(t *testing.T) {
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 7)
	cfg.Reconnect = true
	cfg.ReconnectMinDelay = 10 * time.Millisecond
	cfg.ReconnectMaxDelay = 40 * time.Millisecond
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.md5Login(7, "alice@example.com", "Alice")
	n.expect("SYN 5 0")
	n.send("SYN 5 3",
		"LST 5 FL 3 1 2 bob@example.com Bob 0",
		"LST 5 FL 3 2 2 carol@example.com Carol 0",
		"LST 5 AL 3 0 0", "LST 5 BL 3 0 0", "LST 5 RL 3 0 0")
	n.expect("CHG 6 NLN")
	n.send("CHG 6 NLN", "ILN 6 NLN bob@example.com Bob", "ILN 6 BSY carol@example.com Carol")
	n.expect("PNG")
	n.send("QNG")
	c := dialResult(t, cc, ec)
	waitEvent[*Presence](t, c)
	waitEvent[*Presence](t, c)

	ctx := context.Background()
	errc := make(chan error, 1)
	go func() { errc <- c.SetStatus(ctx, Away) }()
	n.expect("CHG 7 AWY")
	n.send("CHG 7 AWY")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	// The server goes away.
	n.nc.Close()
	d := waitEvent[*Disconnected](t, c)
	if !d.Reconnecting || !errors.Is(d.Err, ErrConnectionLost) {
		t.Errorf("disconnected %+v", d)
	}

	// A call made meanwhile waits for the new session.
	go func() { errc <- c.AddContact(ctx, "dave@example.com") }()

	// The first attempt finds the server refusing; the second signs in.
	n = ns.accept()
	n.nc.Close()
	n = ns.accept()
	n.md5Login(7, "alice@example.com", "Alice")
	n.expect("SYN 5 0")
	n.send("SYN 5 4",
		"LST 5 FL 4 1 2 bob@example.com Bob 0",
		"LST 5 FL 4 2 2 carol@example.com Carol 0",
		"LST 5 AL 4 0 0", "LST 5 BL 4 0 0", "LST 5 RL 4 0 0")
	n.expect("CHG 6 AWY") // the status set before the drop
	n.send("CHG 6 AWY", "ILN 6 NLN bob@example.com Bob")
	n.expect("PNG")
	n.send("QNG")
	// Carol went offline while we were away; Bob did not change.
	p := waitEvent[*Presence](t, c)
	if p.Email != "carol@example.com" || p.Status != Offline {
		t.Errorf("presence %+v", p)
	}
	if r := nextEvent(t, c).(*Reconnected); r.Attempts != 2 {
		t.Errorf("reconnected %+v", r)
	}
	n.expect("ADD 7 FL dave@example.com dave@example.com 0")
	n.send("ADD 7 FL 5 dave@example.com dave@example.com 0")
	n.expect("ADD 8 AL dave@example.com dave@example.com")
	n.send("ADD 8 AL 6 dave@example.com dave@example.com")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if s := c.Self(); s.Status != Away {
		t.Errorf("self %+v", s)
	}
}

// Signed out because the account signed in elsewhere: no reconnection.
func TestNoReconnectWhenSignedInElsewhere(t *testing.T) {
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 7)
	cfg.Reconnect = true
	cfg.ReconnectMinDelay = time.Millisecond
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.quietLogin("alice@example.com")
	c := dialResult(t, cc, ec)
	n.send("OUT OTH")
	n.nc.Close()
	d := waitEvent[*Disconnected](t, c)
	if d.Reconnecting || !errors.Is(d.Err, ErrSignedInElsewhere) {
		t.Errorf("disconnected %+v", d)
	}
	if _, ok := <-c.Events(); ok {
		t.Error("events not closed after the final Disconnected")
	}
	<-c.Done()
	if err := c.SetStatus(context.Background(), Busy); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrSignedInElsewhere) {
		t.Errorf("call after the end: %v", err)
	}
}

// Without Reconnect a drop ends the client.
func TestDropWithoutReconnect(t *testing.T) {
	ns := newScriptServer(t)
	cc, ec := dialAsync(testConfig(ns.addr(), 7))
	n := ns.accept()
	n.quietLogin("alice@example.com")
	c := dialResult(t, cc, ec)
	n.nc.Close()
	if d := waitEvent[*Disconnected](t, c); d.Reconnecting {
		t.Errorf("disconnected %+v", d)
	}
	<-c.Done()
}

// An unanswered ping ends the connection.
func TestPingTimeout(t *testing.T) {
	ns := newScriptServer(t)
	cfg := testConfig(ns.addr(), 9)
	cfg.PingInterval = 20 * time.Millisecond
	cfg.RequestTimeout = 200 * time.Millisecond
	cfg.Passport.LoginURL = passportServer(t, "alice@example.com", "mypassword", "t=a&p=").URL + "/login2.srf"
	cc, ec := dialAsync(cfg)
	n := ns.accept()
	n.expect("VER 1 MSNP9 CVR0")
	n.send("VER 1 MSNP9")
	n.expect("CVR ...")
	n.send("CVR 2 a a a a a")
	n.expect("USR 3 TWN I alice@example.com")
	n.send("USR 3 TWN S " + twnParams)
	n.expect("USR 4 TWN S t=a&p=")
	n.send("USR 4 OK alice@example.com Alice 1 0")
	n.expect("SYN 5 0")
	n.send("SYN 5 1 0 0")
	n.expect("CHG 6 NLN 268435456")
	n.send("CHG 6 NLN 268435456")
	n.expect("PNG")
	n.send("QNG 1")
	c := dialResult(t, cc, ec)
	n.expect("PNG") // answered
	n.send("QNG 1")
	n.expect("PNG") // not answered
	d := waitEvent[*Disconnected](t, c)
	if !errors.Is(d.Err, ErrPingTimeout) {
		t.Errorf("disconnected %+v", d)
	}
}

func TestBackoff(t *testing.T) {
	min, max := 100*time.Millisecond, 3*time.Second
	for n, want := range []time.Duration{0, 100, 200, 400, 800, 1600, 3000, 3000} {
		if n == 0 {
			continue
		}
		want *= time.Millisecond
		for range 50 {
			d := backoff(n, min, max)
			if d > want || d < want*4/5 {
				t.Fatalf("backoff(%d) = %v, want %v less at most a fifth", n, d, want)
			}
		}
	}
}
