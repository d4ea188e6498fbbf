package host

import (
	"os/exec"
	"strings"
)

// Python returns the path of a Python 3 that can run the Python bot
// template (plugins/bots/py-hello): one with Debian's gRPC, its code
// generator and cryptography. It is "" when there is none. The first
// python3 in PATH may be another one (pyenv's), so Debian's own is tried
// too.
func Python() string {
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import grpc, grpc_tools, cryptography, sys; print(sys.executable)").Output()
		if err == nil {
			return strings.TrimSpace(string(out))
		}
	}
	return ""
}
