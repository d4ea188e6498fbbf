package discordtest

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Avatars: users' avatars on the CDN (cdn.discordapp.com/avatars/ID/HASH.png,
// which the emulator serves at the same path), and the avatar_url a
// webhook message overrides its author's avatar with.

// SetAvatar gives a user an avatar (PNG, JPEG or GIF bytes), as when they
// upload one: their user object gets its hash, and the CDN serves it.
func (s *Server) SetAvatar(userID string, data []byte, contentType string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return errors.New("discordtest: no such user")
	}
	sum := md5.Sum(data)
	u.Avatar = ptr(hex.EncodeToString(sum[:]))
	s.avatars[userID] = storedFile{contentType: contentType, data: data}
	s.notify()
	return nil
}

// WebhookAvatarURL returns the avatar_url a webhook message was posted
// with ("" for none). Discord shows the picture at that address beside the
// message, fetching it itself; its API tells the hash only.
func (s *Server) WebhookAvatarURL(messageID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.avatarURLs[messageID]
}

// serveAvatar is the CDN: /avatars/USER/HASH.png (also .jpg, .webp, .gif,
// with ?size=) answers the user's avatar while HASH is its current hash.
func (s *Server) serveAvatar(w http.ResponseWriter, r *http.Request) {
	hash := r.PathValue("file")
	if i := strings.LastIndexByte(hash, '.'); i >= 0 {
		hash = hash[:i]
	}
	s.mu.Lock()
	u, ok := s.users[r.PathValue("user_id")]
	f, has := s.avatars[r.PathValue("user_id")]
	current := ok && u.Avatar != nil && *u.Avatar == hash
	s.mu.Unlock()
	if !has || !current {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Write(f.data)
}

// avatarURLOK applies Discord's rule for a webhook's avatar_url: an
// http(s) URL of at most 2048 characters.
func avatarURLOK(v string) *restError {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 2048 {
		return errBadRequest(CodeInvalidForm, "Invalid Form Body: avatar_url: Not a well formed URL.")
	}
	return nil
}
