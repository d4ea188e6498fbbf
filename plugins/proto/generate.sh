#!/bin/sh
# Regenerates the Go code for bot.proto into DIR (default: this folder) with
# Debian's protoc and the generators pinned in go.mod as tools. `make
# generate` runs it through go:generate; the tests run it into a temporary
# folder to check that the committed code matches the proto.
set -eu
cd "$(dirname "$0")"
out=${1:-.}
command -v protoc >/dev/null || { echo "protoc not found: install it with: apt-get install protobuf-compiler (or run make deps)" >&2; exit 1; }
exec protoc -I . \
	--plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" \
	--plugin=protoc-gen-go-grpc="$(go tool -n protoc-gen-go-grpc)" \
	--go_out="$out" --go_opt=paths=source_relative \
	--go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
	bot.proto
