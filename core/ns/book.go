package ns

import "github.com/nudge-im/nudge/core/directory"

// BookChanged implements directory.Peer: the user's address book changed
// outside this connection (the address book web service). The endpoint
// reads the entry for contact again ("" means the settings and the whole
// list), so who may see and call the user holds at once, and its client
// (MSNP13+) reads the book again. One endpoint tells the watchers whose
// view changed, for all of them.
func (s *session) BookChanged(contact string) {
	t := teller(s.srv.cfg.Directory.Endpoints(s.emailOf()))
	s.reload(contact, t == nil || t == directory.Peer(s))
}

// teller is the endpoint, among the user's, that tells the watchers of a
// change every endpoint hears: the one with the least endpoint id, so
// that the nodes of a cluster, each listing its own endpoints first,
// agree on it.
func teller(peers []directory.Peer) directory.Peer {
	var first directory.Peer
	for _, p := range peers {
		if first == nil || p.Endpoint().ID < first.Endpoint().ID {
			first = p
		}
	}
	return first
}
