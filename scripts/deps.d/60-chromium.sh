#!/usr/bin/env bash
# Chromium, for the tests that drive the Web Messenger in a real browser
# (core/web). Without its recommended packages: the tests need the browser
# and a font, not a desktop.
set -euo pipefail
source "$(dirname "$0")/00-lib.sh"
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian package chromium (the browser tests skip without it) — install it with: sudo apt-get install --no-install-recommends chromium fonts-dejavu-core" >&2
	exit 0
fi
if [ ! -e /tmp/.nudge-apt-updated ]; then
	apt-get update -qq && touch /tmp/.nudge-apt-updated
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
