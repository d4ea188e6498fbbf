package ns

// BookChanged implements directory.Peer: the user's address book changed
// outside this connection (the address book web service). The endpoint
// reads the entry for contact again ("" means the settings and the whole
// list), so who may see and call the user holds at once, and its client
// (MSNP13+) reads the book again. The user's first endpoint tells the
// watchers whose view changed, for all of them.
func (s *session) BookChanged(contact string) {
	peers := s.srv.cfg.Directory.Endpoints(s.emailOf())
	s.reload(contact, len(peers) == 0 || peers[0] == s)
}
