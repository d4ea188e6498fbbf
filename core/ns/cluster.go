package ns

// What the other nodes of a cluster tell this one about its users' contacts
// (core/cluster): presence changes themselves arrive through the directory
// as Peer calls; these are for nodes that come and go.

// Vanished tells the users signed in here that the contacts for whom gone
// is true are offline: they were signed in on a node that stopped
// answering, so nobody else will say so.
func (srv *Server) Vanished(gone func(email string) bool) {
	for _, sess := range srv.everySession() {
		sess.mu.Lock()
		if !sess.closed {
			for i := range sess.roster.entries {
				e := &sess.roster.entries[i]
				if e.shown && gone(e.email()) {
					e.shown = false
					sess.send(fln(e.email(), sess.dialect))
				}
			}
		}
		sess.mu.Unlock()
	}
}

// Reappeared shows the users signed in here, as each may see them, to
// their watchers for whom there is true: users of a node that joined the
// cluster, or came back after it was taken for dead or lost messages.
func (srv *Server) Reappeared(there func(email string) bool) {
	for _, sess := range srv.everySession() {
		sess.mu.Lock()
		online := sess.online && !sess.closed
		sess.mu.Unlock()
		if online {
			sess.broadcastTo(there)
		}
	}
}

// everySession returns the open sessions, signed in or not.
func (srv *Server) everySession() []*session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	out := make([]*session, 0, len(srv.sessions))
	for sess := range srv.sessions {
		out = append(out, sess)
	}
	return out
}
