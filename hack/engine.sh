#!/usr/bin/env bash
# Makes sure a Docker engine answers. If one already answers (DOCKER_HOST or the default
# socket), it is used and never touched. Otherwise, on Debian as root, installs Debian's engine
# (docker.io), docker-registry, busybox-static and mariadb-server (the fixture images are built
# from them; the package's server is not started: there is no init system), starts
# dockerd in the background with its log in $BERTH_DOCKERD_LOG and waits until it answers.
set -euo pipefail

log=${BERTH_DOCKERD_LOG:-/var/log/berth-dockerd.log}
wait_secs=${BERTH_ENGINE_WAIT:-60}

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

need_packages() {
	command -v dockerd >/dev/null && command -v docker-registry >/dev/null &&
		[ -x /bin/busybox ] && dpkg -s busybox-static >/dev/null 2>&1 &&
		[ -x /usr/sbin/mariadbd ] && [ -x /usr/bin/mariadb-install-db ]
}

fixture_packages='docker-registry busybox-static mariadb-server'

if ! command -v docker >/dev/null; then
	missing_client=1
else
	missing_client=0
fi

if [ "$missing_client" = 0 ] && answers; then
	# An engine answers: still make sure the fixture packages are there when we can install them.
	if ! need_packages && [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $fixture_packages >/dev/null
	fi
	echo "engine: using the engine that answers at ${DOCKER_HOST:-unix:///var/run/docker.sock} ($(docker version --format '{{.Server.Version}}'))"
	exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
	echo "engine: no Docker engine answers and this is not Debian as root: start one and set DOCKER_HOST" >&2
	exit 1
fi

if ! need_packages || [ "$missing_client" = 1 ]; then
	echo "engine: installing docker.io $fixture_packages from Debian"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io $fixture_packages >/dev/null
fi

# A package's init script may have started an engine already.
if answers; then
	echo "engine: ready ($(docker version --format '{{.Server.Version}} API {{.Server.APIVersion}}'))"
	exit 0
fi

if [ -n "${DOCKER_HOST:-}" ]; then
	echo "engine: DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local engine for it" >&2
	exit 1
fi

echo "engine: starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 </dev/null &
for _ in $(seq "$wait_secs"); do
	if answers; then
		echo "engine: ready ($(docker version --format '{{.Server.Version}} API {{.Server.APIVersion}}'))"
		exit 0
	fi
	sleep 1
done
echo "engine: dockerd did not answer within ${wait_secs}s; last lines of $log:" >&2
tail -n 30 "$log" >&2
exit 1
