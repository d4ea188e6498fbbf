package server_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/nudge-im/nudge/core/coretest"
)

// /pictures/ answers from the handler a bridge gave, and 404 without one.
func TestServePictures(t *testing.T) {
	srv := coretest.Start(t)
	get := func() (int, string) {
		resp, err := http.Get(srv.HTTPURL + "/pictures/abc.png")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get(); code != http.StatusNotFound {
		t.Fatalf("without a bridge: %d", code)
	}
	srv.Server.ServePictures(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "picture at "+r.URL.Path)
	}))
	if code, body := get(); code != 200 || body != "picture at /abc.png" {
		t.Fatalf("with a bridge: %d %q", code, body)
	}
	srv.Server.ServePictures(nil)
	if code, _ := get(); code != http.StatusNotFound {
		t.Fatalf("after the bridge stopped: %d", code)
	}
}
