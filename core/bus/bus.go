// Package bus carries messages between the nodes of a cluster: what one
// node tells another (a presence change for a user signed in there, an
// invitation to a switchboard) and what it asks (a user's presence, a
// switchboard cookie).
//
// A Bus is a small publish/subscribe seam with two implementations: Local,
// in-process, for a service of one node (and for tests of several nodes in
// one process), and NATS, for nodes on several machines. Subjects are
// dot-separated tokens as in NATS; a subscription may end in ">" (any
// further tokens) or hold "*" (any one token).
//
// Messages from one publisher reach each subscriber in the order they were
// published, across every subject of one Subscribe call: a node that
// subscribes once to its own subjects and the cluster's sees another node's
// announcements and answers in the order that node sent them.
package bus

import (
	"context"
	"errors"
)

// Bus is the message bus between the nodes of a cluster.
type Bus interface {
	// Publish sends data to every subscriber of subject, on every node. It
	// does not wait for them; what cannot be sent (the connection is down
	// and its buffer full) is an error.
	Publish(subject string, data []byte) error
	// Request sends data to subject and returns the first answer, or
	// ErrNoResponders when nobody subscribes to it.
	Request(ctx context.Context, subject string, data []byte) ([]byte, error)
	// Subscribe calls fn for every message on any of subjects, one at a
	// time, until the Subscription is closed. fn must not wait for other
	// nodes (it may Publish, and answer with Msg.Respond).
	Subscribe(fn func(*Msg), subjects ...string) (Subscription, error)
	// Err is nil while the bus carries messages, and says why not when it
	// does not (for /healthz).
	Err() error
	// Close ends the subscriptions and the connection.
	Close() error
}

// Subscription is what Subscribe returns.
type Subscription interface {
	Close() error
}

// Msg is one message.
type Msg struct {
	Subject string
	Data    []byte
	respond func([]byte) error
}

// NewMsg returns a message; respond, when not nil, answers a request.
func NewMsg(subject string, data []byte, respond func([]byte) error) *Msg {
	return &Msg{Subject: subject, Data: data, respond: respond}
}

// IsRequest reports whether the sender waits for an answer.
func (m *Msg) IsRequest() bool { return m.respond != nil }

// Respond answers a request; it does nothing for a plain message.
func (m *Msg) Respond(data []byte) error {
	if m.respond == nil {
		return nil
	}
	return m.respond(data)
}

// Errors.
var (
	ErrNoResponders = errors.New("bus: nobody answers on this subject")
	ErrClosed       = errors.New("bus: closed")
)

// Match reports whether subject matches the subscription pattern.
func Match(pattern, subject string) bool {
	for {
		p, prest, pmore := cut(pattern)
		s, srest, smore := cut(subject)
		switch {
		case p == ">":
			return s != ""
		case s == "":
			return false
		case p != "*" && p != s:
			return false
		}
		if !pmore || !smore {
			return pmore == smore
		}
		pattern, subject = prest, srest
	}
}

func cut(s string) (token, rest string, more bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
