# tocsin: the two commands a fresh machine needs are `make run` and
# `make test`; the other targets are their parts.

GO       ?= go
BIN      := bin/tocsin
PKGS     := ./...
FUZZTIME ?= 20s

.PHONY: all build run test test-deps vet fmt-check fuzz bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/tocsin

# Builds tocsin, starts it on the embedded default, sends the bundled real
# sample to its syslog listener, prints the incidents it opened, and keeps
# running until Ctrl-C.
run: build
	./scripts/demo.sh $(BIN)

test-deps:
	./scripts/test-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

# Every test: installs what the tests need, checks formatting and vet, runs
# a short round of every fuzz target, then the unit, integration and
# end-to-end tests (the latter start real rsyslogd and tocsin processes on
# loopback).
test: test-deps fmt-check vet build
	./scripts/fuzz.sh $(FUZZTIME)
	$(GO) test -count=1 -timeout 20m $(PKGS)

fuzz:
	./scripts/fuzz.sh 60s

bench:
	$(GO) test ./bench -run '^$$' -bench . -cpu 1 -benchmem

clean:
	rm -rf bin
