package discord

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Posting to Discord: the bot's notices, contacts speaking through
// webhooks, the categories private channels go in, and what the bot may
// grant in them.

// noMentions stops anything the bridge posts from pinging anyone.
var noMentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}

// notice posts a message from the bot itself.
func (b *Bridge) notice(channelID, text string) {
	_, err := b.dg.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{Content: truncate(text, maxContent), AllowedMentions: noMentions})
	if err != nil {
		b.log.Warn().Err(err).Str("channel", channelID).Msg("cannot post a notice")
	}
}

// speak posts messages through a webhook as an MSN contact (avatar is
// their picture's address, or ""), into a thread when threadID is set,
// and returns their IDs.
func (b *Bridge) speak(webhookID, token, threadID, name, email, avatar string, contents []outgoing) ([]string, error) {
	var ids []string
	for _, c := range contents {
		p := &discordgo.WebhookParams{Content: c.text, Files: c.files(), Username: webhookName(name, email), AvatarURL: avatar, AllowedMentions: noMentions}
		m, err := b.execute(webhookID, token, threadID, p)
		if err != nil && restCode(err) == discordgo.ErrCodeInvalidFormBody {
			// A name Discord still refuses: speak as the address alone.
			p.Username = webhookName("", strings.SplitN(email, "@", 2)[0]+" (MSN)")
			p.Files = c.files()
			m, err = b.execute(webhookID, token, threadID, p)
		}
		if err != nil {
			return ids, err
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
}

func (b *Bridge) execute(webhookID, token, threadID string, p *discordgo.WebhookParams) (*discordgo.Message, error) {
	if threadID != "" {
		return b.dg.WebhookThreadExecute(webhookID, token, true, threadID, p)
	}
	return b.dg.WebhookExecute(webhookID, token, true, p)
}

// maxInCategory is how many channels Discord allows in one category.
const maxInCategory = 50

// category returns the category a new private channel goes in: the
// guild's "MSN" category, or when it is full the next one ("MSN 2", …),
// adopting categories of those names and making them when missing.
func (b *Bridge) category(guildID string) (*discordgo.Channel, error) {
	b.categoryMu.Lock()
	defer b.categoryMu.Unlock()
	chans, err := b.dg.GuildChannels(guildID)
	if err != nil {
		return nil, err
	}
	children := map[string]int{}
	byID := map[string]*discordgo.Channel{}
	byName := map[string]*discordgo.Channel{}
	for _, c := range chans {
		if c.ParentID != "" {
			children[c.ParentID]++
		}
		if c.Type == discordgo.ChannelTypeGuildCategory {
			byID[c.ID] = c
			byName[strings.ToLower(c.Name)] = c
		}
	}
	if id, err := b.store.Category(b.ctx, guildID); err != nil {
		return nil, err
	} else if c := byID[id]; c != nil && children[id] < maxInCategory {
		return c, nil
	}
	for n := 1; n <= 20; n++ {
		name := b.cfg.Category
		if n > 1 {
			name = fmt.Sprintf("%s %d", b.cfg.Category, n)
		}
		c := byName[strings.ToLower(name)]
		if c != nil && children[c.ID] >= maxInCategory {
			continue
		}
		if c == nil {
			if c, err = b.dg.GuildChannelCreateComplex(guildID, discordgo.GuildChannelCreateData{Name: name, Type: discordgo.ChannelTypeGuildCategory}); err != nil {
				return nil, err
			}
		}
		return c, b.store.SetCategory(b.ctx, guildID, c.ID)
	}
	return nil, errors.New("every MSN category of the server is full")
}

// addWebhook remembers one of the bridge's webhooks, to ignore its
// messages.
func (b *Bridge) addWebhook(id string) {
	b.mu.Lock()
	b.webhooks[id] = true
	b.mu.Unlock()
}

// record remembers a message the bridge carried: an excerpt for the notes
// about it, and the digest of its text, to tell an edit from an update
// that changed nothing.
func (b *Bridge) record(discordID, channelID, direction, excerpt, text string) {
	rec := MessageRecord{DiscordID: discordID, ChannelID: channelID, Direction: direction, Excerpt: truncate(excerpt, 200), Digest: Digest(text)}
	if err := b.store.PutMessage(b.ctx, rec); err != nil {
		b.log.Error().Err(err).Msg("database")
	}
}

// ---- permissions ----

// botPermissions returns what the bot may do in channel c (nil: in the
// guild), computed as Discord does: its roles, then c's overwrites. A
// category's overwrites count for what it grants in a channel made in it.
func (b *Bridge) botPermissions(guildID string, c *discordgo.Channel) (int64, error) {
	roles, err := b.dg.GuildRoles(guildID)
	if err != nil {
		return 0, err
	}
	me, err := b.dg.GuildMember(guildID, b.bot())
	if err != nil {
		return 0, err
	}
	return permissions(guildID, roles, me, c), nil
}

// permissions computes a member's permissions in a channel (nil: the
// guild's base): @everyone's and their roles' (all of them for an
// administrator), then the channel's overwrites for @everyone, for their
// roles together, and for them.
func permissions(guildID string, roles []*discordgo.Role, m *discordgo.Member, c *discordgo.Channel) int64 {
	var p int64
	for _, r := range roles {
		if r.ID == guildID || memberHas(m, r.ID) {
			p |= r.Permissions
		}
	}
	if p&discordgo.PermissionAdministrator != 0 {
		return discordgo.PermissionAll
	}
	if c == nil {
		return p
	}
	for _, o := range c.PermissionOverwrites {
		if o.Type == discordgo.PermissionOverwriteTypeRole && o.ID == guildID {
			p = p&^o.Deny | o.Allow
		}
	}
	var allow, deny int64
	for _, o := range c.PermissionOverwrites {
		if o.Type == discordgo.PermissionOverwriteTypeRole && o.ID != guildID && memberHas(m, o.ID) {
			allow |= o.Allow
			deny |= o.Deny
		}
	}
	p = p&^deny | allow
	for _, o := range c.PermissionOverwrites {
		if o.Type == discordgo.PermissionOverwriteTypeMember && m.User != nil && o.ID == m.User.ID {
			p = p&^o.Deny | o.Allow
		}
	}
	return p
}

func memberHas(m *discordgo.Member, role string) bool {
	for _, r := range m.Roles {
		if r == role {
			return true
		}
	}
	return false
}
