package coretest

import dto "github.com/prometheus/client_model/go"

// Switchboards is the number of switchboard sessions open now (the
// nudge_switchboards gauge): a test can see that a client left the
// conversations it no longer uses.
func (s *Server) Switchboards() int {
	var m dto.Metric
	if err := s.Metrics.Switchboards.Write(&m); err != nil {
		return -1
	}
	return int(m.GetGauge().GetValue())
}
