package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Errors of transfers and object fetches.
var (
	// ErrDeclined means the contact declined a file, or the owner of an
	// object would not send it.
	ErrDeclined = errors.New("client: declined")
	// ErrCancelled means a transfer was cancelled, by Cancel or by the
	// contact.
	ErrCancelled = errors.New("client: transfer cancelled")
	// ErrTransferTimeout means a transfer made no progress for
	// Config.TransferTimeout, or an offer was not answered within
	// Config.OfferTimeout.
	ErrTransferTimeout = errors.New("client: transfer timed out")
	// ErrTransferState means Accept or Decline was called on a transfer
	// that is not an offer waiting for an answer.
	ErrTransferState = errors.New("client: the transfer is not waiting for an answer")
)

// File is a file to send: its name as the contact sees it, its size, and
// where its bytes come from. Preview, when set, is a small PNG the
// contact's client shows with the offer (MSN Messenger 6 and later).
type File struct {
	Name    string
	Size    int64
	Reader  io.Reader
	Preview []byte
}

// Transfer is one file going to or coming from a contact. An incoming one
// arrives in a FileOffer event and waits for Accept or Decline; an
// outgoing one (SendFile) waits for the contact's answer. Progress,
// TransferProgress events and Done follow it; Err says how it ended.
type Transfer struct {
	Peer     string // the contact's e-mail address
	Name     string
	Size     int64
	Preview  []byte // the PNG preview the sender attached, if any
	Incoming bool
	// Legacy is set for an MSNFTP transfer (text/x-msmsgsinvite and a
	// direct TCP connection), which clients without P2P use.
	Legacy bool

	cl *Client
	b  transferBackend

	mu        sync.Mutex
	state     transferState
	done      int64
	err       error
	finished  chan struct{}
	lastEvent time.Time
}

type transferState int

const (
	transferOffered transferState = iota // waiting for the receiver's answer
	transferActive
	transferEnded
)

// transferBackend is the protocol under a Transfer: P2P or MSNFTP.
type transferBackend interface {
	accept(w io.Writer) error
	decline() error
	cancel()
}

func (cl *Client) newTransfer(peer string, f File, incoming, legacy bool, b transferBackend) *Transfer {
	return &Transfer{
		Peer: peer, Name: f.Name, Size: f.Size, Preview: f.Preview, Incoming: incoming, Legacy: legacy,
		cl: cl, b: b, finished: make(chan struct{}),
	}
}

// String names the transfer for logs and people: `"photo.jpg" (2.1 MB) from bob@example.com`.
func (t *Transfer) String() string {
	dir := "to"
	if t.Incoming {
		dir = "from"
	}
	return fmt.Sprintf("%q (%s) %s %s", t.Name, FormatSize(t.Size), dir, t.Peer)
}

// Accept takes an offered file: its bytes are written to w as they arrive.
// It returns at once; Done, Wait and the events follow the transfer. w is
// not closed.
func (t *Transfer) Accept(w io.Writer) error {
	if !t.Incoming || !t.begin() {
		return ErrTransferState
	}
	if err := t.b.accept(w); err != nil {
		t.end(err)
		return err
	}
	return nil
}

// Decline refuses an offered file.
func (t *Transfer) Decline() error {
	if !t.Incoming || !t.begin() {
		return ErrTransferState
	}
	err := t.b.decline()
	t.end(fmt.Errorf("%w by you", ErrDeclined))
	return err
}

// Cancel stops the transfer, whatever its state, and tells the contact.
// It is a no-op once the transfer ended.
func (t *Transfer) Cancel() {
	t.mu.Lock()
	ended := t.state == transferEnded
	t.mu.Unlock()
	if !ended {
		t.b.cancel()
		t.end(fmt.Errorf("%w by you", ErrCancelled))
	}
}

// Progress returns the bytes moved so far and the size of the file.
func (t *Transfer) Progress() (done, total int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done, t.Size
}

// Done is closed when the transfer has ended.
func (t *Transfer) Done() <-chan struct{} { return t.finished }

// Err returns why the transfer ended: nil when the file arrived whole,
// ErrDeclined, ErrCancelled (by you or the contact), ErrTransferTimeout,
// or the error of the connection or the io.Writer/io.Reader. It is nil
// while the transfer goes on.
func (t *Transfer) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Wait waits for the transfer to end and returns Err.
func (t *Transfer) Wait(ctx context.Context) error {
	select {
	case <-t.finished:
		return t.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// begin moves an offered transfer to active; it reports false for any
// other state.
func (t *Transfer) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != transferOffered {
		return false
	}
	t.state = transferActive
	return true
}

// progressEvery spaces TransferProgress events.
const progressEvery = 250 * time.Millisecond

// progress records that done bytes have moved, and tells the consumer at
// most every progressEvery.
func (t *Transfer) progress(done int64) {
	t.mu.Lock()
	if t.state == transferEnded {
		t.mu.Unlock()
		return
	}
	t.done = done
	now := time.Now()
	tell := now.Sub(t.lastEvent) >= progressEvery
	if tell {
		t.lastEvent = now
	}
	t.mu.Unlock()
	if tell {
		t.cl.emit(&TransferProgress{Transfer: t, Done: done, Total: t.Size})
	}
}

// end finishes the transfer once; later calls do nothing. It reports
// whether this call ended it.
func (t *Transfer) end(err error) bool {
	t.mu.Lock()
	if t.state == transferEnded {
		t.mu.Unlock()
		return false
	}
	t.state = transferEnded
	t.err = err
	if err == nil {
		t.done = t.Size
	}
	t.mu.Unlock()
	close(t.finished)
	t.cl.emit(&TransferEnded{Transfer: t, Err: err})
	return true
}

// FormatSize writes a byte count for people: "532 bytes", "12.5 KB",
// "2.1 MB".
func FormatSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}
