package msnbridge

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/nudge-im/nudge/msnp/client"
)

// PictureDB keeps fetched pictures in a table of the bridge's database
// (SQLite or PostgreSQL), keyed by SHA1D, with the most recent in memory:
// a picture crosses MSN once, and its address (Key) keeps working after a
// restart. It is a client.ObjectCache for NewPictures.
type PictureDB struct {
	db    *sql.DB
	table string
	mem   *client.MemoryCache
}

// maxStoredPicture bounds what PictureDB keeps: display pictures are a
// few kilobytes; anything much larger is no avatar.
const maxStoredPicture = 1 << 20

// pictureDBTimeout bounds one read or write (ObjectCache has no context).
const pictureDBTimeout = 10 * time.Second

// OpenPictureDB makes the table (a name of letters, digits and _) when
// missing.
func OpenPictureDB(ctx context.Context, db *sql.DB, table string) (*PictureDB, error) {
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("msnbridge: %q is not a table name", table)
	}
	// The data is base64 text, which both engines store alike.
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		sha1d TEXT PRIMARY KEY, data TEXT NOT NULL, created BIGINT NOT NULL)`)
	if err != nil {
		return nil, fmt.Errorf("msnbridge: making the table %s: %w", table, err)
	}
	return &PictureDB{db: db, table: table, mem: client.NewMemoryCache(8 << 20)}, nil
}

// Get returns a kept picture.
func (p *PictureDB) Get(sha1d string) ([]byte, bool) {
	if data, ok := p.mem.Get(sha1d); ok {
		return data, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), pictureDBTimeout)
	defer cancel()
	var text string
	if err := p.db.QueryRowContext(ctx, `SELECT data FROM `+p.table+` WHERE sha1d = $1`, sha1d).Scan(&text); err != nil {
		return nil, false
	}
	data, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, false
	}
	p.mem.Put(sha1d, data)
	return data, true
}

// Put keeps a picture; its SHA1D was checked by whoever fetched it.
func (p *PictureDB) Put(sha1d string, data []byte) {
	if len(data) > maxStoredPicture {
		return
	}
	p.mem.Put(sha1d, data)
	ctx, cancel := context.WithTimeout(context.Background(), pictureDBTimeout)
	defer cancel()
	p.db.ExecContext(ctx, `INSERT INTO `+p.table+` (sha1d, data, created) VALUES ($1, $2, $3) ON CONFLICT (sha1d) DO NOTHING`,
		sha1d, base64.StdEncoding.EncodeToString(data), time.Now().Unix())
}
