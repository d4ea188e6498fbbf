// Package abch is the address book web service (ABCH) of Windows Live
// Messenger: the SharingService (FindMembership, AddMember, DeleteMember:
// the allow, block, reverse and pending lists) and the ABService
// (ABFindAll, ABFindContactsPaged, contacts and groups) that MSNP13+
// clients read and edit their contact list through.
//
// It is a view of the same store as the FL/AL/BL/RL lists and groups of
// MSNP2-12: a contact added here is on the FL an MSN 7.5 client reads with
// SYN, and the other way round. A change made here is told to the people
// it concerns as it happens: the other side of an FL change through the
// directory (the "added you" notice), the owner's own signed-in endpoints
// through the directory too (directory.Peer.BookChanged), on whatever node
// of a cluster they are.
//
// Requests are authenticated by the contacts.msn.com ticket of the RST
// answer (ABAuthHeader/TicketToken).
package abch

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/directory"
	"github.com/nudge-im/nudge/core/soap"
	"github.com/nudge-im/nudge/core/store"
)

// Domain is the RST address whose ticket opens the address book.
const Domain = "contacts.msn.com"

// NS is the namespace of every address book element.
const NS = "http://www.msn.com/webservices/AddressBook"

// Config is what Handler needs. Store and Grants are required.
type Config struct {
	Store  store.Store
	Grants soap.Tickets
	// Directory tells the owner's endpoints of each change and the other
	// side of FL changes; nil: nobody.
	Directory *directory.Directory
	Log       zerolog.Logger
}

// Paths are the request paths the handler answers (matched without regard
// to case; doubled slashes are folded by the server before routing).
func Paths() []string {
	return []string{"/abservice/abservice.asmx", "/abservice/SharingService.asmx"}
}

// Handler serves the address book.
func Handler(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.Grants == nil {
		panic("abch: Config.Store and Config.Grants are required")
	}
	return &handler{cfg: cfg}
}

type handler struct{ cfg Config }

// request is one call being answered.
type request struct {
	h      *handler
	ctx    context.Context
	w      http.ResponseWriter
	host   string
	owner  string
	method string
	body   *soap.Node // the method's element
}

type action func(*request) error

var actions = map[string]action{
	"findmembership":       (*request).findMembership,
	"addmember":            (*request).addMember,
	"deletemember":         (*request).deleteMember,
	"abfindall":            (*request).abFindAll,
	"abfindcontactspaged":  (*request).abFindContactsPaged,
	"abadd":                (*request).abAdd,
	"abcontactadd":         (*request).abContactAdd,
	"abcontactdelete":      (*request).abContactDelete,
	"abcontactupdate":      (*request).abContactUpdate,
	"abgroupadd":           (*request).abGroupAdd,
	"abgroupupdate":        (*request).abGroupUpdate,
	"abgroupdelete":        (*request).abGroupDelete,
	"abgroupcontactadd":    (*request).abGroupContactAdd,
	"abgroupcontactdelete": (*request).abGroupContactDelete,
	// Circles and dynamic items are not kept: their calls are taken and
	// nothing changes, which is what a book without them would do.
	"updatedynamicitem": (*request).empty,
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	env := soap.Read(w, r, 0, func(code, msg string) []byte { return abFault("", code, "BadArgument", msg) })
	if env == nil {
		return
	}
	body := env.Action()
	rq := &request{h: h, ctx: r.Context(), w: w, host: r.Host, method: body.Name, body: body}
	act, ok := actions[strings.ToLower(body.Name)]
	if !ok {
		rq.fault(http.StatusInternalServerError, "soap:Client", "NotImplemented", "This address book does not do "+body.Name+".")
		return
	}
	owner, ok := h.cfg.Grants.Check(env.Header().Value("ABAuthHeader", "TicketToken"), Domain)
	if !ok {
		rq.fault(http.StatusInternalServerError, "q0:BadContextToken", "BadContextToken",
			"The ticket is missing, expired or not for the address book; sign in again.")
		return
	}
	rq.owner = owner
	if err := act(rq); err != nil {
		rq.storeFault(err)
	}
}

// errFaulted: the action answered with a fault of its own.
var errFaulted = errors.New("abch: answered with a fault")

// storeFault answers a store error with the fault clients know for it.
func (rq *request) storeFault(err error) {
	switch {
	case errors.Is(err, errFaulted):
	case errors.Is(err, store.ErrNotFound):
		rq.fault(http.StatusInternalServerError, "soap:Client", "InvalidPassportUser", "There is no such user.")
	case errors.Is(err, store.ErrNotOnList), errors.Is(err, store.ErrNotInGroup):
		rq.fault(http.StatusInternalServerError, "soap:Client", "ContactDoesNotExist", "Contact does not exist.")
	case errors.Is(err, store.ErrNoSuchGroup):
		rq.fault(http.StatusInternalServerError, "soap:Client", "GroupDoesNotExist", "Group does not exist.")
	case errors.Is(err, store.ErrGroupExists):
		rq.fault(http.StatusInternalServerError, "soap:Client", "GroupAlreadyExists", "Group already exists.")
	case errors.Is(err, store.ErrInvalidName):
		rq.fault(http.StatusInternalServerError, "soap:Client", "GroupNameTooLong", "The name is too long or not valid.")
	case errors.Is(err, store.ErrInvalidEmail):
		rq.fault(http.StatusInternalServerError, "soap:Client", "EmailMissingAtSign", "That is not an e-mail address.")
	case errors.Is(err, store.ErrListFull), errors.Is(err, store.ErrTooManyGroups):
		rq.fault(http.StatusInternalServerError, "soap:Client", "QuotaLimitReached", "The address book is full.")
	case errors.Is(err, store.ErrInvalidAnnotation):
		rq.fault(http.StatusInternalServerError, "soap:Client", "BadArgument", "An annotation is not valid.")
	case errors.Is(err, store.ErrFullSync):
		rq.fault(http.StatusInternalServerError, "soap:Client", "FullSyncRequired", "Full sync required.  Details: Delta syncs disabled.")
	default:
		rq.h.cfg.Log.Error().Err(err).Str("method", rq.method).Str("email", rq.owner).Msg("address book")
		rq.fault(http.StatusInternalServerError, "soap:Server", "InternalError", "The address book is not available; try again later.")
	}
}

// fault answers with an address book fault: HTTP 500 and
// soap:Body/soap:Fault/detail/errorcode, where bitlbee and Pidgin look.
func (rq *request) fault(status int, code, errorcode, msg string) {
	soap.Write(rq.w, status, abFault(rq.method, code, errorcode, msg))
}

func abFault(method, code, errorcode, msg string) []byte {
	var d soap.Builder
	d.Raw(`<errorcode xmlns="`, NS, `">`)
	d.Esc(errorcode)
	d.Raw(`</errorcode><errorstring xmlns="`, NS, `">`)
	d.Esc(msg)
	d.Raw(`</errorstring><machineName xmlns="`, NS, `">nudge</machineName>`)
	codeNS := ""
	if strings.HasPrefix(code, "q0:") {
		codeNS = NS
	}
	actor := ""
	if method != "" {
		actor = "http://www.msn.com/webservices/AddressBook/" + method
	}
	return soap.Fault(code, codeNS, msg, actor, d.String())
}

// reply writes a successful answer: the ServiceHeader clients keep the
// CacheKey of, and body (the method's response element's content).
func (rq *request) reply(body func(b *soap.Builder)) {
	var b soap.Builder
	b.Start()
	b.Raw(`<soap:Header><ServiceHeader xmlns="`, NS, `"><Version>15.01.1408.0000</Version>`,
		`<CacheKey>12r1:nudge</CacheKey><CacheKeyChanged>true</CacheKeyChanged><PreferredHostName>`)
	b.Esc(hostOnly(rq.host))
	b.Raw(`</PreferredHostName><SessionId>`, newGUID(), `</SessionId></ServiceHeader></soap:Header><soap:Body>`)
	b.Raw("<", rq.method, `Response xmlns="`, NS, `">`)
	if body != nil {
		body(&b)
	}
	b.Raw("</", rq.method, "Response></soap:Body>")
	b.End()
	soap.Write(rq.w, http.StatusOK, b.Bytes())
}

func (rq *request) empty() error {
	rq.reply(nil)
	return nil
}

func hostOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	if h == "" {
		return "contacts.msn.com"
	}
	return h
}

// Times go out as the service wrote them, with seven fraction digits, and
// come back in lastChange; anything before 2000 (the clients' "never",
// 0001-01-01T00:00:00.0000000-08:00) asks for everything.
const timeLayout = "2006-01-02T15:04:05.0000000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00"
	}
	return t.UTC().Format(timeLayout)
}

func parseSince(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil || t.Year() < 2000 {
		return time.Time{}
	}
	return t
}
