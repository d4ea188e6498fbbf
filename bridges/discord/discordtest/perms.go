package discordtest

import "strconv"

// Permissions, computed as Discord does: a member's base permissions are
// those of @everyone and of their roles (everything for Administrator and
// the guild's owner); in a channel, its overwrites apply on top — the one
// for @everyone, then those of the member's roles together, then the
// member's own. A thread has its parent's permissions. A category's
// overwrites do not reach the channels in it: each channel has its own.

func parsePerm(s string) int64 {
	p, _ := strconv.ParseInt(s, 10, 64)
	return p
}

// permsIn returns what a member may do in channel c, or in the guild when
// c is nil. Call with s.mu held.
func (s *Server) permsIn(g *guildState, m *Member, c *Channel) int64 {
	roles := map[string]int64{}
	for _, r := range g.guild.Roles {
		roles[r.ID] = parsePerm(r.Permissions)
	}
	p := roles[g.guild.ID]
	for _, id := range m.Roles {
		p |= roles[id]
	}
	if p&PermAdministrator != 0 || (m.User != nil && m.User.ID == g.guild.OwnerID) {
		return PermAll | PermAdministrator
	}
	if c != nil && c.IsThread() && c.ParentID != nil {
		c = s.channels[*c.ParentID]
	}
	if c == nil {
		return p
	}
	for _, o := range c.PermissionOverwrites {
		if o.Type == 0 && o.ID == g.guild.ID {
			p = p&^parsePerm(o.Deny) | parsePerm(o.Allow)
		}
	}
	var allow, deny int64
	for _, o := range c.PermissionOverwrites {
		if o.Type == 0 && o.ID != g.guild.ID && hasRole(m, o.ID) {
			allow |= parsePerm(o.Allow)
			deny |= parsePerm(o.Deny)
		}
	}
	p = p&^deny | allow
	for _, o := range c.PermissionOverwrites {
		if o.Type == 1 && m.User != nil && o.ID == m.User.ID {
			p = p&^parsePerm(o.Deny) | parsePerm(o.Allow)
		}
	}
	return p
}

func hasRole(m *Member, id string) bool {
	for _, r := range m.Roles {
		if r == id {
			return true
		}
	}
	return false
}

// botPermsIn returns the bot's permissions in channel c (nil: the guild's
// base). Call with s.mu held.
func (s *Server) botPermsIn(guildID string, c *Channel) int64 {
	g := s.guilds[guildID]
	if g == nil || g.members[s.Bot.ID] == nil {
		return 0
	}
	return s.permsIn(g, g.members[s.Bot.ID], c)
}

// needIn refuses a request unless the bot may see channel c and do perm
// there (Missing Access, Missing Permissions). Call with s.mu held.
func (s *Server) needIn(c *Channel, perm int64) *restError {
	have := s.botPermsIn(c.GuildID, c)
	if have&PermViewChannel == 0 {
		return errForbidden(CodeMissingAccess, "Missing Access")
	}
	if have&perm != perm {
		return errForbidden(CodeMissingPermissions, "Missing Permissions")
	}
	return nil
}

// needGuild refuses a request unless the bot has perm in the guild.
func (s *Server) needGuild(guildID string, perm int64) *restError {
	if s.botPermsIn(guildID, nil)&perm != perm {
		return errForbidden(CodeMissingPermissions, "Missing Permissions")
	}
	return nil
}

// checkOverwrites applies the rule Discord has enforced since 2021: a bot
// may set permission overwrites that allow or deny only what it has itself
// where the channel is made (the category, or the guild), unless it is an
// administrator. Call with s.mu held.
func (s *Server) checkOverwrites(guildID string, parent *Channel, ows []Overwrite) *restError {
	have := s.botPermsIn(guildID, parent)
	if have&PermAdministrator != 0 {
		return nil
	}
	for _, o := range ows {
		if (parsePerm(o.Allow)|parsePerm(o.Deny))&^have != 0 {
			return errForbidden(CodeMissingPermissions, "Missing Permissions")
		}
	}
	return nil
}
