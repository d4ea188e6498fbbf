package store

import (
	"context"
	"strings"
	"time"
)

// What the nodes of a cluster share besides accounts and lists (core/cluster,
// core/passport): Passport tickets, which one node issues and another
// redeems, and leases, which let one node at a time run what must run once.
// Written once for both engines; only a cluster (PostgreSQL) needs them.

// Shared is implemented by the stores (SQLite and PostgreSQL).
type Shared interface {
	// PutTicket keeps a ticket for email until expires: a sign-in
	// ticket when domains is empty (TakeTicket uses it up), a service
	// ticket for those domains otherwise (Ticket reads it).
	PutTicket(ctx context.Context, t Ticket) error
	// TakeTicket returns the sign-in ticket issued to email, with a proof
	// key or without as keyed says, and deletes it, so that it is used once
	// among all nodes; ErrNotFound when there is none (or it expired). A
	// ticket shown with another address stays.
	TakeTicket(ctx context.Context, ticket, email string, keyed bool) (Ticket, error)
	// Ticket returns a service ticket; ErrNotFound when there is none.
	Ticket(ctx context.Context, ticket string) (Ticket, error)
	// Lease takes or renews the lease name for holder until now+d, and
	// reports whether holder has it: it does while it renews in time, and
	// another takes it only after it expired. The time is the database's,
	// the same for every node.
	Lease(ctx context.Context, name, holder string, d time.Duration) (bool, error)
	// ReleaseLease gives the lease up, if holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Ticket is a Passport ticket as nodes share it.
type Ticket struct {
	Ticket  string
	Email   string
	Key     []byte   // proof key of an SSO ticket
	Domains []string // a service ticket's domains; none for a sign-in ticket
	Expires time.Time
}

// sharedSchema is migration 6 (SQLite) and 5 (PostgreSQL): the same
// tables in both, in the column types both take.
const sharedSchema = `
CREATE TABLE passport_tickets (
	ticket  TEXT   NOT NULL PRIMARY KEY,
	email   TEXT   NOT NULL,
	proof   BYTEA  NOT NULL,
	domains TEXT   NOT NULL,   -- space-separated; '' = a sign-in ticket
	expires BIGINT NOT NULL    -- unix milliseconds
);
CREATE INDEX passport_tickets_by_expiry ON passport_tickets (expires);

CREATE TABLE leases (
	name    TEXT   NOT NULL PRIMARY KEY,
	holder  TEXT   NOT NULL,
	expires BIGINT NOT NULL    -- unix milliseconds, the database's clock
);
`

// PutTicket implements Shared. Expired tickets are swept now and then.
func (s *sqlStore) PutTicket(ctx context.Context, t Ticket) error {
	now := time.Now().UnixMilli()
	key := t.Key
	if key == nil {
		key = []byte{}
	}
	err := s.writeOne(ctx, func(tx txn) error {
		_, err := tx.exec(ctx, `INSERT INTO passport_tickets (ticket, email, proof, domains, expires) VALUES ($1, $2, $3, $4, $5)`,
			t.Ticket, strings.ToLower(t.Email), key, strings.Join(t.Domains, " "), t.Expires.UnixMilli())
		return err
	})
	if err != nil {
		return err
	}
	if now%64 == 0 {
		s.writeOne(ctx, func(tx txn) error {
			_, err := tx.exec(ctx, `DELETE FROM passport_tickets WHERE expires < $1`, now)
			return err
		})
	}
	return nil
}

// TakeTicket implements Shared: one DELETE … RETURNING, so two nodes
// redeeming the same ticket at once cannot both get it.
func (s *sqlStore) TakeTicket(ctx context.Context, ticket, email string, keyed bool) (Ticket, error) {
	var t Ticket
	var exp int64
	err := s.writeOne(ctx, func(tx txn) error {
		return tx.row(ctx, `
			DELETE FROM passport_tickets
			WHERE ticket = $1 AND email = $2 AND domains = '' AND (length(proof) > 0) = $3
			RETURNING email, proof, expires`,
			ticket, strings.ToLower(email), keyed).Scan(&t.Email, &t.Key, &exp)
	})
	if errNoRows(err) {
		return Ticket{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, err
	}
	t.Ticket, t.Expires = ticket, time.UnixMilli(exp)
	if !time.Now().Before(t.Expires) {
		return Ticket{}, ErrNotFound
	}
	if len(t.Key) == 0 {
		t.Key = nil
	}
	return t, nil
}

// Ticket implements Shared.
func (s *sqlStore) Ticket(ctx context.Context, ticket string) (Ticket, error) {
	var t Ticket
	var domains string
	var exp int64
	err := s.reader().row(ctx, `SELECT email, domains, expires FROM passport_tickets WHERE ticket = $1 AND domains <> ''`,
		ticket).Scan(&t.Email, &domains, &exp)
	if errNoRows(err) {
		return Ticket{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, wrap(err)
	}
	t.Ticket, t.Domains, t.Expires = ticket, strings.Fields(domains), time.UnixMilli(exp)
	if !time.Now().Before(t.Expires) {
		return Ticket{}, ErrNotFound
	}
	return t, nil
}

// Lease implements Shared: one statement that inserts the lease, or takes
// it over when it expired or is the holder's own.
func (s *sqlStore) Lease(ctx context.Context, name, holder string, d time.Duration) (bool, error) {
	var got string
	err := s.writeOne(ctx, func(tx txn) error {
		return tx.row(ctx, `
			INSERT INTO leases (name, holder, expires) VALUES ($1, $2, {now ms} + $3)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
				WHERE leases.holder = excluded.holder OR leases.expires < {now ms}
			RETURNING holder`, name, holder, d.Milliseconds()).Scan(&got)
	})
	if errNoRows(err) {
		return false, nil // held by another
	}
	if err != nil {
		return false, err
	}
	return got == holder, nil
}

// ReleaseLease implements Shared.
func (s *sqlStore) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.writeOne(ctx, func(tx txn) error {
		_, err := tx.exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder)
		return err
	})
}
