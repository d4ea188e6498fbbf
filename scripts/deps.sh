#!/usr/bin/env bash
# Installs what the build, the service and the tests need and the machine
# lacks: system packages from Debian, tools from the Go module proxy or npm.
# Each part of the project that needs something has its own script in
# scripts/deps.d/; they run in name order and are quick when everything is
# there already. A script with the line "# needed to run" is needed by
# `make run` as well; the others only by the tests.
#
#   scripts/deps.sh        everything (make test)
#   scripts/deps.sh run    only what running the service needs (make run)
set -euo pipefail
cd "$(dirname "$0")/.."
for s in scripts/deps.d/*.sh; do
	[ -e "$s" ] || continue
	case "$(basename "$s")" in 00-*) continue ;; esac # shared helpers
	if [ "${1:-}" = run ] && ! grep -q '^# needed to run$' "$s"; then
		continue
	fi
	bash "$s"
done
