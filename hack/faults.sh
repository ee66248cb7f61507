#!/usr/bin/env bash
# Fault tests (build tag faults): a backup's disk fills up or its ctx is cancelled at each step,
# the registry stops during a push, the engine's socket goes away under `cron run`, an engine
# restarts in the middle of a deploy, a worker stops while a stack converges. They run against
# the real engine; those that restart or stop engines build their own swarm/dind lab (the host's
# dockerd is never touched). Each package's fault tests run in parallel with the others.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=$(grep -rl --include='*_test.go' '^//go:build faults' . | xargs -n1 dirname | sort -u)
if [ -z "$pkgs" ]; then
	echo "faults: no fault tests found" >&2
	exit 1
fi
# shellcheck disable=SC2086
BERTH_REQUIRE_ENGINE=1 go test -tags faults -count=1 -timeout 15m -run '^TestFault' ${BERTH_FAULTS_FLAGS:-} $pkgs
