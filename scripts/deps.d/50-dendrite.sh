#!/usr/bin/env bash
# Dendrite v0.13.8, the Matrix homeserver the Matrix bridge's end-to-end tests
# run against (bridges/matrix/matrixtest starts it on loopback). Built with
# `go install` into a git-ignored cache, so it uses Dendrite's own go.mod and
# never touches ours; skipped when the binaries are already there.
# NUDGE_DENDRITE_BIN overrides the folder (the tests read the same variable).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${NUDGE_DENDRITE_BIN:-$PWD/.cache/dendrite-bin}
VERSION=v0.13.8
TOOLS=(dendrite generate-keys generate-config create-account)

missing=0
for t in "${TOOLS[@]}"; do
	[ -x "$BIN/$t" ] || missing=1
done
if [ -f "$BIN/VERSION" ] && [ "$(cat "$BIN/VERSION")" != "$VERSION" ]; then
	missing=1
fi
((missing)) || exit 0

echo "building Dendrite $VERSION into $BIN (a few minutes, once)" >&2
mkdir -p "$BIN"
pkgs=()
for t in "${TOOLS[@]}"; do
	pkgs+=("github.com/matrix-org/dendrite/cmd/$t@$VERSION")
done
# Outside our module, so our go.mod and GOFLAGS play no part.
(cd "$BIN" && GOBIN="$BIN" GOFLAGS= CGO_ENABLED=1 go install "${pkgs[@]}")
echo "$VERSION" >"$BIN/VERSION"
