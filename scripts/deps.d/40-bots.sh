#!/usr/bin/env bash
# needed to run
# The bot host: Debian's protoc for `make generate` (and the test that checks
# the committed Go code matches plugins/proto/bot.proto), Node.js for the
# JavaScript bot, and that bot's npm packages. Quick when all is there.
set -euo pipefail
source "$(dirname "$0")/00-lib.sh"

command -v protoc >/dev/null || apt_install protobuf-compiler
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	apt_install nodejs npm
fi

# npm ci only when the lock file is newer than what is installed.
dir=plugins/bots/js-hello
if [ ! -e "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
