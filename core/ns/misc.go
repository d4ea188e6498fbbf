package ns

import (
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/switchboard"
	"github.com/nudge-im/nudge/msnp"
)

// handlePNG answers the keep-alive; MSNP9+ says when to ping next.
func (s *session) handlePNG(c *msnp.Command) error {
	if s.dialect.QNGInterval {
		s.queue(msnp.Notice("QNG", "60"))
	} else {
		s.queue(msnp.Notice("QNG"))
	}
	return nil
}

// handleXFR hands out a switchboard session: "XFR trid SB" →
// "XFR trid SB address CKI cookie". Hidden or not yet online users may not
// start conversations (913).
func (s *session) handleXFR(c *msnp.Command) error {
	if c.Param(0) != "SB" {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	s.mu.Lock()
	p := s.presence
	online := s.online
	s.mu.Unlock()
	if !online || p.Status == directory.Hidden {
		return s.fail(c, msnp.ErrNotAllowedWhenHidden)
	}
	addr, cookie, err := s.srv.cfg.Switchboards.Open(switchboard.User{
		Email:        p.Email,
		FriendlyName: p.FriendlyName,
		Version:      s.version,
		Capabilities: p.Capabilities,
		Endpoint:     s.Endpoint().ID,
	})
	if err != nil {
		s.log.Info().Err(err).Msg("XFR SB refused")
		return s.fail(c, msnp.ErrTooActive)
	}
	s.reply(c, append([]string{"SB", s.referral(addr), "CKI", cookie}, s.dialect.XFRSBTail...)...)
	return nil
}

// handleURL answers requests for web pages (inbox, profile …). The service
// has none of them; clients only need a well-formed answer.
func (s *session) handleURL(c *msnp.Command) error {
	if c.Param(0) == "" {
		return s.fail(c, msnp.ErrSyntax)
	}
	s.reply(c, "/", "http://messenger.msn.com/", "2")
	return nil
}

// handleSND accepts an invitation by e-mail; the service sends no mail.
func (s *session) handleSND(c *msnp.Command) error {
	s.reply(c, "OK")
	return nil
}

// shields is the client policy MSNP11+ clients fetch with GCF: nothing is
// denied.
const shields = `<?xml version="1.0" encoding="utf-8" ?><config><shield><cli maj="7" min="0" minbld="0" maxbld="9999" deny=" " /></shield><block></block></config>`

func (s *session) handleGCF(c *msnp.Command) error {
	if !s.dialect.GCF {
		return s.fail(c, msnp.ErrCommandDisabled)
	}
	name := c.Param(0)
	if name == "" {
		name = "Shields.xml"
	}
	s.queue(msnp.New("GCF", c.TrID, name).WithPayload([]byte(shields)))
	return nil
}

// handleIMS toggles instant messages for WebTV clients; it is echoed.
func (s *session) handleIMS(c *msnp.Command) error {
	v := c.Param(0)
	if v != "ON" && v != "OFF" {
		return s.fail(c, msnp.ErrInvalidParameter)
	}
	s.reply(c, "0", v)
	return nil
}
