package discordtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/nudge-im/nudge/bridges/discord/discordtest"
)

// Where Discord sends MESSAGE_UPDATE for something nobody edited — a link
// preview, a pin — the content is the same and edited_timestamp is null.
func TestMessageUpdatesThatAreNotEdits(t *testing.T) {
	srv, _, ch, u := setup(t)
	_, ev := open(t, srv, allIntents)
	m, err := srv.Post(ch, u.ID, "see https://example.com/page")
	if err != nil {
		t.Fatal(err)
	}
	up := ev.wait(t, func(v any) bool { x, ok := v.(*discordgo.MessageUpdate); return ok && x.ID == m.ID }).(*discordgo.MessageUpdate)
	if up.Content != m.Content || up.EditedTimestamp != nil || len(up.Embeds) != 1 {
		t.Fatalf("link preview update %+v (embeds %d)", up.Message, len(up.Embeds))
	}
	plain, _ := srv.Post(ch, u.ID, "no link")
	if err := srv.Pin(ch, plain.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	pin := ev.wait(t, func(v any) bool { x, ok := v.(*discordgo.MessageUpdate); return ok && x.ID == plain.ID }).(*discordgo.MessageUpdate)
	if pin.Content != "no link" || pin.EditedTimestamp != nil || !pin.Pinned {
		t.Fatalf("pin update %+v", pin.Message)
	}
	notice := ev.wait(t, func(v any) bool {
		x, ok := v.(*discordgo.MessageCreate)
		return ok && x.Type == discordgo.MessageTypeChannelPinnedMessage
	}).(*discordgo.MessageCreate)
	if notice.MessageReference == nil || notice.MessageReference.MessageID != plain.ID {
		t.Fatalf("pin notice %+v", notice.Message)
	}
	// A real edit has its timestamp.
	srv.Edit(ch, plain.ID, "no link, edited")
	ed := ev.wait(t, func(v any) bool { x, ok := v.(*discordgo.MessageUpdate); return ok && x.Content == "no link, edited" }).(*discordgo.MessageUpdate)
	if ed.EditedTimestamp == nil {
		t.Fatal("an edit without edited_timestamp")
	}
}

// REST returns messages without guild_id and member; only gateway events
// carry them.
func TestRESTMessagesHaveNoMemberOrGuild(t *testing.T) {
	srv, _, ch, u := setup(t)
	s, ev := open(t, srv, allIntents)
	m, _ := srv.Post(ch, u.ID, "hello")
	live := ev.wait(t, func(v any) bool { x, ok := v.(*discordgo.MessageCreate); return ok && x.ID == m.ID }).(*discordgo.MessageCreate)
	if live.GuildID == "" || live.Member == nil {
		t.Fatalf("gateway message without guild or member: %+v", live.Message)
	}
	hist, err := s.ChannelMessages(ch, 10, "", "", "")
	if err != nil || len(hist) != 1 {
		t.Fatalf("history %v %v", hist, err)
	}
	if hist[0].GuildID != "" || hist[0].Member != nil {
		t.Fatalf("REST message with guild_id or member: %+v", hist[0])
	}
	one, err := s.ChannelMessage(ch, m.ID)
	if err != nil || one.GuildID != "" || one.Member != nil {
		t.Fatalf("REST message %+v %v", one, err)
	}
}

// Without the privileged GUILD_MEMBERS intent, GUILD_CREATE lists the bot
// alone.
func TestGuildMembersIntent(t *testing.T) {
	srv, _, _, u := setup(t)
	for _, tc := range []struct {
		intents discordgo.Intent
		want    int
	}{{allIntents, 1}, {allIntents | discordgo.IntentGuildMembers, 2}} {
		_, ev := open(t, srv, tc.intents)
		gc := ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.GuildCreate); return ok }).(*discordgo.GuildCreate)
		if len(gc.Members) != tc.want {
			t.Errorf("intents %d: %d members, want %d", tc.intents, len(gc.Members), tc.want)
		}
		if tc.want == 1 && gc.Members[0].User.ID != srv.Bot.ID {
			t.Errorf("the member without GUILD_MEMBERS is %s, not the bot", gc.Members[0].User.ID)
		}
		if tc.want == 2 && gc.Members[0].User.ID != u.ID && gc.Members[1].User.ID != u.ID {
			t.Errorf("nelly is not among %+v", gc.Members)
		}
	}
}

// A bot may set overwrites that grant or deny only what it has where the
// channel is made: the guild's roles, then the category's overwrites.
func TestOverwriteRule(t *testing.T) {
	srv, g, _, _ := setup(t)
	s, _ := open(t, srv, allIntents)
	var re *discordgo.RESTError
	grant := func(parent string, perm int64) error {
		_, err := s.GuildChannelCreateComplex(g, discordgo.GuildChannelCreateData{
			Name: "private", Type: discordgo.ChannelTypeGuildText, ParentID: parent,
			PermissionOverwrites: []*discordgo.PermissionOverwrite{
				{ID: g, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel},
				{ID: srv.Bot.ID, Type: discordgo.PermissionOverwriteTypeMember, Allow: perm},
			},
		})
		return err
	}
	if err := grant("", discordgo.PermissionViewChannel|discordgo.PermissionEmbedLinks); err != nil {
		t.Fatalf("granting what the bot has: %v", err)
	}
	if err := grant("", discordgo.PermissionAddReactions); !errors.As(err, &re) || re.Message.Code != discordgo.ErrCodeMissingPermissions {
		t.Fatalf("granting Add Reactions, which the bot lacks: %v", err)
	}
	cat, err := s.GuildChannelCreateComplex(g, discordgo.GuildChannelCreateData{Name: "MSN", Type: discordgo.ChannelTypeGuildCategory})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetOverwrites(cat.ID, []discordtest.Overwrite{{ID: srv.BotRole(g), Type: 0, Deny: "16384"}}) // Embed Links
	if err := grant(cat.ID, discordgo.PermissionEmbedLinks); !errors.As(err, &re) || re.Message.Code != discordgo.ErrCodeMissingPermissions {
		t.Fatalf("granting Embed Links in a category that denies it to the bot: %v", err)
	}
	if err := grant(cat.ID, discordgo.PermissionViewChannel); err != nil {
		t.Fatalf("granting View Channel in the category: %v", err)
	}
	srv.SetBotPermissions(g, discordtest.PermAdministrator)
	if err := grant(cat.ID, discordgo.PermissionAddReactions|discordgo.PermissionEmbedLinks); err != nil {
		t.Fatalf("an administrator: %v", err)
	}
}

// Threads made without a message leave "started a thread" in their
// channel; adding someone leaves "added to the thread" in the thread.
func TestThreadSystemMessages(t *testing.T) {
	srv, _, ch, u := setup(t)
	s, _ := open(t, srv, allIntents)
	th, err := s.ThreadStartComplex(ch, &discordgo.ThreadStart{Name: "Bob", Type: discordgo.ChannelTypeGuildPublicThread})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ThreadMemberAdd(th.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	started := srv.Messages(ch)
	if len(started) != 1 || started[0].Type != discordtest.MessageThreadCreated || started[0].Content != "Bob" || started[0].MessageReference.ChannelID != th.ID {
		t.Fatalf("channel messages %+v", started)
	}
	added := srv.Messages(th.ID)
	if len(added) != 1 || added[0].Type != discordtest.MessageRecipientAdd || len(added[0].Mentions) != 1 || added[0].Mentions[0].ID != u.ID {
		t.Fatalf("thread messages %+v", added)
	}
}

// Replies carry what they answer; reactions come and go as events of
// their own.
func TestRepliesAndReactions(t *testing.T) {
	srv, _, ch, u := setup(t)
	_, ev := open(t, srv, allIntents|discordgo.IntentGuildMessageReactions)
	first, _ := srv.Post(ch, u.ID, "first")
	reply, err := srv.PostReply(ch, u.ID, "an answer", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	mc := ev.wait(t, func(v any) bool { x, ok := v.(*discordgo.MessageCreate); return ok && x.ID == reply.ID }).(*discordgo.MessageCreate)
	if mc.Type != discordgo.MessageTypeReply || mc.ReferencedMessage == nil || mc.ReferencedMessage.Content != "first" {
		t.Fatalf("reply %+v", mc.Message)
	}
	if err := srv.React(ch, first.ID, u.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	add := ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.MessageReactionAdd); return ok }).(*discordgo.MessageReactionAdd)
	if add.MessageID != first.ID || add.UserID != u.ID || add.Emoji.Name != "👍" {
		t.Fatalf("reaction %+v", add.MessageReaction)
	}
	if err := srv.Unreact(ch, first.ID, u.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, func(v any) bool { r, ok := v.(*discordgo.MessageReactionRemove); return ok && r.MessageID == first.ID })
}

// Over the global limit, Discord answers 429 with "global": discordgo
// waits and retries. A webhook has a limit of its own.
func TestGlobalAndWebhookRateLimits(t *testing.T) {
	srv, _, ch, _ := setup(t)
	s, _ := open(t, srv, allIntents)
	srv.SetGlobalRateLimit(3, 300*time.Millisecond)
	for i := range 8 {
		if _, err := s.ChannelMessageSend(ch, "m"+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if srv.RateLimited() == 0 {
		t.Error("no request was over the global limit")
	}
	var global bool
	for _, c := range srv.Calls() {
		global = global || c.Status == http.StatusTooManyRequests
	}
	if !global || len(srv.Messages(ch)) != 8 {
		t.Fatalf("%d messages; a 429: %v", len(srv.Messages(ch)), global)
	}
	srv.SetGlobalRateLimit(1000, time.Second)
	wh, err := s.WebhookCreate(ch, "MSN", "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 7 {
		if _, err := s.WebhookExecute(wh.ID, wh.Token, true, &discordgo.WebhookParams{Content: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if time.Since(start) < time.Second {
		t.Error("7 webhook messages went through without waiting for the webhook's limit (5 every 2 s)")
	}
}

// A client that stops sending heartbeats is disconnected (4009) and its
// session ends; one that sends them stays.
func TestHeartbeatsRequired(t *testing.T) {
	srv, _, ch, u := setup(t, discordtest.WithHeartbeatInterval(300*time.Millisecond))
	ws, _, err := websocket.DefaultDialer.Dial(srv.GatewayURL()+"?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, _, err := ws.ReadMessage(); err != nil { // HELLO
		t.Fatal(err)
	}
	id, _ := json.Marshal(map[string]any{"op": 2, "d": map[string]any{"token": "Bot " + srv.Token, "intents": 1, "properties": map[string]string{}}})
	ws.WriteMessage(websocket.TextMessage, id)
	var closeErr *websocket.CloseError
	for {
		if _, _, err = ws.ReadMessage(); err != nil {
			break
		}
	}
	if !errors.As(err, &closeErr) || closeErr.Code != 4009 || srv.HeartbeatTimeouts() != 1 {
		t.Fatalf("a silent client: %v, %d timeouts", err, srv.HeartbeatTimeouts())
	}

	_, ev := open(t, srv, allIntents)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	beats := srv.Heartbeats()
	if err := srv.WaitFor(ctx, func() bool { return srv.Heartbeats() >= beats+5 }); err != nil {
		t.Fatal("discordgo sent no heartbeats")
	}
	srv.Post(ch, u.ID, "still connected")
	ev.wait(t, func(v any) bool { m, ok := v.(*discordgo.MessageCreate); return ok && m.Content == "still connected" })
	if n := srv.HeartbeatTimeouts(); n != 1 {
		t.Fatalf("%d timeouts with a client that sends heartbeats", n-1)
	}
}

// A session away longer than its resume window cannot be resumed: the
// client identifies anew.
func TestSessionsStopBeingResumable(t *testing.T) {
	srv, _, ch, u := setup(t, discordtest.WithResumeWindow(100*time.Millisecond))
	_, ev := open(t, srv, allIntents)
	ev.wait(t, func(v any) bool { _, ok := v.(*discordgo.GuildCreate); return ok })
	srv.RefuseConnections(true)
	srv.DropConnections()
	srv.Post(ch, u.ID, "said while away")
	time.Sleep(500 * time.Millisecond) // longer than the window, on purpose
	srv.RefuseConnections(false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, func() bool { return len(srv.Identifies()) == 2 }); err != nil {
		t.Fatalf("%d IDENTIFYs: the stale session was resumed", len(srv.Identifies()))
	}
	if srv.Resumes() != 0 {
		t.Fatal("a session past its window was resumed")
	}
	srv.Post(ch, u.ID, "after")
	ev.wait(t, func(v any) bool { m, ok := v.(*discordgo.MessageCreate); return ok && m.Content == "after" })
	for _, v := range ev.list {
		if m, ok := v.(*discordgo.MessageCreate); ok && strings.Contains(m.Content, "while away") {
			t.Fatal("a new session got what was said before it")
		}
	}
}

// Until READY nothing reaches a session; discordgo's Open waits for it.
func TestHoldReady(t *testing.T) {
	srv, _, _, _ := setup(t)
	srv.HoldReady(true)
	s, err := discordgo.New("Bot " + srv.Token)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = srv.Client()
	s.LogLevel = -1
	opened := make(chan error, 1)
	go func() { opened <- s.Open() }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, func() bool { return len(srv.Identifies()) == 1 }); err != nil {
		t.Fatal("no IDENTIFY")
	}
	select {
	case err := <-opened:
		t.Fatalf("Open returned (%v) before READY", err)
	case <-time.After(200 * time.Millisecond):
	}
	srv.HoldReady(false)
	if err := <-opened; err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.State.User == nil || s.State.User.ID != srv.Bot.ID {
		t.Fatalf("state user %+v", s.State.User)
	}
}
