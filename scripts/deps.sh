#!/usr/bin/env bash
# Installs what the build and the tests need and the machine lacks: system
# packages from Debian, tools from the Go module proxy or npm. Each part of
# the project that needs something has its own script in scripts/deps.d/;
# they run in name order and must be quick when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."
for s in scripts/deps.d/*.sh; do
	[ -e "$s" ] || continue
	bash "$s"
done
