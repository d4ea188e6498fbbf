package discord

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nudge-im/nudge/core/coretest/pgtest"
)

// stores runs f against a SQLite file and a PostgreSQL database.
func stores(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, filepath.Join(t.TempDir(), "discord.db")) })
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			t.Skip("PostgreSQL in -short mode")
		}
		f(t, pgtest.Start(t))
	})
}

func TestStore(t *testing.T) {
	stores(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, err := OpenStore(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()

		if _, ok, err := s.User(ctx, "1"); ok || err != nil {
			t.Fatalf("user before: %v %v", ok, err)
		}
		u := UserRecord{UserID: "1", GuildID: "9", Name: "Nelly", Kind: KindHosted, Email: "nelly@d.invalid", Password: "pw", SignedIn: true, ChannelID: "5", WebhookID: "6", WebhookToken: "tok"}
		if err := s.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		u.SignedIn = false
		u.Password = "pw2"
		if err := s.PutUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.User(ctx, "1")
		if err != nil || !ok || got != u {
			t.Fatalf("user = %+v %v %v", got, ok, err)
		}
		if all, err := s.Users(ctx); err != nil || len(all) != 1 {
			t.Fatalf("users %v %v", all, err)
		}

		if err := s.SetCategory(ctx, "9", "10"); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Category(ctx, "9"); c != "10" || err != nil {
			t.Fatalf("category %q %v", c, err)
		}

		for _, tr := range []ThreadRecord{{"1", "bob@x.com", "100", "Bob"}, {"1", "carol@x.com", "101", "Carol"}, {"1", "bob@x.com", "102", "Bob again"}} {
			if err := s.PutThread(ctx, tr); err != nil {
				t.Fatal(err)
			}
		}
		ths, err := s.Threads(ctx, "1")
		if err != nil || len(ths) != 2 || ths[0].ThreadID != "101" || ths[1].ThreadID != "102" {
			t.Fatalf("threads %+v %v", ths, err)
		}
		s.DeleteThread(ctx, "101")
		if ths, _ := s.Threads(ctx, "1"); len(ths) != 1 {
			t.Fatalf("after delete %+v", ths)
		}

		const group = "bob@x.com,carol@x.com"
		for _, e := range []string{"dave@x.com", "ann@x.com", "dave@x.com"} {
			if err := s.AddThreadMember(ctx, "1", group, e); err != nil {
				t.Fatal(err)
			}
		}
		if m, err := s.ThreadMembers(ctx, "1", group); err != nil || strings.Join(m, " ") != "ann@x.com dave@x.com" {
			t.Fatalf("thread members %v %v", m, err)
		}
		if m, err := s.ThreadMembers(ctx, "2", group); err != nil || len(m) != 0 {
			t.Fatalf("another user's thread members %v %v", m, err)
		}

		r := RoomRecord{ChannelID: "7", GuildID: "9", Email: "room@d.invalid", Password: "p", WebhookID: "8", WebhookToken: "t", CreatedBy: "1"}
		if err := s.PutRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.RoomByEmail(ctx, "room@d.invalid"); !ok || err != nil || got != r {
			t.Fatalf("room %+v %v %v", got, ok, err)
		}
		s.DeleteRoom(ctx, "7")
		if rooms, _ := s.Rooms(ctx); len(rooms) != 0 {
			t.Fatal("room not deleted")
		}

		m := MessageRecord{DiscordID: "200", ChannelID: "100", Direction: ToMSN, Excerpt: "hello"}
		if err := s.PutMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := s.PutMessage(ctx, m); err != nil {
			t.Fatal("a second record of the same message:", err)
		}
		if got, ok, _ := s.Message(ctx, "200"); !ok || got != m {
			t.Fatalf("message %+v", got)
		}
		s.PruneMessages(ctx, -time.Minute)
		if _, ok, _ := s.Message(ctx, "200"); ok {
			t.Fatal("not pruned")
		}

		// Checkpoints only move forward, comparing IDs as numbers.
		for _, id := range []string{"99", "100", "1000", "999"} {
			if err := s.SetCheckpoint(ctx, "100", id); err != nil {
				t.Fatal(err)
			}
		}
		if c, _ := s.Checkpoint(ctx, "100"); c != "1000" {
			t.Fatalf("checkpoint %q", c)
		}

		// Opening again keeps everything.
		s.Close()
		s2, err := OpenStore(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if _, ok, _ := s2.User(ctx, "1"); !ok {
			t.Fatal("user lost on reopen")
		}
	})
}

func TestRedactDSN(t *testing.T) {
	if got := redactDSN("postgres://nudge:secret@db/nudge"); got != "postgres://nudge:***@db/nudge" {
		t.Fatal(got)
	}
}

// A database of the first schema, whose carried messages had no digest,
// is brought up to date and keeps its records.
func TestStoreMigratesSchema1(t *testing.T) {
	stores(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, err := OpenStore(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range []string{
			`DROP TABLE discord_messages`,
			`CREATE TABLE discord_messages (discord_id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, direction TEXT NOT NULL, excerpt TEXT NOT NULL, created BIGINT NOT NULL)`,
			`INSERT INTO discord_messages VALUES ('1', '2', 'to_msn', 'old', 0)`,
			`UPDATE discord_meta SET value = '1' WHERE key = 'schema'`,
		} {
			if _, err := s.db.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		s, err = OpenStore(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if m, ok, err := s.Message(ctx, "1"); err != nil || !ok || m.Excerpt != "old" || m.Digest != "" {
			t.Fatalf("old record %+v %v %v", m, ok, err)
		}
		if err := s.PutMessage(ctx, MessageRecord{DiscordID: "3", ChannelID: "2", Direction: ToMSN, Excerpt: "new", Digest: Digest("new")}); err != nil {
			t.Fatal(err)
		}
		if m, _, _ := s.Message(ctx, "3"); m.Digest != Digest("new") {
			t.Fatalf("new record %+v", m)
		}
		var v string
		s.db.QueryRowContext(ctx, `SELECT value FROM discord_meta WHERE key = 'schema'`).Scan(&v)
		if v != schemaVersion {
			t.Fatalf("schema version %s", v)
		}
	})
}
