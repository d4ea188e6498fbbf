package host_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/core/coretest"
	"github.com/nudge-im/nudge/plugins/host"
)

// The admin routes, through the client `nudge bot` uses, on a real server.
func TestAdminRoutes(t *testing.T) {
	crashy := bot("crashy", "testbot", func(b *host.BotConfig) { b.Settings = map[string]string{"crash": "start"} })
	srv := coretest.Start(t)
	cfg := host.Config{
		Bots: []host.BotConfig{bot("echo", "echo"), crashy}, Server: srv.NSAddr, PassportURL: srv.HTTPURL,
		Admin: adminapi.New(srv.HTTPURL, srv.AdminToken), DataDir: srv.Data,
	}
	fast(&cfg)
	h, err := host.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.RegisterAdmin(srv.Admin)
	h.Start(context.Background())
	defer h.Close()

	c := host.Client{API: adminapi.New(srv.HTTPURL, srv.AdminToken)}
	ctx := context.Background()
	var sts []host.Status
	waitFor(t, "echo running and crashy disabled", func() bool {
		sts, err = c.List(ctx)
		return err == nil && len(sts) == 2 && sts[0].State == host.StateRunning && sts[0].Online && sts[1].State == host.StateDisabled
	})
	if sts[0].Name != "echo" || sts[0].PID == 0 || sts[0].Email != "echo@bots.localhost" ||
		strings.Join(sts[0].Permissions, ",") != "send,invite,presence,contacts,kv,log" {
		t.Errorf("echo: %+v", sts[0])
	}
	if !strings.Contains(sts[1].LastError, "crashed 3 times") {
		t.Errorf("crashy: %+v", sts[1])
	}
	st, err := c.Reload(ctx, "echo")
	if err != nil || st.State != host.StateRunning || st.PID == sts[0].PID {
		t.Fatalf("reload: %+v, %v (pid before %d)", st, err, sts[0].PID)
	}
	entries, err := c.Logs(ctx, "crashy", 0, 0)
	if err != nil || len(entries) == 0 {
		t.Fatalf("logs: %v, %v", entries, err)
	}
	last := entries[len(entries)-1].Seq
	if more, err := c.Logs(ctx, "crashy", last, 0); err != nil || len(more) != 0 {
		t.Fatalf("logs after the last: %v, %v", more, err)
	}
	if two, err := c.Logs(ctx, "crashy", 0, 2); err != nil || len(two) != 2 || two[1].Seq != last {
		t.Fatalf("the last two lines: %+v, %v", two, err)
	}
	var ae *adminapi.Error
	if _, err := c.Status(ctx, "nobody"); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("an unknown bot: %v", err)
	}
	bad := host.Client{API: adminapi.New(srv.HTTPURL, "wrong")}
	if _, err := bad.List(ctx); !errors.Is(err, adminapi.ErrUnauthorized) {
		t.Fatalf("a wrong token: %v", err)
	}
}

// A server without the bot host says so.
func TestAdminWithoutHost(t *testing.T) {
	srv := coretest.Start(t)
	c := host.Client{API: adminapi.New(srv.HTTPURL, srv.AdminToken)}
	if _, err := c.List(context.Background()); err == nil || !strings.Contains(err.Error(), "runs no bot host") {
		t.Fatalf("List without a host: %v", err)
	}
}

// A bot can sign in to another MSN server with credentials of its own.
func TestBotOnAnotherServer(t *testing.T) {
	other := coretest.Start(t)
	other.AddUser(t, "weather@example.net", "pw-weather", "Weather")
	remote := bot("weather", "echo", func(b *host.BotConfig) {
		b.Email, b.Server, b.Password, b.PassportURL = "weather@example.net", other.NSAddr, "pw-weather", other.HTTPURL
	})
	start(t, []host.BotConfig{remote}) // the host runs beside a service of its own, and the bot lives on the other
	e := &env{srv: other}
	alice := e.newPerson(t, "alice")
	alice.add("weather@example.net")
	if got := alice.ask(alice.conv("weather@example.net"), "weather@example.net", "sunny?"); got != "sunny?" {
		t.Fatalf("the bot on the other server answered %q", got)
	}
}

// A bot that stops answering its health checks (here: stopped with
// SIGSTOP) is killed and started again.
func TestHealthChecksRestartAStuckBot(t *testing.T) {
	e := start(t, []host.BotConfig{bot("testbot", "testbot")})
	st := e.status(t, "testbot")
	if err := syscall.Kill(st.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var now host.Status
	waitFor(t, "the stuck bot to be replaced", func() bool {
		now = e.status(t, "testbot")
		return now.State == host.StateRunning && now.PID != st.PID && now.PID != 0
	})
	if now.Restarts != 1 || !strings.Contains(e.logs.String(), "health check failed 3 times") {
		t.Fatalf("after the health checks: %+v", now)
	}
	if alive(st.PID) {
		t.Errorf("the stuck process %d still exists", st.PID)
	}
	alice := e.newPerson(t, "alice")
	alice.add("testbot@bots.localhost")
	if got := alice.ask(alice.conv("testbot@bots.localhost"), "testbot@bots.localhost", "ping"); got != "pong" {
		t.Fatalf("the new process answered %q", got)
	}
}
