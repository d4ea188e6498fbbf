package server

import (
	"context"
	"time"
)

// databaseCheck is how often the service asks its database whether it
// answers. An outage is logged once when a check first fails and once when
// one succeeds again, however many requests fail meanwhile; /healthz
// answers from the last check.
const databaseCheck = time.Second

// watchDatabase checks the database every databaseCheck until the service
// stops.
func (s *Server) watchDatabase() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(databaseCheck)
		defer t.Stop()
		for {
			select {
			case <-s.bg.Done():
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(s.bg, 2*databaseCheck)
			err := s.Store.Ping(ctx)
			cancel()
			if s.bg.Err() != nil {
				return
			}
			s.databaseChecked(err)
		}
	}()
}

// databaseChecked records the outcome of a check, and logs a change.
func (s *Server) databaseChecked(err error) {
	s.dbMu.Lock()
	was, since := s.dbErr, s.dbDown
	s.dbErr = err
	if err != nil && was == nil {
		s.dbDown = time.Now()
	}
	s.dbMu.Unlock()
	switch {
	case err != nil && was == nil:
		s.log.Error().Err(err).Msg("database unreachable; sign-ins and list changes fail until it is back, signed-in users go on talking")
	case err == nil && was != nil:
		s.log.Info().Dur("down", time.Since(since).Round(time.Millisecond)).Msg("database reachable again")
	}
}

// databaseErr is why the last check of the database failed, or nil.
func (s *Server) databaseErr() error {
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	return s.dbErr
}
