#!/usr/bin/env bash
# Benchmarks berth's stack deploy against `docker stack deploy` on the same engine, in one run
# (stack/bench_engine_test.go, BenchmarkStackDeploy): a 20-service stack from nothing to
# converged, the unchanged redeploy (services written by each), and the plan of a 100-service
# stack against the live stack. Needs a swarm manager engine and the fixture images.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTH_REQUIRE_ENGINE=1 go test ./stack -run '^$' -bench '^BenchmarkStackDeploy$' -benchtime 1x -timeout 30m "$@"
