#!/usr/bin/env bash
# Install what tcpfs needs to build and test (Debian 12), then build it.
#
#   scripts/setup.sh            install the missing packages, build in build/
#
# Only packages that are missing are installed (apt-get, noninteractive), so a
# second run installs nothing and only rebuilds. Run as root, or as a user
# who may sudo, when something is missing. With CI=true the build treats
# warnings as errors (-Dwerror=true).
set -euo pipefail

cd "$(dirname "$0")/.."

PACKAGES=(
	build-essential meson ninja-build pkg-config
	libfuse3-dev fuse3 libmnl-dev libcmocka-dev
	iproute2 nftables python3 python3-scapy socat netcat-openbsd curl tshark procps util-linux
	strace
	clang valgrind libbpf-dev bpftool
	man-db systemd
	podman runc mmdebstrap python3-yaml bc
)
# podman, runc (crun 1.8 cannot run on hybrid cgroups), mmdebstrap: the
# container image test; python3-yaml: the deploy/k8s manifests' test;
# strace: dir_gone counts the daemon's netlink dumps; bc: kernel_bpf's
# arithmetic (priority standard, absent from minimal images).

say() { printf 'setup: %s\n' "$*"; }

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

install_missing() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "all ${#PACKAGES[@]} packages present"
		return
	fi
	say "installing: ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || {
			say "not root and no sudo: install ${missing[*]} and run again" >&2
			exit 1
		}
		sudo=(sudo)
	fi
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture: answer no, silently.
	echo 'wireshark-common wireshark-common/install-setuid boolean false' |
		"${sudo[@]}" debconf-set-selections
	# another apt (unattended-upgrades on a fresh machine) may hold the
	# lock: wait for it rather than fail
	local apt=(apt-get -q -o DPkg::Lock::Timeout=600)
	"${sudo[@]}" "${apt[@]}" update
	"${sudo[@]}" "${apt[@]}" install -y "${missing[@]}" </dev/null
}

# meson setup BUILDDIR [OPTIONS...], or reconfigure it if it already exists.
configure() {
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@"
	fi
}

install_missing

opts=()
[ "${CI:-}" = true ] && opts+=(-Dwerror=true)
say "building in build/${opts[*]:+ (${opts[*]})}"
configure build "${opts[@]}"
ninja -C build
say "built build/src/tcpfs"
