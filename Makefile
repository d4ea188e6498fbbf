# Nudge — a self-hosted MSN Messenger service.
#   make run    build and start the service with defaults (data in ./data)
#   make test   every test, installing what the tests need
SHELL := /bin/bash
GO ?= go
BIN := bin/nudge
DATA ?= ./data
FUZZTIME ?= 30s
export CGO_ENABLED := 1
# The Matrix bridge's end-to-end encryption uses mautrix's pure-Go olm
# (goolm) instead of the C libolm: no system library to install.
export GOFLAGS := $(strip $(shell $(GO) env GOFLAGS) -tags=goolm)

.PHONY: all build run cluster-demo test test-short fuzz bench generate lint deps deps-run clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/nudge
	$(GO) build -o bin/bots/ ./plugins/bots/...
	ln -sfn ../../plugins/bots/js-hello bin/bots/js-hello && ln -sfn ../../plugins/bots/py-hello bin/bots/py-hello

run: deps-run build
	./$(BIN) serve --data $(DATA)

# cluster-demo starts PostgreSQL, three nats-servers and three nodes on
# loopback (README: "Running a cluster").
cluster-demo: deps
	@bash scripts/cluster-demo.sh

# deps installs what the build and the tests need and the machine lacks
# (scripts/deps.d: Debian packages, npm packages, Dendrite); deps-run only
# what running the service needs. Go modules come from the module proxy.
deps:
	@bash scripts/deps.sh

deps-run:
	@bash scripts/deps.sh run

test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -count=1 ./...

# fuzz runs every fuzz target for FUZZTIME each.
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

generate:
	$(GO) generate ./...

lint:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

clean:
	rm -rf bin
