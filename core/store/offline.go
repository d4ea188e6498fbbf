package store

import (
	"cmp"
	"context"
	"strings"
	"time"
)

// Offline messages: kept for a recipient who was offline, at most
// maxOffline of them, each for offlineFor, until read (deleted) or
// expired. Who may leave one for whom (blocks, privacy) is the caller's
// rule; the store only keeps them.

// MaxContentType bounds an offline message's content type.
const MaxContentType = 256

// StoreOffline keeps m for its recipient. See Store.
func (s *sqlStore) StoreOffline(ctx context.Context, m OfflineMessage) (OfflineMessage, error) {
	from, err := NormalizeEmail(m.From)
	if err != nil {
		return OfflineMessage{}, ErrInvalidMessage
	}
	m.From = from
	m.To = lookup(m.To)
	m.ID = lookup(cmp.Or(m.ID, newGUID()))
	m.ContentType = cmp.Or(m.ContentType, "text/plain; charset=UTF-8")
	m.FromName = cmp.Or(m.FromName, m.From)
	if m.Sent.IsZero() {
		m.Sent = time.Now()
	}
	m.Sent = time.UnixMilli(m.Sent.UnixMilli()).UTC()
	switch {
	case len(m.Body) > MaxOfflineBody, m.ID == "", len(m.ID) > 64,
		validName(m.FromName, MaxFriendly) != nil,
		len(m.ContentType) > MaxContentType, strings.ContainsAny(m.ContentType, "\x00\r\n"):
		return OfflineMessage{}, ErrInvalidMessage
	}
	if m.Body == nil {
		m.Body = []byte{} // the column is NOT NULL
	}
	now := time.Now().UnixMilli()
	err = s.write(ctx, func(t txn) error {
		// The recipient's lock keeps two senders from both taking the
		// last place.
		to, err := lockAccount(ctx, t, m.To)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM offline_messages WHERE recipient = $1 AND expires <= $2`, to.id, now); err != nil {
			return err
		}
		var n int
		if err := t.row(ctx, `SELECT count(*) FROM offline_messages WHERE recipient = $1`, to.id).Scan(&n); err != nil {
			return err
		}
		if n >= s.maxOffline {
			return ErrMailboxFull
		}
		_, err = t.exec(ctx, `
			INSERT INTO offline_messages (recipient, guid, sender, sender_name, sent, expires, content_type, body)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			to.id, m.ID, m.From, m.FromName, m.Sent.UnixMilli(), now+s.offlineFor.Milliseconds(), m.ContentType, m.Body)
		return err
	})
	if err != nil {
		return OfflineMessage{}, err
	}
	return m, nil
}

// OfflineMessages returns what waits for recipient, oldest first; none for
// a recipient without an account.
func (s *sqlStore) OfflineMessages(ctx context.Context, recipient string) ([]OfflineMessage, error) {
	rows, err := s.reader().query(ctx, `
		SELECT o.guid, a.email, o.sender, o.sender_name, o.sent, o.content_type, o.body
		FROM offline_messages o JOIN accounts a ON a.id = o.recipient
		WHERE a.email = $1 AND o.expires > $2 ORDER BY o.sent, o.id`, lookup(recipient), time.Now().UnixMilli())
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []OfflineMessage
	for rows.Next() {
		var m OfflineMessage
		var sent storedTime
		if err := rows.Scan(&m.ID, &m.To, &m.From, &m.FromName, &sent, &m.ContentType, &m.Body); err != nil {
			return nil, wrap(err)
		}
		m.Sent = sent.t
		if m.Body == nil {
			m.Body = []byte{}
		}
		out = append(out, m)
	}
	return out, wrap(rows.Err())
}

// OfflineWaiting reports whether an unexpired message waits for
// recipient, with one index lookup: nearly every sign-in finds none, and
// reading none costs a join and a sort.
func (s *sqlStore) OfflineWaiting(ctx context.Context, recipient string) (bool, error) {
	var waiting bool
	err := s.reader().row(ctx, `
		SELECT EXISTS (SELECT 1 FROM offline_messages
			WHERE recipient = (SELECT id FROM accounts WHERE email = $1) AND expires > $2)`,
		lookup(recipient), time.Now().UnixMilli()).Scan(&waiting)
	return waiting, wrap(err)
}

// DeleteOfflineMessages deletes recipient's messages with these IDs.
func (s *sqlStore) DeleteOfflineMessages(ctx context.Context, recipient string, ids []string) (int, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = lookup(id)
	}
	var n int64
	err := s.writeOne(ctx, func(t txn) error {
		var err error
		n, err = t.affected(ctx, `
			DELETE FROM offline_messages
			WHERE recipient = (SELECT id FROM accounts WHERE email = $1)
			  AND guid IN (SELECT value ->> 'e' FROM {rows $2})`, lookup(recipient), textRows(keys))
		return err
	})
	return int(n), err
}

// ExpireOffline deletes every message whose time has passed.
func (s *sqlStore) ExpireOffline(ctx context.Context) (int, error) {
	var n int64
	err := s.writeOne(ctx, func(t txn) error {
		var err error
		n, err = t.affected(ctx, `DELETE FROM offline_messages WHERE expires <= $1`, time.Now().UnixMilli())
		return err
	})
	return int(n), err
}
