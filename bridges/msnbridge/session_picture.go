package msnbridge

import "context"

// SetPicture makes picture (a PNG, as DisplayPicture makes it; nil for
// none) the account's display picture: now when it is signed in, and at
// every sign-in after. Pictures the account already shows are not sent
// again.
func (s *Session) SetPicture(ctx context.Context, picture []byte) error {
	s.mu.Lock()
	same := string(s.cfg.DisplayPicture) == string(picture)
	s.cfg.DisplayPicture = picture
	cl := s.cl
	s.mu.Unlock()
	if same || cl == nil {
		return nil
	}
	return cl.SetDisplayPicture(ctx, picture)
}
