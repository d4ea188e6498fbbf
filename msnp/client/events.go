package client

import (
	"sync"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/message"
)

// Event is something that happened: a message, a presence change, a
// conversation closing, the connection dropping. Events are received from
// Client.Events; switch on the concrete type:
//
//	switch ev := ev.(type) {
//	case *client.Message:
//	case *client.Presence:
//	}
//
// Every event type is a pointer to one of the structs below.
type Event interface{ isEvent() }

// Message is a text message in a conversation.
type Message struct {
	Conversation *Conversation
	From         string // e-mail address of the sender
	FriendlyName string // the sender's name, as the switchboard gave it
	Text         string
	Format       message.Format // zero when the message had none
	Raw          *message.Message
}

// Typing says From is typing in a conversation.
type Typing struct {
	Conversation *Conversation
	From         string
}

// Nudge is a nudge (MSN Messenger 7 and later clients send them).
type Nudge struct {
	Conversation *Conversation
	From         string
}

// RawMessage is any other message in a conversation: P2P data, invitations,
// emoticon definitions, ink, winks. Payload is the MSG payload exactly as
// it arrived; Message is its parse, or nil when it is not MIME.
type RawMessage struct {
	Conversation *Conversation
	From         string
	FriendlyName string
	Payload      []byte
	Message      *message.Message
}

// Joined says Email joined a conversation.
type Joined struct {
	Conversation *Conversation
	Email        string
	FriendlyName string
}

// Left says Email left a conversation. Idle is set when the switchboard
// said it was for being idle (BYE … 1).
type Left struct {
	Conversation *Conversation
	Email        string
	Idle         bool
}

// Invited says someone invited you into a conversation and the client has
// joined it: From started it, and Participants lists who was there when
// you arrived (no Joined events are sent for them; those who join later
// have theirs). Conversation.Participants is who is there now.
type Invited struct {
	Conversation *Conversation
	From         string
	FriendlyName string
	Participants []Participant
}

// ConversationClosed says the switchboard connection of a conversation
// ended: the server closed it, or Close was called (then Err is nil). The
// conversation is reopened by its next Send unless Close was called.
type ConversationClosed struct {
	Conversation *Conversation
	Err          error
}

// Presence is the presence of a contact: it came online, went offline,
// changed status, friendly name or personal message.
type Presence struct {
	Email           string
	Status          Status
	FriendlyName    string
	PersonalMessage string
	Capabilities    uint32 // the contact's client capability flags (MSNP8+)
}

// ContactAdded says Email added you to their contact list (your reverse
// list, RL).
type ContactAdded struct {
	Email        string
	FriendlyName string
}

// ContactRemoved says Email removed you from their contact list.
type ContactRemoved struct {
	Email string
}

// Disconnected says the connection to the notification server ended.
// Reconnecting says whether the client is trying to sign in again (then a
// Reconnected or a final Disconnected follows); when it is false the client
// is done and Events is closed after this event.
type Disconnected struct {
	Err          error
	Reconnecting bool
}

// Reconnected says the client signed in again after a Disconnected. The
// contact list has been synchronised again; contacts whose presence
// changed meanwhile got Presence events.
type Reconnected struct {
	Attempts int // sign-in attempts it took
}

// ServerCommand is a command from the server that the client does not
// interpret: e-mail and system notices ("MSG Hotmail Hotmail"), alerts
// (NOT), and anything unknown. Conversation is set when it came from a
// switchboard.
type ServerCommand struct {
	Conversation *Conversation
	Command      *msnp.Command
}

func (*Message) isEvent()            {}
func (*Typing) isEvent()             {}
func (*Nudge) isEvent()              {}
func (*RawMessage) isEvent()         {}
func (*Joined) isEvent()             {}
func (*Left) isEvent()               {}
func (*Invited) isEvent()            {}
func (*ConversationClosed) isEvent() {}
func (*Presence) isEvent()           {}
func (*ContactAdded) isEvent()       {}
func (*ContactRemoved) isEvent()     {}
func (*Disconnected) isEvent()       {}
func (*Reconnected) isEvent()        {}
func (*ServerCommand) isEvent()      {}

// eventQueue is an unbounded FIFO between the goroutines that read
// connections and the one that delivers to the consumer. Pushing never
// blocks, so a read loop never waits for the consumer; one goroutine (pump)
// moves events to the channel in order.
type eventQueue struct {
	mu      sync.Mutex
	q       []Event
	head    int
	held    int  // 1 while the pump holds an event the consumer has not taken
	max     int  // 0: unbounded
	ending  bool // deliver what is queued, then close out
	stopped bool // close out now, discarding what is queued
	wake    chan struct{}
	stop    chan struct{}
	out     chan Event
}

func newEventQueue(max int) *eventQueue {
	e := &eventQueue{
		max:  max,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		out:  make(chan Event),
	}
	go e.pump()
	return e
}

// push queues ev. It reports false when the backlog passed the limit
// (the event is queued all the same).
func (e *eventQueue) push(ev Event) bool {
	e.mu.Lock()
	if e.ending || e.stopped {
		e.mu.Unlock()
		return true
	}
	e.q = append(e.q, ev)
	n := len(e.q) - e.head + e.held
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return e.max <= 0 || n <= e.max
}

// end makes the channel close once everything queued has been received.
func (e *eventQueue) end() {
	e.mu.Lock()
	e.ending = true
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// discard closes the channel now, dropping what was not received.
func (e *eventQueue) discard() {
	e.mu.Lock()
	if !e.stopped {
		e.stopped = true
		close(e.stop)
	}
	e.mu.Unlock()
}

// backlog is the number of events queued and not yet received.
func (e *eventQueue) backlog() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.q) - e.head + e.held
}

func (e *eventQueue) pop() (Event, bool, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.head < len(e.q) {
		ev := e.q[e.head]
		e.q[e.head] = nil
		e.head++
		e.held = 1
		if e.head == len(e.q) {
			e.q, e.head = e.q[:0], 0
		} else if e.head > 1024 && e.head*2 > len(e.q) {
			n := copy(e.q, e.q[e.head:])
			clear(e.q[n:])
			e.q, e.head = e.q[:n], 0
		}
		return ev, true, false
	}
	return nil, false, e.ending
}

func (e *eventQueue) pump() {
	defer close(e.out)
	for {
		ev, ok, ending := e.pop()
		if !ok {
			if ending {
				return
			}
			select {
			case <-e.wake:
				continue
			case <-e.stop:
				return
			}
		}
		select {
		case e.out <- ev:
			e.mu.Lock()
			e.held = 0
			e.mu.Unlock()
		case <-e.stop:
			return
		}
	}
}
