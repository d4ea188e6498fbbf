// Package storage is the storage service of Windows Live Messenger 8.1 and
// later (storage.msn.com/storageservice/SchematizedStore.asmx): the roaming
// profile, so that each place a user signs in from shows the same display
// name, personal message and display picture. WLM reads it after signing
// in, bitlbee 3.2 does not finish signing in until it has an answer, aMSN
// and emesene keep the display picture there.
//
// The display name is the account's friendly name; the personal message
// and the picture are kept in the store's profile (store.Profile). A
// picture is served at /storage/usertile/{id}/static, an address made of a
// random ID that changes with every picture. Someone else's profile (aMSN
// asks for its contacts') is shown to whoever its owner lets see their
// presence; to anyone else it does not exist.
//
// Requests are authenticated by the storage.msn.com ticket of the RST
// answer (StorageUserHeader/TicketToken).
package storage

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"image"
	_ "image/gif" // the picture formats clients upload
	_ "image/jpeg"
	_ "image/png"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/nudge-im/nudge/core/soap"
	"github.com/nudge-im/nudge/core/store"
)

// Domains are the RST addresses whose tickets open the service: bitlbee
// and WLM ask for storage.msn.com, Pidgin for storage.live.com.
var Domains = []string{"storage.msn.com", "storage.live.com"}

// Namespaces: WLM 8 and the open-source clients speak w10, WLM 2009 also
// 2008. An answer is in the namespace of its request.
const (
	nsW10  = "http://www.msn.com/webservices/storage/w10"
	ns2008 = "http://www.msn.com/webservices/storage/2008"
)

// Path is where the service answers; PicturePath is where pictures are.
const (
	Path        = "/storageservice/SchematizedStore.asmx"
	PicturePath = "/storage/usertile/"
)

// maxBody bounds a request: a picture of store.MaxPicture bytes in base64
// with the envelope around it.
const maxBody = store.MaxPicture*4/3 + 16<<10

// maxPixels bounds the width and height of a picture that is decoded to be
// checked (a small file can describe a huge image).
const maxPixels = 1024

// Config is what Handler needs. Store and Grants are required.
type Config struct {
	Store  store.Store
	Grants soap.Tickets
	// HTTPPort is the port of the plain-HTTP listener, for the addresses
	// of pictures: aMSN fetches them only over http://, from the host it
	// asked the storage service at. "" or "80" leaves the port out.
	HTTPPort string
	Log      zerolog.Logger
}

// Paths are the request paths Handler answers (matched without regard to
// case; the server folds doubled slashes).
func Paths() []string { return []string{Path, PicturePath} }

// Handler serves the storage service and the pictures it keeps.
func Handler(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.Grants == nil {
		panic("storage: Config.Store and Config.Grants are required")
	}
	return &handler{cfg: cfg}
}

type handler struct{ cfg Config }

// request is one call being answered.
type request struct {
	h      *handler
	ctx    context.Context
	w      http.ResponseWriter
	r      *http.Request
	ns     string // the namespace of the answer
	method string
	token  string // the ticket as sent, echoed in StorageUserHeader
	owner  store.Account
	body   *soap.Node
}

type action func(*request) error

var actions = map[string]action{
	"getprofile":          (*request).getProfile,
	"updateprofile":       (*request).updateProfile,
	"createprofile":       (*request).createProfile,
	"shareitem":           (*request).shareItem,
	"finddocuments":       (*request).findDocuments,
	"createdocument":      (*request).createDocument,
	"updatedocument":      (*request).updateDocument,
	"createrelationships": (*request).createRelationships,
	"deleterelationships": (*request).deleteRelationships,
	"getitemversion":      (*request).getItemVersion,
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(soap.CleanPath(r.URL.Path), strings.ToLower(PicturePath)) {
		h.picture(w, r)
		return
	}
	env := soap.Read(w, r, maxBody, func(code, msg string) []byte { return fault(nsW10, "", code, "BadArgument", msg) })
	if env == nil {
		return
	}
	body := env.Action()
	rq := &request{h: h, ctx: r.Context(), w: w, r: r, ns: nsW10, method: body.Name, body: body}
	if body.Space == ns2008 || (body.Space == "" && strings.Contains(r.Header.Get("SOAPAction"), "/storage/2008/")) {
		rq.ns = ns2008
	}
	act, ok := actions[strings.ToLower(body.Name)]
	if !ok {
		rq.fault(http.StatusInternalServerError, "soap:Client", "NotImplemented", "This storage service does not do "+body.Name+".")
		return
	}
	if !rq.authenticate(env.Header()) {
		rq.fault(http.StatusInternalServerError, "soap:Client", "PassportAuthFail",
			"The ticket is missing, expired or not for the storage service; sign in again.")
		return
	}
	if err := act(rq); err != nil {
		rq.storeFault(err)
	}
}

// authenticate finds who asks: the storage ticket in StorageUserHeader, or
// (GetItemVersion, as aMSN and emesene send it) the Passport cookie of the
// sign-in.
func (rq *request) authenticate(hd *soap.Node) bool {
	rq.token = hd.Value("StorageUserHeader", "TicketToken")
	email, ok := "", false
	for _, d := range Domains {
		if email, ok = rq.h.cfg.Grants.Check(rq.token, d); ok {
			break
		}
	}
	if !ok {
		if c, err := rq.r.Cookie("MSPAuth"); err == nil && c.Value != "" {
			email, ok = rq.h.cfg.Grants.Check("t="+c.Value, "messenger.msn.com")
		}
	}
	if !ok {
		return false
	}
	a, err := rq.h.cfg.Store.Account(rq.ctx, email)
	if err != nil {
		return false // deleted since the ticket was issued
	}
	rq.owner = a
	return true
}

// errFaulted: the action answered with a fault of its own.
var errFaulted = errors.New("storage: answered with a fault")

func (rq *request) storeFault(err error) {
	switch {
	case errors.Is(err, errFaulted):
	case errors.Is(err, store.ErrNotFound):
		rq.fault(http.StatusInternalServerError, "soap:Client", "ItemDoesNotExist", "Item does not exist.")
	case errors.Is(err, store.ErrInvalidProfile), errors.Is(err, store.ErrInvalidName):
		rq.fault(http.StatusInternalServerError, "soap:Client", "InvalidArgument", "A value is too long or not valid.")
	default:
		rq.h.cfg.Log.Error().Err(err).Str("method", rq.method).Str("email", rq.owner.Email).Msg("storage")
		rq.fault(http.StatusInternalServerError, "soap:Server", "InternalError", "The storage service is not available; try again later.")
	}
}

// fault answers with a storage fault: HTTP 500 and
// soap:Body/soap:Fault/detail/errorcode, where aMSN looks.
func (rq *request) fault(status int, code, errorcode, msg string) {
	soap.Write(rq.w, status, fault(rq.ns, rq.method, code, errorcode, msg))
}

func fault(ns, method, code, errorcode, msg string) []byte {
	var d soap.Builder
	d.Raw(`<errorcode xmlns="`, ns, `">`)
	d.Esc(errorcode)
	d.Raw(`</errorcode><errorstring xmlns="`, ns, `">`)
	d.Esc(msg)
	d.Raw(`</errorstring>`)
	actor := ""
	if method != "" {
		actor = ns + "/" + method
	}
	return soap.Fault(code, "", msg, actor, d.String())
}

// reply writes a successful answer: the headers clients keep (the
// AffinityCacheHeader's CacheKey comes back on the next request) and body,
// the content of the method's response element (nil: an empty one).
func (rq *request) reply(body func(b *soap.Builder)) {
	var b soap.Builder
	b.Start()
	b.Raw(`<soap:Header><AffinityCacheHeader xmlns="`, rq.ns, `"><CacheKey>nudge</CacheKey></AffinityCacheHeader>`,
		`<StorageUserHeader xmlns="`, rq.ns, `"><Puid>0</Puid><TicketToken>`)
	b.Esc(rq.token)
	b.Raw(`</TicketToken><IsAdmin>false</IsAdmin></StorageUserHeader></soap:Header><soap:Body>`)
	if body == nil {
		b.Raw("<", rq.method, `Response xmlns="`, rq.ns, `"/>`)
	} else {
		b.Raw("<", rq.method, `Response xmlns="`, rq.ns, `">`)
		body(&b)
		b.Raw("</", rq.method, "Response>")
	}
	b.Raw("</soap:Body>")
	b.End()
	soap.Write(rq.w, http.StatusOK, b.Bytes())
}

// --- resource ids ---

// Resource ids name an account's items as MSN did: the CID in hex, "!",
// a number for the kind of item (106 the profile, 118 the expression
// profile) or, for a picture, 204 + its version (so the first is 205, and
// a client that kept an id sees a new picture as a new id). The hex form
// is the CID's eight bytes little-endian, the form clients saw.
const (
	kindProfile    = 106
	kindExpression = 118
	kindPicture    = 204
)

func hexCID(cid int64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(cid))
	return hex.EncodeToString(b[:])
}

func resourceID(cid int64, kind int64) string { return hexCID(cid) + "!" + strconv.FormatInt(kind, 10) }

// parseResourceID splits "cidhex!n"; ok is false for anything else.
func parseResourceID(id string) (cid int64, n int64, ok bool) {
	h, num, found := strings.Cut(strings.TrimSpace(id), "!")
	b, err := hex.DecodeString(h)
	if !found || err != nil || len(b) != 8 {
		return 0, 0, false
	}
	n, err = strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return int64(binary.LittleEndian.Uint64(b)), n, true
}

// ownID reports whether id names one of the owner's items of this kind;
// any picture kind (kindPicture) matches every picture version, past ones
// included.
func (rq *request) ownID(id string, kind int64) bool {
	cid, n, ok := parseResourceID(id)
	if !ok || cid != rq.owner.CID {
		return false
	}
	if kind == kindPicture {
		return n > kindPicture
	}
	return n == kind
}

// handleAccount resolves a profileHandle or objectHandle: an Alias of
// namespace MyCidStuff naming a CID (in decimal, as the address book gives
// it, or hex), or a ResourceID. The owner's own when it names nothing.
func (rq *request) handleAccount(h *soap.Node) (store.Account, error) {
	name := h.Value("Alias", "Name")
	if name == "" {
		if id := h.Value("ResourceID"); id != "" {
			cid, _, ok := parseResourceID(id)
			if !ok {
				return store.Account{}, store.ErrNotFound
			}
			name = strconv.FormatInt(cid, 10)
		}
	}
	if name == "" {
		return rq.owner, nil
	}
	cid, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		b, herr := hex.DecodeString(name)
		if herr != nil || len(b) != 8 {
			return store.Account{}, store.ErrNotFound
		}
		cid = int64(binary.LittleEndian.Uint64(b))
	}
	if cid == rq.owner.CID {
		return rq.owner, nil
	}
	return rq.h.cfg.Store.AccountByCID(rq.ctx, cid)
}

// mayRead reports whether the owner may read a's profile: their own, or
// one whose owner lets them see their presence (not blocked; on the AL
// when a allows only their AL).
func (rq *request) mayRead(a store.Account) bool {
	if a.Email == rq.owner.Email {
		return true
	}
	l, err := rq.h.cfg.Store.Listed(rq.ctx, a.Email, rq.owner.Email)
	if err != nil || l&store.Block != 0 {
		return false
	}
	return a.Privacy != store.BlockByDefault || l&store.Allow != 0
}

// mine refuses, with AccessDenied, a change to someone else's items.
func (rq *request) mine(a store.Account) error {
	if a.Email != rq.owner.Email {
		rq.fault(http.StatusInternalServerError, "soap:Client", "AccessDenied", "Only your own profile can be changed.")
		return errFaulted
	}
	return nil
}

// --- profile ---

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// getProfile answers with a profile: its ids, the display name, the
// personal message and, when there is one, the picture with its address.
func (rq *request) getProfile() error {
	a, err := rq.handleAccount(rq.body.Child("profileHandle"))
	if err == nil && !rq.mayRead(a) {
		err = store.ErrNotFound // alike for a stranger and for nobody
	}
	if err != nil {
		return err
	}
	p, err := rq.h.cfg.Store.Profile(rq.ctx, a.Email)
	if err != nil {
		return err
	}
	modified := a.Created
	for _, t := range []time.Time{p.MessageChanged, p.Picture.Changed} {
		if t.After(modified) {
			modified = t
		}
	}
	rq.reply(func(b *soap.Builder) {
		b.Raw("<GetProfileResult>")
		b.Elem("ResourceID", resourceID(a.CID, kindProfile))
		b.Elem("DateModified", formatTime(modified))
		b.Raw("<ExpressionProfile>")
		b.Elem("ResourceID", resourceID(a.CID, kindExpression))
		b.Elem("DateModified", formatTime(modified))
		b.Elem("Version", strconv.FormatInt(kindPicture+p.Picture.Version, 10))
		b.Raw("<Flags>0</Flags>")
		url := rq.pictureURL(p.Picture.ID)
		if p.Picture.ID != "" {
			b.Raw("<Photo>")
			b.Elem("ResourceID", resourceID(a.CID, kindPicture+p.Picture.Version))
			b.Raw("<Name>UserTile</Name><ItemType>Photo</ItemType>")
			b.Elem("DateModified", formatTime(p.Picture.Changed))
			b.Raw("<DocumentStreams><DocumentStream><DocumentStreamName>UserTileStatic</DocumentStreamName>")
			b.Elem("MimeType", p.Picture.Type)
			b.Elem("DataSize", strconv.Itoa(p.Picture.Size))
			b.Elem("PreAuthURL", url)
			b.Raw("<DocumentStreamType>UserTileStatic</DocumentStreamType><WriteMode>Overwrite</WriteMode>",
				"<StreamVersion>", strconv.FormatInt(p.Picture.Version, 10), "</StreamVersion></DocumentStream></DocumentStreams></Photo>")
		}
		if p.Message != "" {
			b.Elem("PersonalStatus", p.Message)
			b.Elem("PersonalStatusLastModified", formatTime(p.MessageChanged))
		}
		b.Elem("DisplayName", cmpOr(a.FriendlyName, a.Email))
		if p.Picture.ID != "" {
			b.Elem("StaticUserTilePublicURL", url)
		}
		b.Raw("</ExpressionProfile></GetProfileResult>")
	})
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// updateProfile sets the display name and the personal message, and
// clears what profileAttributesToDelete names.
func (rq *request) updateProfile() error {
	prof := rq.body.Child("profile")
	if id := prof.Value("ResourceID"); id != "" && !rq.ownID(id, kindProfile) && !rq.ownID(id, kindExpression) {
		return rq.mine(store.Account{})
	}
	st := rq.h.cfg.Store
	ep := prof.Child("ExpressionProfile")
	del := rq.body.Child("profileAttributesToDelete", "ExpressionProfileAttributes")
	if name := ep.Value("DisplayName"); name != "" {
		if _, err := st.SetFriendlyName(rq.ctx, rq.owner.Email, name); err != nil && !errors.Is(err, store.ErrSameValue) {
			return err
		}
	}
	switch {
	case del.Bool("PersonalStatus"):
		if err := st.SetPersonalMessage(rq.ctx, rq.owner.Email, ""); err != nil {
			return err
		}
	case ep.Child("PersonalStatus") != nil:
		if err := st.SetPersonalMessage(rq.ctx, rq.owner.Email, ep.Value("PersonalStatus")); err != nil {
			return err
		}
	}
	// Deleting the display name leaves the account its handle as name.
	if del.Bool("DisplayName") {
		if _, err := st.SetFriendlyName(rq.ctx, rq.owner.Email, rq.owner.Email); err != nil && !errors.Is(err, store.ErrSameValue) {
			return err
		}
	}
	rq.reply(nil)
	return nil
}

// createProfile answers with the profile every account already has
// (clients ask after a GetProfile found none; here one always exists).
func (rq *request) createProfile() error {
	rq.reply(func(b *soap.Builder) { b.Elem("CreateProfileResult", resourceID(rq.owner.CID, kindProfile)) })
	return nil
}

// shareItem is taken: a profile is shown to the people the owner lets see
// their presence, without asking.
func (rq *request) shareItem() error {
	if id := rq.body.Value("resourceID"); !rq.ownID(id, kindProfile) && !rq.ownID(id, kindExpression) {
		return rq.mine(store.Account{})
	}
	rq.reply(func(b *soap.Builder) { b.Elem("ShareItemResult", rq.body.Value("resourceID")) })
	return nil
}

// --- pictures ---

// findDocuments lists the owner's pictures: the current one, if any.
func (rq *request) findDocuments() error {
	a, err := rq.handleAccount(rq.body.Child("objectHandle"))
	if err != nil {
		return err
	}
	if err := rq.mine(a); err != nil {
		return err
	}
	p, err := rq.h.cfg.Store.Profile(rq.ctx, a.Email)
	if err != nil {
		return err
	}
	rq.reply(func(b *soap.Builder) {
		b.Raw("<FindDocumentsResult>")
		if p.Picture.ID != "" {
			b.Raw(`<Document xsi:type="Photo">`)
			b.Elem("ResourceID", resourceID(a.CID, kindPicture+p.Picture.Version))
			b.Raw("<Name>UserTile</Name>")
			b.Elem("DateModified", formatTime(p.Picture.Changed))
			b.Raw("</Document>")
		}
		b.Raw("</FindDocumentsResult>")
	})
	return nil
}

// createDocument keeps an uploaded picture as the owner's: the
// UserTileStatic stream of the document (what WLM, aMSN, emesene and
// MSNPSharp send), checked to be a PNG, JPEG or GIF image.
func (rq *request) createDocument() error {
	a, err := rq.handleAccount(rq.body.Child("parentHandle"))
	if err != nil {
		return err
	}
	if err := rq.mine(a); err != nil {
		return err
	}
	pic, err := rq.savePicture(rq.body.Child("document"))
	if err != nil {
		return err
	}
	rq.reply(func(b *soap.Builder) {
		b.Elem("CreateDocumentResult", resourceID(rq.owner.CID, kindPicture+pic.Version))
	})
	return nil
}

// updateDocument replaces the picture a document id names (any of the
// owner's picture ids: the client may hold an older one).
func (rq *request) updateDocument() error {
	doc := rq.body.Child("document")
	if !rq.ownID(doc.Value("ResourceID"), kindPicture) {
		return rq.mine(store.Account{})
	}
	if _, err := rq.savePicture(doc); err != nil {
		return err
	}
	rq.reply(nil)
	return nil
}

func (rq *request) savePicture(doc *soap.Node) (store.Picture, error) {
	var data string
	for _, s := range doc.Child("DocumentStreams").All("DocumentStream") {
		if strings.EqualFold(s.Value("DocumentStreamType"), "UserTileStatic") {
			data = s.Value("Data")
			break
		}
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(data), ""))
	if err != nil || len(raw) == 0 || len(raw) > store.MaxPicture {
		rq.fault(http.StatusInternalServerError, "soap:Client", "InvalidArgument",
			"The document has no UserTileStatic picture, or it is too large (at most "+strconv.Itoa(store.MaxPicture>>10)+" KiB).")
		return store.Picture{}, errFaulted
	}
	typ, ok := pictureType(raw)
	if !ok {
		rq.fault(http.StatusInternalServerError, "soap:Client", "InvalidArgument",
			"The picture is not a PNG, JPEG or GIF image of at most 1024×1024 pixels.")
		return store.Picture{}, errFaulted
	}
	pic, err := rq.h.cfg.Store.SetPicture(rq.ctx, rq.owner.Email, typ, raw)
	if err == nil {
		rq.h.cfg.Log.Info().Str("email", rq.owner.Email).Int("bytes", len(raw)).Msg("display picture stored")
	}
	return pic, err
}

// pictureType is the MIME type of an image, if it decodes as one of the
// formats clients use (they send "png" or "image/png" whatever the file
// is, so the bytes decide).
func pictureType(b []byte) (string, bool) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPixels || cfg.Height > maxPixels {
		return "", false
	}
	if _, _, err := image.Decode(bytes.NewReader(b)); err != nil {
		return "", false
	}
	return "image/" + format, true
}

// createRelationships is taken: CreateDocument already made the picture
// the profile's. The relationships must name the owner's own items.
func (rq *request) createRelationships() error {
	for _, r := range rq.body.Child("relationships").All("Relationship") {
		if !rq.ownItem(r.Value("SourceID")) || !rq.ownItem(r.Value("TargetID")) {
			return rq.mine(store.Account{})
		}
	}
	rq.reply(nil)
	return nil
}

// ownItem reports whether id names any item of the owner's.
func (rq *request) ownItem(id string) bool {
	cid, _, ok := parseResourceID(id)
	return ok && cid == rq.owner.CID
}

// deleteRelationships takes the picture off the profile (aMSN and
// MSNPSharp remove a picture so, before they upload the next): a target
// that names the current picture removes it; an older one is already gone.
func (rq *request) deleteRelationships() error {
	src := rq.body.Child("sourceHandle")
	if a, err := rq.handleAccount(src); err != nil || a.Email != rq.owner.Email {
		return rq.mine(store.Account{})
	}
	p, err := rq.h.cfg.Store.Profile(rq.ctx, rq.owner.Email)
	if err != nil {
		return err
	}
	for _, t := range rq.body.Child("targetHandles").All("ObjectHandle") {
		id := t.Value("ResourceID")
		if !rq.ownID(id, kindPicture) {
			return rq.mine(store.Account{})
		}
		if p.Picture.ID != "" && id == resourceID(rq.owner.CID, kindPicture+p.Picture.Version) {
			if _, err := rq.h.cfg.Store.SetPicture(rq.ctx, rq.owner.Email, "", nil); err != nil {
				return err
			}
			p.Picture.ID = ""
		}
	}
	rq.reply(nil)
	return nil
}

// getItemVersion asks whether contacts' MSN Spaces have new items (aMSN
// and emesene, for contacts marked as having one). There are no Spaces
// here: an empty answer.
func (rq *request) getItemVersion() error {
	rq.reply(func(b *soap.Builder) { b.Raw("<GetItemVersionResult/>") })
	return nil
}

// pictureURL is the plain-HTTP address of a picture on the host the client
// asked (which its hosts file maps here).
func (rq *request) pictureURL(id string) string {
	host := rq.r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := rq.h.cfg.HTTPPort; p != "" && p != "80" {
		host += ":" + p
	}
	return "http://" + host + PicturePath + id + "/static"
}

// picture serves GET /storage/usertile/{id}/static.
func (h *handler) picture(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "pictures are fetched with GET", http.StatusMethodNotAllowed)
		return
	}
	rest := soap.CleanPath(r.URL.Path)[len(PicturePath):]
	id, kind, _ := strings.Cut(rest, "/")
	if kind != "static" {
		http.NotFound(w, r)
		return
	}
	pic, err := h.cfg.Store.PictureByID(r.Context(), id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			h.cfg.Log.Error().Err(err).Msg("display picture not read")
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", pic.Type)
	hd.Set("Content-Length", strconv.Itoa(len(pic.Data)))
	hd.Set("X-Content-Type-Options", "nosniff")
	// The address changes with the picture, so what it names never does.
	hd.Set("Cache-Control", "private, max-age=31536000, immutable")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(pic.Data)
	}
}
