package ns

import (
	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/mailbox"
	"github.com/nudge-im/nudge/core/oim"
	"github.com/nudge-im/nudge/core/store"
	"github.com/nudge-im/nudge/msnp"
)

// OfflineCourier hands offline messages to users whose clients cannot read
// OIMs (core/offline: a conversation from each sender).
type OfflineCourier interface {
	Deliver(email string)
}

// offlineWaiting tells a user who just came online about the messages
// left for them while they were offline: MSNP13+ clients get the
// Mail-Data notification and read them over rsi; older ones get them
// from the courier, as conversations.
//
// Nearly every sign-in finds nothing waiting, so it first asks only
// whether anything does: one index lookup, where reading none (or handing
// the courier a goroutine that reads none) costs several times more.
func (s *session) offlineWaiting() {
	courier := s.srv.cfg.Offline
	if !s.dialect.OIM && courier == nil {
		return
	}
	ctx := s.srv.ctx()
	waiting, err := s.srv.cfg.Store.OfflineWaiting(ctx, s.email)
	if err != nil {
		s.log.Error().Err(err).Msg("offline messages not read")
		return
	}
	if !s.dialect.OIM {
		if waiting {
			courier.Deliver(s.email)
		}
		return
	}
	var msgs []store.OfflineMessage
	if waiting {
		if msgs, err = s.srv.cfg.Store.OfflineMessages(ctx, s.email); err != nil {
			s.log.Error().Err(err).Msg("offline messages not read")
			return
		}
	}
	payload := "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinitialmdatanotification; charset=UTF-8\r\n\r\n" +
		"Mail-Data: " + oim.MailData(msgs, false) + "\r\n" +
		"Inbox-URL: /cgi-bin/HoTMaiL\r\nFolders-URL: /cgi-bin/folders\r\nPost-URL: http://www.hotmail.com\r\n"
	s.send(msnp.Notice("MSG", "Hotmail", "Hotmail").WithPayload([]byte(payload)))
}

// Mailed implements directory.Peer: an offline message was kept for the
// user while they are signed in (they appear offline, or signed in just
// now). MSNP13+ clients are told it arrived and read it over rsi; older
// ones get it from the courier, as a conversation.
func (s *session) Mailed(m directory.Mail) {
	s.mu.Lock()
	online := s.online
	s.mu.Unlock()
	if !online {
		return // the first CHG tells of every message waiting
	}
	if !s.dialect.OIM {
		if c := s.srv.cfg.Offline; c != nil {
			c.Deliver(s.emailOf())
		}
		return
	}
	payload := "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsoimnotification; charset=UTF-8\r\n\r\n" +
		"Mail-Data: " + oim.NewMailData(m) + "\r\n"
	s.send(msnp.Notice("MSG", "Hotmail", "Hotmail").WithPayload([]byte(payload)))
}

// mailbox is where UUM leaves offline messages.
func (srv *Server) mailbox() *mailbox.Mailbox {
	if srv.cfg.Mailbox != nil {
		return srv.cfg.Mailbox
	}
	return mailbox.New(srv.cfg.Store, nil, srv.cfg.Log)
}
