package botpb_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The committed Go code is what bot.proto generates today. Everywhere `make
// test` runs, make deps has installed protoc, so a missing protoc fails in
// CI (CI is set) and only skips on a machine that never ran make deps.
func TestGeneratedCodeMatchesProto(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("protoc not found; make deps installs it (scripts/deps.d/40-bots.sh)")
		}
		t.Skip("protoc not found; run make deps to check the generated code")
	}
	dir := t.TempDir()
	cmd := exec.Command("./generate.sh", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate.sh: %v\n%s", err, out)
	}
	for _, name := range []string{"bot.pb.go", "bot_grpc.pb.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what bot.proto generates: run make generate and commit the result", name)
		}
	}
}
