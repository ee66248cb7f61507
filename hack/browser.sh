#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed at /usr/bin/chromium: the visualize package's tests
# drive it headless (chromedp) against pages on loopback. Idempotent: does nothing when it is
# there; installs the `chromium` package on Debian as root otherwise.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
	echo "browser: /usr/bin/chromium is missing and this is not Debian as root: install Chromium (Debian package chromium)" >&2
	exit 1
fi
echo "browser: installing chromium from Debian"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
