package client

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nudge-im/nudge/msnp"
	"github.com/nudge-im/nudge/msnp/message"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// p2pState is the client's P2P side: the links with contacts, the objects
// it publishes, the fetches under way, and the MSNFTP transfers.
type p2pState struct {
	mu        sync.Mutex
	links     map[string]*link
	published map[string]publishedObject // by SHA1D
	picture   *p2p.Object                // the display picture in presence
	fetches   map[string]*fetch          // by SHA1D
	legacy    map[string]*legacyTransfer // by invitation cookie
	cache     ObjectCache
	endpoints map[string][]Endpoint // contacts' endpoints, from UBX
}

type publishedObject struct {
	obj  *p2p.Object
	data []byte
}

// fetch is an object being fetched, which later callers for the same SHA1D
// wait for.
type fetch struct {
	done chan struct{}
	data []byte
	err  error
}

func newP2PState(cache ObjectCache) *p2pState {
	return &p2pState{
		links:     map[string]*link{},
		published: map[string]publishedObject{},
		fetches:   map[string]*fetch{},
		legacy:    map[string]*legacyTransfer{},
		cache:     cache,
	}
}

// shutdown ends every P2P session and MSNFTP transfer when the client
// ends, without a word to the contacts: the switchboards are going away.
func (ps *p2pState) shutdown(err error) {
	ps.mu.Lock()
	links := make([]*link, 0, len(ps.links))
	for _, l := range ps.links {
		links = append(links, l)
	}
	legacy := make([]*legacyTransfer, 0, len(ps.legacy))
	for _, lt := range ps.legacy {
		legacy = append(legacy, lt)
	}
	ps.mu.Unlock()
	for _, l := range links {
		l.mu.Lock()
		for _, s := range l.sessions {
			s.end(err, false)
		}
		l.mu.Unlock()
		l.failAll(err)
	}
	for _, lt := range legacy {
		lt.finish(err)
	}
}

// spawn runs f on a goroutine the client's Close waits for. It reports
// false, and does not run f, once the client has ended.
func (cl *Client) spawn(f func()) bool {
	cl.mu.Lock()
	if cl.err != nil {
		cl.mu.Unlock()
		return false
	}
	cl.wg.Add(1)
	cl.mu.Unlock()
	go func() {
		defer cl.wg.Done()
		f()
	}()
	return true
}

// p2pReady says whether this session can speak P2P: from MSNP9, whose
// switchboards take "MSG D".
func (cl *Client) p2pReady() error {
	if v := cl.Version(); v != 0 && !v.Dialect().DataAck {
		return fmt.Errorf("client: P2P needs MSNP9 or later, signed in with %s: %w", v, ErrNotSupported)
	}
	return nil
}

// onP2P takes an application/x-msnmsgrp2p message from a switchboard.
func (cl *Client) onP2P(cv *Conversation, from string, m *message.Message) {
	if cl.p2pReady() != nil {
		return
	}
	if strings.Contains(m.P2PDest(), ";") {
		cl.onP2PV2(cv, from, m)
		return
	}
	dest := m.P2PDest()
	if key(dest) != key(cl.Self().Email) {
		// Meant for someone else in a group conversation.
		return
	}
	pkt, err := p2p.Parse(m.Body)
	if err != nil {
		cl.log.Debug().Err(err).Str("from", from).Msg("malformed P2P packet dropped")
		return
	}
	// MSNP16+ switchboards name each point of presence "email;{guid}";
	// P2P version 1 addresses the person.
	from, _, _ = strings.Cut(from, ";")
	cl.p2p.link(cl, from, "").receive(cv, pkt)
}

// publish makes data fetchable as obj.
func (ps *p2pState) publish(obj *p2p.Object, data []byte) {
	ps.mu.Lock()
	ps.published[obj.SHA1D] = publishedObject{obj, data}
	ps.mu.Unlock()
}

// lookup finds the data of an object we published: by SHA1D, or by
// SHA1C as Pidgin keys objects.
func (ps *p2pState) lookup(obj *p2p.Object) ([]byte, bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p, ok := ps.published[obj.SHA1D]; ok {
		return p.data, true
	}
	if obj.SHA1C != "" {
		for _, p := range ps.published {
			if p.obj.SHA1C == obj.SHA1C {
				return p.data, true
			}
		}
	}
	return nil, false
}

// PublishObject makes data fetchable by contacts over P2P as an MSNObject
// of type typ (p2p.TypeEmoticon, p2p.TypeWink, p2p.TypeVoiceClip, …) with
// the given friendly name, and returns the object to announce. Only
// published objects are ever served, looked up by their SHA1D.
func (cl *Client) PublishObject(typ int, name string, data []byte) *p2p.Object {
	sum := sha1.Sum(data)
	obj := p2p.NewObject(key(cl.Self().Email), typ, fmt.Sprintf("TFR%X.tmp", sum[:2]), data)
	if name != "" {
		obj.SetName(name)
	}
	cl.p2p.publish(obj, data)
	return obj
}

// SetDisplayPicture shows data (a PNG, JPEG or GIF; clients show 96×96)
// beside your name: it publishes it as a display picture and puts its
// MSNObject in your presence, from which contacts fetch it over P2P.
// nil removes the picture. It needs MSNP9 or later.
func (cl *Client) SetDisplayPicture(ctx context.Context, data []byte) error {
	if err := cl.p2pReady(); err != nil {
		return err
	}
	var obj *p2p.Object
	if len(data) > 0 {
		obj = cl.PublishObject(p2p.TypeDisplayPicture, "", data)
	}
	cl.p2p.mu.Lock()
	old := cl.p2p.picture
	cl.p2p.picture = obj
	cl.p2p.mu.Unlock()
	st := cl.Self().Status
	if st == Offline {
		st = cl.cfg.Status
	}
	_, _, err := cl.request(ctx, func(s *nsSession) (*msnp.Command, error) { return s.chg(st), nil })
	if err != nil {
		cl.p2p.mu.Lock()
		if cl.p2p.picture == obj {
			cl.p2p.picture = old
		}
		cl.p2p.mu.Unlock()
		return fmt.Errorf("client: setting the display picture: %w", err)
	}
	return nil
}

// DisplayPicture returns the MSNObject of your display picture, or nil.
func (cl *Client) DisplayPicture() *p2p.Object {
	cl.p2p.mu.Lock()
	defer cl.p2p.mu.Unlock()
	return cl.p2p.picture
}

// presenceObject is the URL-encoded MSNObject CHG carries, or "".
func (ps *p2pState) presenceObject() string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.picture == nil {
		return ""
	}
	return msnp.EncodeParam(ps.picture.String())
}

// FetchObject returns the data of an MSNObject — a contact's display
// picture, a custom emoticon, a wink, a voice clip — from the cache
// (Config.ObjectCache, keyed by SHA1D), or else by asking its creator over
// P2P and checking the SHA1D of what comes. Fetches of one object at the
// same time share one request. The data must not be changed.
func (cl *Client) FetchObject(ctx context.Context, obj *p2p.Object) ([]byte, error) {
	if obj == nil {
		return nil, errors.New("client: no object to fetch")
	}
	if data, ok := cl.p2p.cache.Get(obj.SHA1D); ok {
		return data, nil
	}
	if data, ok := cl.p2p.lookup(obj); ok {
		return data, nil
	}
	if err := cl.p2pReady(); err != nil {
		return nil, err
	}
	ps := cl.p2p
	ps.mu.Lock()
	f := ps.fetches[obj.SHA1D]
	if f == nil {
		f = &fetch{done: make(chan struct{})}
		ps.fetches[obj.SHA1D] = f
		ps.mu.Unlock()
		if !cl.spawn(func() { cl.runFetch(obj, f) }) {
			return nil, cl.closedErr()
		}
	} else {
		ps.mu.Unlock()
	}
	select {
	case <-f.done:
		return f.data, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("client: fetching %s's object: %w", obj.Creator, ctx.Err())
	}
}

// runFetch fetches one object for every caller waiting on f.
func (cl *Client) runFetch(obj *p2p.Object, f *fetch) {
	f.data, f.err = cl.fetchObject(obj)
	if f.err == nil {
		cl.p2p.cache.Put(obj.SHA1D, f.data)
	}
	cl.p2p.mu.Lock()
	delete(cl.p2p.fetches, obj.SHA1D)
	cl.p2p.mu.Unlock()
	close(f.done)
}

func (cl *Client) fetchObject(obj *p2p.Object) ([]byte, error) {
	if key(obj.Creator) == key(cl.Self().Email) {
		return nil, fmt.Errorf("client: %s is your own object, and not published: %w", obj.SHA1D, ErrDeclined)
	}
	l := cl.p2pLink(obj.Creator)
	result := make(chan fetchResult, 1)
	s := &session{kind: fetchSession, obj: obj, result: result}
	l.mu.Lock()
	s.id = l.newSessionID()
	inv := p2p.NewInvite(l.slpTo(), l.slpFrom(), p2p.EUFObject, s.id, p2p.AppIDFor(obj.Type),
		base64.StdEncoding.EncodeToString([]byte(obj.String())))
	s.callID = inv.CallID
	l.add(s, cl.cfg.TransferTimeout)
	s.send(inv)
	l.mu.Unlock()
	select {
	case r := <-result:
		return r.data, r.err
	case <-cl.ctx.Done():
		return nil, cl.closedErr()
	}
}

// FetchDisplayPicture returns the display picture of a contact, as their
// presence announced it; ok is false when they have none.
func (cl *Client) FetchDisplayPicture(ctx context.Context, email string) (data []byte, ok bool, err error) {
	ct, found := cl.Contact(email)
	if !found || ct.DisplayPicture == nil {
		return nil, false, nil
	}
	data, err = cl.FetchObject(ctx, ct.DisplayPicture)
	return data, err == nil, err
}

// SendFile offers a file to a contact and returns its Transfer, which
// waits for their answer: Wait, Done and the TransferProgress and
// TransferEnded events follow it. f.Reader is read as the file goes out,
// exactly f.Size bytes. Contacts whose clients speak P2P (MSN Messenger 6
// and later, from MSNP9) get it through the switchboard; older ones by
// MSNFTP, for which this client listens on Config.FileTransferAddr.
func (cl *Client) SendFile(ctx context.Context, to string, f File) (*Transfer, error) {
	if f.Reader == nil || f.Size < 0 || f.Name == "" {
		return nil, errors.New("client: a file needs a name, a size and a reader")
	}
	email, _, _ := strings.Cut(to, ";")
	if cl.p2pReady() != nil || !cl.peerSpeaksP2P(email) {
		return cl.sendLegacyFile(ctx, email, f)
	}
	// Make sure there is a switchboard with them first, so that an
	// offline contact is an error here rather than a transfer that never
	// starts.
	if _, err := cl.Conversation(ctx, email); err != nil {
		return nil, err
	}
	l := cl.p2pLink(to)
	s := &session{kind: fileOutSession, source: f.Reader}
	s.t = cl.newTransfer(l.peer, f, false, false, &p2pTransfer{s})
	fc := p2p.FileContext{Size: uint64(f.Size), Name: f.Name, Preview: f.Preview}
	l.mu.Lock()
	s.id = l.newSessionID()
	inv := p2p.NewInvite(l.slpTo(), l.slpFrom(), p2p.EUFFile, s.id, p2p.AppIDFile,
		base64.StdEncoding.EncodeToString(fc.Bytes()))
	s.callID = inv.CallID
	l.add(s, cl.cfg.OfferTimeout)
	s.send(inv)
	l.mu.Unlock()
	return s.t, nil
}

// peerSpeaksP2P tells from a contact's capabilities whether their client
// speaks P2P (an MSNC version in the high nibble). A contact whose
// capabilities are unknown is assumed to.
func (cl *Client) peerSpeaksP2P(email string) bool {
	ct, ok := cl.Contact(email)
	if !ok || ct.Status == Offline {
		return true
	}
	return ct.Capabilities&0xF0000000 != 0
}

// p2pCapabilities are the capabilities this client adds to
// Config.Capabilities for a version: P2P (MSNC1) from MSNP9, and winks
// and voice clips, which it receives, from MSNP11.
func p2pCapabilities(d *msnp.Dialect) uint32 {
	var c uint32
	if d.DataAck {
		c |= msnp.CapMSNC1
	}
	if d.PersonalMsg {
		c |= msnp.CapWinks | msnp.CapVoiceClips
	}
	return c
}

// SendEmoticons announces custom emoticons before a message that uses
// them: each shortcut in the text that follows shows the picture (a PNG
// or GIF, 19×19 in the official clients). The pictures are published so
// that contacts can fetch them. It needs MSNP9 or later.
func (cv *Conversation) SendEmoticons(ctx context.Context, emoticons map[string][]byte) error {
	if err := cv.cl.p2pReady(); err != nil {
		return err
	}
	list := make([]p2p.Emoticon, 0, len(emoticons))
	for sc, data := range emoticons {
		list = append(list, p2p.Emoticon{Shortcut: sc, Object: cv.cl.PublishObject(p2p.TypeEmoticon, sc, data)})
	}
	ctx, cancel := cv.cl.withTimeout(ctx)
	defer cancel()
	m := message.New(message.TypeEmoticon, p2p.EmoticonBody(list))
	return cv.send(ctx, m.Bytes(), "A")
}

// SendWink sends a wink: data is its file (a CAB archive as the official
// clients make them). SendVoiceClip sends a voice clip (a WAV file). Both
// are published as objects the contacts fetch. They need MSNP11 (MSN
// Messenger 7) or later.
func (cv *Conversation) SendWink(ctx context.Context, data []byte) error {
	return cv.sendObjectDatacast(ctx, message.DatacastWink, p2p.TypeWink, data)
}

// SendVoiceClip: see SendWink.
func (cv *Conversation) SendVoiceClip(ctx context.Context, data []byte) error {
	return cv.sendObjectDatacast(ctx, message.DatacastVoiceClip, p2p.TypeVoiceClip, data)
}

func (cv *Conversation) sendObjectDatacast(ctx context.Context, id, typ int, data []byte) error {
	if v := cv.cl.Version(); v != 0 && !v.Dialect().PersonalMsg {
		return fmt.Errorf("client: winks and voice clips need MSNP11 or later: %w", ErrNotSupported)
	}
	obj := cv.cl.PublishObject(typ, "", data)
	ctx, cancel := cv.cl.withTimeout(ctx)
	defer cancel()
	parts, err := message.Split(message.NewDatacast(id, message.Field{Name: "Data", Value: obj.String()}), msnp.MaxMessagePayload)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := cv.send(ctx, p.Bytes(), "A"); err != nil {
			return err
		}
	}
	return nil
}

// onObjectMessage turns custom emoticon definitions and wink or voice
// clip datacasts into events. It reports false for other messages.
func (cv *Conversation) onObjectMessage(from string, m *message.Message) bool {
	switch m.Kind() {
	case message.KindEmoticon:
		list, err := p2p.ParseEmoticons(m.Body)
		if err != nil {
			return false
		}
		cv.cl.emit(&Emoticons{Conversation: cv, From: from, Emoticons: list})
		return true
	case message.KindDatacast:
		id, _ := m.DatacastID()
		if id != message.DatacastWink && id != message.DatacastVoiceClip {
			return false
		}
		f, err := message.ParseFields(m.Body)
		if err != nil {
			return false
		}
		obj, err := p2p.ParseObject(f.Get("Data"))
		if err != nil {
			return false
		}
		if id == message.DatacastWink {
			cv.cl.emit(&Wink{Conversation: cv, From: from, Object: obj})
		} else {
			cv.cl.emit(&VoiceClip{Conversation: cv, From: from, Object: obj})
		}
		return true
	}
	return false
}
