package config

import (
	"fmt"
	"time"
)

// Offline bounds the messages kept for people who are offline (offline
// messages: OIM for MSNP13+, a conversation opened at sign-in for older
// clients).
type Offline struct {
	// MaxPerUser is how many messages may wait for one user; a sender
	// beyond it is told the mailbox is full.
	MaxPerUser int `yaml:"max_per_user"`
	// Lifetime is how long an unread message is kept.
	Lifetime Duration `yaml:"lifetime"`
	// AcceptCalls: a switchboard call (CAL) to a contact on the caller's
	// list who is offline, hidden or blocks the caller is answered as if
	// they joined, and what is said is kept as offline messages (dropped
	// when they block the caller), so MSNP2-12 clients can leave them.
	// Off (the default), such a call gets 217 as on MSN, which clients
	// and protocol test suites expect.
	AcceptCalls bool `yaml:"accept_calls"`
}

func defaultOffline() Offline {
	return Offline{MaxPerUser: 100, Lifetime: Duration(30 * 24 * time.Hour)}
}

func (o Offline) validate() error {
	// Zero values (a Config built in code) mean the defaults.
	if o.MaxPerUser < 0 || o.MaxPerUser > 10000 {
		return &keyError{"offline.max_per_user", fmt.Sprintf("%d is outside 1..10000", o.MaxPerUser)}
	}
	if o.Lifetime != 0 && (o.Lifetime < Duration(time.Hour) || o.Lifetime > Duration(366*24*time.Hour)) {
		return &keyError{"offline.lifetime", fmt.Sprintf("%s is outside 1h..8784h (a year)", time.Duration(o.Lifetime))}
	}
	return nil
}
