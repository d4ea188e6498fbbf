package sdk

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	botpb "github.com/nudge-im/nudge/plugins/proto"
)

// Host is the bot host, as the bot calls it. Every call needs a permission
// the operator granted the bot in nudge.yaml (bots[].permissions); without
// it the call returns an error matching ErrPermissionDenied.
type Host interface {
	// Send writes in a conversation (permission "send").
	Send(ctx context.Context, conversation, text string, f *Format) error
	// SendTo writes to email in a one-to-one conversation, opening one if
	// needed, and returns its name (permission "send"). Someone offline is
	// left the text as an offline message when the bot signs in at MSNP13+
	// (the default), and the name is ""; at MSNP12 and before they must
	// be online.
	SendTo(ctx context.Context, email, text string, f *Format) (conversation string, err error)
	// SendTyping shows the bot typing (permission "send").
	SendTyping(ctx context.Context, conversation string) error
	// SendNudge nudges a conversation (permission "send").
	SendNudge(ctx context.Context, conversation string) error
	// Invite asks email into a conversation (permission "invite").
	Invite(ctx context.Context, conversation, email string) error

	// SetStatus, SetFriendlyName and SetPersonalMessage change what others
	// see of the bot (permission "presence").
	SetStatus(ctx context.Context, s Status) error
	SetFriendlyName(ctx context.Context, name string) error
	SetPersonalMessage(ctx context.Context, text string) error
	// SetDisplayPicture shows a picture (PNG, JPEG or GIF, at most 1 MiB;
	// MSN clients show 96×96) beside the bot's name; nil removes it
	// (permission "presence").
	SetDisplayPicture(ctx context.Context, picture []byte) error

	// Contacts returns the bot's contact list; AcceptContact adds someone
	// to it and allows them; BlockContact blocks them (permission
	// "contacts").
	Contacts(ctx context.Context) ([]Contact, error)
	AcceptContact(ctx context.Context, email string) error
	BlockContact(ctx context.Context, email string) error

	// The bot's key-value store, kept in the service's database (permission
	// "kv"). Keys are 1 to 256 bytes of UTF-8, values at most 64 KiB.
	// KVGet reports found=false for a missing key; KVList returns the keys
	// with a prefix, sorted.
	KVGet(ctx context.Context, key string) (value []byte, found bool, err error)
	KVSet(ctx context.Context, key string, value []byte) error
	KVDelete(ctx context.Context, key string) error
	KVList(ctx context.Context, prefix string) ([]string, error)

	// Log writes a line to the host's log (permission "log"). Env.Log
	// needs no permission: it writes to the bot's standard error, which
	// the host reads.
	Log(ctx context.Context, level LogLevel, msg string, fields map[string]string) error
}

// LogLevel is the level of a Host.Log line.
type LogLevel int

// The levels.
const (
	LevelDebug LogLevel = iota + 1
	LevelInfo
	LevelWarn
	LevelError
)

// Errors from the Host, for errors.Is.
var (
	// ErrPermissionDenied: the bot's configuration does not allow the call.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrNotFound: no such conversation.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the person is offline, or the bot's MSN session is
	// down for a moment.
	ErrUnavailable = errors.New("unavailable")
	// ErrInvalid: an argument the host refuses (an empty key, a value too
	// large, offline as a status).
	ErrInvalid = errors.New("invalid argument")
)

// HostError is an error the host answered, with its gRPC code.
type HostError struct {
	Call    string // e.g. "SendMessage"
	Code    codes.Code
	Message string
}

func (e *HostError) Error() string { return fmt.Sprintf("host %s: %s", e.Call, e.Message) }

// Is maps the gRPC code to the package's sentinel errors.
func (e *HostError) Is(target error) bool {
	switch target {
	case ErrPermissionDenied:
		return e.Code == codes.PermissionDenied
	case ErrNotFound:
		return e.Code == codes.NotFound
	case ErrUnavailable:
		return e.Code == codes.Unavailable || e.Code == codes.FailedPrecondition
	case ErrInvalid:
		return e.Code == codes.InvalidArgument || e.Code == codes.ResourceExhausted
	}
	return false
}

func hostErr(call string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("host %s: %w", call, err)
	}
	return &HostError{Call: call, Code: st.Code(), Message: st.Message()}
}

// grpcHost is the Host over the gRPC connection the broker gave.
type grpcHost struct {
	c botpb.HostClient
}

func (h *grpcHost) Send(ctx context.Context, conversation, text string, f *Format) error {
	_, err := h.c.SendMessage(ctx, &botpb.SendMessageRequest{
		Target: &botpb.Target{ConversationId: conversation}, Text: text, Format: formatToPB(f)})
	return hostErr("SendMessage", err)
}

func (h *grpcHost) SendTo(ctx context.Context, email, text string, f *Format) (string, error) {
	r, err := h.c.SendMessage(ctx, &botpb.SendMessageRequest{
		Target: &botpb.Target{Email: email}, Text: text, Format: formatToPB(f)})
	if err != nil {
		return "", hostErr("SendMessage", err)
	}
	return r.GetConversationId(), nil
}

func (h *grpcHost) SendTyping(ctx context.Context, conversation string) error {
	_, err := h.c.SendTyping(ctx, &botpb.Target{ConversationId: conversation})
	return hostErr("SendTyping", err)
}

func (h *grpcHost) SendNudge(ctx context.Context, conversation string) error {
	_, err := h.c.SendNudge(ctx, &botpb.Target{ConversationId: conversation})
	return hostErr("SendNudge", err)
}

func (h *grpcHost) Invite(ctx context.Context, conversation, email string) error {
	_, err := h.c.Invite(ctx, &botpb.InviteRequest{ConversationId: conversation, Email: email})
	return hostErr("Invite", err)
}

func (h *grpcHost) SetStatus(ctx context.Context, s Status) error {
	_, err := h.c.SetStatus(ctx, &botpb.SetStatusRequest{Status: statusToPB(s)})
	return hostErr("SetStatus", err)
}

func (h *grpcHost) SetFriendlyName(ctx context.Context, name string) error {
	_, err := h.c.SetFriendlyName(ctx, &botpb.SetFriendlyNameRequest{FriendlyName: name})
	return hostErr("SetFriendlyName", err)
}

func (h *grpcHost) SetPersonalMessage(ctx context.Context, text string) error {
	_, err := h.c.SetPersonalMessage(ctx, &botpb.SetPersonalMessageRequest{PersonalMessage: text})
	return hostErr("SetPersonalMessage", err)
}

func (h *grpcHost) SetDisplayPicture(ctx context.Context, picture []byte) error {
	_, err := h.c.SetDisplayPicture(ctx, &botpb.SetDisplayPictureRequest{Picture: picture})
	return hostErr("SetDisplayPicture", err)
}

func (h *grpcHost) Contacts(ctx context.Context) ([]Contact, error) {
	r, err := h.c.ListContacts(ctx, &botpb.ListContactsRequest{})
	if err != nil {
		return nil, hostErr("ListContacts", err)
	}
	out := make([]Contact, 0, len(r.GetContacts()))
	for _, c := range r.GetContacts() {
		out = append(out, contactFromPB(c))
	}
	return out, nil
}

func (h *grpcHost) AcceptContact(ctx context.Context, email string) error {
	_, err := h.c.AcceptContact(ctx, &botpb.ContactRequest{Email: email})
	return hostErr("AcceptContact", err)
}

func (h *grpcHost) BlockContact(ctx context.Context, email string) error {
	_, err := h.c.BlockContact(ctx, &botpb.ContactRequest{Email: email})
	return hostErr("BlockContact", err)
}

func (h *grpcHost) KVGet(ctx context.Context, key string) ([]byte, bool, error) {
	r, err := h.c.KVGet(ctx, &botpb.KVGetRequest{Key: key})
	if err != nil {
		return nil, false, hostErr("KVGet", err)
	}
	if !r.GetFound() {
		return nil, false, nil
	}
	v := r.GetValue()
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

func (h *grpcHost) KVSet(ctx context.Context, key string, value []byte) error {
	_, err := h.c.KVSet(ctx, &botpb.KVSetRequest{Key: key, Value: value})
	return hostErr("KVSet", err)
}

func (h *grpcHost) KVDelete(ctx context.Context, key string) error {
	_, err := h.c.KVDelete(ctx, &botpb.KVDeleteRequest{Key: key})
	return hostErr("KVDelete", err)
}

func (h *grpcHost) KVList(ctx context.Context, prefix string) ([]string, error) {
	r, err := h.c.KVList(ctx, &botpb.KVListRequest{Prefix: prefix})
	if err != nil {
		return nil, hostErr("KVList", err)
	}
	if r.GetKeys() == nil {
		return []string{}, nil
	}
	return r.GetKeys(), nil
}

func (h *grpcHost) Log(ctx context.Context, level LogLevel, msg string, fields map[string]string) error {
	_, err := h.c.Log(ctx, &botpb.LogRequest{Level: botpb.LogLevel(level), Message: msg, Fields: fields})
	return hostErr("Log", err)
}
