package msnbridge

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nudge-im/nudge/msnp/client"
	"github.com/nudge-im/nudge/msnp/p2p"
)

// Pictures is a bridge's MSN display pictures: fetched from their owners
// when a bridge first needs one (never for every contact at sign-in: each
// fetch from someone without an open conversation costs a switchboard,
// and the server limits those per user), once per picture — its SHA1D —
// for all the bridge's accounts together, and kept in Store so that a
// picture crosses MSN once and its address (Key) never changes.
type Pictures struct {
	store client.ObjectCache
	// retry is how long a picture that could not be fetched is not asked
	// for again.
	retry time.Duration

	mu       sync.Mutex
	fetching map[string]*pictureFetch // by SHA1D
	failed   map[string]time.Time     // by SHA1D: when it may be tried again
}

type pictureFetch struct {
	done chan struct{}
	data []byte
	err  error
}

// pictureRetry is how long a picture that could not be fetched (its owner
// offline, or their client would not send it) is not asked for again.
const pictureRetry = 10 * time.Minute

// maxFailed is how many failed pictures are remembered before the
// expired ones are forgotten.
const maxFailed = 4096

// pictureFetchTimeout bounds one fetch, which may go on after the caller
// that started it stopped waiting.
const pictureFetchTimeout = 2 * time.Minute

// NewPictures keeps pictures in store (a database table, say); nil keeps
// the last 32 MiB in memory.
func NewPictures(store client.ObjectCache) *Pictures {
	if store == nil {
		store = client.NewMemoryCache(32 << 20)
	}
	return &Pictures{store: store, retry: pictureRetry, fetching: map[string]*pictureFetch{}, failed: map[string]time.Time{}}
}

// Cache is the store as a client.ObjectCache, for the bridge's clients'
// Config.ObjectCache: what one account fetched, every other one has.
func (p *Pictures) Cache() client.ObjectCache { return p.store }

// Key is a picture's name in addresses: its SHA1D in hex, which stays the
// same for the same picture and changes with it. "" for no picture.
func Key(obj *p2p.Object) string {
	if obj == nil {
		return ""
	}
	sum, err := base64.StdEncoding.DecodeString(obj.SHA1D)
	if err != nil || len(sum) == 0 {
		return ""
	}
	return hex.EncodeToString(sum)
}

// sha1dOf turns a Key back into the SHA1D the store knows.
func sha1dOf(key string) (string, bool) {
	sum, err := hex.DecodeString(key)
	if err != nil || len(sum) != 20 {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(sum), true
}

// Stored returns a picture already kept, without asking MSN.
func (p *Pictures) Stored(obj *p2p.Object) ([]byte, bool) {
	if obj == nil {
		return nil, false
	}
	return p.store.Get(obj.SHA1D)
}

// Get returns the picture of obj: kept, or fetched through cl from its
// owner (a contact of cl's account) while ctx lets it wait. The fetch goes
// on when ctx ends first, so that the picture is there next time; one
// that failed is not tried again for a while (ErrPictureLater).
func (p *Pictures) Get(ctx context.Context, cl *client.Client, obj *p2p.Object) ([]byte, error) {
	if obj == nil {
		return nil, errors.New("msnbridge: no picture")
	}
	if data, ok := p.store.Get(obj.SHA1D); ok {
		return data, nil
	}
	p.mu.Lock()
	if until, ok := p.failed[obj.SHA1D]; ok {
		if time.Now().Before(until) {
			p.mu.Unlock()
			return nil, ErrPictureLater
		}
		delete(p.failed, obj.SHA1D)
	}
	f := p.fetching[obj.SHA1D]
	if f == nil {
		f = &pictureFetch{done: make(chan struct{})}
		p.fetching[obj.SHA1D] = f
		go p.fetch(cl, obj, f)
	}
	p.mu.Unlock()
	select {
	case <-f.done:
		return f.data, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ErrPictureLater says a picture could not be fetched a short while ago
// and is not asked for again yet.
var ErrPictureLater = errors.New("msnbridge: the picture could not be fetched; it is tried again later")

func (p *Pictures) fetch(cl *client.Client, obj *p2p.Object, f *pictureFetch) {
	ctx, cancel := context.WithTimeout(context.Background(), pictureFetchTimeout)
	defer cancel()
	f.data, f.err = cl.FetchObject(ctx, obj)
	if f.err == nil && !isPicture(f.data) {
		f.data, f.err = nil, ErrNotPicture
	}
	p.mu.Lock()
	delete(p.fetching, obj.SHA1D)
	if f.err != nil {
		now := time.Now()
		if len(p.failed) >= maxFailed {
			for k, until := range p.failed {
				if now.After(until) {
					delete(p.failed, k)
				}
			}
		}
		p.failed[obj.SHA1D] = now.Add(p.retry)
	}
	p.mu.Unlock()
	if f.err == nil {
		p.store.Put(obj.SHA1D, f.data) // FetchObject checked its SHA1D
	}
	close(f.done)
}

// isPicture reports whether data is a picture a browser shows.
func isPicture(data []byte) bool {
	switch http.DetectContentType(data) {
	case "image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp":
		return true
	}
	return false
}

// Handler serves the kept pictures at PREFIX/KEY.png, for whoever shows
// an MSN contact's avatar by address (Discord's webhooks): only pictures
// already fetched, named by their hash, so it tells nothing about anyone
// that the picture's hash does not.
func (p *Pictures) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		sha1d, ok := sha1dOf(strings.TrimSuffix(name, ".png"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		data, ok := p.store.Get(sha1d)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", http.DetectContentType(data))
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodGet {
			w.Write(data)
		}
	})
}
