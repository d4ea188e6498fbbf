package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
)

// chatOptions are the flags of "nudge chat".
type chatOptions struct {
	server       string
	user         string
	passwordFile string
	version      int
	passport     string
	nexus        string
	rst          string
	insecure     bool
	status       string
}

func chatCommand() *cobra.Command {
	var o chatOptions
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Chat from the terminal as an MSN Messenger user",
		Long: `Sign in to an MSN Messenger server (Nudge or any other MSNP server) and
chat, one line at a time. Incoming messages and presence changes are printed
as they arrive; type /help for the commands.

The password is asked for (without echo on a terminal) unless NUDGE_PASSWORD
is set or --password-file names a file that holds it.`,
		Example: `  nudge chat --user alice@example.com
  nudge chat --server 127.0.0.1:1863 --user alice@example.com --protocol 7
  NUDGE_PASSWORD=secret nudge chat --user bot@example.com < script.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runChat(cmd.Context(), o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "127.0.0.1:1863", "host:port of the server (dispatch or notification)")
	f.StringVar(&o.user, "user", "", "your e-mail address (required)")
	f.StringVar(&o.passwordFile, "password-file", "", "read the password from this file")
	f.IntVar(&o.version, "protocol", int(msnp.MaxVersion), "highest protocol version to offer, 2 to 12")
	f.StringVar(&o.passport, "passport", "", "base URL of the Passport login for MSNP8+ (default http://SERVER-HOST:8080)")
	f.StringVar(&o.nexus, "nexus", "", "Passport nexus URL to ask for the login server instead (…/rdr/pprdr.asp)")
	f.StringVar(&o.rst, "rst", "", "sign in through this RST.srf SOAP service instead")
	f.BoolVar(&o.insecure, "insecure", false, "accept any TLS certificate from the Passport server (self-signed servers)")
	f.StringVar(&o.status, "status", "online", "status to sign in with (online, busy, away, brb, phone, lunch, invisible)")
	cmd.MarkFlagRequired("user")
	return cmd
}

func runChat(ctx context.Context, o chatOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Ctrl-C signs out properly.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	if o.version < int(msnp.MinVersion) || o.version > int(msnp.MaxVersion) {
		return fmt.Errorf("--protocol %d: the client speaks %d to %d", o.version, msnp.MinVersion, msnp.MaxVersion)
	}
	status, ok := client.ParseStatus(o.status)
	if !ok || status == client.Offline {
		return fmt.Errorf("--status %q: not a status (try online, busy, away, brb, phone, lunch, invisible)", o.status)
	}
	in := bufio.NewReader(stdin)
	password, err := chatPassword(o, stdin, in, stderr)
	if err != nil {
		return err
	}

	pp := client.PassportConfig{URL: o.passport, NexusURL: o.nexus, RSTURL: o.rst, InsecureSkipVerify: o.insecure}
	if pp.URL == "" && pp.NexusURL == "" && pp.RSTURL == "" {
		host, _, err := net.SplitHostPort(o.server)
		if err != nil {
			host = o.server
		}
		pp.URL = "http://" + net.JoinHostPort(host, "8080")
	}
	out := &chatOutput{w: stdout}
	dialCtx, cancel := context.WithTimeout(ctx, time.Minute)
	c, err := client.Dial(dialCtx, client.Config{
		Server:    o.server,
		Email:     o.user,
		Password:  password,
		Version:   msnp.Version(o.version),
		Status:    status,
		Passport:  pp,
		Reconnect: true,
	})
	cancel()
	if err != nil {
		return chatDialError(o, pp, err)
	}
	defer c.Close()

	ui := &chatUI{c: c, out: out}
	out.printf("Signed in as %s (%s) with %s. Type /help for the commands.\n", c.Self().Email, c.Self().FriendlyName, c.Version())
	ui.listContacts()

	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for ev := range c.Events() {
			ui.show(ev)
		}
	}()

	lines := make(chan string)
	go func() {
		defer close(lines)
		for {
			line, err := in.ReadString('\n')
			if line = strings.TrimRight(line, "\r\n"); line != "" || err == nil {
				select {
				case lines <- line:
				case <-ended:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return nil // end of input
			}
			if quit := ui.command(ctx, line); quit {
				return nil
			}
		case <-ended:
			// The client gave up (it reconnects by itself otherwise).
			return fmt.Errorf("signed out: %w", c.Err())
		case <-ctx.Done():
			return nil
		}
	}
}

// chatPassword finds the password: NUDGE_PASSWORD, --password-file, or a
// prompt (without echo on a terminal).
func chatPassword(o chatOptions, stdin io.Reader, in *bufio.Reader, stderr io.Writer) (string, error) {
	if pw := os.Getenv("NUDGE_PASSWORD"); pw != "" {
		return pw, nil
	}
	if o.passwordFile != "" {
		data, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		pw, _, _ := strings.Cut(string(data), "\n")
		if pw = strings.TrimRight(pw, "\r"); pw == "" {
			return "", fmt.Errorf("--password-file %s: the first line is empty", o.passwordFile)
		}
		return pw, nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "Password for %s: ", o.user)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if len(b) == 0 {
			return "", errors.New("no password given")
		}
		return string(b), nil
	}
	line, err := in.ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", errors.New("no password given: type it, set NUDGE_PASSWORD or use --password-file")
		}
		return "", errors.New("no password given")
	}
	return line, nil
}

// chatDialError turns a sign-in failure into a line a person can act on.
func chatDialError(o chatOptions, pp client.PassportConfig, err error) error {
	var ne *net.OpError
	switch {
	case strings.Contains(err.Error(), "passport") && errors.As(err, &ne):
		where := pp.URL
		if where == "" {
			where = pp.NexusURL
		}
		return fmt.Errorf("cannot reach the Passport login at %s: give the server's HTTP address with --passport URL (%v)", where, ne)
	case errors.Is(err, msnp.ErrAuthFailed):
		return fmt.Errorf("sign-in refused: wrong e-mail address or password for %s", o.user)
	case errors.Is(err, client.ErrVersionRefused):
		return fmt.Errorf("the server at %s speaks none of MSNP2 to MSNP%d: %w", o.server, o.version, err)
	case strings.Contains(err.Error(), "cannot reach"):
		return fmt.Errorf("cannot reach %s: is the server running? (--server host:port): %w", o.server, errors.Unwrap(err))
	}
	return err
}

// chatOutput serialises the lines printed by the event and command loops.
type chatOutput struct {
	mu sync.Mutex
	w  io.Writer
}

func (o *chatOutput) printf(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.w, format, args...)
}

type chatUI struct {
	c   *client.Client
	out *chatOutput

	mu   sync.Mutex
	last *client.Conversation // where a line without a command goes
}

const chatHelp = `Commands:
  /msg EMAIL TEXT     send a message (opens a conversation)
  TEXT                send to the conversation you last wrote in or heard from
  /nudge [EMAIL]      send a nudge
  /invite EMAIL       bring someone into the current conversation
  /contacts           list your contacts and their status
  /status STATUS      online, busy, away, brb, phone, lunch, idle, invisible
  /name NAME          change your friendly name
  /psm TEXT           set your personal message (MSNP11+)
  /add EMAIL          add a contact
  /remove EMAIL       remove a contact
  /block EMAIL        block someone
  /allow EMAIL        unblock someone
  /help               this list
  /quit               sign out
`

// command runs one input line. It reports whether to quit.
func (ui *chatUI) command(ctx context.Context, line string) bool {
	line = strings.TrimSpace(line)
	if line == "" {
		return false
	}
	if !strings.HasPrefix(line, "/") {
		ui.mu.Lock()
		cv := ui.last
		ui.mu.Unlock()
		if cv == nil {
			ui.out.printf("! no conversation yet: use /msg EMAIL TEXT\n")
			return false
		}
		ui.report(cv.Send(ctx, line))
		return false
	}
	name, rest, _ := strings.Cut(line[1:], " ")
	rest = strings.TrimSpace(rest)
	arg1, arg2, _ := strings.Cut(rest, " ")
	arg2 = strings.TrimSpace(arg2)
	need := func(n int, usage string) bool {
		if n >= 1 && arg1 == "" || n >= 2 && arg2 == "" {
			ui.out.printf("! usage: %s\n", usage)
			return false
		}
		return true
	}
	c := ui.c
	switch strings.ToLower(name) {
	case "quit", "exit", "q":
		return true
	case "help", "?":
		ui.out.printf("%s", chatHelp)
	case "msg", "m":
		if !need(2, "/msg EMAIL TEXT") {
			break
		}
		cv, err := c.Conversation(ctx, arg1)
		if err != nil {
			ui.report(err)
			break
		}
		ui.setLast(cv)
		ui.report(cv.Send(ctx, arg2))
	case "nudge":
		cv, err := ui.target(ctx, arg1)
		if err == nil {
			err = cv.SendNudge(ctx)
		}
		ui.report(err)
	case "invite":
		if !need(1, "/invite EMAIL") {
			break
		}
		cv, err := ui.target(ctx, "")
		if err == nil {
			err = cv.Invite(ctx, arg1)
		}
		ui.report(err)
	case "contacts", "list":
		ui.listContacts()
	case "status":
		st, ok := client.ParseStatus(rest)
		if !ok || st == client.Offline {
			ui.out.printf("! usage: /status online|busy|away|brb|phone|lunch|idle|invisible\n")
			break
		}
		if ui.report(c.SetStatus(ctx, st)) {
			ui.out.printf("* you are %s\n", st)
		}
	case "name", "nick":
		if !need(1, "/name NAME") {
			break
		}
		if ui.report(c.SetFriendlyName(ctx, rest)) {
			ui.out.printf("* you are now called %s\n", rest)
		}
	case "psm":
		if ui.report(c.SetPersonalMessage(ctx, rest)) {
			ui.out.printf("* personal message set\n")
		}
	case "add":
		if need(1, "/add EMAIL") && ui.report(c.AddContact(ctx, arg1)) {
			ui.out.printf("* %s is on your contact list\n", arg1)
		}
	case "remove", "del":
		if need(1, "/remove EMAIL") && ui.report(c.RemoveContact(ctx, arg1)) {
			ui.out.printf("* %s is off your contact list\n", arg1)
		}
	case "block":
		if need(1, "/block EMAIL") && ui.report(c.Block(ctx, arg1)) {
			ui.out.printf("* %s is blocked\n", arg1)
		}
	case "allow", "unblock":
		if need(1, "/allow EMAIL") && ui.report(c.Allow(ctx, arg1)) {
			ui.out.printf("* %s is allowed\n", arg1)
		}
	default:
		ui.out.printf("! unknown command /%s (try /help)\n", name)
	}
	return false
}

// target is the conversation with email, or the last one.
func (ui *chatUI) target(ctx context.Context, email string) (*client.Conversation, error) {
	if email != "" {
		cv, err := ui.c.Conversation(ctx, email)
		if err == nil {
			ui.setLast(cv)
		}
		return cv, err
	}
	ui.mu.Lock()
	defer ui.mu.Unlock()
	if ui.last == nil {
		return nil, errors.New("no conversation yet: name someone")
	}
	return ui.last, nil
}

func (ui *chatUI) setLast(cv *client.Conversation) {
	ui.mu.Lock()
	ui.last = cv
	ui.mu.Unlock()
}

// report prints what went wrong, if anything, and reports whether all went
// well.
func (ui *chatUI) report(err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, msnp.ErrNotOnline):
		ui.out.printf("! not online (or not accepting messages)\n")
	case errors.Is(err, client.ErrNotSupported):
		ui.out.printf("! not possible with %s\n", ui.c.Version())
	case errors.Is(err, client.ErrNotDelivered):
		ui.out.printf("! message not delivered\n")
	default:
		ui.out.printf("! %v\n", err)
	}
	return false
}

func (ui *chatUI) listContacts() {
	var lines []string
	for _, ct := range ui.c.Contacts() {
		if !ct.Lists.Has(client.Forward) {
			continue
		}
		line := fmt.Sprintf("  %-32s %-14s %s", ct.Email, ct.Status.String(), ct.FriendlyName)
		if ct.Lists.Has(client.Block) {
			line += " [blocked]"
		}
		if ct.PersonalMessage != "" {
			line += " — " + ct.PersonalMessage
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		ui.out.printf("No contacts yet (/add EMAIL).\n")
		return
	}
	slices.Sort(lines)
	ui.out.printf("Contacts:\n%s\n", strings.Join(lines, "\n"))
}

func chatName(email, friendly string) string {
	if friendly == "" || friendly == email {
		return email
	}
	return friendly + " <" + email + ">"
}

// show prints one event.
func (ui *chatUI) show(ev client.Event) {
	o := ui.out
	switch e := ev.(type) {
	case *client.Message:
		ui.setLast(e.Conversation)
		o.printf("%s: %s\n", chatName(e.From, e.FriendlyName), e.Text)
	case *client.Nudge:
		ui.setLast(e.Conversation)
		o.printf("* %s sent you a nudge!\n", e.From)
	case *client.Typing:
		// Too chatty for a line-mode terminal.
	case *client.RawMessage:
		kind := "non-MIME"
		if e.Message != nil {
			kind, _ = e.Message.ContentType()
		}
		o.printf("* %s sent something this client does not show (%s)\n", e.From, kind)
	case *client.Invited:
		ui.setLast(e.Conversation)
	case *client.Joined:
		o.printf("* %s joined the conversation\n", chatName(e.Email, e.FriendlyName))
	case *client.Left:
		o.printf("* %s left the conversation\n", e.Email)
	case *client.Presence:
		o.printf("* %s is %s", chatName(e.Email, e.FriendlyName), e.Status)
		if e.PersonalMessage != "" {
			o.printf(" — %s", e.PersonalMessage)
		}
		o.printf("\n")
	case *client.ContactAdded:
		o.printf("* %s added you to their contact list (/add %s to add them too)\n", chatName(e.Email, e.FriendlyName), e.Email)
	case *client.ContactRemoved:
		o.printf("* %s removed you from their contact list\n", e.Email)
	case *client.Disconnected:
		if e.Reconnecting {
			o.printf("* disconnected (%v); reconnecting…\n", e.Err)
		} else {
			o.printf("* disconnected: %v\n", e.Err)
		}
	case *client.Reconnected:
		o.printf("* reconnected\n")
	}
}
