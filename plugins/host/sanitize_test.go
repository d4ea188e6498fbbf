package host

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func sanitized(t testing.TB, in string) string {
	t.Helper()
	out, err := io.ReadAll(sanitize(io.NopCloser(strings.NewReader(in)), nil))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\n", "plain text\n"},
		{`{"@message":"ok","@level":"info"}` + "\n", `{"@message":"ok","@level":"info"}` + "\n"},
		{`{"@message": 5}` + "\n", `[WARN] malformed log line: {"@message": 5}` + "\n"},
		{`{"@level": ["x"]}` + "\n", `[WARN] malformed log line: {"@level": ["x"]}` + "\n"},
		{` {"@timestamp": {}}` + "\n", `[WARN] malformed log line:  {"@timestamp": {}}` + "\n"},
		{`{"@message": "x"` + "\n", `{"@message": "x"` + "\n"}, // not JSON: go-plugin reads it as text
		{"null\n", "null\n"},
		{"no newline at the end", "no newline at the end\n"},
	} {
		if got := sanitized(t, tc.in); got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// A line too long to check is made plain text and cut to fit
	// go-plugin's buffer.
	long := `{"@message": 5, "pad": "` + strings.Repeat("x", 3*maxLogLine) + `"}`
	got := sanitized(t, long+"\nafter\n")
	first, rest, _ := strings.Cut(got, "\n")
	if !strings.HasPrefix(first, "[WARN] ") || len(first) >= maxLogLine || rest != "after\n" {
		t.Errorf("a long line became %d bytes starting %q, then %q", len(first), first[:20], rest)
	}
}

// FuzzSanitize: whatever a bot writes to its standard error, every line
// that comes out is one go-plugin can parse without panicking (its
// "@message", "@level" and "@timestamp" are strings when it is JSON), and
// fits go-plugin's line buffer.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{
		`{"@message":"hi","@level":"info"}`, `{"@message": 1}`, `{"@level": null}`, `{"@timestamp": 12}`,
		"text\n{\"@message\":[]}\n", "\xff\xfe{", "{}", "null", `[1,2]`, "panic: boom\n\tgoroutine 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := sanitized(t, in)
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if len(line) >= maxLogLine {
				t.Fatalf("a line of %d bytes", len(line))
			}
			var raw map[string]any
			if json.Unmarshal([]byte(line), &raw) != nil {
				continue
			}
			for _, k := range []string{"@message", "@level", "@timestamp"} {
				if v, ok := raw[k]; ok {
					if _, isString := v.(string); !isString {
						t.Fatalf("line %q has a %s that is not a string", line, k)
					}
				}
			}
		}
		if in != "" && !bytes.HasSuffix([]byte(out), []byte("\n")) {
			t.Fatalf("output %q does not end its last line", out)
		}
	})
}
