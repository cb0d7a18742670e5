#!/bin/sh
# need-packages.sh PACKAGE...: install, with apt-get, those of the Debian
# PACKAGEs that are not installed; do nothing (and need no network) when all
# are. The Containerfile runs it in each stage, so the same file builds from
# debian:12 online and, offline, from a base image that already holds them
# (tests/integration/container_image.sh makes such bases with mmdebstrap).
set -eu
missing=
for p in "$@"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "need-packages: all $# present"
	exit 0
fi
echo "need-packages: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # one word per package
apt-get install -y -q --no-install-recommends $missing </dev/null
rm -rf /var/lib/apt/lists/*
