#!/usr/bin/env bash
# Installs the system packages the build and tests need, when missing.
# Go modules (SQLite driver, staticcheck, …) come from the Go module proxy.
set -euo pipefail
need=()
command -v gcc >/dev/null || need+=(gcc libc6-dev)
if ((${#need[@]})); then
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${need[*]} — install them with apt-get (needs root)" >&2
		exit 1
	fi
	apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi
