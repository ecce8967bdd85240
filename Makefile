# gridmint developer commands. `make help` lists them.

GO          ?= go
BIN         := bin
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
FUZZTIME    ?= 30s
NODES       ?= 3
# demo-net's demo clock: demo seconds per wall second (60: an hour in a
# minute) and its chain (embedded: node 0's; geth: a geth --dev, SPEED=1).
SPEED       ?= 60
CHAIN       ?= embedded
# Where `make run` and `make demo-net` listen and keep their data, e.g.
# `make run HTTP_ADDR=127.0.0.1:9088 MQTT_ADDR=127.0.0.1:0` next to a local
# Mosquitto (MQTT port 0: any free port). demo-net's node i listens on
# HTTP_ADDR's port + i, keeps its data in DATA_DIR/demo-net/node-<i> and
# runs its broker on a free port.
HTTP_ADDR   ?= 127.0.0.1:8088
MQTT_ADDR   ?= 127.0.0.1:1883
DATA_DIR    ?= ./gridmint-data
BENCHTIME   ?= 1s
# Tools are pinned to module versions the Go proxy serves (check with
# `go list -m MODULE@VERSION`) and built into bin/tools under a versioned
# name, so an older copy elsewhere on PATH is never used.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(BIN)/tools/staticcheck-$(STATICCHECK_VERSION)

.DEFAULT_GOAL := help
.PHONY: help build run demo-net test wallettest-deps bench bench-ingest lint fuzz generate clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/gridmint and bin/firmware-sim
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/gridmint ./cmd/gridmint
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/firmware-sim ./cmd/firmware-sim

run: build ## run the demo: embedded broker, simulated devices and the node (HTTP_ADDR, MQTT_ADDR, DATA_DIR)
	$(BIN)/gridmint demo --http-addr $(HTTP_ADDR) --mqtt-addr $(MQTT_ADDR) --data-dir $(DATA_DIR)

demo-net: build ## run NODES (default 3) demo nodes on one chain, an hour a minute (SPEED=60, CHAIN=embedded|geth)
	$(BIN)/gridmint demo --nodes $(NODES) --speed $(SPEED) --chain $(CHAIN) --http-addr $(HTTP_ADDR) --data-dir $(DATA_DIR)/demo-net

test: wallettest-deps ## gofmt check, go vet, and every test with the race detector
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./... # a hang guard per package, with room for a loaded machine

# ethers.js for chain/wallettest, pinned in its package-lock.json, is
# installed again when the lock file changes. Without npm (or the npm
# registry) the step says so and the test skips, except under CI=1.
WALLETTEST_DEPS := chain/wallettest/node_modules/.package-lock.json
wallettest-deps: $(WALLETTEST_DEPS)
$(WALLETTEST_DEPS): chain/wallettest/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then echo "npm not found: chain/wallettest's ethers test skips"; [ -z "$$CI" ]; \
	else cd chain/wallettest && npm ci --no-audit --no-fund --loglevel=error || \
	  { echo "npm ci failed: chain/wallettest's ethers test skips"; [ -z "$$CI" ]; }; fi

bench: ## run the benchmarks (BENCHTIME=1s); paste results with this command line
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

# Fleet sizes of bench-ingest, one run each.
HOMES       ?= 250,2000
bench-ingest: build ## side by side: Mosquitto, firmware-sim HOMES, a discarding QoS 1 subscriber and the node; prints processed ÷ delivered
	$(GO) run ./tools/bench-ingest --homes $(HOMES) --bin $(BIN)

$(STATICCHECK):
	@mkdir -p $(BIN)/tools
	GOBIN=$(CURDIR)/$(BIN)/tools.tmp $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/tools.tmp/staticcheck $@ && rmdir $(BIN)/tools.tmp

lint: $(STATICCHECK) ## gofmt, go vet (also for 32-bit arm), staticcheck, and go.mod/go.sum tidy
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	GOARCH=arm $(GO) vet ./... # a 32-bit Raspberry Pi: int is 32 bits there
	$(GO) vet -tags e2e ./node/ ./cmd/... # the end-to-end harness's test hooks
	$(STATICCHECK) ./...
	@$(GO) mod tidy -diff || (echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1)

# Minimising each new input for Go's default 60 s would eat a short run.
fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run='^$$' -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s $$pkg; \
	  done; \
	done

generate: ## recompile the contracts (solc-js, OpenZeppelin from npm) and regenerate the abigen bindings
	$(GO) generate ./...

clean: ## remove build output (not the demo's data dir)
	rm -rf $(BIN)
