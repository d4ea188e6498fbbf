package discordtest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
)

// events collects what a discordgo session receives, in order.
type events struct {
	mu   sync.Mutex
	list []any
	ch   chan struct{}
}

func (e *events) add(v any) {
	e.mu.Lock()
	e.list = append(e.list, v)
	e.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
	default:
	}
}

// wait waits for an event that ok accepts and returns it.
func (e *events) wait(t *testing.T, ok func(any) bool) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := 0
	for {
		e.mu.Lock()
		list := e.list
		e.mu.Unlock()
		for ; seen < len(list); seen++ {
			if ok(list[seen]) {
				return list[seen]
			}
		}
		select {
		case <-e.ch:
		case <-ctx.Done():
			t.Fatalf("no such event; got %d events", len(list))
		}
	}
}

func open(t *testing.T, srv *discordtest.Server, intents discordgo.Intent) (*discordgo.Session, *events) {
	t.Helper()
	s, err := discordgo.New("Bot " + srv.Token)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = srv.Client()
	s.Identify.Intents = intents
	s.SyncEvents = true
	s.LogLevel = -1
	ev := &events{ch: make(chan struct{}, 1)}
	s.AddHandler(func(_ *discordgo.Session, v any) { ev.add(v) })
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, ev
}

const allIntents = discordgo.IntentGuilds | discordgo.IntentGuildMessages | discordgo.IntentGuildMessageTyping | discordgo.IntentMessageContent

func setup(t *testing.T, opts ...discordtest.Option) (*discordtest.Server, string, string, discordtest.User) {
	srv := discordtest.New(opts...)
	t.Cleanup(srv.Close)
	g := srv.AddGuild("Test Guild")
	ch, err := srv.AddChannel(g, "General Chat", discordtest.ChannelText, "")
	if err != nil {
		t.Fatal(err)
	}
	u := srv.AddUser("nelly", "Nelly")
	if err := srv.AddMember(g, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	return srv, g, ch, u
}

func TestGatewayReadyAndMessages(t *testing.T) {
	srv, g, ch, u := setup(t)
	s, ev := open(t, srv, allIntents)

	if got := srv.Identifies(); len(got) != 1 || got[0].Intents&discordtest.IntentMessageContent == 0 || got[0].Token != "Bot "+srv.Token {
		t.Fatalf("identify = %+v", got)
	}
	ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.Ready); return ok })
	gc := ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.GuildCreate); return ok }).(*discordgo.GuildCreate)
	if gc.ID != g || len(gc.Channels) != 1 || gc.Channels[0].Name != "general-chat" {
		t.Fatalf("guild create = %+v", gc.Guild)
	}
	if s.State.User.ID != srv.Bot.ID {
		t.Fatalf("state user = %+v", s.State.User)
	}

	if _, err := srv.Post(ch, u.ID, "hello <@"+srv.Bot.ID+">"); err != nil {
		t.Fatal(err)
	}
	mc := ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.MessageCreate); return ok }).(*discordgo.MessageCreate)
	if mc.Author == nil || mc.Author.ID != u.ID || mc.Content != "hello <@"+srv.Bot.ID+">" || len(mc.Mentions) != 1 || mc.Member == nil {
		t.Fatalf("message create = %+v", mc.Message)
	}

	sent, err := s.ChannelMessageSend(ch, "from the bot")
	if err != nil {
		t.Fatal(err)
	}
	echo := ev.wait(t, func(v any) bool { m, ok := v.(*discordgo.MessageCreate); return ok && m.ID == sent.ID }).(*discordgo.MessageCreate)
	if echo.Author.ID != s.State.User.ID {
		t.Fatalf("echo author %+v", echo.Author)
	}
	if _, err := s.ChannelMessageEdit(ch, sent.ID, "edited"); err != nil {
		t.Fatal(err)
	}
	up := ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.MessageUpdate); return ok }).(*discordgo.MessageUpdate)
	if up.Content != "edited" || up.EditedTimestamp == nil {
		t.Fatalf("update %+v", up.Message)
	}
	if err := s.ChannelMessageDelete(ch, sent.ID); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, func(v any) bool { d, ok := v.(*discordgo.MessageDelete); return ok && d.ID == sent.ID })

	if err := s.ChannelTyping(ch); err != nil {
		t.Fatal(err)
	}
	srv.Typing(ch, u.ID)
	ev.wait(t, func(v any) bool { ts, ok := v.(*discordgo.TypingStart); return ok && ts.UserID == u.ID })

	// History, newest first.
	for _, text := range []string{"one", "two", "three"} {
		srv.Post(ch, u.ID, text)
	}
	msgs := srv.Messages(ch)
	hist, err := s.ChannelMessages(ch, 2, "", msgs[len(msgs)-3].ID, "")
	if err != nil || len(hist) != 2 || hist[0].Content != "three" || hist[1].Content != "two" {
		t.Fatalf("history = %v, %v", hist, err)
	}

	// An unknown channel is a RESTError with Discord's code.
	_, err = s.ChannelMessageSend("1", "x")
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Message == nil || re.Message.Code != discordgo.ErrCodeUnknownChannel {
		t.Fatalf("err = %v", err)
	}
	// An empty message is refused.
	if _, err := s.ChannelMessageSend(ch, " "); !errors.As(err, &re) || re.Message.Code != discordgo.ErrCodeCannotSendEmptyMessage {
		t.Fatalf("empty: %v", err)
	}
}

func TestMessageContentIntent(t *testing.T) {
	srv, _, ch, u := setup(t)
	_, ev := open(t, srv, discordgo.IntentGuilds|discordgo.IntentGuildMessages)
	ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.GuildCreate); return ok })
	srv.Post(ch, u.ID, "secret words")
	mc := ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.MessageCreate); return ok }).(*discordgo.MessageCreate)
	if mc.Content != "" {
		t.Fatalf("content %q arrived without the message content intent", mc.Content)
	}
	srv.Post(ch, u.ID, "hey <@"+srv.Bot.ID+">")
	mc = ev.wait(t, func(v any) bool { m, ok := v.(*discordgo.MessageCreate); return ok && m.Content != "" }).(*discordgo.MessageCreate)
	if !strings.HasPrefix(mc.Content, "hey") {
		t.Fatalf("mention content %q", mc.Content)
	}
}

func TestWebhooksAndThreads(t *testing.T) {
	srv, g, ch, u := setup(t)
	srv.SetBotPermissions(g, discordtest.PermAll) // private threads are more than the bridge asks for
	s, ev := open(t, srv, allIntents)

	th, err := s.ThreadStartComplex(ch, &discordgo.ThreadStart{Name: "Bob", Type: discordgo.ChannelTypeGuildPrivateThread, Invitable: false})
	if err != nil {
		t.Fatal(err)
	}
	if th.Type != discordgo.ChannelTypeGuildPrivateThread || th.ParentID != ch || th.ThreadMetadata == nil {
		t.Fatalf("thread %+v", th)
	}
	ev.wait(t, func(v any) bool { c, ok := v.(*discordgo.ThreadCreate); return ok && c.ID == th.ID })
	if err := s.ThreadMemberAdd(th.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if m := srv.ThreadMembers(th.ID); len(m) != 2 {
		t.Fatalf("thread members %v", m)
	}

	if _, err := s.WebhookCreate(ch, "Clyde", ""); err == nil {
		t.Fatal("a webhook named Clyde was accepted")
	}
	wh, err := s.WebhookCreate(ch, "MSN", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WebhookThreadExecute(wh.ID, wh.Token, true, th.ID, &discordgo.WebhookParams{Content: "x", Username: "my discord friend"}); err == nil {
		t.Fatal("a username with 'discord' was accepted")
	}
	m, err := s.WebhookThreadExecute(wh.ID, wh.Token, true, th.ID, &discordgo.WebhookParams{
		Content: "hi from MSN", Username: "Bob", AvatarURL: "https://example.com/bob.png",
		Files: []*discordgo.File{{Name: "a.txt", ContentType: "text/plain", Reader: strings.NewReader("data")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.ChannelID != th.ID || m.WebhookID != wh.ID || m.Author.Username != "Bob" || len(m.Attachments) != 1 {
		t.Fatalf("webhook message %+v", m)
	}
	resp, err := http.Get(m.Attachments[0].URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("attachment: %v %v", resp, err)
	}
	resp.Body.Close()
	echo := ev.wait(t, func(v any) bool { c, ok := v.(*discordgo.MessageCreate); return ok && c.ID == m.ID }).(*discordgo.MessageCreate)
	if echo.WebhookID != wh.ID {
		t.Fatalf("echo %+v", echo.Message)
	}

	// Without thread_id the message in the thread is unknown; with it
	// (discordgo cannot say it, a request option can) the edit works.
	if _, err := s.WebhookMessageEdit(wh.ID, wh.Token, m.ID, &discordgo.WebhookEdit{Content: ptr("nope")}); err == nil {
		t.Fatal("edit without thread_id found the thread's message")
	}
	inThread := func(cfg *discordgo.RequestConfig) {
		q := cfg.Request.URL.Query()
		q.Set("thread_id", th.ID)
		cfg.Request.URL.RawQuery = q.Encode()
	}
	if _, err := s.WebhookMessageEdit(wh.ID, wh.Token, m.ID, &discordgo.WebhookEdit{Content: ptr("edited")}, inThread); err != nil {
		t.Fatal(err)
	}
	if err := s.WebhookMessageDelete(wh.ID, wh.Token, m.ID, inThread); err != nil {
		t.Fatal(err)
	}
	for _, left := range srv.Messages(th.ID) {
		if left.ID == m.ID {
			t.Fatal("message not deleted")
		}
	}

	// Archived threads come back on a new message.
	srv.ArchiveThread(th.ID)
	if _, err := s.WebhookThreadExecute(wh.ID, wh.Token, true, th.ID, &discordgo.WebhookParams{Content: "again"}); err != nil {
		t.Fatal(err)
	}
	if c, _ := srv.Channel(th.ID); c.ThreadMetadata.Archived {
		t.Fatal("thread still archived")
	}

	// Categories and channels with overwrites.
	cat, err := s.GuildChannelCreateComplex(g, discordgo.GuildChannelCreateData{Name: "MSN", Type: discordgo.ChannelTypeGuildCategory})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := s.GuildChannelCreateComplex(g, discordgo.GuildChannelCreateData{
		Name: "MSN Nelly", Type: discordgo.ChannelTypeGuildText, ParentID: cat.ID,
		PermissionOverwrites: []*discordgo.PermissionOverwrite{{ID: g, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if priv.Name != "msn-nelly" || priv.ParentID != cat.ID || len(priv.PermissionOverwrites) != 1 || priv.PermissionOverwrites[0].Deny != discordgo.PermissionViewChannel {
		t.Fatalf("channel %+v", priv)
	}

	// Missing permissions.
	srv.SetBotPermissions(g, discordtest.PermSendMessages|discordtest.PermViewChannel)
	var re *discordgo.RESTError
	if _, err := s.WebhookCreate(ch, "MSN", ""); !errors.As(err, &re) || re.Message.Code != discordgo.ErrCodeMissingPermissions {
		t.Fatalf("webhook without permission: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestInteractions(t *testing.T) {
	// The deadline has its own test; a loaded machine must not fail this one.
	srv, g, ch, u := setup(t, discordtest.WithInteractionTimeout(time.Minute))
	s, ev := open(t, srv, allIntents)
	ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.GuildCreate); return ok })

	perm := int64(discordgo.PermissionManageChannels)
	_, err := s.ApplicationCommandBulkOverwrite(s.State.User.ID, "", []*discordgo.ApplicationCommand{{
		Name: "msn", Description: "MSN", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "login", Description: "Sign in"},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "add", Description: "Add", Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: "email", Description: "Who", Required: true},
			}},
		},
	}, {Name: "admin", Description: "Admins only", DefaultMemberPermissions: &perm}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Run(g, ch, u.ID, "msn add", nil); err == nil {
		t.Fatal("a missing required option was accepted")
	}
	if _, err := srv.Run(g, ch, u.ID, "admin", nil); err == nil {
		t.Fatal("a user without Manage Channels ran an admin command")
	}

	var mu sync.Mutex
	answer := map[string]func(*discordgo.InteractionCreate){}
	s.AddHandler(func(s *discordgo.Session, ic *discordgo.InteractionCreate) {
		var key string
		switch ic.Type {
		case discordgo.InteractionApplicationCommand:
			d := ic.ApplicationCommandData()
			key = d.Name + " " + d.Options[0].Name
		case discordgo.InteractionModalSubmit:
			key = "modal " + ic.ModalSubmitData().CustomID
		}
		mu.Lock()
		f := answer[key]
		mu.Unlock()
		if f != nil {
			go f(ic)
		}
	})
	mu.Lock()
	answer["msn add"] = func(ic *discordgo.InteractionCreate) {
		s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource, Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}})
		email := ic.ApplicationCommandData().Options[0].Options[0].StringValue()
		s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{Content: ptr("added " + email)})
	}
	answer["msn login"] = func(ic *discordgo.InteractionCreate) {
		err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
			CustomID: "login", Title: "Sign in to MSN", Components: []discordgo.MessageComponent{
				discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{CustomID: "email", Label: "E-mail", Style: discordgo.TextInputShort, Required: true}}},
				discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{CustomID: "password", Label: "Password", Style: discordgo.TextInputShort, Required: true}}},
			}}})
		if err != nil {
			t.Error(err)
		}
	}
	answer["modal login"] = func(ic *discordgo.InteractionCreate) {
		d := ic.ModalSubmitData()
		var vals []string
		for _, row := range d.Components {
			for _, c := range row.(*discordgo.ActionsRow).Components {
				vals = append(vals, c.(*discordgo.TextInput).Value)
			}
		}
		s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: &discordgo.InteractionResponseData{Content: strings.Join(vals, ","), Flags: discordgo.MessageFlagsEphemeral}})
		if _, err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}), error(nil); err == nil {
			s.FollowupMessageCreate(ic.Interaction, true, &discordgo.WebhookParams{Content: "follow-up", Flags: discordgo.MessageFlagsEphemeral})
		}
	}
	mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ix, err := srv.Run(g, ch, u.ID, "msn add", map[string]any{"email": "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := srv.Reply(ctx, ix)
	if err != nil || r.Type != discordtest.CallbackDeferredMessage || r.Content != "added bob@example.com" || !r.Ephemeral {
		t.Fatalf("reply %+v %v", r, err)
	}
	ix, _ = srv.Run(g, ch, u.ID, "msn login", nil)
	r, err = srv.Reply(ctx, ix)
	if err != nil || r.Modal == nil || len(r.Modal.Fields) != 2 {
		t.Fatalf("modal reply %+v %v", r, err)
	}
	sub, err := srv.SubmitModal(ix, map[string]string{"email": "nelly@example.com", "password": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitFor(ctx, func() bool { r, _ = srv.Reply(ctx, sub); return len(r.Followups) == 1 }); err != nil {
		t.Fatalf("follow-up: %+v %v", r, err)
	}
	if r.Content != "nelly@example.com,pw" || r.Followups[0] != "follow-up" {
		t.Fatalf("modal submit reply %+v", r)
	}
	// Ephemeral answers are not in the channel.
	for _, m := range srv.Messages(ch) {
		if strings.Contains(m.Content, "pw") {
			t.Fatalf("ephemeral answer in the channel: %+v", m)
		}
	}
}

func TestResumeReplaysMissedEvents(t *testing.T) {
	srv, _, ch, u := setup(t)
	_, ev := open(t, srv, allIntents)
	ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.GuildCreate); return ok })
	srv.Post(ch, u.ID, "before")
	ev.wait(t, func(v any) bool { m, ok := v.(*discordgo.MessageCreate); return ok && m.Content == "before" })

	srv.DropConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Dispatched while the connection is down: kept for the resume.
	srv.Post(ch, u.ID, "during")
	if err := srv.WaitFor(ctx, func() bool { return srv.Resumes() == 1 }); err != nil {
		t.Fatal("no resume")
	}
	srv.Post(ch, u.ID, "after")
	ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.Resumed); return ok })
	var got []string
	ev.wait(t, func(v any) bool {
		if m, ok := v.(*discordgo.MessageCreate); ok {
			got = append(got, m.Content)
		}
		return len(got) == 3
	})
	if strings.Join(got, ",") != "before,during,after" {
		t.Fatalf("messages %v", got)
	}
	if n := len(srv.Identifies()); n != 1 {
		t.Fatalf("%d identifies: the session was not resumed", n)
	}
}

func TestHeartbeatTimeoutReconnects(t *testing.T) {
	srv, _, ch, u := setup(t, discordtest.WithHeartbeatInterval(50*time.Millisecond))
	_, ev := open(t, srv, allIntents)
	srv.SetHeartbeatACK(false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// discordgo gives up on the connection and closes it with 1000, which
	// ends the session on Discord: its RESUME gets INVALID SESSION and it
	// identifies again.
	if err := srv.WaitFor(ctx, func() bool { return len(srv.Identifies()) >= 2 }); err != nil {
		t.Fatal("no new session after missing ACKs")
	}
	srv.SetHeartbeatACK(true)
	srv.Post(ch, u.ID, "still here")
	ev.wait(t, func(v any) bool { m, ok := v.(*discordgo.MessageCreate); return ok && m.Content == "still here" })
}

func TestRateLimits(t *testing.T) {
	srv, _, ch, _ := setup(t)
	s, _ := open(t, srv, allIntents)
	srv.SetRateLimit("POST /channels/{channel_id}/messages", 2, 300*time.Millisecond)
	for i := range 6 {
		if _, err := s.ChannelMessageSend(ch, "m"+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(srv.Messages(ch)); got != 6 {
		t.Fatalf("%d messages", got)
	}
	// discordgo read the headers and waited: Discord never had to say 429.
	if n := srv.RateLimited(); n != 0 {
		t.Errorf("%d requests were rate limited", n)
	}
	// Two sessions share a bucket without knowing it: the second one hits
	// 429, sleeps retry_after and retries.
	s2, _ := discordgo.New("Bot " + srv.Token)
	s2.Client = srv.Client()
	for i := range 3 {
		if _, err := s.ChannelMessageSend(ch, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s2.ChannelMessageSend(ch, "b"+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if srv.RateLimited() == 0 {
		t.Error("no 429 answered")
	}
	if got := len(srv.Messages(ch)); got != 12 {
		t.Fatalf("%d messages", got)
	}
}

func TestFaultsAndAuth(t *testing.T) {
	srv, _, ch, _ := setup(t)
	s, _ := discordgo.New("Bot wrong")
	s.Client = srv.Client()
	if _, err := s.ChannelMessageSend(ch, "x"); err == nil {
		t.Fatal("a wrong token was accepted")
	}
	if err := s.Open(); err == nil {
		s.Close()
		// discordgo sends IDENTIFY and reads one frame; the close comes
		// with code 4004.
	}
	good, _ := open(t, srv, allIntents)
	srv.FailNext("POST /channels/{channel_id}/messages", 500, 0, "Internal Server Error")
	if _, err := good.ChannelMessageSend(ch, "x"); err == nil {
		t.Fatal("the injected fault did not happen")
	}
	if _, err := good.ChannelMessageSend(ch, "x"); err != nil {
		t.Fatal(err)
	}
}

// An interaction answered too late is unknown, as on Discord.
func TestInteractionDeadline(t *testing.T) {
	srv, g, ch, u := setup(t, discordtest.WithInteractionTimeout(50*time.Millisecond))
	s, ev := open(t, srv, allIntents)
	ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.GuildCreate); return ok })
	if _, err := s.ApplicationCommandCreate(s.State.User.ID, "", &discordgo.ApplicationCommand{Name: "slow", Description: "answers late"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Run(g, ch, u.ID, "slow", nil); err != nil {
		t.Fatal(err)
	}
	ic := ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.InteractionCreate); return ok }).(*discordgo.InteractionCreate)
	time.Sleep(100 * time.Millisecond) // past the deadline, on purpose
	err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "too late"}})
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Message.Code != discordgo.ErrCodeUnknownInteraction {
		t.Fatalf("late answer: %v", err)
	}
}
