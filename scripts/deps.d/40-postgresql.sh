#!/usr/bin/env bash
# PostgreSQL server binaries, for the tests that run the stores on
# PostgreSQL (each starts a throw-away cluster in a temporary directory; no
# system service is used).
set -euo pipefail
source "$(dirname "$0")/00-lib.sh"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
