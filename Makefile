# tocsin: the two commands a fresh machine needs are `make run` and
# `make test`; the other targets are their parts.

GO       ?= go
BIN      := bin/tocsin
PKGS     := ./...
FUZZTIME ?= 20s

.PHONY: all build run test test-deps vet fmt-check fuzz bench chaos clean

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
# end-to-end tests against a real Kafka broker and ClickHouse server that
# scripts/with-servers.sh starts on loopback (the end-to-end tests also
# start real rsyslogd, kcat and tocsin processes).
test: test-deps fmt-check vet build
	./scripts/fuzz.sh $(FUZZTIME)
	./scripts/with-servers.sh $(GO) test -count=1 -timeout 30m $(PKGS)

# The full failure rounds of the production path: kill -9 of engines and
# ticketing while 1,000,000 events flow (20 rounds), ClickHouse stopped for
# 2 minutes and Kafka for 1 minute; prints the comparison with an
# undisturbed run. `make test` runs a short version.
chaos: test-deps build
	TOCSIN_CHAOS=full $(GO) test -count=1 -timeout 120m -v -run 'Chaos|Outage|Rebalance' ./e2e

fuzz:
	./scripts/fuzz.sh 60s

bench:
	$(GO) test ./bench -run '^$$' -bench . -cpu 1 -benchmem

clean:
	rm -rf bin
