# navarch — `make` (or `make help`) lists the targets.

SHELL        := /bin/bash
.DEFAULT_GOAL := help

GO           ?= go
BIN          := bin/navarch
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -s -w -X main.version=$(VERSION)
# Extra flags for go test, e.g. TESTFLAGS='-count=1 -run TestRestart'.
TESTFLAGS    ?=
TEST_TIMEOUT ?= 20m
BENCHTIME    ?= 1s
BENCH_OUT    ?= _output/bench.txt
BENCH_PKGS   ?= ./...
# Arguments for `navarch up` in `make run` (hack/run.sh passes them on).
RUN_ARGS     ?=
# How long the end-to-end tests may take; E2E_RUN narrows them (go test -run).
E2E_TIMEOUT  ?= 10m
E2E_RUN      ?= .

# Debian packages the project and its tests use: the container runtime,
# the CNI plugins, nftables, an etcd binary for the external-cluster tests,
# git for the GitOps sources; curl, openssl and util-linux (setsid) for the
# quickstart's push hook and script.
DEB_PACKAGES := containerd runc containernetworking-plugins nftables etcd-server git iproute2 iptables ca-certificates curl openssl util-linux

.PHONY: help deps build run test test-e2e bench bench-e2e lint fmt clean

help: ## List the targets (the default)
	@echo "navarch — make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Install the Debian packages navarch needs (as root; skips apt when all are present)
	@command -v $(GO) >/dev/null || { echo "deps: no '$(GO)' command; install Go (see go.mod for the version)" >&2; exit 1; }
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -qx 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "deps: missing" $$missing "- run 'make deps' as root" >&2; exit 1; fi; \
	echo "deps: installing" $$missing; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -q && apt-get install -y -q --no-install-recommends $$missing

build: ## Build bin/navarch: static (CGO_ENABLED=0), version from git
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/navarch

run: deps build ## Start navarch with the example app from a local Git repository (hack/run.sh)
	NAVARCH=$(abspath $(BIN)) hack/run.sh $(RUN_ARGS)

test: deps ## Run every test; with CI=true (a missing tool fails instead of skipping) the end-to-end tests too
	$(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...
	@if [ "$$CI" = true ]; then $(MAKE) --no-print-directory test-e2e; fi

test-e2e: deps build ## Run the end-to-end tests (test/e2e, as root) against bin/navarch
	NAVARCH_E2E=1 NAVARCH_BIN=$(abspath $(BIN)) $(GO) test -timeout $(E2E_TIMEOUT) $(TESTFLAGS) -run '$(E2E_RUN)' -v ./test/e2e/

bench: deps ## Run the benchmarks into _output/bench.txt (BENCHTIME=1s BENCH_PKGS=./...)
	@mkdir -p $(dir $(BENCH_OUT))
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem -timeout 60m $(BENCH_PKGS) | tee $(BENCH_OUT)

bench-e2e: deps build ## Measure commit-to-ready, start-up and idle memory of bin/navarch (docs/benchmarks.md)
	@mkdir -p _output
	set -o pipefail; NAVARCH_E2E=1 NAVARCH_BIN=$(abspath $(BIN)) $(GO) test -timeout 30m -run '^$$' -bench . -benchtime 1x -v ./test/e2e/ | tee _output/bench-e2e.txt

lint: ## go vet, and fail on files gofmt would change
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$($(GO) list -f '{{.Dir}}' ./...)); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:" $$unformatted >&2; exit 1; fi

fmt: ## Format every Go file with gofmt
	gofmt -w $$($(GO) list -f '{{.Dir}}' ./...)

clean: ## Remove bin/ and _output/
	rm -rf bin _output
