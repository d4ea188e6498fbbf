package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/msnftp"
)

// legacyTransfer is an MSNFTP transfer: a text/x-msmsgsinvite invitation
// on the switchboard, then a direct TCP connection, which the receiver
// opens to a port the sender listens on.
type legacyTransfer struct {
	cl     *Client
	cv     *Conversation
	cookie string
	t      *Transfer
	f      File // sending

	ctx  context.Context // ends with the transfer
	stop context.CancelFunc

	mu      sync.Mutex
	timer   *time.Timer
	timeout error // what the timer ends the transfer with
	ended   bool
	w       io.Writer // receiving: where the accepted file goes
	agreed  bool      // the receiver accepted; the connection is being made
}

func (cl *Client) newLegacy(cv *Conversation, cookie string) *legacyTransfer {
	lt := &legacyTransfer{cl: cl, cv: cv, cookie: cookie}
	lt.ctx, lt.stop = context.WithCancel(cl.ctx)
	return lt
}

// register makes the transfer findable by its cookie and ends it after d
// unless something moves it on.
func (lt *legacyTransfer) register(d time.Duration) {
	ps := lt.cl.p2p
	ps.mu.Lock()
	ps.legacy[lt.cookie] = lt
	ps.mu.Unlock()
	lt.arm(d, fmt.Errorf("%w: the offer was not answered", ErrTransferTimeout))
}

func (lt *legacyTransfer) arm(d time.Duration, err error) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.ended {
		return
	}
	lt.timeout = err
	if lt.timer == nil {
		lt.timer = time.AfterFunc(d, lt.expire)
		return
	}
	lt.timer.Reset(d)
}

func (lt *legacyTransfer) expire() {
	lt.mu.Lock()
	err, ended := lt.timeout, lt.ended
	lt.mu.Unlock()
	if !ended {
		lt.invite(msnftp.NewCancel(lt.cookie, msnftp.CancelTimeout))
		lt.finish(err)
	}
}

// finish ends the transfer once.
func (lt *legacyTransfer) finish(err error) {
	if errors.Is(err, msnftp.ErrCancelled) {
		err = fmt.Errorf("%w by %s (%v)", ErrCancelled, lt.t.Peer, err)
	}
	lt.mu.Lock()
	lt.ended = true
	if lt.timer != nil {
		lt.timer.Stop()
	}
	lt.mu.Unlock()
	lt.stop()
	ps := lt.cl.p2p
	ps.mu.Lock()
	if ps.legacy[lt.cookie] == lt {
		delete(ps.legacy, lt.cookie)
	}
	ps.mu.Unlock()
	lt.t.end(err)
}

// invite sends an invitation message, in the background: the
// switchboard's read goroutine, which calls here, must not wait for its
// ACK.
func (lt *legacyTransfer) invite(f message.Fields) {
	lt.cl.spawn(func() {
		ctx, cancel := context.WithTimeout(lt.cl.ctx, lt.cl.cfg.RequestTimeout)
		defer cancel()
		if err := lt.cv.send(ctx, message.NewInvite(f).Bytes(), "A"); err != nil {
			lt.cl.log.Debug().Err(err).Str("cookie", lt.cookie).Msg("invitation message not sent")
		}
	})
}

// onInvitation handles a text/x-msmsgsinvite message. It reports false for
// a message that is not an invitation.
func (cv *Conversation) onInvitation(from string, m *message.Message) bool {
	inv, err := msnftp.ParseInvitation(m.Body)
	if err != nil {
		return false
	}
	cl := cv.cl
	ps := cl.p2p
	ps.mu.Lock()
	lt := ps.legacy[inv.Cookie]
	ps.mu.Unlock()
	switch inv.Command {
	case msnftp.CommandInvite:
		if lt != nil {
			return true
		}
		lt = cl.newLegacy(cv, inv.Cookie)
		if !inv.IsFileTransfer() {
			// NetMeeting, voice, games: nothing here runs them.
			lt.invite(msnftp.NewCancel(inv.Cookie, msnftp.CancelNotInstalled))
			return false
		}
		lt.t = cl.newTransfer(key(from), File{Name: inv.FileName, Size: inv.FileSize}, true, true, lt)
		lt.register(cl.cfg.OfferTimeout)
		cl.emit(&FileOffer{Conversation: cv, From: key(from), Transfer: lt.t})
	case msnftp.CommandAccept:
		if lt == nil {
			return true
		}
		if lt.t.Incoming {
			lt.connect(inv)
		} else {
			lt.listen()
		}
	case msnftp.CommandCancel:
		if lt == nil {
			return true
		}
		err := fmt.Errorf("%w by %s (%s)", ErrCancelled, from, inv.CancelCode)
		if inv.CancelCode == msnftp.CancelReject {
			err = fmt.Errorf("%w by %s", ErrDeclined, from)
		}
		lt.finish(err)
	}
	return true
}

// sendLegacyFile offers a file by invitation.
func (cl *Client) sendLegacyFile(ctx context.Context, to string, f File) (*Transfer, error) {
	cv, err := cl.Conversation(ctx, to)
	if err != nil {
		return nil, err
	}
	lt := cl.newLegacy(cv, msnftp.NewCookie())
	lt.f = f
	lt.t = cl.newTransfer(key(to), f, false, true, lt)
	ctx, cancel := cl.withTimeout(ctx)
	defer cancel()
	lt.register(cl.cfg.OfferTimeout)
	if err := cv.send(ctx, message.NewInvite(msnftp.NewInvite(lt.cookie, f.Name, f.Size)).Bytes(), "A"); err != nil {
		lt.finish(err)
		return nil, err
	}
	return lt.t, nil
}

// listen runs when the receiver accepted our file: listen, tell them
// where, and serve the file to the connection that comes.
func (lt *legacyTransfer) listen() {
	lt.mu.Lock()
	again := lt.agreed
	lt.agreed = true
	lt.mu.Unlock()
	if again || !lt.t.begin() {
		return
	}
	cl := lt.cl
	lt.arm(cl.cfg.TransferTimeout, fmt.Errorf("%w: %s did not connect", ErrTransferTimeout, lt.t.Peer))
	cl.spawn(func() {
		err := lt.serve()
		if err != nil && lt.ctx.Err() == nil {
			lt.invite(msnftp.NewCancel(lt.cookie, msnftp.CancelFailed))
		}
		lt.finish(err)
	})
}

func (lt *legacyTransfer) serve() error {
	cl := lt.cl
	sb, err := lt.cv.ensure(lt.ctx)
	if err != nil {
		return err
	}
	host := cl.cfg.FileTransferAddr
	if host == "" {
		// Where the switchboard reaches us is the best guess of where
		// the contact can.
		ip, _, _ := net.SplitHostPort(sb.nc.LocalAddr().String())
		host = net.JoinHostPort(ip, "0")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(lt.ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("client: listening for an MSNFTP transfer on %s: %w", host, err)
	}
	defer ln.Close()
	stop := context.AfterFunc(lt.ctx, func() { ln.Close() })
	defer stop()
	ip, port, _ := net.SplitHostPort(ln.Addr().String())
	if a := net.ParseIP(ip); a == nil || a.IsUnspecified() {
		ip, _, _ = net.SplitHostPort(sb.nc.LocalAddr().String())
	}
	p, _ := strconv.Atoi(port)
	auth := msnftp.NewCookie()
	lt.invite(msnftp.NewListening(lt.cookie, ip, p, auth))
	c, err := ln.Accept()
	if err != nil {
		if lt.ctx.Err() != nil {
			return lt.ctx.Err()
		}
		return err
	}
	defer c.Close()
	ln.Close()
	return msnftp.Send(lt.ctx, c, lt.t.Peer, auth, lt.f.Reader, lt.f.Size, lt.progress)
}

// progress reports bytes moved and keeps the transfer from timing out.
func (lt *legacyTransfer) progress(n int64) {
	lt.arm(lt.cl.cfg.TransferTimeout, ErrTransferTimeout)
	lt.t.progress(n)
}

// connect runs when the sender, after our acceptance, said where it
// listens: fetch the file from there.
func (lt *legacyTransfer) connect(inv msnftp.Invitation) {
	lt.mu.Lock()
	w, again := lt.w, lt.agreed
	lt.agreed = true
	lt.mu.Unlock()
	if w == nil || again || inv.IP == "" || inv.Port == 0 {
		return
	}
	cl := lt.cl
	lt.arm(cl.cfg.TransferTimeout, ErrTransferTimeout)
	cl.spawn(func() {
		var d net.Dialer
		ctx, cancel := context.WithTimeout(lt.ctx, cl.cfg.RequestTimeout)
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(inv.IP, strconv.Itoa(inv.Port)))
		cancel()
		if err != nil {
			lt.invite(msnftp.NewCancel(lt.cookie, msnftp.CancelFailed))
			lt.finish(fmt.Errorf("client: connecting to %s for the file: %w", lt.t.Peer, err))
			return
		}
		defer c.Close()
		lt.finish(msnftp.Receive(lt.ctx, c, key(cl.Self().Email), inv.AuthCookie, w, lt.t.Size, lt.progress))
	})
}

func (lt *legacyTransfer) accept(w io.Writer) error {
	lt.mu.Lock()
	lt.w = w
	lt.mu.Unlock()
	lt.arm(lt.cl.cfg.TransferTimeout, fmt.Errorf("%w: %s did not say where to connect", ErrTransferTimeout, lt.t.Peer))
	lt.invite(msnftp.NewAccept(lt.cookie))
	return nil
}

func (lt *legacyTransfer) decline() error {
	lt.invite(msnftp.NewCancel(lt.cookie, msnftp.CancelReject))
	lt.finish(fmt.Errorf("%w by you", ErrDeclined))
	return nil
}

func (lt *legacyTransfer) cancel() {
	lt.mu.Lock()
	connected := lt.agreed
	lt.mu.Unlock()
	if !connected {
		lt.invite(msnftp.NewCancel(lt.cookie, msnftp.CancelUser))
	}
	lt.finish(fmt.Errorf("%w by you", ErrCancelled))
}
