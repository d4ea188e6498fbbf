package cluster

import (
	"context"

	"github.com/nudge-im/nudge/core/bus"
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/switchboard"
	"github.com/nudge-im/nudge/msnp"
)

// remotePeer is one endpoint of a user signed in on another node. Its
// calls go there as messages in order, for that endpoint (by its sign-in
// stamp); PresenceFor and Self ask and wait for the answer.
type remotePeer struct {
	c     *Cluster
	node  string
	email string
	gen   int64
	ep    string
}

// Peer calls carried to another node.
const (
	callShow    = "show"
	callHide    = "hide"
	callRing    = "ring"
	callAdded   = "radd"
	callRemoved = "rrem"
	callReplace = "replace"
	callRevoke  = "revoke"
	callNote    = "note"
	callShare   = "share"
	callSelf    = "self"
	callList    = "list"
)

// Calls of the address book and the offline messages.
const (
	callBook   = "book"
	callMailed = "mailed"
)

func (p *remotePeer) call(e *envelope) {
	e.Op, e.To, e.Gen = opPeer, p.email, p.gen
	p.c.send(subjectNode(p.node), e)
}

func (p *remotePeer) PresenceFor(viewer string) (directory.Presence, bool) {
	a, err := p.c.ask(context.Background(), p.node, &envelope{Op: opAskPres, To: p.email, Gen: p.gen, Email: viewer})
	if err != nil {
		p.c.log.Debug().Err(err).Str("peer", p.node).Msg("presence question not answered")
		return directory.Presence{}, false
	}
	return a.Presence, a.OK
}

func (p *remotePeer) Self() (directory.Presence, msnp.Version) {
	a, err := p.c.ask(context.Background(), p.node, &envelope{Op: opAskSelf, To: p.email, Gen: p.gen})
	if err != nil || !a.OK {
		return directory.Presence{Email: p.email, Status: directory.Offline}, 0
	}
	return a.Presence, msnp.Version(a.Version)
}

func (p *remotePeer) BookChanged(contact string) {
	p.call(&envelope{Call: callBook, Email: contact})
}

func (p *remotePeer) Mailed(m directory.Mail) { p.call(&envelope{Call: callMailed, Mail: &m}) }

func (p *remotePeer) ShowPresence(pr directory.Presence) {
	p.call(&envelope{Call: callShow, Presence: &pr})
}
func (p *remotePeer) HidePresence(email string) { p.call(&envelope{Call: callHide, Email: email}) }
func (p *remotePeer) Ring(r directory.Ring)     { p.call(&envelope{Call: callRing, Ring: &r}) }
func (p *remotePeer) ReverseAdded(email, name string, v int64) {
	p.call(&envelope{Call: callAdded, Email: email, Name: name, Version: v})
}
func (p *remotePeer) ReverseRemoved(email string, v int64) {
	p.call(&envelope{Call: callRemoved, Email: email, Version: v})
}
func (p *remotePeer) Replace()              { p.call(&envelope{Call: callReplace}) }
func (p *remotePeer) Revoke(seq int64)      { p.call(&envelope{Call: callRevoke, Version: seq}) }
func (p *remotePeer) Note(n directory.Note) { p.call(&envelope{Call: callNote, Note: &n}) }
func (p *remotePeer) Share(pr directory.Presence) {
	p.call(&envelope{Call: callShare, Presence: &pr})
}
func (p *remotePeer) ShowSelf(pr directory.Presence) {
	p.call(&envelope{Call: callSelf, Presence: &pr})
}
func (p *remotePeer) ShareList(l directory.Listing) {
	p.call(&envelope{Call: callList, Listing: &l})
}

// Endpoint is the endpoint's GUID as it signed in ("" for none).
func (p *remotePeer) Endpoint() msnp.Endpoint { return msnp.Endpoint{ID: p.ep} }

// deliver makes a call carried from another node on the local endpoint it
// is for.
func (c *Cluster) deliver(e *envelope) {
	u, ok := c.localAt(e.To, e.Gen)
	if !ok {
		return // signed out meanwhile
	}
	p := u.peer
	switch e.Call {
	case callShow:
		if e.Presence != nil {
			p.ShowPresence(*e.Presence)
		}
	case callHide:
		p.HidePresence(e.Email)
	case callRing:
		if e.Ring != nil {
			p.Ring(*e.Ring)
		}
	case callAdded:
		p.ReverseAdded(e.Email, e.Name, e.Version)
	case callRemoved:
		p.ReverseRemoved(e.Email, e.Version)
	case callReplace:
		if unregister(c.cfg.Directory, e.To, p) {
			p.Replace()
		}
	case callRevoke:
		p.Revoke(e.Version)
	case callNote:
		if e.Note != nil {
			p.Note(*e.Note)
		}
	case callShare:
		if e.Presence != nil {
			p.Share(*e.Presence)
		}
	case callSelf:
		if e.Presence != nil {
			p.ShowSelf(*e.Presence)
		}
	case callList:
		if e.Listing != nil {
			p.ShareList(*e.Listing)
		}
	case callBook:
		p.BookChanged(e.Email)
	case callMailed:
		if e.Mail != nil {
			p.Mailed(*e.Mail)
		}
	}
}

// answer answers the questions of other nodes.
func (c *Cluster) answer(m *bus.Msg) {
	var e envelope
	var a answer
	if err := jsonUnmarshal(m.Data, &e); err != nil {
		return
	}
	switch e.Op {
	case opAskPres:
		if u, ok := c.localAt(e.To, e.Gen); ok {
			a.Presence, a.OK = u.peer.PresenceFor(e.Email)
		}
	case opAskSelf:
		if u, ok := c.localAt(e.To, e.Gen); ok {
			var v msnp.Version
			a.Presence, v = u.peer.Self()
			a.Version, a.OK = int(v), true
		}
	case opAskOpen:
		// Answered once this node has heard what the asker had (catchUp),
		// without holding up the questions behind it.
		if c.behind(e.Heard) {
			go func() {
				c.catchUp(e.Heard, c.cfg.RequestTimeout/3)
				m.Respond(jsonMarshal(c.open(e.User)))
			}()
			return
		}
		a = c.open(e.User)
	default:
		return
	}
	m.Respond(jsonMarshal(a))
}

// open places a switchboard session on this node for another node's XFR.
func (c *Cluster) open(u *switchboard.User) answer {
	var a answer
	switch {
	case c.cfg.Switchboards == nil || u == nil:
		a.Err = "no switchboard server on this node"
	default:
		var err error
		if a.Address, a.Cookie, err = c.cfg.Switchboards.Open(*u); err != nil {
			a.Err = err.Error()
		} else {
			a.OK = true
		}
	}
	return a
}
