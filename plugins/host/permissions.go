package host

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	botpb "github.com/nudge-im/nudge/plugins/proto"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// Permissions are the names of the groups of Host calls an operator grants
// a bot; "all" grants every one.
var Permissions = []string{"send", "invite", "presence", "contacts", "kv", "log"}

// DefaultPermissions are a bot's when its configuration names none: enough
// to converse and remember, nothing that changes its account.
var DefaultPermissions = []string{"send", "kv", "log"}

// callPermission maps each Host method to the permission it needs. A
// method missing here (added to the proto but not to this table) is denied.
var callPermission = map[string]string{
	botpb.Host_SendMessage_FullMethodName:        "send",
	botpb.Host_SendTyping_FullMethodName:         "send",
	botpb.Host_SendNudge_FullMethodName:          "send",
	botpb.Host_Invite_FullMethodName:             "invite",
	botpb.Host_SetStatus_FullMethodName:          "presence",
	botpb.Host_SetFriendlyName_FullMethodName:    "presence",
	botpb.Host_SetPersonalMessage_FullMethodName: "presence",
	botpb.Host_SetDisplayPicture_FullMethodName:  "presence",
	botpb.Host_ListContacts_FullMethodName:       "contacts",
	botpb.Host_AcceptContact_FullMethodName:      "contacts",
	botpb.Host_BlockContact_FullMethodName:       "contacts",
	botpb.Host_KVGet_FullMethodName:              "kv",
	botpb.Host_KVSet_FullMethodName:              "kv",
	botpb.Host_KVDelete_FullMethodName:           "kv",
	botpb.Host_KVList_FullMethodName:             "kv",
	botpb.Host_Log_FullMethodName:                "log",
}

// permSet is the set of permissions a bot has.
type permSet map[string]bool

func parsePermissions(names []string) (permSet, error) {
	if len(names) == 0 {
		names = DefaultPermissions
	}
	ps := permSet{}
	for _, n := range names {
		switch {
		case n == "all":
			for _, p := range Permissions {
				ps[p] = true
			}
		case slices.Contains(Permissions, n):
			ps[n] = true
		default:
			return nil, fmt.Errorf("unknown permission %q (known: %s, all)", n, strings.Join(Permissions, ", "))
		}
	}
	return ps, nil
}

func (ps permSet) list() []string {
	var out []string
	for _, p := range Permissions {
		if ps[p] {
			out = append(out, p)
		}
	}
	return out
}

// interceptor refuses the Host calls the bot may not make, before they
// reach the handler, and logs each refusal once per method.
func (b *bot) interceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	perm, ok := callPermission[info.FullMethod]
	if !ok || !b.perms[perm] {
		call := info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:]
		if b.noteDenied(call) {
			b.log.warn("the bot called %s without the %q permission; grant it in bots[].permissions if it should", call, perm)
		}
		return nil, status.Errorf(codes.PermissionDenied,
			"bot %q has no %q permission for %s (an operator grants it in nudge.yaml, bots[].permissions)", b.cfg.Name, perm, call)
	}
	return handler(ctx, req)
}
