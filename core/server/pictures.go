package server

import (
	"net/http"
	"sync/atomic"
)

// pictures serves, at /pictures/ on the HTTP listeners, the MSN display
// pictures a bridge running in this process fetched (its PictureHandler),
// so that Discord can show them as webhook avatars.
type pictures struct{ h atomic.Pointer[http.Handler] }

// ServePictures makes h answer GET /pictures/KEY.png on the HTTP
// listeners; nil stops it (404).
func (s *Server) ServePictures(h http.Handler) {
	if h == nil {
		s.pictures.h.Store(nil)
		return
	}
	s.pictures.h.Store(&h)
}

func (s *Server) servePictures(w http.ResponseWriter, r *http.Request) {
	h := s.pictures.h.Load()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	http.StripPrefix("/pictures", *h).ServeHTTP(w, r)
}
