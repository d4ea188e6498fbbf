package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlainGoCommands: the commands a Go developer types first work from a
// clone without -tags goolm (which only the Makefile sets): every package
// loads with its tests and none needs the C libolm, and go build
// ./cmd/nudge makes a nudge whose Matrix bridge says in one line how to
// get it.
func TestPlainGoCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nudge again")
	}
	var env []string
	for _, kv := range os.Environ() {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			kv = "GOFLAGS=" + strings.Join(strings.Fields(strings.ReplaceAll(v, "-tags=goolm", "")), " ")
		}
		env = append(env, kv)
	}
	gocmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	deps := gocmd("list", "-e", "-deps", "-test", "-f", "{{.ImportPath}}{{if .Error}} ERROR {{.Error}}{{end}}", "./...")
	for _, line := range strings.Split(deps, "\n") {
		if strings.Contains(line, " ERROR ") || strings.HasSuffix(line, "crypto/libolm") {
			t.Errorf("without -tags goolm: %s", line)
		}
	}
	bin := filepath.Join(t.TempDir(), "nudge")
	gocmd("build", "-o", bin, "./cmd/nudge")
	out, err := exec.Command(bin, "bridge", "matrix").CombinedOutput()
	if err == nil || strings.Count(string(out), "\n") != 1 || !strings.Contains(string(out), "-tags goolm") {
		t.Fatalf("nudge bridge matrix without the bridge: %v\n%s", err, out)
	}
}
