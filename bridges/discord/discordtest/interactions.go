package discordtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// InteractionTimeout is how long Discord waits for the first answer to an
// interaction (3 seconds); a later callback gets "Unknown interaction".
const InteractionTimeout = 3 * time.Second

// Interaction callback types.
const (
	CallbackPong            = 1
	CallbackMessage         = 4
	CallbackDeferredMessage = 5
	CallbackDeferredUpdate  = 6
	CallbackUpdateMessage   = 7
	CallbackModal           = 9
)

// Interaction is an interaction a test started (a slash command, a modal
// submission) and what the bot answered.
type Interaction struct {
	ID, Token          string
	Type               int
	GuildID, ChannelID string
	UserID             string

	created      time.Time
	sent         time.Time // when INTERACTION_CREATE reached the bot's connection
	acked        bool
	callbackType int
	deferred     bool
	edited       bool
	original     *Message
	modal        *Modal
	followups    []*Message
}

// Modal is a modal the bot opened in answer to an interaction.
type Modal struct {
	CustomID string
	Title    string
	Fields   []ModalField
}

// ModalField is a text input of a modal.
type ModalField struct {
	CustomID    string
	Label       string
	Style       int // 1 short, 2 paragraph
	Required    bool
	Placeholder string
	Value       string
	MinLength   int
	MaxLength   int
}

// Reply is the bot's answer to an interaction, as the user sees it.
type Reply struct {
	Type      int    // the callback type: CallbackMessage, CallbackDeferredMessage, CallbackModal…
	Content   string // the response message (after the edit, when deferred)
	Ephemeral bool   // only the user who ran the command sees it
	Modal     *Modal // set for CallbackModal
	Followups []string
}

// ---- commands ----

var commandNameRE = regexp.MustCompile(`^[-_\p{Ll}\p{N}\p{Lo}]{1,32}$`)

// checkOptions applies Discord's rules for command options.
func checkOptions(opts []CommandOption, depth int) error {
	seen := map[string]bool{}
	optional := false
	for _, o := range opts {
		if !commandNameRE.MatchString(o.Name) {
			return fmt.Errorf("option name %q is invalid", o.Name)
		}
		if seen[o.Name] {
			return fmt.Errorf("option name %q is repeated", o.Name)
		}
		seen[o.Name] = true
		if n := utf8.RuneCountInString(o.Description); n < 1 || n > 100 {
			return fmt.Errorf("option %q: description must be 1-100 characters", o.Name)
		}
		switch o.Type {
		case OptionSubCommand, OptionGroup:
			if depth >= 2 || (o.Type == OptionGroup && depth >= 1) {
				return fmt.Errorf("option %q: subcommands nest too deep", o.Name)
			}
			if err := checkOptions(o.Options, depth+1); err != nil {
				return err
			}
		case OptionString, OptionInteger, OptionBoolean, OptionUser, OptionChannel, 8, 9, 10, 11:
			if o.Required && optional {
				return fmt.Errorf("option %q: required options must come before optional ones", o.Name)
			}
			if !o.Required {
				optional = true
			}
		default:
			return fmt.Errorf("option %q: unknown type %d", o.Name, o.Type)
		}
	}
	if len(opts) > 25 {
		return errors.New("at most 25 options")
	}
	return nil
}

func (s *Server) checkApp(r *http.Request) *restError {
	if r.PathValue("app_id") != s.AppID {
		return errForbidden(CodeMissingAccess, "Missing Access")
	}
	if gid := r.PathValue("guild_id"); gid != "" && s.guilds[gid] == nil {
		return errNotFound(CodeUnknownGuild, "Guild")
	}
	return nil
}

func (s *Server) commandsOf(guildID string) []Command {
	out := []Command{}
	for _, c := range s.commands {
		if c.GuildID == guildID {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b Command) int { return cmpID(a.ID, b.ID) })
	return out
}

func (s *Server) getCommands(r *http.Request) (int, any, *restError) {
	if e := s.checkApp(r); e != nil {
		return 0, nil, e
	}
	return 200, s.commandsOf(r.PathValue("guild_id")), nil
}

// register validates and stores a command, keeping the ID of an existing
// command of the same name. Call with s.mu held.
func (s *Server) register(guildID string, c Command) (*Command, *restError) {
	if c.Type == 0 {
		c.Type = 1
	}
	if !commandNameRE.MatchString(c.Name) {
		return nil, errBadRequest(CodeInvalidForm, fmt.Sprintf("Invalid Form Body: name %q is invalid", c.Name))
	}
	if n := utf8.RuneCountInString(c.Description); c.Type == 1 && (n < 1 || n > 100) {
		return nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: description must be 1-100 characters")
	}
	if err := checkOptions(c.Options, 0); err != nil {
		return nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: "+err.Error())
	}
	c.ApplicationID, c.GuildID = s.AppID, guildID
	c.ID = ""
	for _, old := range s.commands {
		if old.GuildID == guildID && old.Name == c.Name && old.Type == c.Type {
			c.ID = old.ID
		}
	}
	if c.ID == "" {
		c.ID = s.nextID()
	}
	c.Version = s.nextID()
	if c.Options == nil {
		c.Options = []CommandOption{}
	}
	s.commands[c.ID] = &c
	return &c, nil
}

func (s *Server) putCommands(r *http.Request) (int, any, *restError) {
	if e := s.checkApp(r); e != nil {
		return 0, nil, e
	}
	var in []Command
	if _, _, e := readBody(r, &in); e != nil {
		return 0, nil, e
	}
	gid := r.PathValue("guild_id")
	names := map[string]bool{}
	for _, c := range in {
		if names[c.Name] {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: duplicate command name "+c.Name)
		}
		names[c.Name] = true
	}
	var out []Command
	keep := map[string]bool{}
	for _, c := range in {
		reg, e := s.register(gid, c)
		if e != nil {
			return 0, nil, e
		}
		keep[reg.ID] = true
		out = append(out, *reg)
	}
	for id, c := range s.commands {
		if c.GuildID == gid && !keep[id] {
			delete(s.commands, id)
		}
	}
	if out == nil {
		out = []Command{}
	}
	return 200, out, nil
}

func (s *Server) createCommand(r *http.Request) (int, any, *restError) {
	if e := s.checkApp(r); e != nil {
		return 0, nil, e
	}
	var c Command
	if _, _, e := readBody(r, &c); e != nil {
		return 0, nil, e
	}
	reg, e := s.register(r.PathValue("guild_id"), c)
	if e != nil {
		return 0, nil, e
	}
	return 201, reg, nil
}

func (s *Server) deleteCommand(r *http.Request) (int, any, *restError) {
	if e := s.checkApp(r); e != nil {
		return 0, nil, e
	}
	c := s.commands[r.PathValue("command_id")]
	if c == nil || c.GuildID != r.PathValue("guild_id") {
		return 0, nil, errNotFound(CodeUnknownCommand, "application command")
	}
	delete(s.commands, c.ID)
	return http.StatusNoContent, nil, nil
}

// Commands returns the registered commands: global ones for guildID "".
func (s *Server) Commands(guildID string) []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commandsOf(guildID)
}

// ---- running commands, as a user ----

// Run has a user run a slash command in a channel, as Discord's client
// would: command is the command's name followed by its subcommand group
// and subcommand, if any ("msn login"); options are the values of the
// leaf's options, by name (string, int, bool; a user ID for user
// options). The command must be registered, for the guild or globally,
// the options must match its definition and the user must have the
// command's default member permissions.
func (s *Server) Run(guildID, channelID, userID, command string, options map[string]any) (*Interaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guilds[guildID]
	if g == nil {
		return nil, fmt.Errorf("discordtest: no guild %s", guildID)
	}
	member := g.members[userID]
	if member == nil {
		return nil, fmt.Errorf("discordtest: user %s is not a member of guild %s", userID, guildID)
	}
	c := s.channels[channelID]
	if c == nil || c.GuildID != guildID {
		return nil, fmt.Errorf("discordtest: no channel %s in guild %s", channelID, guildID)
	}
	words := strings.Fields(command)
	if len(words) == 0 {
		return nil, errors.New("discordtest: empty command")
	}
	var cmd *Command
	for _, gid := range []string{guildID, ""} {
		for _, k := range s.commands {
			if k.GuildID == gid && k.Name == words[0] && k.Type == 1 {
				cmd = k
			}
		}
		if cmd != nil {
			break
		}
	}
	if cmd == nil {
		return nil, fmt.Errorf("discordtest: no command /%s is registered", words[0])
	}
	perms := memberPerms(member)
	if cmd.DefaultMemberPermissions != nil {
		need, _ := strconv.ParseInt(*cmd.DefaultMemberPermissions, 10, 64)
		if perms&PermAdministrator == 0 && perms&need != need {
			return nil, fmt.Errorf("discordtest: user %s lacks the permissions /%s needs", userID, cmd.Name)
		}
	}
	defs := cmd.Options
	var path []interactionOption // subcommand group / subcommand chain
	for _, w := range words[1:] {
		var found *CommandOption
		for i := range defs {
			if defs[i].Name == w && (defs[i].Type == OptionSubCommand || defs[i].Type == OptionGroup) {
				found = &defs[i]
			}
		}
		if found == nil {
			return nil, fmt.Errorf("discordtest: /%s has no subcommand %q", cmd.Name, w)
		}
		path = append(path, interactionOption{Name: found.Name, Type: found.Type})
		defs = found.Options
	}
	for _, d := range defs {
		if d.Type == OptionSubCommand || d.Type == OptionGroup {
			return nil, fmt.Errorf("discordtest: /%s needs a subcommand", command)
		}
	}
	leaf, err := buildOptions(defs, options)
	if err != nil {
		return nil, fmt.Errorf("discordtest: /%s: %w", command, err)
	}
	opts := leaf
	for i := len(path) - 1; i >= 0; i-- {
		p := path[i]
		p.Options = opts
		opts = []interactionOption{p}
	}
	data := map[string]any{"id": cmd.ID, "name": cmd.Name, "type": 1, "options": opts}
	if guildID != "" && cmd.GuildID != "" {
		data["guild_id"] = guildID
	}
	return s.newInteraction(InteractionCommand, g, c, member, data), nil
}

// buildOptions checks option values against their definitions.
func buildOptions(defs []CommandOption, values map[string]any) ([]interactionOption, error) {
	out := []interactionOption{}
	for name := range values {
		if !slices.ContainsFunc(defs, func(d CommandOption) bool { return d.Name == name }) {
			return nil, fmt.Errorf("no option %q", name)
		}
	}
	for _, d := range defs {
		v, ok := values[d.Name]
		if !ok {
			if d.Required {
				return nil, fmt.Errorf("option %q is required", d.Name)
			}
			continue
		}
		switch d.Type {
		case OptionString, OptionUser, OptionChannel:
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("option %q takes a string", d.Name)
			}
		case OptionInteger:
			switch n := v.(type) {
			case int:
				v = float64(n)
			case int64:
				v = float64(n)
			default:
				return nil, fmt.Errorf("option %q takes an integer", d.Name)
			}
		case OptionBoolean:
			if _, ok := v.(bool); !ok {
				return nil, fmt.Errorf("option %q takes a boolean", d.Name)
			}
		}
		if len(d.Choices) > 0 && !slices.ContainsFunc(d.Choices, func(c CommandChoice) bool { return fmt.Sprint(c.Value) == fmt.Sprint(v) }) {
			return nil, fmt.Errorf("option %q: %v is not one of its choices", d.Name, v)
		}
		out = append(out, interactionOption{Name: d.Name, Type: d.Type, Value: v})
	}
	return out, nil
}

func memberPerms(m *Member) int64 {
	p, _ := strconv.ParseInt(m.Permissions, 10, 64)
	return p
}

// newInteraction makes an interaction and dispatches INTERACTION_CREATE.
// Call with s.mu held.
func (s *Server) newInteraction(typ int, g *guildState, c *Channel, member *Member, data any) *Interaction {
	ix := &Interaction{
		ID: s.nextID(), Token: "aW50ZXJhY3Rpb246" + randomToken(), Type: typ,
		GuildID: g.guild.ID, ChannelID: c.ID, UserID: member.User.ID, created: time.Now(),
	}
	s.interactions[ix.ID] = ix
	perm := s.botPermsIn(g.guild.ID, c)
	payload := interactionPayload{
		ID: ix.ID, ApplicationID: s.AppID, Type: typ, Data: data, GuildID: g.guild.ID, ChannelID: c.ID,
		Channel: map[string]any{"id": c.ID, "type": c.Type, "guild_id": c.GuildID, "name": c.Name, "parent_id": c.ParentID},
		Member:  member, Token: ix.Token, Version: 1, AppPermissions: strconv.FormatInt(perm, 10),
		Locale: "en-US", GuildLocale: "en-US", Context: 0,
	}
	for _, sess := range s.sessions {
		if sess.dead || !sess.ready {
			continue
		}
		s.dispatchWritten(sess, "INTERACTION_CREATE", payload, func(at time.Time) {
			if ix.sent.IsZero() {
				ix.sent = at
			}
		})
	}
	s.notify()
	return ix
}

// SubmitModal has the user fill in and submit the modal the bot opened in
// answer to ix; values are the text inputs' values by custom ID.
func (s *Server) SubmitModal(ix *Interaction, values map[string]string) (*Interaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix.modal == nil {
		return nil, errors.New("discordtest: the bot opened no modal for this interaction")
	}
	for k := range values {
		if !slices.ContainsFunc(ix.modal.Fields, func(f ModalField) bool { return f.CustomID == k }) {
			return nil, fmt.Errorf("discordtest: the modal has no field %q", k)
		}
	}
	rows := []any{}
	for _, f := range ix.modal.Fields {
		v := values[f.CustomID]
		if f.Required && v == "" {
			return nil, fmt.Errorf("discordtest: field %q is required", f.CustomID)
		}
		if n := utf8.RuneCountInString(v); (f.MaxLength > 0 && n > f.MaxLength) || (v != "" && n < f.MinLength) {
			return nil, fmt.Errorf("discordtest: field %q must be %d-%d characters", f.CustomID, f.MinLength, f.MaxLength)
		}
		rows = append(rows, map[string]any{"type": 1, "components": []any{map[string]any{"type": 4, "custom_id": f.CustomID, "value": v}}})
	}
	g := s.guilds[ix.GuildID]
	c := s.channels[ix.ChannelID]
	if g == nil || c == nil || g.members[ix.UserID] == nil {
		return nil, errors.New("discordtest: the modal's guild, channel or user is gone")
	}
	return s.newInteraction(InteractionModalSubmit, g, c, g.members[ix.UserID], map[string]any{"custom_id": ix.modal.CustomID, "components": rows}), nil
}

// Reply waits until the bot has answered ix — for a deferred answer, until
// it edited the response — and returns the answer.
func (s *Server) Reply(ctx context.Context, ix *Interaction) (Reply, error) {
	err := s.Wait(ctx, func() bool {
		return ix.acked && (!ix.deferred || ix.edited || len(ix.followups) > 0)
	})
	if err != nil {
		return Reply{}, fmt.Errorf("discordtest: no answer to the interaction: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Reply{Type: ix.callbackType, Modal: ix.modal}
	if ix.original != nil {
		r.Content = ix.original.Content
		r.Ephemeral = ix.original.Flags&FlagEphemeral != 0
	}
	for _, f := range ix.followups {
		r.Followups = append(r.Followups, f.Content)
	}
	return r, nil
}

// interactionByToken finds an interaction by its token. Call with s.mu
// held.
func (s *Server) interactionByToken(tok string) *Interaction {
	for _, ix := range s.interactions {
		if ix.Token == tok {
			return ix
		}
	}
	return nil
}

type callbackBody struct {
	Type int `json:"type"`
	Data *struct {
		messageBody
		CustomID   string `json:"custom_id"`
		Title      string `json:"title"`
		Components []struct {
			Type       int `json:"type"`
			Components []struct {
				Type        int    `json:"type"`
				CustomID    string `json:"custom_id"`
				Label       string `json:"label"`
				Style       int    `json:"style"`
				Required    *bool  `json:"required"`
				Placeholder string `json:"placeholder"`
				Value       string `json:"value"`
				MinLength   int    `json:"min_length"`
				MaxLength   int    `json:"max_length"`
			} `json:"components"`
		} `json:"components"`
	} `json:"data"`
}

func (s *Server) interactionCallback(r *http.Request) (int, any, *restError) {
	ix := s.interactions[r.PathValue("interaction_id")]
	// Discord's three seconds run from when it sent the interaction to the
	// bot: time the emulator took to get it on the wire does not count.
	// (A callback can beat the emulator's note that the frame was written.)
	if ix == nil || ix.Token != r.PathValue("token") || !ix.sent.IsZero() && time.Since(ix.sent) > s.ixTimeout {
		return 0, nil, errNotFound(CodeUnknownInteraction, "interaction")
	}
	if ix.acked {
		return 0, nil, errBadRequest(CodeAlreadyAcknowledged, "Interaction has already been acknowledged.")
	}
	var b callbackBody
	files, _, e := readBody(r, &b)
	if e != nil {
		return 0, nil, e
	}
	c := s.channels[ix.ChannelID]
	if c == nil {
		return 0, nil, errNotFound(CodeUnknownChannel, "Channel")
	}
	switch b.Type {
	case CallbackMessage:
		if b.Data == nil {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: data is required")
		}
		if e := checkContent(&b.Data.messageBody, files); e != nil {
			return 0, nil, e
		}
		ix.original = s.responseMessage(ix, c, deref(b.Data.Content), b.Data.Flags, files)
	case CallbackDeferredMessage:
		flags := 1 << 7 // LOADING
		if b.Data != nil {
			flags |= b.Data.Flags & FlagEphemeral
		}
		ix.deferred = true
		ix.original = s.responseMessage(ix, c, "", flags, nil)
	case CallbackModal:
		if ix.Type == InteractionModalSubmit {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: a modal cannot answer a modal submission")
		}
		if b.Data == nil || b.Data.CustomID == "" || b.Data.Title == "" || utf8.RuneCountInString(b.Data.Title) > 45 {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: a modal needs a custom_id and a title of 1-45 characters")
		}
		m := &Modal{CustomID: b.Data.CustomID, Title: b.Data.Title}
		for _, row := range b.Data.Components {
			if row.Type != 1 || len(row.Components) != 1 || row.Components[0].Type != 4 {
				return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: a modal row holds one text input")
			}
			t := row.Components[0]
			if t.CustomID == "" || t.Label == "" || utf8.RuneCountInString(t.Label) > 45 || (t.Style != 1 && t.Style != 2) {
				return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: a text input needs a custom_id, a label of 1-45 characters and style 1 or 2")
			}
			req := true // Discord's default
			if t.Required != nil {
				req = *t.Required
			}
			m.Fields = append(m.Fields, ModalField{CustomID: t.CustomID, Label: t.Label, Style: t.Style, Required: req,
				Placeholder: t.Placeholder, Value: t.Value, MinLength: t.MinLength, MaxLength: t.MaxLength})
		}
		if len(m.Fields) < 1 || len(m.Fields) > 5 {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: a modal has 1-5 text inputs")
		}
		ix.modal = m
	case CallbackDeferredUpdate, CallbackUpdateMessage:
		if ix.Type != InteractionComponent && ix.Type != InteractionModalSubmit {
			return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: this callback type answers components only")
		}
	default:
		return 0, nil, errBadRequest(CodeInvalidForm, fmt.Sprintf("Invalid Form Body: callback type %d is not valid here", b.Type))
	}
	ix.acked = true
	ix.callbackType = b.Type
	return http.StatusNoContent, nil, nil
}

// responseMessage makes the message that answers an interaction; a
// message that is not ephemeral appears in the channel. Call with s.mu
// held.
func (s *Server) responseMessage(ix *Interaction, c *Channel, content string, flags int, files []upload) *Message {
	var member *Member
	if g := s.guilds[c.GuildID]; g != nil {
		member = g.members[s.Bot.ID]
	}
	if flags&FlagEphemeral != 0 {
		return &Message{ID: s.nextID(), Type: 20, ChannelID: c.ID, GuildID: c.GuildID, Author: s.Bot, Content: content,
			Timestamp: time.Now().UTC(), Flags: flags, ApplicationID: s.AppID, Mentions: []User{}, MentionRoles: []string{}, Attachments: []Attachment{}}
	}
	m := s.newMessage(c, s.Bot, member, content, files, flags)
	m.Type = 20
	m.ApplicationID = s.AppID
	return m
}

// interactionMessage finds the original response or a follow-up of the
// interaction whose token is in the request. Call with s.mu held.
func (s *Server) interactionMessage(r *http.Request) (*Interaction, *Message, *restError) {
	ix := s.interactionByToken(r.PathValue("token"))
	if ix == nil || time.Since(ix.created) > 15*time.Minute {
		return nil, nil, errNotFound(CodeUnknownWebhook, "Webhook")
	}
	id := r.PathValue("message_id")
	if id == "@original" {
		if ix.original == nil {
			return nil, nil, errNotFound(CodeUnknownMessage, "Message")
		}
		return ix, ix.original, nil
	}
	for _, f := range ix.followups {
		if f.ID == id {
			return ix, f, nil
		}
	}
	return nil, nil, errNotFound(CodeUnknownMessage, "Message")
}

func (s *Server) editInteractionMessage(r *http.Request) (int, any, *restError) {
	ix, m, e := s.interactionMessage(r)
	if e != nil {
		return 0, nil, e
	}
	var b messageBody
	if _, _, e := readBody(r, &b); e != nil {
		return 0, nil, e
	}
	if b.Content != nil && utf8.RuneCountInString(*b.Content) > 2000 {
		return 0, nil, errBadRequest(CodeInvalidForm, "Invalid Form Body: content: Must be 2000 or fewer in length.")
	}
	m.Flags &^= 1 << 7
	if m == ix.original {
		ix.edited = true
	}
	if _, inChannel := s.messages[m.ID]; inChannel {
		s.edit(m, b.Content)
	} else {
		if b.Content != nil {
			m.Content = *b.Content
		}
		m.EditedTimestamp = ptr(time.Now().UTC())
		s.notify()
	}
	return 200, m, nil
}

func (s *Server) deleteInteractionMessage(r *http.Request) (int, any, *restError) {
	ix, m, e := s.interactionMessage(r)
	if e != nil {
		return 0, nil, e
	}
	if _, inChannel := s.messages[m.ID]; inChannel {
		s.remove(m)
	}
	if m == ix.original {
		ix.original = nil
	}
	ix.followups = slices.DeleteFunc(ix.followups, func(f *Message) bool { return f == m })
	return http.StatusNoContent, nil, nil
}

// followup sends a follow-up message of an interaction. Call with s.mu
// held.
func (s *Server) followup(r *http.Request) (int, any, *restError) {
	ix := s.interactionByToken(r.PathValue("token"))
	if ix == nil || time.Since(ix.created) > 15*time.Minute || !ix.acked {
		return 0, nil, errNotFound(CodeUnknownWebhook, "Webhook")
	}
	var b messageBody
	files, _, e := readBody(r, &b)
	if e != nil {
		return 0, nil, e
	}
	if e := checkContent(&b, files); e != nil {
		return 0, nil, e
	}
	c := s.channels[ix.ChannelID]
	if c == nil {
		return 0, nil, errNotFound(CodeUnknownChannel, "Channel")
	}
	m := s.responseMessage(ix, c, deref(b.Content), b.Flags, files)
	ix.followups = append(ix.followups, m)
	s.notify()
	if !truthy(r.URL.Query().Get("wait")) && r.URL.Query().Get("wait") != "" {
		return http.StatusNoContent, nil, nil
	}
	return 200, m, nil
}
