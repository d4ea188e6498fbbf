# A C compiler for SQLite (mattn/go-sqlite3 is cgo).
# needed to run
source "$(dirname "$0")/00-lib.sh"
command -v gcc >/dev/null || apt_install gcc libc6-dev
