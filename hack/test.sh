#!/usr/bin/env bash
# Runs every test against the real engine. Integration tests fail instead of skipping when the
# engine is missing (BERTH_REQUIRE_ENGINE=1). A swarm that tests had to initialise is left
# afterwards, so the engine ends in the swarm state it started in.
set -euo pipefail
swarm_before=$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown)
status=0
BERTH_REQUIRE_ENGINE=1 go test -count=1 -timeout 40m ${BERTH_TEST_FLAGS:-} ./... || status=$?
swarm_after=$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown)
if [ "$swarm_before" = inactive ] && [ "$swarm_after" = active ]; then
	docker swarm leave --force >/dev/null && echo "test: left the swarm the tests initialised"
fi
exit $status
