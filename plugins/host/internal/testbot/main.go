// Command testbot is a bot that misbehaves on request, for the host's
// tests: it panics, exits, hangs, calls what it may not, and writes log
// lines meant to trip a host up. Each message is an order:
//
//	ping          → pong
//	say TEXT      → TEXT
//	sleep MS      logs "sleeping MS", sleeps that many milliseconds, then
//	              says "slept"
//	panic         the handler panics (the process dies)
//	exit          the process exits with status 3
//	hang          the handler never returns
//	contacts      calls ListContacts and says what happened
//	env           lists the names of its environment variables
//	log           logs through hclog and through Host.Log
//	badlog        writes JSON log lines go-plugin cannot handle to its stderr
//	kv set K V / kv get K
//	pid           its process id
//	settings      its settings, as k=v sorted by key
//	picture N     sets a display picture of N bytes (byte i is i%251)
//	read PATH     reads a file: "read: N bytes" or "error: …"
//	write PATH    writes a file: "written" or "error: …"
//	whoami        its uid, and how many processes it can see in /proc
//	signal PID    sends signal 0 (which only checks that it may signal
//	              PID): "signalled" or "error: …"
//	dial ADDR     connects to a Unix socket (@NAME: an abstract one):
//	              "connected" or "error: …"
//	spawn         starts a daemon (sleep, in a session of its own) and says
//	              "spawned PID"
//	tell EMAIL T  writes T to EMAIL (Host.SendTo): "told" when it went in
//	              a conversation, "left" when EMAIL was offline and it was
//	              left as an offline message, or "error: …"
//
// An offline message (one left while the bot was offline) is answered
// "offline message of TIME: TEXT", TIME when it was sent (RFC 3339, UTC).
//
// With the setting crash=start its Start hook exits the process, so that it
// never comes up (a crash loop). With start_sleep=MS its Start hook takes
// that many milliseconds. With spawn=start it starts a daemon in its
// Start hook and logs "spawned PID". With probe=PATH,PATH… it reads each
// path at start and logs "probe PATH: read N bytes" (or the error).
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nudge-im/nudge/plugins/sdk"
)

type testbot struct {
	env *sdk.Env
}

func (b *testbot) Start(_ context.Context, env *sdk.Env) error {
	if env.Settings["crash"] == "start" {
		fmt.Fprintln(os.Stderr, "testbot: crashing at start, as configured")
		os.Exit(4)
	}
	b.env = env
	if ms, err := strconv.Atoi(env.Settings["start_sleep"]); err == nil {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	env.Log.Info("settings: " + b.settings())
	if probe := env.Settings["probe"]; probe != "" {
		for _, p := range strings.Split(probe, ",") {
			data, err := os.ReadFile(p)
			if err != nil {
				env.Log.Info(fmt.Sprintf("probe %s: error: %v", p, err))
			} else {
				env.Log.Info(fmt.Sprintf("probe %s: read %d bytes", p, len(data)))
			}
		}
	}
	if env.Settings["spawn"] == "start" {
		pid, err := spawn()
		if err != nil {
			return err
		}
		env.Log.Info(fmt.Sprintf("spawned %d", pid))
	}
	return nil
}

// settings are the bot's settings as k=v, sorted by key.
func (b *testbot) settings() string {
	var kv []string
	for k, v := range b.env.Settings {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, " ")
}

// spawn starts a process that tries to outlive the bot: in a session of
// its own, with no link to the bot's output.
func spawn() (int, error) {
	cmd := exec.Command("/bin/sleep", "3600") // the bot has no PATH
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go cmd.Wait()
	return cmd.Process.Pid, nil
}

func (b *testbot) OnMessage(ctx context.Context, m *sdk.Message) error {
	if !m.Sent.IsZero() {
		return m.Reply(ctx, "offline message of "+m.Sent.UTC().Format(time.RFC3339)+": "+m.Text)
	}
	f := strings.Fields(m.Text)
	if len(f) == 0 {
		return nil
	}
	switch f[0] {
	case "tell":
		if len(f) >= 3 {
			text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(m.Text, "tell")), f[1]))
			conv, err := b.env.Host.SendTo(ctx, f[1], text, nil)
			switch {
			case err != nil:
				return m.Reply(ctx, "error: "+err.Error())
			case conv == "":
				return m.Reply(ctx, "left")
			}
			return m.Reply(ctx, "told")
		}
	case "ping":
		return m.Reply(ctx, "pong")
	case "sleep":
		if len(f) == 2 {
			ms, _ := strconv.Atoi(f[1])
			b.env.Log.Info("sleeping " + f[1])
			time.Sleep(time.Duration(ms) * time.Millisecond)
			return m.Reply(ctx, "slept")
		}
	case "say":
		return m.Reply(ctx, strings.TrimSpace(strings.TrimPrefix(m.Text, "say")))
	case "panic":
		panic("testbot: asked to panic")
	case "exit":
		os.Exit(3)
	case "hang":
		select {}
	case "contacts":
		cs, err := b.env.Host.Contacts(ctx)
		if err != nil {
			return m.Reply(ctx, "error: "+err.Error())
		}
		return m.Reply(ctx, fmt.Sprintf("contacts: %d", len(cs)))
	case "env":
		var names []string
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			names = append(names, k)
		}
		slices.Sort(names)
		return m.Reply(ctx, "env: "+strings.Join(names, ","))
	case "log":
		b.env.Log.Warn("hello from the bot", "answer", 42)
		if err := b.env.Host.Log(ctx, sdk.LevelError, "through the host", map[string]string{"k": "v"}); err != nil {
			return m.Reply(ctx, "error: "+err.Error())
		}
		return m.Reply(ctx, "logged")
	case "badlog":
		// fd 2 is the stderr go-plugin reads; os.Stderr was redirected.
		stderr := os.NewFile(2, "stderr")
		fmt.Fprintln(stderr, `{"@message": 5, "@level": "info"}`)
		fmt.Fprintln(stderr, `{"@level": ["x"], "@message": "m"}`)
		fmt.Fprintln(stderr, `{"@timestamp": 12, "@message": "m"}`)
		fmt.Fprintln(stderr, `{"@message": "`+strings.Repeat("x", 200<<10)+`"}`)
		return m.Reply(ctx, "done")
	case "kv":
		if len(f) >= 4 && f[1] == "set" {
			if err := b.env.Host.KVSet(ctx, f[2], []byte(strings.Join(f[3:], " "))); err != nil {
				return m.Reply(ctx, "error: "+err.Error())
			}
			return m.Reply(ctx, "stored")
		}
		if len(f) == 3 && f[1] == "get" {
			v, ok, err := b.env.Host.KVGet(ctx, f[2])
			switch {
			case err != nil:
				return m.Reply(ctx, "error: "+err.Error())
			case !ok:
				return m.Reply(ctx, "missing")
			}
			return m.Reply(ctx, "value: "+string(v))
		}
	case "picture":
		if len(f) == 2 {
			n, _ := strconv.Atoi(f[1])
			pic := make([]byte, n)
			for i := range pic {
				pic[i] = byte(i % 251)
			}
			if err := b.env.Host.SetDisplayPicture(ctx, pic); err != nil {
				return m.Reply(ctx, "error: "+err.Error())
			}
			return m.Reply(ctx, "picture set")
		}
	case "pid":
		return m.Reply(ctx, "pid: "+strconv.Itoa(os.Getpid()))
	case "read":
		if len(f) == 2 {
			b, err := os.ReadFile(f[1])
			if err != nil {
				return m.Reply(ctx, "error: "+err.Error())
			}
			return m.Reply(ctx, fmt.Sprintf("read: %d bytes", len(b)))
		}
	case "write":
		if len(f) == 2 {
			if err := os.WriteFile(f[1], []byte("x"), 0o600); err != nil {
				return m.Reply(ctx, "error: "+err.Error())
			}
			return m.Reply(ctx, "written")
		}
	case "whoami":
		procs := 0
		if entries, err := os.ReadDir("/proc"); err == nil {
			for _, e := range entries {
				if _, err := strconv.Atoi(e.Name()); err == nil {
					procs++
				}
			}
		}
		return m.Reply(ctx, fmt.Sprintf("uid %d, %d processes", os.Getuid(), procs))
	case "signal":
		if len(f) == 2 {
			pid, err := strconv.Atoi(f[1])
			if err == nil {
				err = syscall.Kill(pid, 0)
			}
			if err != nil {
				return m.Reply(ctx, "error: "+err.Error())
			}
			return m.Reply(ctx, "signalled")
		}
	case "dial":
		if len(f) == 2 {
			c, err := net.DialTimeout("unix", f[1], 5*time.Second)
			if err != nil {
				return m.Reply(ctx, "error: "+err.Error())
			}
			c.Close()
			return m.Reply(ctx, "connected")
		}
	case "settings":
		return m.Reply(ctx, "settings: "+b.settings())
	case "spawn":
		pid, err := spawn()
		if err != nil {
			return m.Reply(ctx, "error: "+err.Error())
		}
		return m.Reply(ctx, "spawned "+strconv.Itoa(pid))
	}
	return m.Reply(ctx, "unknown order: "+m.Text)
}

func main() { sdk.Serve(&testbot{}) }
