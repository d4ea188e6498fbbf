package discordtest

import (
	"encoding/json"
	"time"
)

// The JSON shapes below follow Discord's API documentation (API v9/v10):
// snowflakes are strings, permissions are decimal strings, timestamps are
// ISO 8601, and arrays are present (empty rather than null) where Discord
// sends them.

// Channel types.
const (
	ChannelText          = 0
	ChannelDM            = 1
	ChannelCategory      = 4
	ChannelPublicThread  = 11
	ChannelPrivateThread = 12
)

// Permission bits the emulator knows.
const (
	PermCreateInvite        = 1 << 0
	PermAdministrator       = 1 << 3
	PermManageChannels      = 1 << 4
	PermAddReactions        = 1 << 6
	PermViewChannel         = 1 << 10
	PermSendMessages        = 1 << 11
	PermManageMessages      = 1 << 13
	PermEmbedLinks          = 1 << 14
	PermAttachFiles         = 1 << 15
	PermReadMessageHistory  = 1 << 16
	PermManageRoles         = 1 << 28
	PermManageWebhooks      = 1 << 29
	PermManageThreads       = 1 << 34
	PermCreatePublicThread  = 1 << 35
	PermCreatePrivateThread = 1 << 36
	PermSendInThreads       = 1 << 38

	// PermBridge is what the bridge's invite link grants (the README's
	// permission integer 326954503184), the bot's permissions in a new
	// guild: nothing more, so that a bridge that needs more fails here as
	// it would on Discord.
	PermBridge = PermManageChannels | PermViewChannel | PermSendMessages | PermEmbedLinks | PermAttachFiles |
		PermReadMessageHistory | PermManageWebhooks | PermManageThreads | PermCreatePublicThread | PermSendInThreads

	// PermAll is every permission the emulator knows, Administrator aside.
	PermAll = PermBridge | PermCreateInvite | PermAddReactions | PermManageMessages | PermManageRoles | PermCreatePrivateThread
)

// PermEveryone is what @everyone may do in a new guild: see, write and
// read the history — a server that keeps reactions and the like to roles.
const PermEveryone = PermViewChannel | PermSendMessages | PermReadMessageHistory | PermSendInThreads

// Gateway intents.
const (
	IntentGuilds              = 1 << 0
	IntentGuildMembers        = 1 << 1 // privileged
	IntentGuildMessages       = 1 << 9
	IntentGuildReactions      = 1 << 10
	IntentGuildMessageTyping  = 1 << 11
	IntentDirectMessages      = 1 << 12
	IntentMessageContent      = 1 << 15
	intentDirectMessageTyping = 1 << 14
)

// User is a Discord user.
type User struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	GlobalName    *string `json:"global_name"`
	Discriminator string  `json:"discriminator"`
	Avatar        *string `json:"avatar"`
	Bot           bool    `json:"bot,omitempty"`
	PublicFlags   int     `json:"public_flags"`
}

// DisplayName is the name Discord shows for the user.
func (u User) DisplayName() string {
	if u.GlobalName != nil && *u.GlobalName != "" {
		return *u.GlobalName
	}
	return u.Username
}

// Member is a user's membership of a guild.
type Member struct {
	User        *User     `json:"user,omitempty"`
	Nick        *string   `json:"nick"`
	Roles       []string  `json:"roles"`
	JoinedAt    time.Time `json:"joined_at"`
	Deaf        bool      `json:"deaf"`
	Mute        bool      `json:"mute"`
	Flags       int       `json:"flags"`
	Pending     bool      `json:"pending"`
	Permissions string    `json:"permissions,omitempty"`
}

// Role is a guild role.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Color       int    `json:"color"`
	Hoist       bool   `json:"hoist"`
	Position    int    `json:"position"`
	Permissions string `json:"permissions"`
	Managed     bool   `json:"managed"`
	Mentionable bool   `json:"mentionable"`
}

// Overwrite is a permission overwrite of a channel.
type Overwrite struct {
	ID    string `json:"id"`
	Type  int    `json:"type"` // 0 role, 1 member
	Allow string `json:"allow"`
	Deny  string `json:"deny"`
}

// ThreadMetadata is the thread part of a thread channel.
type ThreadMetadata struct {
	Archived            bool      `json:"archived"`
	AutoArchiveDuration int       `json:"auto_archive_duration"`
	ArchiveTimestamp    time.Time `json:"archive_timestamp"`
	Locked              bool      `json:"locked"`
	Invitable           bool      `json:"invitable"`
}

// Channel is a guild channel, category or thread.
type Channel struct {
	ID                   string          `json:"id"`
	Type                 int             `json:"type"`
	GuildID              string          `json:"guild_id,omitempty"`
	Name                 string          `json:"name"`
	Topic                *string         `json:"topic,omitempty"`
	Position             int             `json:"position"`
	ParentID             *string         `json:"parent_id"`
	PermissionOverwrites []Overwrite     `json:"permission_overwrites,omitempty"`
	LastMessageID        *string         `json:"last_message_id"`
	NSFW                 bool            `json:"nsfw"`
	RateLimitPerUser     int             `json:"rate_limit_per_user"`
	Flags                int             `json:"flags"`
	OwnerID              string          `json:"owner_id,omitempty"`
	ThreadMetadata       *ThreadMetadata `json:"thread_metadata,omitempty"`
	MessageCount         int             `json:"message_count,omitempty"`
	MemberCount          int             `json:"member_count,omitempty"`
}

// IsThread reports whether the channel is a thread.
func (c *Channel) IsThread() bool {
	return c.Type == ChannelPublicThread || c.Type == ChannelPrivateThread || c.Type == 10
}

// Attachment is a file attached to a message.
type Attachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
	ProxyURL    string `json:"proxy_url"`
	ContentType string `json:"content_type,omitempty"`
}

// MessageReference points at the message a message replies to.
type MessageReference struct {
	MessageID string `json:"message_id,omitempty"`
	ChannelID string `json:"channel_id,omitempty"`
	GuildID   string `json:"guild_id,omitempty"`
}

// Message is a message in a channel or thread.
type Message struct {
	ID               string            `json:"id"`
	Type             int               `json:"type"`
	ChannelID        string            `json:"channel_id"`
	GuildID          string            `json:"guild_id,omitempty"`
	Author           User              `json:"author"`
	Member           *Member           `json:"member,omitempty"`
	Content          string            `json:"content"`
	Timestamp        time.Time         `json:"timestamp"`
	EditedTimestamp  *time.Time        `json:"edited_timestamp"`
	TTS              bool              `json:"tts"`
	MentionEveryone  bool              `json:"mention_everyone"`
	Mentions         []User            `json:"mentions"`
	MentionRoles     []string          `json:"mention_roles"`
	Attachments      []Attachment      `json:"attachments"`
	Embeds           []json.RawMessage `json:"embeds"`
	Components       []json.RawMessage `json:"components"`
	Pinned           bool              `json:"pinned"`
	WebhookID        string            `json:"webhook_id,omitempty"`
	ApplicationID    string            `json:"application_id,omitempty"`
	Flags            int               `json:"flags"`
	MessageReference *MessageReference `json:"message_reference,omitempty"`
	// ReferencedMessage is the message a reply answers, in full.
	ReferencedMessage *Message   `json:"referenced_message,omitempty"`
	Reactions         []Reaction `json:"reactions,omitempty"`
	Nonce             any        `json:"nonce,omitempty"`
}

// Message types the emulator makes besides 0 (default).
const (
	MessageRecipientAdd  = 1  // "X added Y to the thread"
	MessagePinned        = 6  // "X pinned a message"
	MessageThreadCreated = 18 // "X started a thread"
	MessageReply         = 19
	MessageCommand       = 20 // the answer to a slash command
)

// Emoji is a reaction's emoji: a Unicode one (Name alone) or a guild's
// custom one (ID and Name).
type Emoji struct {
	ID   *string `json:"id"`
	Name string  `json:"name"`
}

// Reaction counts one emoji's reactions on a message.
type Reaction struct {
	Count int   `json:"count"`
	Me    bool  `json:"me"`
	Emoji Emoji `json:"emoji"`
}

// Message flags.
const FlagEphemeral = 1 << 6

// Webhook is an incoming webhook.
type Webhook struct {
	ID            string  `json:"id"`
	Type          int     `json:"type"`
	GuildID       string  `json:"guild_id"`
	ChannelID     string  `json:"channel_id"`
	User          *User   `json:"user,omitempty"`
	Name          string  `json:"name"`
	Avatar        *string `json:"avatar"`
	Token         string  `json:"token,omitempty"`
	ApplicationID *string `json:"application_id"`
}

// Guild is a server.
type Guild struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Icon        *string   `json:"icon"`
	OwnerID     string    `json:"owner_id"`
	Roles       []Role    `json:"roles"`
	Emojis      []any     `json:"emojis"`
	Features    []string  `json:"features"`
	MemberCount int       `json:"member_count,omitempty"`
	Members     []Member  `json:"members,omitempty"`
	Channels    []Channel `json:"channels,omitempty"`
	Threads     []Channel `json:"threads,omitempty"`
	JoinedAt    time.Time `json:"joined_at,omitzero"`
	Unavailable bool      `json:"unavailable,omitempty"`
}

// CommandOption is an option of an application command, as registered.
type CommandOption struct {
	Type        int             `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Required    bool            `json:"required,omitempty"`
	Choices     []CommandChoice `json:"choices,omitempty"`
	Options     []CommandOption `json:"options,omitempty"`
}

// CommandChoice is a fixed choice of a string or integer option.
type CommandChoice struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Command is a registered application (slash) command.
type Command struct {
	ID                       string          `json:"id"`
	ApplicationID            string          `json:"application_id"`
	GuildID                  string          `json:"guild_id,omitempty"`
	Version                  string          `json:"version"`
	Type                     int             `json:"type"`
	Name                     string          `json:"name"`
	Description              string          `json:"description"`
	Options                  []CommandOption `json:"options"`
	DefaultMemberPermissions *string         `json:"default_member_permissions"`
	DMPermission             *bool           `json:"dm_permission,omitempty"`
}

// Option types of application commands.
const (
	OptionSubCommand = 1
	OptionGroup      = 2
	OptionString     = 3
	OptionInteger    = 4
	OptionBoolean    = 5
	OptionUser       = 6
	OptionChannel    = 7
)

// interactionOption is an option in an interaction's data.
type interactionOption struct {
	Name    string              `json:"name"`
	Type    int                 `json:"type"`
	Value   any                 `json:"value,omitempty"`
	Options []interactionOption `json:"options,omitempty"`
}

// Interaction types.
const (
	InteractionPing        = 1
	InteractionCommand     = 2
	InteractionComponent   = 3
	InteractionModalSubmit = 5
)

// interactionPayload is the INTERACTION_CREATE payload.
type interactionPayload struct {
	ID             string  `json:"id"`
	ApplicationID  string  `json:"application_id"`
	Type           int     `json:"type"`
	Data           any     `json:"data"`
	GuildID        string  `json:"guild_id,omitempty"`
	ChannelID      string  `json:"channel_id"`
	Channel        any     `json:"channel,omitempty"`
	Member         *Member `json:"member,omitempty"`
	User           *User   `json:"user,omitempty"`
	Token          string  `json:"token"`
	Version        int     `json:"version"`
	AppPermissions string  `json:"app_permissions"`
	Locale         string  `json:"locale"`
	GuildLocale    string  `json:"guild_locale,omitempty"`
	Context        int     `json:"context"`
}

// apiError is Discord's error body.
type apiError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
	Errors  any    `json:"errors,omitempty"`
}

// Discord's JSON error codes the emulator uses.
const (
	CodeGeneral             = 0
	CodeUnknownChannel      = 10003
	CodeUnknownGuild        = 10004
	CodeUnknownInteraction  = 10062
	CodeUnknownMember       = 10007
	CodeUnknownMessage      = 10008
	CodeUnknownWebhook      = 10015
	CodeUnknownCommand      = 10063
	CodeUnauthorized        = 40001
	CodeAlreadyAcknowledged = 40060
	CodeMissingAccess       = 50001
	CodeCannotEditOthers    = 50005
	CodeEmptyMessage        = 50006
	CodeMissingPermissions  = 50013
	CodeInvalidForm         = 50035
	CodeThreadArchived      = 50083
)
