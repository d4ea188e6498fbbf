package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
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
	downloads    string
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
	f.IntVar(&o.version, "protocol", int(client.DefaultVersion), "highest protocol version to offer, 2 to 18 (13+ signs in as Windows Live Messenger, through RST.srf beside --passport)")
	f.StringVar(&o.passport, "passport", "", "base URL of the Passport login for MSNP8+ (default http://SERVER-HOST:8080)")
	f.StringVar(&o.nexus, "nexus", "", "Passport nexus URL to ask for the login server instead (…/rdr/pprdr.asp)")
	f.StringVar(&o.rst, "rst", "", "sign in through this RST.srf SOAP service instead")
	f.BoolVar(&o.insecure, "insecure", false, "accept any TLS certificate from the Passport server (self-signed servers)")
	f.StringVar(&o.status, "status", "online", "status to sign in with (online, busy, away, brb, phone, lunch, invisible)")
	f.StringVar(&o.downloads, "downloads", ".", "folder where /get saves the files people send you")
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

	if st, err := os.Stat(o.downloads); err != nil || !st.IsDir() {
		return fmt.Errorf("--downloads %s: not a folder you can save files in", o.downloads)
	}
	ui := &chatUI{c: c, out: out, downloads: o.downloads, files: map[*client.Transfer]*os.File{}}
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
	c         *client.Client
	out       *chatOutput
	downloads string

	mu     sync.Mutex
	last   *client.Conversation // where a line without a command goes
	lastTo string               // last's one contact ("" in a group): who is left text when offline
	offers []*client.Transfer   // files offered to you, numbered from 1
	files  map[*client.Transfer]*os.File
}

const chatHelp = `Commands:
  /msg EMAIL TEXT     send a message (opens a conversation; MSNP13+: left as an
                      offline message if they are offline)
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
  /send FILE [EMAIL]  offer a file (to the current conversation's contact)
  /get [N]            accept file offer N (the latest), saved in --downloads
  /decline [N]        refuse file offer N (the latest)
  /files              list the file offers and transfers
  /picture FILE       show FILE as your display picture (none: remove it)
  /getpicture EMAIL   save a contact's display picture in --downloads
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
		cv, to := ui.last, ui.lastTo
		ui.mu.Unlock()
		if cv == nil {
			ui.out.printf("! no conversation yet: use /msg EMAIL TEXT\n")
			return false
		}
		ui.say(ctx, to, cv.Send(ctx, line), line)
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
		if err == nil {
			ui.setLast(cv)
			err = cv.Send(ctx, arg2)
		}
		ui.say(ctx, arg1, err, arg2)
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
	case "send":
		if !need(1, "/send FILE [EMAIL]") {
			break
		}
		ui.sendFile(ctx, rest)
	case "get", "accept":
		ui.answer(arg1, true)
	case "decline", "refuse":
		ui.answer(arg1, false)
	case "files", "transfers":
		ui.listFiles()
	case "picture":
		var data []byte
		if rest != "" {
			var err error
			if data, err = os.ReadFile(rest); err != nil {
				ui.report(err)
				break
			}
		}
		if ui.report(c.SetDisplayPicture(ctx, data)) {
			ui.out.printf("* display picture %s\n", map[bool]string{true: "set", false: "removed"}[data != nil])
		}
	case "getpicture":
		if !need(1, "/getpicture EMAIL") {
			break
		}
		ui.savePicture(ctx, arg1)
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
	defer ui.mu.Unlock()
	if cv != ui.last {
		ui.last, ui.lastTo = cv, ""
	}
	ui.followLocked()
}

// follow notes who is in cv now if it is the last conversation.
func (ui *chatUI) follow(cv *client.Conversation) {
	ui.mu.Lock()
	defer ui.mu.Unlock()
	if cv == ui.last {
		ui.followLocked()
	}
}

// followLocked keeps lastTo the one contact of the last conversation: a
// group that everyone but one has left is a conversation with that one,
// and the last to leave is the one a later line invites back.
func (ui *chatUI) followLocked() {
	switch p := ui.last.Participants(); len(p) {
	case 0:
	case 1:
		ui.lastTo = p[0].Email
	default:
		ui.lastTo = ""
	}
}

// say reports how sending text to to went (err): text that could not go
// because to is offline, or appears so, is left for them as an offline
// message from MSNP13, as the bridges and bots do; before MSNP13 there are
// none and the answer stays "not online". to is "" for a group.
func (ui *chatUI) say(ctx context.Context, to string, err error, text string) {
	if to != "" && errors.Is(err, msnp.ErrNotOnline) {
		if err = ui.c.LeaveIfOffline(ctx, to, text, err); err == nil {
			ui.out.printf("* %s is offline: left as an offline message\n", to)
			return
		}
	}
	ui.report(err)
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
	case *client.OfflineMessage:
		o.printf("%s (offline, %s): %s\n", chatName(e.From, e.FriendlyName), e.Sent.UTC().Format("2006-01-02 15:04 UTC"), e.Text)
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
		ui.follow(e.Conversation)
		o.printf("* %s joined the conversation\n", chatName(e.Email, e.FriendlyName))
	case *client.Left:
		ui.follow(e.Conversation)
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
	case *client.FileOffer:
		ui.setLast(e.Conversation)
		ui.mu.Lock()
		ui.offers = append(ui.offers, e.Transfer)
		n := len(ui.offers)
		ui.mu.Unlock()
		o.printf("* %s offers you %q (%s): /get %d to accept, /decline %d to refuse\n", e.From, e.Transfer.Name, client.FormatSize(e.Transfer.Size), n, n)
	case *client.TransferProgress:
		// The end is enough for a line-mode terminal.
	case *client.TransferEnded:
		ui.ended(e)
	case *client.Emoticons:
		shortcuts := make([]string, 0, len(e.Emoticons))
		for _, em := range e.Emoticons {
			shortcuts = append(shortcuts, em.Shortcut)
		}
		o.printf("* %s uses custom emoticons: %s\n", e.From, strings.Join(shortcuts, " "))
	case *client.Wink:
		o.printf("* %s sent a wink\n", e.From)
	case *client.VoiceClip:
		o.printf("* %s sent a voice clip\n", e.From)
	case *client.DisplayPictureChanged:
		if e.Object == nil {
			o.printf("* %s removed their display picture\n", e.Email)
		} else {
			o.printf("* %s has a new display picture\n", e.Email)
		}
	}
}

// sendFile offers a file: "/send FILE [EMAIL]". A path may contain spaces
// when no address follows.
func (ui *chatUI) sendFile(ctx context.Context, args string) {
	path, to := args, ""
	if i := strings.LastIndexByte(args, ' '); i > 0 && strings.Contains(args[i+1:], "@") {
		path, to = strings.TrimSpace(args[:i]), args[i+1:]
	}
	if to == "" {
		cv, err := ui.target(ctx, "")
		if err != nil {
			ui.report(err)
			return
		}
		p := cv.Participants()
		if len(p) != 1 {
			ui.out.printf("! files go to one person: /send FILE EMAIL\n")
			return
		}
		to = p[0].Email
	}
	f, err := os.Open(path)
	if err != nil {
		ui.report(err)
		return
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		ui.out.printf("! %s is not a file\n", path)
		return
	}
	tr, err := ui.c.SendFile(ctx, to, client.File{Name: filepath.Base(path), Size: st.Size(), Reader: f})
	if err != nil {
		f.Close()
		ui.report(err)
		return
	}
	ui.mu.Lock()
	ui.files[tr] = f
	ui.mu.Unlock()
	ui.out.printf("* offering %q (%s) to %s…\n", tr.Name, client.FormatSize(tr.Size), to)
}

// offer finds file offer n ("" for the latest one still waiting).
func (ui *chatUI) offer(arg string) *client.Transfer {
	ui.mu.Lock()
	defer ui.mu.Unlock()
	if arg == "" {
		for i := len(ui.offers) - 1; i >= 0; i-- {
			if ui.files[ui.offers[i]] == nil && ui.offers[i].Err() == nil && !isDone(ui.offers[i]) {
				return ui.offers[i]
			}
		}
		return nil
	}
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > len(ui.offers) {
		return nil
	}
	return ui.offers[n-1]
}

func isDone(t *client.Transfer) bool {
	select {
	case <-t.Done():
		return true
	default:
		return false
	}
}

// answer accepts or declines a file offer.
func (ui *chatUI) answer(arg string, accept bool) {
	tr := ui.offer(arg)
	if tr == nil {
		ui.out.printf("! no such file offer (see /files)\n")
		return
	}
	if !accept {
		if ui.report(tr.Decline()) {
			ui.out.printf("* declined %q\n", tr.Name)
		}
		return
	}
	f, err := createDownload(ui.downloads, tr.Name)
	if err != nil {
		ui.report(err)
		return
	}
	ui.mu.Lock()
	ui.files[tr] = f
	ui.mu.Unlock()
	if err := tr.Accept(f); err != nil {
		ui.mu.Lock()
		delete(ui.files, tr)
		ui.mu.Unlock()
		f.Close()
		os.Remove(f.Name())
		ui.report(err)
		return
	}
	ui.out.printf("* receiving %q into %s…\n", tr.Name, f.Name())
}

// savePicture fetches a contact's display picture and saves it in the
// downloads folder, named after them.
func (ui *chatUI) savePicture(ctx context.Context, email string) {
	data, ok, err := ui.c.FetchDisplayPicture(ctx, email)
	if !ui.report(err) {
		return
	}
	if !ok {
		ui.out.printf("! %s shows no display picture\n", email)
		return
	}
	ext := map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/bmp": ".bmp"}[http.DetectContentType(data)]
	if ext == "" {
		ext = ".img"
	}
	f, err := createDownload(ui.downloads, email+ext)
	if !ui.report(err) {
		return
	}
	_, err = f.Write(data)
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if ui.report(err) {
		ui.out.printf("* %s's display picture (%s): %s\n", email, client.FormatSize(int64(len(data))), f.Name())
	}
}

// ended reports a finished transfer and closes its file; a file received
// only in part is removed.
func (ui *chatUI) ended(e *client.TransferEnded) {
	tr := e.Transfer
	ui.mu.Lock()
	f := ui.files[tr]
	delete(ui.files, tr)
	ui.mu.Unlock()
	saved := ""
	if f != nil {
		f.Close()
		saved = f.Name()
		if tr.Incoming && e.Err != nil {
			os.Remove(saved)
		}
	}
	switch {
	case e.Err == nil && tr.Incoming:
		ui.out.printf("* received %q (%s) from %s: %s\n", tr.Name, client.FormatSize(tr.Size), tr.Peer, saved)
	case e.Err == nil:
		ui.out.printf("* sent %q (%s) to %s\n", tr.Name, client.FormatSize(tr.Size), tr.Peer)
	default:
		ui.out.printf("! %q: %v\n", tr.Name, e.Err)
	}
}

func (ui *chatUI) listFiles() {
	ui.mu.Lock()
	defer ui.mu.Unlock()
	if len(ui.offers) == 0 && len(ui.files) == 0 {
		ui.out.printf("No files offered to you yet.\n")
		return
	}
	for i, tr := range ui.offers {
		ui.out.printf("  %d. %s: %s\n", i+1, tr, transferState(tr, ui.files[tr] != nil))
	}
	for tr := range ui.files {
		if !tr.Incoming {
			ui.out.printf("  -  %s: %s\n", tr, transferState(tr, true))
		}
	}
}

func transferState(tr *client.Transfer, started bool) string {
	done, total := tr.Progress()
	switch {
	case isDone(tr) && tr.Err() == nil:
		return "done"
	case isDone(tr):
		return tr.Err().Error()
	case !started:
		return "waiting for your answer"
	case total > 0:
		return fmt.Sprintf("%d%%", done*100/total)
	}
	return "under way"
}

// createDownload creates a new file in dir for a name a contact chose:
// only its last element is used, and an existing file is never replaced
// ("name (2).ext" instead).
func createDownload(dir, name string) (*os.File, error) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == ".." {
		name = "download"
	}
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 1; i < 1000; i++ {
		try := name
		if i > 1 {
			try = fmt.Sprintf("%s (%d)%s", base, i, ext)
		}
		f, err := os.OpenFile(filepath.Join(dir, try), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("too many files called %s in %s", name, dir)
}
