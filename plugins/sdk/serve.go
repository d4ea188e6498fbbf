package sdk

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	botpb "github.com/nudge-im/nudge/plugins/proto"
)

// Handshake is the go-plugin handshake of Nudge bots.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  botpb.ProtocolVersion,
	MagicCookieKey:   botpb.MagicCookieKey,
	MagicCookieValue: botpb.MagicCookieValue,
}

// HostPIDEnv names the environment variable in which the host gives its
// process id, so that a bot notices when the host is gone even if the
// kernel's parent-death signal did not reach it.
const HostPIDEnv = "NUDGE_HOST_PID"

// Serve runs bot as a Nudge bot and never returns. Run by hand rather than
// by the bot host, it says so and exits.
func Serve(bot any) {
	// go-plugin redirects os.Stderr for the bot's own prints; the log goes
	// to the real standard error, as JSON lines the host parses.
	log := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Trace})
	go watchHost(log)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{botpb.PluginName: &Plugin{Bot: bot, Log: log}},
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          log,
	})
	os.Exit(0)
}

// watchHost exits when the host process is gone: the bot must not outlive
// it. The host also asks the kernel to kill the bot when it dies; this is
// the second line, for platforms and cases where that signal does not come.
func watchHost(log hclog.Logger) {
	want, err := strconv.Atoi(os.Getenv(HostPIDEnv))
	if err != nil || want <= 1 {
		want = os.Getppid()
	}
	for {
		if os.Getppid() != want {
			log.Error("the bot host is gone; exiting")
			os.Exit(3)
		}
		time.Sleep(time.Second)
	}
}

// Plugin is the go-plugin side of a bot; Serve uses it. It is exported for
// hosts written in Go that run bots in-process in tests.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Bot any
	Log hclog.Logger
}

// GRPCServer registers the Bot service.
func (p *Plugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	log := p.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	botpb.RegisterBotServer(s, &server{bot: p.Bot, broker: broker, log: log})
	return nil
}

// GRPCClient is not used on the bot's side.
func (p *Plugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: a bot does not dispense itself")
}

// server adapts a bot to the Bot gRPC service.
type server struct {
	botpb.UnimplementedBotServer
	bot    any
	broker *plugin.GRPCBroker
	log    hclog.Logger

	mu   sync.Mutex
	host Host
	conn *grpc.ClientConn
}

func (s *server) getHost() Host {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.host
}

// Hooks returns the hooks bot implements, as StartResponse lists them.
func Hooks(bot any) []botpb.Hook {
	var hooks []botpb.Hook
	add := func(ok bool, h botpb.Hook) {
		if ok {
			hooks = append(hooks, h)
		}
	}
	_, ok := bot.(MessageHandler)
	add(ok, botpb.Hook_HOOK_MESSAGE)
	_, ok = bot.(TypingHandler)
	add(ok, botpb.Hook_HOOK_TYPING)
	_, ok = bot.(NudgeHandler)
	add(ok, botpb.Hook_HOOK_NUDGE)
	_, ok = bot.(ContactAddedHandler)
	add(ok, botpb.Hook_HOOK_CONTACT_ADDED)
	_, ok = bot.(JoinHandler)
	add(ok, botpb.Hook_HOOK_JOIN)
	_, ok = bot.(LeaveHandler)
	add(ok, botpb.Hook_HOOK_LEAVE)
	_, ok = bot.(PresenceHandler)
	add(ok, botpb.Hook_HOOK_PRESENCE)
	return hooks
}

func (s *server) Start(ctx context.Context, req *botpb.StartRequest) (*botpb.StartResponse, error) {
	conn, err := s.broker.Dial(req.GetHostBrokerId())
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "cannot reach the host: %v", err)
	}
	host := &grpcHost{c: botpb.NewHostClient(conn)}
	s.mu.Lock()
	if s.conn != nil {
		s.conn.Close()
	}
	s.host, s.conn = host, conn
	s.mu.Unlock()
	if st, ok := s.bot.(Starter); ok {
		settings := req.GetSettings()
		if settings == nil {
			settings = map[string]string{}
		}
		env := &Env{
			Name:        req.GetName(),
			Self:        contactFromPB(req.GetSelf()),
			Settings:    settings,
			Permissions: req.GetPermissions(),
			Host:        host,
			Log:         s.log.Named(req.GetName()),
		}
		if err := st.Start(ctx, env); err != nil {
			return nil, hookErr(err)
		}
	}
	return &botpb.StartResponse{Hooks: Hooks(s.bot)}, nil
}

// hookErr turns a bot's error into the status the host logs.
func hookErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}

func unimplemented(hook string) error {
	return status.Errorf(codes.Unimplemented, "the bot has no %s hook", hook)
}

func (s *server) OnMessage(ctx context.Context, ev *botpb.MessageEvent) (*botpb.Empty, error) {
	h, ok := s.bot.(MessageHandler)
	if !ok {
		return nil, unimplemented("OnMessage")
	}
	m := NewMessage(s.getHost(), ev.GetConversationId(), contactFromPB(ev.GetSender()), ev.GetText(),
		formatFromPB(ev.GetFormat()), contactsFromPB(ev.GetParticipants()))
	if ms := ev.GetSentUnixMs(); ms != 0 {
		m.Sent = time.UnixMilli(ms)
	}
	return &botpb.Empty{}, hookErr(h.OnMessage(ctx, m))
}

func (s *server) OnTyping(ctx context.Context, ev *botpb.TypingEvent) (*botpb.Empty, error) {
	h, ok := s.bot.(TypingHandler)
	if !ok {
		return nil, unimplemented("OnTyping")
	}
	return &botpb.Empty{}, hookErr(h.OnTyping(ctx, &Typing{Conversation: ev.GetConversationId(), From: contactFromPB(ev.GetSender())}))
}

func (s *server) OnNudge(ctx context.Context, ev *botpb.NudgeEvent) (*botpb.Empty, error) {
	h, ok := s.bot.(NudgeHandler)
	if !ok {
		return nil, unimplemented("OnNudge")
	}
	return &botpb.Empty{}, hookErr(h.OnNudge(ctx, NewNudge(s.getHost(), ev.GetConversationId(), contactFromPB(ev.GetSender()))))
}

func (s *server) OnContactAdded(ctx context.Context, ev *botpb.ContactEvent) (*botpb.Empty, error) {
	h, ok := s.bot.(ContactAddedHandler)
	if !ok {
		return nil, unimplemented("OnContactAdded")
	}
	return &botpb.Empty{}, hookErr(h.OnContactAdded(ctx, &ContactAdded{Contact: contactFromPB(ev.GetContact()), Accepted: ev.GetAccepted()}))
}

func (s *server) OnJoin(ctx context.Context, ev *botpb.ConversationEvent) (*botpb.Empty, error) {
	h, ok := s.bot.(JoinHandler)
	if !ok {
		return nil, unimplemented("OnJoin")
	}
	return &botpb.Empty{}, hookErr(h.OnJoin(ctx, &Join{Conversation: ev.GetConversationId(), Contact: contactFromPB(ev.GetContact()),
		Participants: contactsFromPB(ev.GetParticipants()), Invited: ev.GetInvited()}))
}

func (s *server) OnLeave(ctx context.Context, ev *botpb.ConversationEvent) (*botpb.Empty, error) {
	h, ok := s.bot.(LeaveHandler)
	if !ok {
		return nil, unimplemented("OnLeave")
	}
	return &botpb.Empty{}, hookErr(h.OnLeave(ctx, &Leave{Conversation: ev.GetConversationId(), Contact: contactFromPB(ev.GetContact()),
		Participants: contactsFromPB(ev.GetParticipants())}))
}

func (s *server) OnPresence(ctx context.Context, ev *botpb.PresenceEvent) (*botpb.Empty, error) {
	h, ok := s.bot.(PresenceHandler)
	if !ok {
		return nil, unimplemented("OnPresence")
	}
	return &botpb.Empty{}, hookErr(h.OnPresence(ctx, &Presence{Contact: contactFromPB(ev.GetContact())}))
}

func (s *server) Stop(ctx context.Context, _ *botpb.StopRequest) (*botpb.Empty, error) {
	var err error
	if st, ok := s.bot.(Stopper); ok {
		err = st.Stop(ctx)
	}
	return &botpb.Empty{}, hookErr(err)
}
