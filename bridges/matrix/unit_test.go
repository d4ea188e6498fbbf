//go:build goolm

package matrix

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/rs/zerolog"
	"go.mau.fi/util/dbutil"
	"maunium.net/go/mautrix/bridgev2"
	"maunium.net/go/mautrix/bridgev2/database"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/nudge-im/nudge/bridges/msnbridge"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

func TestHostedDomain(t *testing.T) {
	for _, tc := range []struct {
		mxid, domain, want, err string
	}{
		{"@alice:example.org", "", "example.org", ""},
		{"@alice:Example.ORG:8448", "", "example.org", ""},
		{"@alice:example.org", "msn.example.net", "msn.example.net", ""},
		{"@alice:localhost", "", "", "has no dot"},
		{"@alice:ex_ample.org", "", "", "cannot be an MSN address's domain"},
		{"not-an-id", "", "", "not a Matrix user ID"},
	} {
		got, err := hostedDomain(id.UserID(tc.mxid), tc.domain)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("hostedDomain(%s, %q) = %q, %v; want %q", tc.mxid, tc.domain, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("hostedDomain(%s, %q) = %q, %v; want an error with %q", tc.mxid, tc.domain, got, err, tc.err)
		}
	}
}

// Hosted accounts are keyed by Matrix ID: with email_domain set, @alice of
// two homeservers get two accounts, and an MSN account nobody bridged is
// never taken. The record outlives the login; without it (a lost
// database) the derived password proves which account is whose.
func TestHostedAccountsByMatrixID(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "carol@chat.test", "carol-pw", "Carol")
	mc := &Connector{Config: validConfig()}
	mc.Config.Server, mc.Config.PassportURL = srv.NSAddr, srv.HTTPURL
	mc.Config.Hosted.AdminURL, mc.Config.Hosted.AdminToken = srv.HTTPURL, srv.Server.AdminToken
	mc.Config.Hosted.EmailDomain = "chat.test"
	if err := mc.Config.validate(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	open := func(name string) {
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		mc.Bridge = &bridgev2.Bridge{DB: &database.Database{Database: &dbutil.Database{RawDB: db}}, Log: zerolog.Nop()}
		if err := mc.openHosted(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	open("one.db")
	ctx := context.Background()
	a, err := mc.hostedAccount(ctx, "@alice:one.example", "Alice One")
	if err != nil || a.Email != "alice@chat.test" {
		t.Fatalf("the first alice: %+v %v", a, err)
	}
	b, err := mc.hostedAccount(ctx, "@alice:two.example", "Alice Two")
	if err != nil || b.Email != "alice-2@chat.test" {
		t.Fatalf("the second alice: %+v %v", b, err)
	}
	c, err := mc.hostedAccount(ctx, "@carol:one.example", "Carol")
	if err != nil || c.Email != "carol-2@chat.test" {
		t.Fatalf("carol: %+v %v", c, err)
	}
	if cl, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: "carol@chat.test", Password: "carol-pw", Passport: client.PassportConfig{URL: srv.HTTPURL}}); err != nil {
		t.Fatalf("the MSN user's account no longer takes her password: %v", err)
	} else {
		cl.Close()
	}
	open("two.db") // the bridge lost its database
	again, err := mc.hostedAccount(ctx, "@alice:two.example", "Alice Two")
	if err != nil || again != b {
		t.Fatalf("the second alice after losing the database: %+v %v, want %+v", again, err, b)
	}
}

func validConfig() Config {
	return Config{
		Server:              "127.0.0.1:1863",
		PassportURL:         "http://127.0.0.1:8080",
		ProtocolVersion:     12,
		DisplaynameTemplate: "{{.FriendlyName}} (MSN)",
		Hosted: HostedConfig{
			Enabled: true, AdminURL: "http://127.0.0.1:8080", AdminToken: "token",
			PasswordSecret: "0123456789abcdef0123",
		},
	}
}

func TestConfigValidate(t *testing.T) {
	c := validConfig()
	if err := c.validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if c.Presence.PollInterval != 30*time.Second || c.Presence.OfflineStatus != "away" || c.MaxFileSize != 10<<20 {
		t.Errorf("defaults: poll %s, offline %q", c.Presence.PollInterval, c.Presence.OfflineStatus)
	}
	for _, v := range []int{0, 12, 18} { // 0: the default, 15; an older one stays a choice
		c := validConfig()
		c.ProtocolVersion = v
		if err := c.validate(); err != nil {
			t.Errorf("protocol_version %d: %v", v, err)
		}
		if v == 0 && c.ProtocolVersion != 15 {
			t.Errorf("default protocol_version %d, want 15", c.ProtocolVersion)
		}
	}
	if got := c.formatDisplayname("bob@example.com", "Bob"); got != "Bob (MSN)" {
		t.Errorf("display name %q, want \"Bob (MSN)\"", got)
	}
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.Server = "nohost" }, "network.server"},
		{func(c *Config) { c.PassportURL = "ftp://x" }, "network.passport_url"},
		{func(c *Config) { c.ProtocolVersion = 19 }, "network.protocol_version"},
		{func(c *Config) { c.ProtocolVersion = 1 }, "network.protocol_version"},
		{func(c *Config) { c.DisplaynameTemplate = "{{" }, "network.displayname_template"},
		{func(c *Config) { c.Hosted.AdminURL = "" }, "network.hosted.admin_url"},
		{func(c *Config) { c.Hosted.AdminToken = "" }, "admin_token_file"},
		{func(c *Config) { c.Hosted.PasswordSecret = "short" }, "password_secret"},
		{func(c *Config) { c.Hosted.EmailDomain = "localhost" }, "email_domain"},
		{func(c *Config) { c.Presence.OfflineStatus = "gone" }, "offline_status"},
		{func(c *Config) { c.MaxFileSize = -1 }, "network.max_file_size"},
	} {
		c := validConfig()
		tc.change(&c)
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("validate() = %v, want an error naming %s", err, tc.want)
		}
	}
}

func TestMatrixPresence(t *testing.T) {
	for _, tc := range []struct {
		ct   client.Contact
		pres event.Presence
		msg  string
	}{
		{client.Contact{Status: client.Online, PersonalMessage: " hi "}, event.PresenceOnline, "hi"},
		{client.Contact{Status: client.Busy}, event.PresenceUnavailable, "busy"},
		{client.Contact{Status: client.OutToLunch, PersonalMessage: "food"}, event.PresenceUnavailable, "out to lunch — food"},
		{client.Contact{Status: client.Offline}, event.PresenceOffline, ""},
		{client.Contact{}, event.PresenceOffline, ""},
	} {
		p, m := matrixPresence(tc.ct)
		if p != tc.pres || m != tc.msg {
			t.Errorf("matrixPresence(%+v) = %s %q, want %s %q", tc.ct, p, m, tc.pres, tc.msg)
		}
	}
}

func TestGeoLink(t *testing.T) {
	if got := geoLink("geo:51.5,-0.12;u=35"); got != "https://www.openstreetmap.org/?mlat=51.5&mlon=-0.12" {
		t.Errorf("geoLink = %q", got)
	}
	if got := geoLink("nonsense"); got != "nonsense" {
		t.Errorf("geoLink(nonsense) = %q", got)
	}
}

func TestSendError(t *testing.T) {
	c := &MSNClient{log: zerolog.Nop()}
	dm := &bridgev2.Portal{Portal: &database.Portal{}}
	dm.ID = "bob@example.com"
	for _, tc := range []struct {
		err    error
		want   string
		reason event.MessageStatusReason
	}{
		{fmt.Errorf("client: conversation 1: %w", client.ErrNotDelivered), "not delivered: the MSN server refused the message for bob@example.com (NAK)", event.MessageStatusGenericError},
		{fmt.Errorf("client: inviting: %w", msnp.ErrNotOnline), "not delivered: bob@example.com is offline", event.MessageStatusNoPermission},
		{errNotConnected, "not sent: the bridge is not connected to MSN right now", event.MessageStatusNetworkError},
		{errors.New("boom\nbang"), "not delivered: boom bang", event.MessageStatusNetworkError},
	} {
		err := c.sendError(dm, tc.err)
		var ms bridgev2.MessageStatus
		if !errors.As(err, &ms) {
			t.Fatalf("sendError(%v) = %T, want a bridgev2.MessageStatus", tc.err, err)
		}
		if !strings.HasPrefix(ms.InternalError.Error(), tc.want) || !ms.IsCertain || !ms.SendNotice || ms.ErrorReason != tc.reason {
			t.Errorf("sendError(%v) = %q certain=%v notice=%v reason=%s; want %q, certain, a notice, %s",
				tc.err, ms.InternalError, ms.IsCertain, ms.SendNotice, ms.ErrorReason, tc.want, tc.reason)
		}
	}
}

// peer is a real MSN session on the test server that keeps its events.
type peer struct {
	*client.Client
	mu      sync.Mutex
	events  []client.Event
	changed chan struct{}
}

func dialPeer(t *testing.T, srv *coretest.Server, email, password string) *peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := client.Dial(ctx, client.Config{Server: srv.NSAddr, Email: email, Password: password, Passport: client.PassportConfig{URL: srv.HTTPURL}})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{Client: cl, changed: make(chan struct{})}
	go func() {
		for ev := range cl.Events() {
			p.mu.Lock()
			p.events = append(p.events, ev)
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cl.Close() })
	return p
}

// waitN waits until n events match.
func (p *peer) waitN(t *testing.T, what string, n int, match func(client.Event) bool) {
	t.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		got := 0
		for _, e := range p.events {
			if match(e) {
				got++
			}
		}
		ch := p.changed
		p.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%d events for %s, want %d", got, what, n)
		}
	}
}

// signedInClient is an MSNClient with a real session on srv, without a
// bridge: enough for the Matrix→MSN handlers that Dendrite never calls.
func signedInClient(t *testing.T, srv *coretest.Server, email, password string, hosted bool) *MSNClient {
	t.Helper()
	mc := &Connector{Config: validConfig()}
	mc.Config.Server, mc.Config.PassportURL = srv.NSAddr, srv.HTTPURL
	mc.Config.Presence.SyncMatrix = true
	if err := mc.Config.validate(); err != nil {
		t.Fatal(err)
	}
	meta := &UserLoginMetadata{Email: email, Password: password, Hosted: hosted}
	login := &bridgev2.UserLogin{UserLogin: &database.UserLogin{ID: loginID(email), Metadata: meta}, Log: zerolog.Nop()}
	c := newMSNClient(mc, login)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := client.Dial(ctx, mc.clientConfig(meta))
	if err != nil {
		t.Fatal(err)
	}
	// The session alone, without the bridge's side (bridge states,
	// management room): the handlers under test use its client.
	c.sess = msnbridge.NewSession(mc.clientConfig(meta), zerolog.Nop(), msnbridge.Hooks{})
	c.sess.Start(context.Background(), cl)
	t.Cleanup(c.sess.Stop)
	if _, err := c.sess.Client(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func dmPortal(login, contact string) *bridgev2.Portal {
	return &bridgev2.Portal{Portal: &database.Portal{PortalKey: dmPortalKey(loginID(login), contact)}}
}

// Matrix typing reaches an appservice only on homeservers that push
// ephemeral events (not Dendrite), so the handler is tested here against a
// real MSN session: typing repeats until it stops.
func TestHandleMatrixTyping(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "alice-pw", "Alice")
	srv.AddUser(t, "bob@example.com", "bob-pw", "Bob")
	bob := dialPeer(t, srv, "bob@example.com", "bob-pw")
	c := signedInClient(t, srv, "alice@example.com", "alice-pw", false)
	c.typing.interval = 20 * time.Millisecond
	portal := dmPortal("alice@example.com", "bob@example.com")
	ctx := context.Background()

	if err := c.HandleMatrixTyping(ctx, &bridgev2.MatrixTyping{Portal: portal, IsTyping: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.HandleMatrixTyping(ctx, &bridgev2.MatrixTyping{Portal: portal, IsTyping: true}); err != nil {
		t.Fatal(err)
	}
	bob.waitN(t, "repeated typing notifications", 3, func(e client.Event) bool {
		ty, ok := e.(*client.Typing)
		return ok && ty.From == "alice@example.com"
	})
	c.typing.mu.Lock()
	running := len(c.typing.running)
	c.typing.mu.Unlock()
	if running != 1 {
		t.Errorf("%d typing loops for one portal, want 1", running)
	}
	if err := c.HandleMatrixTyping(ctx, &bridgev2.MatrixTyping{Portal: portal, IsTyping: false}); err != nil {
		t.Fatal(err)
	}
	c.typing.mu.Lock()
	running = len(c.typing.running)
	c.typing.mu.Unlock()
	if running != 0 {
		t.Errorf("%d typing loops after the user stopped, want 0", running)
	}
}

// Read receipts (and typing) mean the user is active: a hosted login whose
// status follows Matrix presence comes back online on MSN.
func TestHandleMatrixReadReceipt(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "alice-pw", "Alice")
	srv.AddUser(t, "bob@example.com", "bob-pw", "Bob")
	bob := dialPeer(t, srv, "bob@example.com", "bob-pw")
	ctx := context.Background()
	if err := bob.AddContact(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	c := signedInClient(t, srv, "alice@example.com", "alice-pw", true)
	if !c.presence.following() {
		t.Fatal("a hosted login does not follow Matrix presence")
	}
	c.presence.apply(ctx, event.PresenceUnavailable)
	bob.waitN(t, "alice idle", 1, func(e client.Event) bool {
		p, ok := e.(*client.Presence)
		return ok && p.Email == "alice@example.com" && p.Status == client.Idle
	})
	if err := c.HandleMatrixReadReceipt(ctx, &bridgev2.MatrixReadReceipt{Portal: dmPortal("alice@example.com", "bob@example.com")}); err != nil {
		t.Fatal(err)
	}
	bob.waitN(t, "alice online after reading", 1, func(e client.Event) bool {
		p, ok := e.(*client.Presence)
		return ok && p.Email == "alice@example.com" && p.Status == client.Online
	})

	// A status the user chose wins over presence and activity.
	c.mu.Lock()
	c.meta.Status = string(client.Busy)
	c.mu.Unlock()
	if c.presence.following() {
		t.Error("a login with a chosen status still follows Matrix presence")
	}
	// And a password login never follows it.
	c.mu.Lock()
	c.meta.Status, c.meta.Hosted = "", false
	c.mu.Unlock()
	if c.presence.following() {
		t.Error("a password login follows Matrix presence")
	}
}

func TestStatusFollowerMapping(t *testing.T) {
	c := &MSNClient{mc: &Connector{Config: validConfig()}, meta: &UserLoginMetadata{Hosted: true}}
	c.mc.Config.Presence.SyncMatrix = true
	f := newStatusFollower(c)
	var set []client.Status
	f.setStatus = func(_ context.Context, st client.Status) error { set = append(set, st); return nil }
	for _, p := range []event.Presence{event.PresenceOnline, event.PresenceOnline, event.PresenceUnavailable, event.PresenceOffline} {
		f.apply(context.Background(), p)
	}
	want := []client.Status{client.Online, client.Idle, client.Away}
	if fmt.Sprint(set) != fmt.Sprint(want) {
		t.Errorf("statuses set = %v, want %v (no repeats)", set, want)
	}
	c.mc.Config.Presence.OfflineStatus = "hidden"
	if st := f.msnStatus(event.PresenceOffline); st != client.Hidden {
		t.Errorf("offline with offline_status hidden = %s, want HDN", st)
	}
}

func FuzzHostedAddress(f *testing.F) {
	for _, s := range []string{"@alice:example.org", "@a:b.c:8448", "@:x.y", "@a..b:x.y", "@é:x.y", "@a:[::1]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, mxid string) {
		domain, err := hostedDomain(id.UserID(mxid), "")
		if err != nil {
			return
		}
		email := msnbridge.LocalPart(hostedLocal(id.UserID(mxid))) + "-99@" + domain
		if !msnbridge.ValidHandle(email) || strings.ToLower(email) != email {
			t.Errorf("%q makes %q, which is not a plain lower-case address", mxid, email)
		}
	})
}

func FuzzGeoLink(f *testing.F) {
	for _, s := range []string{"geo:1,2", "geo:1,2;u=3", "geo:", "geo:,", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, geo string) {
		out := geoLink(geo)
		if strings.HasPrefix(out, "https://") && strings.ContainsAny(out, " \n") {
			t.Errorf("geoLink(%q) = %q has spaces", geo, out)
		}
	})
}

// Dendrite does not pass redactions to appservices, so deleting a message
// and taking back a reaction are tested here against a real MSN session.
func TestHandleMatrixMessageRemove(t *testing.T) {
	srv := coretest.Start(t)
	srv.AddUser(t, "alice@example.com", "alice-pw", "Alice")
	srv.AddUser(t, "bob@example.com", "bob-pw", "Bob")
	bob := dialPeer(t, srv, "bob@example.com", "bob-pw")
	c := signedInClient(t, srv, "alice@example.com", "alice-pw", false)
	portal := dmPortal("alice@example.com", "bob@example.com")
	target := &database.Message{Metadata: &MessageMetadata{Snippet: "see you at noon"}}
	err := c.HandleMatrixMessageRemove(context.Background(), &bridgev2.MatrixMessageRemove{
		MatrixEventBase: bridgev2.MatrixEventBase[*event.RedactionEventContent]{Portal: portal},
		TargetMessage:   target,
	})
	if err != nil {
		t.Fatal(err)
	}
	bob.waitN(t, "the deletion notice", 1, func(e client.Event) bool {
		m, ok := e.(*client.Message)
		return ok && m.Text == "(deleted the message “see you at noon”)"
	})
}
