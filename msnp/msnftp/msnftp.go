// Package msnftp speaks the file transfer of MSN Messenger 1 to 5 (MSNP2–8
// and clients without P2P): an invitation (text/x-msmsgsinvite) on the
// switchboard, then a direct TCP connection on which the receiver asks for
// the file and the sender sends it in blocks.
//
// On the switchboard (Invitation, ParseInvitation):
//
//	sender   Invitation-Command: INVITE, Application-GUID, Invitation-Cookie,
//	         Application-File, Application-FileSize
//	receiver Invitation-Command: ACCEPT (or CANCEL with Cancel-Code REJECT)
//	sender   Invitation-Command: ACCEPT with IP-Address, Port and AuthCookie
//	         of a port it listens on
//
// On the connection (Send, Receive; CRLF lines, no transaction ids):
//
//	receiver VER MSNFTP               sender VER MSNFTP
//	receiver USR <handle> <cookie>     sender FIL <size>
//	receiver TFR                       sender blocks: 0x00, length (2 bytes,
//	                                          little-endian, ≤ 2045), data
//	receiver BYE 16777989
//
// A receiver cancels with CCL; a block header whose first byte is not 0 is
// the sender cancelling. Completion is decided by the byte count, never by
// an end marker, on which clients disagree.
package msnftp

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nudge-im/nudge/msnp/message"
)

// AppGUID is the Application-GUID of a file transfer invitation, with the
// lower-case "11d3" clients compare exactly.
const AppGUID = "{5D3E02AB-6190-11d3-BBBB-00C04F795683}"

// Invitation commands and cancel codes.
const (
	CommandInvite = "INVITE"
	CommandAccept = "ACCEPT"
	CommandCancel = "CANCEL"

	CancelReject       = "REJECT"               // declined
	CancelNotInstalled = "REJECT_NOT_INSTALLED" // unknown application
	CancelTimeout      = "TIMEOUT"
	CancelFTTimeout    = "FTTIMEOUT" // nobody connected
	CancelFailed       = "FAIL"
	CancelUser         = "USER_CANCEL"
)

// Invitation is the body of a text/x-msmsgsinvite message. Fields keeps
// every line as it came, for applications other than file transfer.
type Invitation struct {
	Command    string // Invitation-Command
	Cookie     string // Invitation-Cookie
	AppName    string // Application-Name
	AppGUID    string // Application-GUID
	FileName   string // Application-File
	FileSize   int64  // Application-FileSize
	IP         string // IP-Address
	Port       int    // Port
	AuthCookie string // AuthCookie
	CancelCode string // Cancel-Code
	Fields     message.Fields
}

// ErrInvitation is returned for an invitation without command or cookie.
var ErrInvitation = errors.New("msnftp: invitation without Invitation-Command or Invitation-Cookie")

// ParseInvitation reads an invitation body. Invitation-Command and
// Invitation-Cookie are required; the other fields may be missing, and
// unknown ones are kept in Fields only.
func ParseInvitation(body []byte) (Invitation, error) {
	f, err := message.ParseFields(body)
	if err != nil {
		return Invitation{}, err
	}
	inv := Invitation{
		Command:    strings.ToUpper(f.Get("Invitation-Command")),
		Cookie:     f.Get("Invitation-Cookie"),
		AppName:    f.Get("Application-Name"),
		AppGUID:    f.Get("Application-GUID"),
		FileName:   f.Get("Application-File"),
		IP:         f.Get("IP-Address"),
		AuthCookie: f.Get("AuthCookie"),
		CancelCode: f.Get("Cancel-Code"),
		Fields:     f,
	}
	if inv.Command == "" || inv.Cookie == "" {
		return Invitation{}, ErrInvitation
	}
	inv.FileSize, _ = strconv.ParseInt(f.Get("Application-FileSize"), 10, 64)
	inv.Port, _ = strconv.Atoi(f.Get("Port"))
	return inv, nil
}

// IsFileTransfer reports whether the invitation is for a file transfer.
func (inv Invitation) IsFileTransfer() bool { return strings.EqualFold(inv.AppGUID, AppGUID) }

// NewInvite is the sender's invitation for a file.
func NewInvite(cookie, name string, size int64) message.Fields {
	return message.Fields{
		{Name: "Application-Name", Value: "File Transfer"},
		{Name: "Application-GUID", Value: AppGUID},
		{Name: "Invitation-Command", Value: CommandInvite},
		{Name: "Invitation-Cookie", Value: cookie},
		{Name: "Application-File", Value: name},
		{Name: "Application-FileSize", Value: strconv.FormatInt(size, 10)},
	}
}

// NewAccept is the receiver's acceptance of the invitation cookie.
func NewAccept(cookie string) message.Fields {
	return message.Fields{
		{Name: "Invitation-Command", Value: CommandAccept},
		{Name: "Invitation-Cookie", Value: cookie},
		{Name: "Launch-Application", Value: "FALSE"},
		{Name: "Request-Data", Value: "IP-Address:"},
	}
}

// NewListening is the sender's answer to an acceptance: where to connect
// and the cookie to show.
func NewListening(cookie, ip string, port int, authCookie string) message.Fields {
	return message.Fields{
		{Name: "Invitation-Command", Value: CommandAccept},
		{Name: "Invitation-Cookie", Value: cookie},
		{Name: "IP-Address", Value: ip},
		{Name: "Port", Value: strconv.Itoa(port)},
		{Name: "AuthCookie", Value: authCookie},
		{Name: "Launch-Application", Value: "FALSE"},
		{Name: "Request-Data", Value: "IP-Address:"},
	}
}

// NewCancel cancels the invitation cookie with a Cancel-Code.
func NewCancel(cookie, code string) message.Fields {
	return message.Fields{
		{Name: "Invitation-Command", Value: CommandCancel},
		{Name: "Invitation-Cookie", Value: cookie},
		{Name: "Cancel-Code", Value: code},
	}
}

// NewCookie returns a random invitation or authentication cookie: a
// decimal number, as clients write them.
func NewCookie() string {
	var b [4]byte
	rand.Read(b[:])
	return strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[:])&0x7fffffff|1), 10)
}

// BYE codes.
const (
	ByeSent      = 16777987 // 0x01000303
	ByeReceived  = 16777989 // 0x01000305: the receiver got the whole file
	ByeDiskFull  = 2147942405
	ByeCancelled = 2164261682 // 0x81000332: the receiver cancelled
)

// MaxBlock is the largest data block; aMSN expects no more.
const MaxBlock = 2045

// Errors of Send and Receive.
var (
	ErrAuth      = errors.New("msnftp: wrong handle or cookie")
	ErrCancelled = errors.New("msnftp: the other side cancelled")
	ErrProtocol  = errors.New("msnftp: unexpected data from the other side")
)

const maxLine = 512

// session is one end of an MSNFTP connection.
type session struct {
	c net.Conn
	r *bufio.Reader
}

func newSession(ctx context.Context, c net.Conn) (*session, func()) {
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return &session{c: c, r: bufio.NewReaderSize(c, 4096)}, func() { stop() }
}

func (s *session) line() (string, []string, error) {
	var b []byte
	for {
		chunk, more, err := s.r.ReadLine()
		if err != nil {
			return "", nil, err
		}
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", nil, fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, maxLine)
		}
		if !more {
			break
		}
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "", nil, fmt.Errorf("%w: empty line", ErrProtocol)
	}
	return f[0], f[1:], nil
}

func (s *session) expect(name string) ([]string, error) {
	cmd, args, err := s.line()
	if err != nil {
		return nil, err
	}
	if cmd == "CCL" {
		return nil, ErrCancelled
	}
	if cmd != name {
		return nil, fmt.Errorf("%w: %s where %s was due", ErrProtocol, cmd, name)
	}
	return args, nil
}

func (s *session) write(line string) error {
	_, err := io.WriteString(s.c, line+"\r\n")
	return err
}

// Send serves one file on c, the connection the receiver opened (or that
// the sender opened to a receiver that offered to listen): it checks the
// receiver's handle and cookie, announces size, sends size bytes from r
// in blocks and waits for the receiver's BYE. progress, when set, is
// called with the bytes sent so far. Cancelling ctx stops the transfer
// with a cancel block.
func Send(ctx context.Context, c net.Conn, handle, cookie string, r io.Reader, size int64, progress func(int64)) error {
	s, stop := newSession(ctx, c)
	defer stop()
	if _, err := s.expect("VER"); err != nil {
		return ctxErr(ctx, err)
	}
	if err := s.write("VER MSNFTP"); err != nil {
		return ctxErr(ctx, err)
	}
	args, err := s.expect("USR")
	if err != nil {
		return ctxErr(ctx, err)
	}
	if len(args) != 2 || !strings.EqualFold(args[0], handle) || args[1] != cookie {
		return ErrAuth
	}
	if err := s.write("FIL " + strconv.FormatInt(size, 10)); err != nil {
		return ctxErr(ctx, err)
	}
	if _, err := s.expect("TFR"); err != nil {
		return ctxErr(ctx, err)
	}
	buf := make([]byte, 3+MaxBlock)
	var sent int64
	for sent < size {
		n := int(min(int64(MaxBlock), size-sent))
		if _, err := io.ReadFull(r, buf[3:3+n]); err != nil {
			s.c.Write([]byte{1, 0, 0})
			return fmt.Errorf("msnftp: reading the file: %w", err)
		}
		buf[0], buf[1], buf[2] = 0, byte(n), byte(n>>8)
		if _, err := s.c.Write(buf[:3+n]); err != nil {
			if ctx.Err() != nil {
				s.c.SetDeadline(time.Now().Add(time.Second))
				s.c.Write([]byte{1, 0, 0})
				return ctx.Err()
			}
			// The receiver went away: it cancelled, or its side failed.
			return fmt.Errorf("%w: %v", ErrCancelled, err)
		}
		sent += int64(n)
		if progress != nil {
			progress(sent)
		}
	}
	cmd, args, err := s.line()
	switch {
	case err != nil:
		return ctxErr(ctx, err)
	case cmd == "CCL":
		return ErrCancelled
	case cmd != "BYE":
		return fmt.Errorf("%w: %s after the data", ErrProtocol, cmd)
	case len(args) > 0 && args[0] != strconv.Itoa(ByeReceived) && args[0] != strconv.Itoa(ByeSent):
		return fmt.Errorf("msnftp: the receiver ended with BYE %s", args[0])
	}
	return nil
}

// Receive fetches one file on c, the connection to the sender: it shows
// handle and cookie, checks that the announced size is size, writes the
// data to w and says BYE. progress, when set, is called with the bytes
// received so far. Cancelling ctx sends CCL.
func Receive(ctx context.Context, c net.Conn, handle, cookie string, w io.Writer, size int64, progress func(int64)) error {
	s, stop := newSession(ctx, c)
	defer stop()
	cancel := func(err error) error {
		c.SetDeadline(time.Now().Add(time.Second))
		s.write("CCL")
		return err
	}
	if err := s.write("VER MSNFTP"); err != nil {
		return ctxErr(ctx, err)
	}
	if _, err := s.expect("VER"); err != nil {
		return ctxErr(ctx, err)
	}
	if err := s.write("USR " + handle + " " + cookie); err != nil {
		return ctxErr(ctx, err)
	}
	args, err := s.expect("FIL")
	if err != nil {
		return ctxErr(ctx, err)
	}
	if len(args) != 1 || args[0] != strconv.FormatInt(size, 10) {
		return cancel(fmt.Errorf("%w: FIL %s for a file of %d bytes", ErrProtocol, strings.Join(args, " "), size))
	}
	if err := s.write("TFR"); err != nil {
		return ctxErr(ctx, err)
	}
	buf := make([]byte, MaxBlock)
	var got int64
	var hdr [3]byte
	for got < size {
		if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
			return ctxErrCancel(ctx, err, cancel)
		}
		if hdr[0] != 0 {
			return ErrCancelled
		}
		n := int(hdr[1]) | int(hdr[2])<<8
		if n > MaxBlock || int64(n) > size-got {
			return cancel(fmt.Errorf("%w: block of %d bytes with %d to come", ErrProtocol, n, size-got))
		}
		if _, err := io.ReadFull(s.r, buf[:n]); err != nil {
			return ctxErrCancel(ctx, err, cancel)
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return cancel(fmt.Errorf("msnftp: writing the file: %w", err))
		}
		got += int64(n)
		if progress != nil {
			progress(got)
		}
	}
	return s.write("BYE " + strconv.Itoa(ByeReceived))
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the connection closed", ErrCancelled)
	}
	return err
}

func ctxErrCancel(ctx context.Context, err error, cancel func(error) error) error {
	if ctx.Err() != nil {
		return cancel(ctx.Err())
	}
	return ctxErr(ctx, err)
}
