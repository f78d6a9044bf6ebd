#!/bin/bash
# deploy/setup.sh - install what sluice needs on Debian 12 and build it in ./build.
#
# Idempotent: apt-get runs only when a package is missing; an existing build
# directory is re-configured, not wiped. Never starts the system Postfix or
# Redis (tests and the demo run private instances). Run as root (or with sudo).
#   SETUP_NO_BUILD=1   only install packages
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/sbin:/sbin

PACKAGES=(build-essential meson ninja-build pkg-config libdpdk-dev libssl-dev
	libhiredis-dev libcunit1-dev clang libclang-rt-14-dev swaks postfix
	redis-server iproute2 iputils-ping python3-aiosmtpd hping3 ethtool tcpdump)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: missing packages (${missing[*]}); run as root: sudo bash deploy/setup.sh" >&2
		exit 1
	fi
	echo "setup.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Postfix without a system configuration: nothing listens on port 25.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	# Keep package scripts from starting services (redis-server, postfix).
	own_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	trap 'if [ $own_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${SETUP_NO_BUILD:-0}" = 1 ] && exit 0

if [ -f build/meson-private/coredata.dat ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
ninja -C build
