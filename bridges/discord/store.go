package discord

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/lib/pq"           // PostgreSQL
	_ "github.com/mattn/go-sqlite3" // SQLite
)

// Store keeps what the bridge must remember across restarts: who signed in
// and how, the channels, threads and webhooks it made, which Discord
// messages it has bridged (so a restart replays nothing twice and misses
// nothing) and the rooms it links. It runs on SQLite (a file) or
// PostgreSQL; the SQL is the subset both speak.
type Store struct {
	db       *sql.DB
	postgres bool
}

// UserRecord is a Discord user's MSN sign-in and their place in Discord.
type UserRecord struct {
	UserID   string // Discord user
	GuildID  string // the guild their channel is in
	Name     string // their Discord display name, for logs and hosted accounts
	Kind     string // KindHosted or KindOwn
	Email    string
	Password string
	Server   string // MSN server (host:port) for own accounts; "" for the configured one
	SignedIn bool   // signed in now (so a restart signs them in again)

	ChannelID    string
	WebhookID    string
	WebhookToken string
}

// The kinds of sign-in.
const (
	KindHosted = "hosted" // an account on this service, made through the admin API
	KindOwn    = "own"    // handle and password for any MSN server
)

// ThreadRecord maps an MSN conversation of a user to a Discord thread.
type ThreadRecord struct {
	UserID   string
	Key      string // the contact's e-mail, or the sorted e-mails of a group
	ThreadID string
	Title    string
}

// RoomRecord is a Discord channel linked with an MSN room account.
type RoomRecord struct {
	ChannelID    string
	GuildID      string
	Email        string
	Password     string
	WebhookID    string
	WebhookToken string
	CreatedBy    string
}

// Message directions.
const (
	ToMSN     = "to_msn"     // a Discord message the bridge sent to MSN
	ToDiscord = "to_discord" // a message the bridge posted on Discord
)

// MessageRecord is a message the bridge carried.
type MessageRecord struct {
	DiscordID string
	ChannelID string
	Direction string
	Excerpt   string
	// Digest identifies the text carried (Digest), so that an update of
	// the message that leaves its text alone is not taken for an edit.
	Digest string
}

// Digest identifies a text without keeping it.
func Digest(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:12])
}

const schema = `
CREATE TABLE IF NOT EXISTS discord_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS discord_guilds (guild_id TEXT PRIMARY KEY, category_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS discord_users (
	user_id TEXT PRIMARY KEY, guild_id TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
	email TEXT NOT NULL, password TEXT NOT NULL, server TEXT NOT NULL, signed_in INTEGER NOT NULL,
	channel_id TEXT NOT NULL, webhook_id TEXT NOT NULL, webhook_token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS discord_threads (
	user_id TEXT NOT NULL, conv_key TEXT NOT NULL, thread_id TEXT NOT NULL, title TEXT NOT NULL,
	PRIMARY KEY (user_id, conv_key));
CREATE UNIQUE INDEX IF NOT EXISTS discord_threads_thread ON discord_threads (thread_id);
CREATE TABLE IF NOT EXISTS discord_thread_members (
	user_id TEXT NOT NULL, conv_key TEXT NOT NULL, email TEXT NOT NULL, PRIMARY KEY (user_id, conv_key, email));
CREATE TABLE IF NOT EXISTS discord_rooms (
	channel_id TEXT PRIMARY KEY, guild_id TEXT NOT NULL, email TEXT NOT NULL, password TEXT NOT NULL,
	webhook_id TEXT NOT NULL, webhook_token TEXT NOT NULL, created_by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS discord_messages (
	discord_id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, direction TEXT NOT NULL,
	excerpt TEXT NOT NULL, created BIGINT NOT NULL, digest TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS discord_messages_created ON discord_messages (created);
CREATE TABLE IF NOT EXISTS discord_checkpoints (channel_id TEXT PRIMARY KEY, last_id TEXT NOT NULL);
`

// schemaVersion is the version of the schema above, kept in discord_meta
// so that a later release knows what to migrate. migrations[v] takes a
// database from version v to v+1.
const schemaVersion = "2"

var migrations = map[string]string{
	"1": `ALTER TABLE discord_messages ADD COLUMN digest TEXT NOT NULL DEFAULT ''`,
}

// OpenStore opens (and creates) the database named by dsn: a PostgreSQL
// URL ("postgres://user:pw@host/db?sslmode=disable") or connection string
// ("host=/run/postgresql dbname=nudge"), or else the path of a SQLite file
// (a "sqlite:" prefix is allowed).
func OpenStore(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{}
	var err error
	if isPostgres(dsn) {
		s.postgres = true
		s.db, err = sql.Open("postgres", dsn)
	} else {
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errors.New("discord: no database: set discord.database")
		}
		if dir := filepath.Dir(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("discord: database: %w", err)
			}
		}
		// The file holds MSN passwords: only its owner may read it.
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err == nil {
			f.Close()
		}
		s.db, err = sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=10000&_synchronous=NORMAL")
		// One connection: writes are few, and SQLite has one writer anyway.
		s.db.SetMaxOpenConns(1)
	}
	if err != nil {
		return nil, fmt.Errorf("discord: database: %w", err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("discord: database %s: %w", redactDSN(dsn), err)
	}
	for _, stmt := range strings.Split(schema, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("discord: database schema: %w", err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("discord: database schema: %w", err)
	}
	return s, nil
}

// migrate brings a database made by an earlier release up to the current
// schema; a new one is current already.
func (s *Store) migrate(ctx context.Context) error {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM discord_meta WHERE key = 'schema'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = s.db.ExecContext(ctx, `INSERT INTO discord_meta (key, value) VALUES ('schema', $1)`, schemaVersion)
		return err
	}
	if err != nil {
		return err
	}
	for v != schemaVersion {
		stmt, ok := migrations[v]
		if !ok {
			return fmt.Errorf("the database has schema version %s, which this release does not know", v)
		}
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrating from version %s: %w", v, err)
		}
		n, _ := strconv.Atoi(v)
		v = strconv.Itoa(n + 1)
		if _, err := s.db.ExecContext(ctx, `UPDATE discord_meta SET value = $1 WHERE key = 'schema'`, v); err != nil {
			return err
		}
	}
	return nil
}

// DB is the database, for the tables of the shared bridge layer (the
// hosted accounts' owners).
func (s *Store) DB() *sql.DB { return s.db }

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") ||
		strings.Contains(dsn, "dbname=") || strings.HasPrefix(dsn, "host=")
}

// redactDSN hides a password in a database URL, for error messages.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.Index(dsn[i+3:], "@"); at >= 0 {
			cred := dsn[i+3 : i+3+at]
			if u, _, ok := strings.Cut(cred, ":"); ok {
				return dsn[:i+3] + u + ":***" + dsn[i+3+at:]
			}
		}
	}
	return dsn
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// ---- guilds ----

// Category returns the "MSN" category the bridge made in a guild.
func (s *Store) Category(ctx context.Context, guildID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT category_id FROM discord_guilds WHERE guild_id = $1`, guildID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// SetCategory remembers a guild's category.
func (s *Store) SetCategory(ctx context.Context, guildID, categoryID string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO discord_guilds (guild_id, category_id) VALUES ($1, $2)
		ON CONFLICT (guild_id) DO UPDATE SET category_id = excluded.category_id`, guildID, categoryID)
	return err
}

// ---- users ----

const userCols = `user_id, guild_id, name, kind, email, password, server, signed_in, channel_id, webhook_id, webhook_token`

func scanUser(row interface{ Scan(...any) error }) (UserRecord, error) {
	var u UserRecord
	var in int
	err := row.Scan(&u.UserID, &u.GuildID, &u.Name, &u.Kind, &u.Email, &u.Password, &u.Server, &in, &u.ChannelID, &u.WebhookID, &u.WebhookToken)
	u.SignedIn = in != 0
	return u, err
}

// User returns a user's record; ok is false when there is none.
func (s *Store) User(ctx context.Context, userID string) (u UserRecord, ok bool, err error) {
	u, err = scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM discord_users WHERE user_id = $1`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return UserRecord{}, false, nil
	}
	return u, err == nil, err
}

// Users returns every user's record.
func (s *Store) Users(ctx context.Context) ([]UserRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM discord_users ORDER BY user_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UserRecord
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// PutUser stores a user's record.
func (s *Store) PutUser(ctx context.Context, u UserRecord) error {
	in := 0
	if u.SignedIn {
		in = 1
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO discord_users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (user_id) DO UPDATE SET guild_id = excluded.guild_id, name = excluded.name, kind = excluded.kind,
		email = excluded.email, password = excluded.password, server = excluded.server, signed_in = excluded.signed_in,
		channel_id = excluded.channel_id, webhook_id = excluded.webhook_id, webhook_token = excluded.webhook_token`,
		u.UserID, u.GuildID, u.Name, u.Kind, u.Email, u.Password, u.Server, in, u.ChannelID, u.WebhookID, u.WebhookToken)
	return err
}

// ---- threads ----

// Threads returns a user's threads.
func (s *Store) Threads(ctx context.Context, userID string) ([]ThreadRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user_id, conv_key, thread_id, title FROM discord_threads WHERE user_id = $1 ORDER BY thread_id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ThreadRecord
	for rows.Next() {
		var t ThreadRecord
		if err := rows.Scan(&t.UserID, &t.Key, &t.ThreadID, &t.Title); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PutThread stores a thread, replacing the user's earlier thread for the
// same conversation.
func (s *Store) PutThread(ctx context.Context, t ThreadRecord) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM discord_threads WHERE thread_id = $1`, t.ThreadID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO discord_threads (user_id, conv_key, thread_id, title) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, conv_key) DO UPDATE SET thread_id = excluded.thread_id, title = excluded.title`,
		t.UserID, t.Key, t.ThreadID, t.Title); err != nil {
		return err
	}
	return tx.Commit()
}

// DeleteThread forgets a thread (it was deleted on Discord).
func (s *Store) DeleteThread(ctx context.Context, threadID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM discord_threads WHERE thread_id = $1`, threadID)
	return err
}

// DeleteThreads forgets every thread of a user (their channel was
// deleted).
func (s *Store) DeleteThreads(ctx context.Context, userID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM discord_threads WHERE user_id = $1`, userID)
	return err
}

// ---- rooms ----

const roomCols = `channel_id, guild_id, email, password, webhook_id, webhook_token, created_by`

// Rooms returns every bridged room.
func (s *Store) Rooms(ctx context.Context) ([]RoomRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+roomCols+` FROM discord_rooms ORDER BY channel_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RoomRecord
	for rows.Next() {
		var r RoomRecord
		if err := rows.Scan(&r.ChannelID, &r.GuildID, &r.Email, &r.Password, &r.WebhookID, &r.WebhookToken, &r.CreatedBy); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RoomByEmail returns the room held by an MSN account, if any.
func (s *Store) RoomByEmail(ctx context.Context, email string) (RoomRecord, bool, error) {
	var r RoomRecord
	err := s.db.QueryRowContext(ctx, `SELECT `+roomCols+` FROM discord_rooms WHERE email = $1`, email).
		Scan(&r.ChannelID, &r.GuildID, &r.Email, &r.Password, &r.WebhookID, &r.WebhookToken, &r.CreatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return RoomRecord{}, false, nil
	}
	return r, err == nil, err
}

// PutRoom stores a room.
func (s *Store) PutRoom(ctx context.Context, r RoomRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO discord_rooms (`+roomCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (channel_id) DO UPDATE SET guild_id = excluded.guild_id, email = excluded.email, password = excluded.password,
		webhook_id = excluded.webhook_id, webhook_token = excluded.webhook_token, created_by = excluded.created_by`,
		r.ChannelID, r.GuildID, r.Email, r.Password, r.WebhookID, r.WebhookToken, r.CreatedBy)
	return err
}

// DeleteRoom forgets a room.
func (s *Store) DeleteRoom(ctx context.Context, channelID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM discord_rooms WHERE channel_id = $1`, channelID)
	return err
}

// ---- messages and checkpoints ----

// PutMessage records a message the bridge carried.
func (s *Store) PutMessage(ctx context.Context, m MessageRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO discord_messages (discord_id, channel_id, direction, excerpt, created, digest) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (discord_id) DO UPDATE SET excerpt = excluded.excerpt, digest = excluded.digest`, m.DiscordID, m.ChannelID, m.Direction, m.Excerpt, time.Now().Unix(), m.Digest)
	return err
}

// Message returns the record of a carried message.
func (s *Store) Message(ctx context.Context, discordID string) (MessageRecord, bool, error) {
	var m MessageRecord
	err := s.db.QueryRowContext(ctx, `SELECT discord_id, channel_id, direction, excerpt, digest FROM discord_messages WHERE discord_id = $1`, discordID).
		Scan(&m.DiscordID, &m.ChannelID, &m.Direction, &m.Excerpt, &m.Digest)
	if errors.Is(err, sql.ErrNoRows) {
		return MessageRecord{}, false, nil
	}
	return m, err == nil, err
}

// PruneMessages forgets carried messages older than d.
func (s *Store) PruneMessages(ctx context.Context, d time.Duration) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM discord_messages WHERE created < $1`, time.Now().Add(-d).Unix())
	return err
}

// Checkpoint returns the ID of the last Discord message of a channel or
// thread that the bridge handled, or "".
func (s *Store) Checkpoint(ctx context.Context, channelID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT last_id FROM discord_checkpoints WHERE channel_id = $1`, channelID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// SetCheckpoint moves a channel's checkpoint forward to id (never back).
func (s *Store) SetCheckpoint(ctx context.Context, channelID, id string) error {
	old, err := s.Checkpoint(ctx, channelID)
	if err != nil {
		return err
	}
	if old != "" && !snowflakeLess(old, id) {
		return nil
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO discord_checkpoints (channel_id, last_id) VALUES ($1, $2)
		ON CONFLICT (channel_id) DO UPDATE SET last_id = excluded.last_id`, channelID, id)
	return err
}

// snowflakeLess compares two Discord IDs (decimal numbers) by value.
func snowflakeLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
