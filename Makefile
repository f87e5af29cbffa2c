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
# Arguments for `navarch up` in `make run`.
RUN_ARGS     ?=

# Debian packages the project and its tests use: the container runtime,
# the CNI plugins, nftables, an etcd binary for the external-cluster tests,
# git for the GitOps sources.
DEB_PACKAGES := containerd runc containernetworking-plugins nftables etcd-server git iproute2 iptables ca-certificates

.PHONY: help deps build run test test-e2e bench lint fmt clean

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

run: deps build ## Install deps, build, and start navarch on this machine (navarch up)
	$(BIN) up $(RUN_ARGS)

test: deps ## Run every test (CI=true turns a missing tool from a skip into a failure)
	$(GO) test -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...

test-e2e: deps build ## Run the end-to-end tests (build tag e2e)
	@if [ -d test/e2e ]; then \
		$(GO) test -tags e2e -timeout 15m $(TESTFLAGS) ./test/e2e/...; \
	else echo "test-e2e: no end-to-end tests yet"; fi

bench: deps ## Run the benchmarks into _output/bench.txt (BENCHTIME=1s BENCH_PKGS=./...)
	@mkdir -p $(dir $(BENCH_OUT))
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem -timeout 60m $(BENCH_PKGS) | tee $(BENCH_OUT)

lint: ## go vet, and fail on files gofmt would change
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$($(GO) list -f '{{.Dir}}' ./...)); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:" $$unformatted >&2; exit 1; fi

fmt: ## Format every Go file with gofmt
	gofmt -w $$($(GO) list -f '{{.Dir}}' ./...)

clean: ## Remove bin/ and _output/
	rm -rf bin _output
