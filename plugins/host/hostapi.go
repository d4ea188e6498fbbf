package host

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nudge-im/nudge/core/adminapi"
	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/client"
	botpb "github.com/nudge-im/nudge/plugins/proto"
)

// Limits on what a bot may hand the host in one call.
const (
	maxText      = 16 << 10 // a message; the client splits it into switchboard-sized pieces
	maxName      = 387      // a friendly name, as the store allows
	maxPicture   = 1 << 20  // a display picture
	maxLogText   = 8 << 10
	maxLogFields = 32
)

// hostAPI is the Host service of one bot. The interceptor has checked the
// permission before any method runs.
type hostAPI struct {
	botpb.UnimplementedHostServer
	b *bot
}

func (a *hostAPI) session() (*session, error) {
	s := a.b.session()
	if s == nil {
		return nil, status.Error(codes.Unavailable, "the bot is not signed in to MSN right now")
	}
	return s, nil
}

// clientErr maps an error of the MSN client to a status the bot can act on.
func clientErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, msnp.ErrNotOnline):
		return status.Error(codes.Unavailable, "that person is offline or does not accept messages")
	case errors.Is(err, msnp.ErrNoSuchUser), errors.Is(err, msnp.ErrInvalidPrincipal):
		return status.Error(codes.NotFound, "no such MSN account")
	case errors.Is(err, client.ErrNotSupported):
		return status.Error(codes.FailedPrecondition, "the MSN server's protocol version does not support that")
	case errors.Is(err, client.ErrMessageTooLarge):
		return status.Error(codes.InvalidArgument, "message too large")
	case errors.Is(err, client.ErrNotDelivered), errors.Is(err, client.ErrConversationClosed):
		return status.Error(codes.Unavailable, "not delivered: nobody is left in the conversation")
	case errors.Is(err, client.ErrClosed), errors.Is(err, client.ErrConnectionLost), errors.Is(err, client.ErrPingTimeout):
		return status.Error(codes.Unavailable, "the bot's MSN session is down for a moment")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "MSN did not answer in time")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "cancelled")
	}
	var code msnp.ErrorCode
	if errors.As(err, &code) {
		return status.Errorf(codes.FailedPrecondition, "the MSN server refused: %v", err)
	}
	return status.Error(codes.Unavailable, err.Error())
}

// target finds or opens the conversation a call names.
func (a *hostAPI) target(ctx context.Context, s *session, t *botpb.Target) (*client.Conversation, string, error) {
	switch {
	case t.GetConversationId() != "":
		cv, ok := s.conv(t.GetConversationId())
		if !ok {
			return nil, "", status.Errorf(codes.NotFound, "no conversation %q", t.GetConversationId())
		}
		return cv, t.GetConversationId(), nil
	case t.GetEmail() != "":
		cv, err := s.c.Conversation(ctx, t.GetEmail())
		if err != nil {
			return nil, "", clientErr(err)
		}
		return cv, s.convID(cv), nil
	}
	return nil, "", status.Error(codes.InvalidArgument, "name a conversation_id or an email")
}

func (a *hostAPI) SendMessage(ctx context.Context, req *botpb.SendMessageRequest) (*botpb.SendMessageResponse, error) {
	if req.GetText() == "" {
		return nil, status.Error(codes.InvalidArgument, "empty message")
	}
	if len(req.GetText()) > maxText || !utf8.ValidString(req.GetText()) {
		return nil, status.Errorf(codes.InvalidArgument, "a message is at most %d bytes of UTF-8", maxText)
	}
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	if t := req.GetTarget(); t.GetConversationId() == "" && t.GetEmail() != "" {
		// Someone offline is left the text as an offline message
		// (MSNP13+): there is no conversation to name.
		if _, err := s.c.Conversation(ctx, t.GetEmail()); err != nil {
			if err := s.c.LeaveIfOffline(ctx, t.GetEmail(), req.GetText(), err); err != nil {
				return nil, clientErr(err)
			}
			return &botpb.SendMessageResponse{}, nil
		}
	}
	cv, id, err := a.target(ctx, s, req.GetTarget())
	if err != nil {
		return nil, err
	}
	if err := cv.SendText(ctx, req.GetText(), formatFromPB(req.GetFormat())); err != nil {
		return nil, clientErr(err)
	}
	return &botpb.SendMessageResponse{ConversationId: id}, nil
}

func (a *hostAPI) SendTyping(ctx context.Context, t *botpb.Target) (*botpb.Empty, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	cv, _, err := a.target(ctx, s, t)
	if err != nil {
		return nil, err
	}
	return &botpb.Empty{}, clientErr(cv.SendTyping(ctx))
}

func (a *hostAPI) SendNudge(ctx context.Context, t *botpb.Target) (*botpb.Empty, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	cv, _, err := a.target(ctx, s, t)
	if err != nil {
		return nil, err
	}
	return &botpb.Empty{}, clientErr(cv.SendNudge(ctx))
}

func (a *hostAPI) Invite(ctx context.Context, req *botpb.InviteRequest) (*botpb.Empty, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	cv, ok := s.conv(req.GetConversationId())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no conversation %q", req.GetConversationId())
	}
	if req.GetEmail() == "" {
		return nil, status.Error(codes.InvalidArgument, "whom to invite?")
	}
	return &botpb.Empty{}, clientErr(cv.Invite(ctx, req.GetEmail()))
}

func (a *hostAPI) SetStatus(ctx context.Context, req *botpb.SetStatusRequest) (*botpb.Empty, error) {
	st, ok := statusFromPB(req.GetStatus())
	if !ok || st == client.Offline {
		return nil, status.Error(codes.InvalidArgument, "not a status one can set (offline is not; hidden appears offline)")
	}
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	return &botpb.Empty{}, clientErr(s.c.SetStatus(ctx, st))
}

func (a *hostAPI) SetFriendlyName(ctx context.Context, req *botpb.SetFriendlyNameRequest) (*botpb.Empty, error) {
	name := req.GetFriendlyName()
	if name == "" || len(name) > maxName || !utf8.ValidString(name) {
		return nil, status.Errorf(codes.InvalidArgument, "a friendly name is 1 to %d bytes of UTF-8", maxName)
	}
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	return &botpb.Empty{}, clientErr(s.c.SetFriendlyName(ctx, name))
}

func (a *hostAPI) SetPersonalMessage(ctx context.Context, req *botpb.SetPersonalMessageRequest) (*botpb.Empty, error) {
	pm := req.GetPersonalMessage()
	if len(pm) > 1024 || !utf8.ValidString(pm) {
		return nil, status.Error(codes.InvalidArgument, "a personal message is at most 1024 bytes of UTF-8")
	}
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	return &botpb.Empty{}, clientErr(s.c.SetPersonalMessage(ctx, pm))
}

func (a *hostAPI) SetDisplayPicture(ctx context.Context, req *botpb.SetDisplayPictureRequest) (*botpb.Empty, error) {
	pic := req.GetPicture()
	if len(pic) > maxPicture {
		return nil, status.Errorf(codes.InvalidArgument, "a display picture is at most %d bytes", maxPicture)
	}
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	if len(pic) == 0 {
		pic = nil
	}
	return &botpb.Empty{}, clientErr(s.c.SetDisplayPicture(ctx, pic))
}

func (a *hostAPI) ListContacts(context.Context, *botpb.ListContactsRequest) (*botpb.ListContactsResponse, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	cs := s.c.Contacts()
	out := make([]*botpb.Contact, 0, len(cs))
	for _, c := range cs {
		out = append(out, contactToPB(c))
	}
	return &botpb.ListContactsResponse{Contacts: out}, nil
}

func (a *hostAPI) AcceptContact(ctx context.Context, req *botpb.ContactRequest) (*botpb.Empty, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	// Accepting someone blocked unblocks them first: AddContact leaves
	// a blocked person blocked.
	if c, ok := s.c.Contact(req.GetEmail()); ok && c.Lists.Has(client.Block) {
		if err := s.c.Allow(ctx, req.GetEmail()); err != nil {
			return nil, clientErr(err)
		}
	}
	return &botpb.Empty{}, clientErr(s.c.AddContact(ctx, req.GetEmail()))
}

func (a *hostAPI) BlockContact(ctx context.Context, req *botpb.ContactRequest) (*botpb.Empty, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	return &botpb.Empty{}, clientErr(s.c.Block(ctx, req.GetEmail()))
}

// namespace is the bot's part of the service's key-value store.
func (a *hostAPI) namespace() string { return "bot:" + a.b.cfg.Name }

// kvErr maps an admin API error to a status.
func kvErr(err error) error {
	var ae *adminapi.Error
	if errors.As(err, &ae) {
		switch ae.Status {
		case 400, 413:
			return status.Error(codes.InvalidArgument, ae.Message)
		case 507:
			return status.Error(codes.ResourceExhausted, ae.Message)
		}
	}
	return status.Errorf(codes.Unavailable, "the key-value store is unreachable: %v", err)
}

func (a *hostAPI) KVGet(ctx context.Context, req *botpb.KVGetRequest) (*botpb.KVGetResponse, error) {
	v, err := a.b.h.cfg.Admin.KVGet(ctx, a.namespace(), req.GetKey())
	if errors.Is(err, adminapi.ErrNotFound) {
		return &botpb.KVGetResponse{}, nil
	}
	if err != nil {
		return nil, kvErr(err)
	}
	return &botpb.KVGetResponse{Value: v, Found: true}, nil
}

func (a *hostAPI) KVSet(ctx context.Context, req *botpb.KVSetRequest) (*botpb.Empty, error) {
	if err := a.b.h.cfg.Admin.KVSet(ctx, a.namespace(), req.GetKey(), req.GetValue()); err != nil {
		return nil, kvErr(err)
	}
	return &botpb.Empty{}, nil
}

func (a *hostAPI) KVDelete(ctx context.Context, req *botpb.KVDeleteRequest) (*botpb.Empty, error) {
	if err := a.b.h.cfg.Admin.KVDelete(ctx, a.namespace(), req.GetKey()); err != nil {
		return nil, kvErr(err)
	}
	return &botpb.Empty{}, nil
}

func (a *hostAPI) KVList(ctx context.Context, req *botpb.KVListRequest) (*botpb.KVListResponse, error) {
	keys, err := a.b.h.cfg.Admin.KVList(ctx, a.namespace(), req.GetPrefix())
	if err != nil {
		return nil, kvErr(err)
	}
	return &botpb.KVListResponse{Keys: keys}, nil
}

var logLevels = map[botpb.LogLevel]zerolog.Level{
	botpb.LogLevel_LOG_LEVEL_UNSPECIFIED: zerolog.InfoLevel,
	botpb.LogLevel_LOG_LEVEL_DEBUG:       zerolog.DebugLevel,
	botpb.LogLevel_LOG_LEVEL_INFO:        zerolog.InfoLevel,
	botpb.LogLevel_LOG_LEVEL_WARN:        zerolog.WarnLevel,
	botpb.LogLevel_LOG_LEVEL_ERROR:       zerolog.ErrorLevel,
}

func (a *hostAPI) Log(_ context.Context, req *botpb.LogRequest) (*botpb.Empty, error) {
	level, ok := logLevels[req.GetLevel()]
	if !ok {
		level = zerolog.InfoLevel
	}
	msg := req.GetMessage()
	if len(msg) > maxLogText {
		msg = msg[:maxLogText] + " …(cut)"
	}
	var fields map[string]any
	if n := len(req.GetFields()); n > 0 {
		if n > maxLogFields {
			return nil, status.Errorf(codes.InvalidArgument, "at most %d fields", maxLogFields)
		}
		fields = make(map[string]any, n)
		for k, v := range req.GetFields() {
			if len(v) > maxLogText {
				v = v[:maxLogText]
			}
			fields[k] = v
		}
	}
	a.b.log.emit(level, "bot", msg, fields)
	return &botpb.Empty{}, nil
}
