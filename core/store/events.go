package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// AccountEvent is a change to an account that running servers must act on,
// whoever made it: `nudge user` on the same database, the admin API, or
// another node sharing a PostgreSQL database. A server ends the sessions
// the account had when the change was made.
//
// Events are recorded in the transaction that makes the change, numbered in
// the order they commit (Seq, never reused), and kept for EventRetention.
type AccountEvent struct {
	Seq   int64
	Email string
	Kind  AccountEventKind
}

// AccountEventKind says what happened to the account.
type AccountEventKind string

const (
	AccountDeleted  AccountEventKind = "deleted"
	PasswordChanged AccountEventKind = "password"
)

// EventRetention is how long events are kept: far longer than a watcher
// takes between two looks.
const EventRetention = time.Hour

// maxEventsRead bounds one AccountEvents answer; a watcher asks again.
const maxEventsRead = 1000

// bell wakes this process's watchers as soon as it records an event, so a
// change made through the admin API takes effect at once; changes made by
// other processes are found by polling.
type bell struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed at the next ring.
func (b *bell) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *bell) ring() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// ringer is implemented by the stores that can wake watchers in-process.
type ringer interface{ eventBell() *bell }

func (s *sqlStore) eventBell() *bell { return s.bell }

// eventsSchema is SQLite's migration 4. AUTOINCREMENT: a seq is never
// handed out twice, even after pruning emptied the table, so a watcher's
// position stays valid. (PostgreSQL's identity column, pgMigrations 3, does
// the same.)
const eventsSchema = `
CREATE TABLE account_events (
	seq   INTEGER PRIMARY KEY AUTOINCREMENT,
	email TEXT    NOT NULL,
	kind  TEXT    NOT NULL,
	at    INTEGER NOT NULL   -- unix milliseconds
) STRICT;
`

// recordEvents notes an account event for each handle inside a write
// transaction, and prunes old ones; the caller rings s.bell after the
// commit. The events must commit in seq order, so that a watcher that has
// seen seq n has seen everything before it: lockEvents makes writers of
// events wait for each other (SQLite's single writer does already).
func recordEvents(ctx context.Context, t txn, emails []string, kind AccountEventKind) error {
	if len(emails) == 0 {
		return nil
	}
	if err := t.d.lockEvents(ctx, t); err != nil {
		return err
	}
	now := time.Now()
	if _, err := t.exec(ctx, `INSERT INTO account_events (email, kind, at) SELECT value ->> 'e', $2, $3 FROM {rows $1}`,
		textRows(emails), string(kind), now.UnixMilli()); err != nil {
		return err
	}
	_, err := t.exec(ctx, `DELETE FROM account_events WHERE at < $1`, now.Add(-EventRetention).UnixMilli())
	return err
}

// ringAfter rings the bell when a change that recorded events committed.
func (s *sqlStore) ringAfter(err error) error {
	if err == nil {
		s.bell.ring()
	}
	return err
}

// AccountEvents returns the events after seq, oldest first.
func (s *sqlStore) AccountEvents(ctx context.Context, after int64) ([]AccountEvent, error) {
	rows, err := s.reader().query(ctx,
		`SELECT seq, email, kind FROM account_events WHERE seq > $1 ORDER BY seq LIMIT $2`, after, maxEventsRead)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []AccountEvent
	for rows.Next() {
		var e AccountEvent
		var kind string
		if err := rows.Scan(&e.Seq, &e.Email, &kind); err != nil {
			return nil, wrap(err)
		}
		e.Kind = AccountEventKind(kind)
		out = append(out, e)
	}
	return out, wrap(rows.Err())
}

// LastAccountEvent returns the newest event's seq, 0 when there is none.
func (s *sqlStore) LastAccountEvent(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	err := s.reader().row(ctx, `SELECT max(seq) FROM account_events`).Scan(&seq)
	return seq.Int64, wrap(err)
}

// WatchAccounts calls fn, in order, for every account event recorded after
// since (from LastAccountEvent), until ctx ends. It looks every poll for
// events of other processes, and at once for this process's own. Failed
// reads go to failed (when not nil) and are tried again at the next look.
func WatchAccounts(ctx context.Context, st Store, since int64, poll time.Duration, fn func(AccountEvent), failed func(error)) {
	var b *bell
	if r, ok := st.(ringer); ok {
		b = r.eventBell()
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		var rang <-chan struct{}
		if b != nil {
			rang = b.wait() // before reading, so no ring is missed
		}
		for {
			evs, err := st.AccountEvents(ctx, since)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				if failed != nil {
					failed(err)
				}
				break
			}
			for _, e := range evs {
				fn(e)
				since = e.Seq
			}
			if len(evs) < maxEventsRead {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-rang:
		}
	}
}
