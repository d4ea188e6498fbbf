package discord_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/bridges/discord"
	"github.com/nudge-im/nudge/bridges/discord/discordtest"
	"github.com/nudge-im/nudge/msnp/client"
)

// The private channel's overwrites grant only what the bot holds where it
// makes the channel: not Add Reactions, which the invite link does not
// ask for, nor what the MSN category's own overwrites take from the bot.
// Discord refuses anything more (50013).
func TestPrivateChannelGrantsOnlyWhatTheBotHas(t *testing.T) {
	h := newHarness(t)
	cat, err := h.dc.AddChannel(h.guild, "MSN", discordtest.ChannelCategory, "")
	if err != nil {
		t.Fatal(err)
	}
	const embed = discordtest.PermEmbedLinks
	if err := h.dc.SetOverwrites(cat, []discordtest.Overwrite{{ID: h.dc.BotRole(h.guild), Type: 0, Deny: strconv.Itoa(embed)}}); err != nil {
		t.Fatal(err)
	}
	ch := h.login(h.nelly)
	c, _ := h.dc.Channel(ch)
	for _, o := range c.PermissionOverwrites {
		allow, _ := strconv.ParseInt(o.Allow, 10, 64)
		if allow&(discordtest.PermAddReactions|embed) != 0 {
			t.Errorf("overwrite %+v grants what the bot does not have", o)
		}
	}
	// The channel works: Bob's words arrive in a thread.
	bob := h.peer("bob@example.com", "Bob")
	bob.say("nelly@"+domain, "hello", nil)
	h.waitContent(h.thread(ch, "Bob (bob@example.com)"), "hello")
}

// Until the gateway's READY the bridge knows neither itself nor the
// guilds, so nothing that needs it runs: MSN sessions sign in after READY.
// An MSN message that came before would have had to make a channel with a
// bot user nobody knew yet.
func TestNothingBeforeReady(t *testing.T) {
	h := newHarness(t)
	ch := h.login(h.nelly)
	nellyMSN := "nelly@" + domain
	bob := h.peer("bob@example.com", "Bob")
	if err := bob.cl.AddContact(ctxT(t), nellyMSN); err != nil {
		t.Fatal(err)
	}
	bob.waitPresence(nellyMSN, client.Online)
	h.b.Close()
	bob.waitPresence(nellyMSN, client.Offline)
	// While the bridge is down her channel goes: the next message must
	// make a new one.
	if err := h.dc.DeleteChannel(ch); err != nil {
		t.Fatal(err)
	}

	h.dc.HoldReady(true)
	started := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b, err := discord.New(ctx, h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	go func() { started <- b.Start(ctx) }()
	if err := h.dc.WaitFor(ctx, func() bool { return len(h.dc.Identifies()) == 2 }); err != nil {
		t.Fatal("the bridge did not identify")
	}
	// Nelly stays offline while READY is held; if she came online, Bob's
	// message would reach a bridge that knows no bot user.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if c, _ := bob.cl.Contact(nellyMSN); c.Status == client.Online {
			t.Error("Nelly's MSN session signed in before the gateway was READY")
			bob.say(nellyMSN, "before READY", nil)
			time.Sleep(time.Second) // for the bridge to try making her channel
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.dc.HoldReady(false)
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	h.b = b
	bob.waitPresence(nellyMSN, client.Online)
	bob.say(nellyMSN, "after READY", nil)
	ch2 := h.newChannel("msn-nelly", ch)
	h.waitContent(h.thread(ch2, "Bob (bob@example.com)"), "after READY")
}

// Messages fetched after a restart come without their author's member
// (REST does not send it, and the bridge does not get the member list):
// in a room the name is still the member's nickname.
func TestRoomCatchUpKeepsNames(t *testing.T) {
	h := newHarness(t)
	h.run(h.admin, h.general, "msn bridge", nil)
	carol := h.roomMember("carol@example.com", "Carol")
	if err := h.dc.SetNick(h.guild, h.admin.ID, "Annie"); err != nil {
		t.Fatal(err)
	}
	h.post(h.general, h.admin, "live")
	carol.waitText("Annie: live")
	h.b.Close()
	h.post(h.general, h.admin, "while the bridge was down")
	h.start()
	carol.waitText("Annie: while the bridge was down")
	for _, text := range carol.texts() {
		if strings.Contains(text, "Admin Ann:") {
			t.Fatalf("a message without its member's nickname: %q", carol.texts())
		}
	}
}
