package config

import (
	"fmt"
	"time"
)

// Web is the Web Messenger: MSN in a browser at http://LISTEN.HTTP/web/.
type Web struct {
	// Enabled serves the Web Messenger on the HTTP listener.
	Enabled bool `yaml:"enabled"`
	// Grace is how long a page's MSNP connection stays open after its
	// WebSocket broke without a goodbye, for the page to resume it.
	Grace Duration `yaml:"grace"`
}

func defaultWeb() Web {
	return Web{Enabled: true, Grace: Duration(60 * time.Second)}
}

func (w Web) validate() error {
	if w.Enabled && (w.Grace < Duration(time.Second) || w.Grace > Duration(time.Hour)) {
		return &keyError{"web.grace", fmt.Sprintf("%s is outside 1s..1h", time.Duration(w.Grace))}
	}
	return nil
}
