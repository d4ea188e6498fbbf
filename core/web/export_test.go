package web

// BreakWebSockets drops every page's WebSocket without a close frame, as a
// network blip does, and returns how many it dropped.
func (h *Handler) BreakWebSockets() int {
	h.relay.mu.Lock()
	all := make([]*relaySession, 0, len(h.relay.sessions))
	for _, s := range h.relay.sessions {
		all = append(all, s)
	}
	h.relay.mu.Unlock()
	n := 0
	for _, s := range all {
		s.mu.Lock()
		if s.ws != nil {
			s.ws.UnderlyingConn().Close()
			n++
		}
		s.mu.Unlock()
	}
	return n
}
