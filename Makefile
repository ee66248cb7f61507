# The README's two commands: `make demo` and `make test`. Both start from nothing on a fresh
# Debian machine: they install and start the engine and build the fixture images first.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: engine fixtures browser test demo vet bench build install fuzz faults

engine:
	@bash hack/engine.sh

fixtures: engine
	@$(GO) run ./hack/fixtures

vet:
	$(GO) vet ./...

# The visualize package's tests drive Debian's Chromium.
browser:
	@bash hack/browser.sh

test: engine fixtures browser vet
	@bash hack/test.sh
	@bash hack/fuzz.sh
	@$(MAKE) --no-print-directory faults

# Every fuzz target of the repository, a few seconds each on top of its seeds (FUZZTIME=3s).
fuzz:
	@bash hack/fuzz.sh

# Fault tests (build tag faults): engines restarted, nodes stopped, registries and disks gone.
# They build their own dind labs and take a minute or two; `make test` runs them after the rest.
faults: engine fixtures
	@bash hack/faults.sh

demo: engine fixtures
	$(GO) run ./examples/chapter3

build:
	$(GO) build -o bin/berth ./cmd/berth

# install puts berth on the PATH and the same binary in place as a Docker CLI plugin, so
# `docker berth stack plan …` works too.
PREFIX ?= /usr/local
DOCKER_CONFIG ?= $(HOME)/.docker
install: build
	install -D -m 0755 bin/berth $(DESTDIR)$(PREFIX)/bin/berth
	install -D -m 0755 bin/berth $(DESTDIR)$(DOCKER_CONFIG)/cli-plugins/docker-berth

# Benchmarks compare berth with the Docker CLI on the same engine in one run and print ratios.
# Not part of `make test`: they take minutes and load the machine.
bench: engine fixtures
	BERTH_REQUIRE_ENGINE=1 $(GO) test -run '^$$' -bench . -benchtime 1x ./stack ./cron
	bash hack/bench-volume.sh
	BERTH_REQUIRE_ENGINE=1 $(GO) test -run '^$$' -bench RollingUpdate -benchtime 1x -timeout 20m -v ./ingress
	$(GO) test -run '^$$' -bench Proxy -cpu 1 -benchtime 3s ./ingress
