#!/bin/bash
# container_image: the Containerfile builds offline (podman build
# --network=none --pull=never) from Debian 12 bases that mmdebstrap makes from
# this machine's apt sources; the runtime image holds tcpfs with every shared
# library it links and no compiler; and the two ways README.md runs it work:
#   - the host-wide daemon (--pid=host, /dev/fuse, SYS_ADMIN, its mount
#     propagated to the host through an rshared volume): the mount appears on
#     the host side and in a container started before it (rslave), which
#     sees there the namespace tcpfs(8) says (its own where kernel/ is per
#     reader); its pid files show host pids; podman stop unmounts everywhere
#     and start mounts again; killed, it leaves a dead mount that only
#     README's umount -l clears;
#   - the debug form (--network container:NAME): its kernel/ lists that
#     container's sockets and not the host's, and its engine runs there.
# podman runs with a private CONTAINERS_CONF (runc, explicit ulimits) and a
# private storage, so the host's podman state is untouched. The bases are kept
# in $TCPFS_IMAGE_CACHE (/var/tmp/tcpfs-image-cache), keyed by their package
# lists, so a second run skips mmdebstrap.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd podman runc mmdebstrap unshare nsenter ip sha256sum
[ -e /dev/fuse ] || skip "needs /dev/fuse"
[ -e /dev/net/tun ] || skip "needs /dev/net/tun"
SRC=$(cd "$LIB_DIR/../.." && pwd)
CACHE=${TCPFS_IMAGE_CACHE:-/var/tmp/tcpfs-image-cache}
# the start, kept across the re-run in the test's namespaces
: "${CONTAINER_T0:=$(date +%s)}"
export CONTAINER_T0

# --- the bases: the packages each stage of the Containerfile names, from
# this machine's apt sources (its Debian 12 ones), made before the test
# enters its network namespace, which has no route to the mirror.
packages() {
	sed -n "s/^ARG $1=\"\\(.*\\)\"\$/\\1/p" "$SRC/Containerfile"
}
SOURCES=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && grep -qw bookworm "$f" && SOURCES+=("$f")
done
# Debian 12, Essential packages plus PACKAGES, merged /usr, no docs.
MMDEBSTRAP=(--variant=essential
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
	--aptopt='Acquire::Check-Valid-Until "false"'
	--dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-exclude=/usr/share/man/*'
	--dpkgopt='path-exclude=/usr/share/info/*')
# base_tar NAME ARG: the cached tarball of the base for the Containerfile's
# ARG package list; base_tar NAME ARG make: make it if it is not there.
base_tar() {
	local name=$1 list key tar tmp t out
	list=$(packages "$2")
	[ -n "$list" ] || die "no 'ARG $2=\"...\"' line in the Containerfile"
	key=$(printf '%s\n' bookworm "${MMDEBSTRAP[@]}" "$list" | sha256sum)
	tar=$CACHE/$name-${key:0:16}.tar
	BASE_TAR=$tar
	[ "${3:-}" = make ] && [ ! -s "$tar" ] || return 0
	[ ${#SOURCES[@]} -gt 0 ] || skip "no Debian 12 (bookworm) apt source on this machine"
	mkdir -p "$CACHE" || die "mkdir $CACHE"
	rm -f "$CACHE/$name"-*.tar # other package lists: stale
	tmp=$CACHE/.$name.$$.tar # mmdebstrap: a tarball by its name's end
	out=$(mktemp) || die mktemp
	t=$SECONDS
	if ! timeout -k 5 600 mmdebstrap "${MMDEBSTRAP[@]}" \
		--include="${list// /,}" bookworm "$tmp" "${SOURCES[@]}" >"$out" 2>&1; then
		tail -n 5 "$out" >&2
		rm -f "$out" "$tmp"
		die "mmdebstrap $name failed (above)"
	fi
	rm -f "$out"
	mv "$tmp" "$tar" || die "mv $tar"
	log "mmdebstrap $name: $((SECONDS - t)) s, $(du -m "$tar" | cut -f1) MB"
}
if [ -z "${TCPFS_TEST_INNER:-}" ]; then
	base_tar tcpfs-build-base BUILD_PACKAGES make
	base_tar tcpfs-run-base RUN_PACKAGES make
fi
enter_netns "$@"

PM=$WORK/podman
TAG=t$$
IMAGE=localhost/tcpfs:$TAG

# --- podman, private: runc (crun cannot run on this host's hybrid cgroups),
# ulimits it may set (root here lacks CAP_SYS_RESOURCE), storage in $PM.
mkdir -p "$PM/tmp" "$PM/net" || die "mkdir $PM"
cat >"$PM/containers.conf" <<EOF || die "write containers.conf"
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PM/events.log"
tmp_dir = "$PM/tmp"
[network]
network_config_dir = "$PM/net"
EOF
cat >"$PM/storage.conf" <<EOF || die "write storage.conf"
[storage]
driver = "overlay"
graphroot = "$PM/root"
runroot = "$PM/run"
EOF
export CONTAINERS_CONF=$PM/containers.conf
export CONTAINERS_STORAGE_CONF=$PM/storage.conf
pm() { timeout -k 5 "${PM_TIMEOUT:-120}" podman "$@"; }
# umount_under DIR: detach every mount below DIR, the deepest first
umount_under() {
	awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do umount -l "$m"; done
}
# remove_containers: every container of this test. podman 4.3's rm -a may
# try a container before the one that joined its network (--network
# container:) and give up on it ("has dependent containers"): go again.
remove_containers() {
	local i
	for ((i = 0; i < 3; i++)); do
		[ -n "$(pm ps -aq)" ] || return 0
		pm rm -f -t 0 -a
	done
	[ -z "$(pm ps -aq)" ]
}
# The containers go first, then what podman left mounted in $PM; the images
# go with $WORK.
at_exit "remove_containers; umount_under '$PM'"

# base NAME ARG: import the cached base as localhost/NAME:$TAG
base() {
	base_tar "$1" "$2"
	[ -s "$BASE_TAR" ] || die "$BASE_TAR is gone"
	pm import -q "$BASE_TAR" "localhost/$1:$TAG" >/dev/null ||
		die "podman import $BASE_TAR"
}
t=$SECONDS
base tcpfs-build-base BUILD_PACKAGES
base tcpfs-run-base RUN_PACKAGES
T_IMPORT=$((SECONDS - t))

# --- the image, offline
t=$SECONDS
if PM_TIMEOUT=600 pm build --network=none --pull=never -f "$SRC/Containerfile" \
	--build-arg BUILD_BASE=localhost/tcpfs-build-base:$TAG \
	--build-arg RUN_BASE=localhost/tcpfs-run-base:$TAG \
	-t "$IMAGE" "$SRC" >"$WORK/build.log" 2>&1; then
	pass "podman build --network=none --pull=never"
else
	die "podman build: $(tail -n 15 "$WORK/build.log")"
fi
T_BUILD=$((SECONDS - t))
grep -q '^need-packages: all [0-9]* present' "$WORK/build.log" ||
	fail "a stage installed packages offline (see need-packages in the build log)"
size=$(pm image inspect -f '{{.Size}}' "$IMAGE")
bsize=$(pm image inspect -f '{{.Size}}' "localhost/tcpfs-build-base:$TAG")
log "image $((size / 1000000)) MB (build base $((bsize / 1000000)) MB);" \
	"imports ${T_IMPORT} s, build ${T_BUILD} s"
# only shared libraries, not the build stage: well under the build base
if [ "$size" -lt 150000000 ]; then pass "runtime image size"; else
	fail "runtime image is $size bytes; it should hold only tcpfs and its libraries"
fi

# run IMAGE's COMMAND in a throwaway container
prun() { pm run --rm --network=none --entrypoint "$1" "$IMAGE" "${@:2}"; }
ldd_out=$(prun ldd /usr/sbin/tcpfs 2>&1)
assert_match 'libfuse3\.so\.3 => /' "$ldd_out" "ldd: libfuse3 resolves"
assert_match 'libmnl\.so\.0 => /' "$ldd_out" "ldd: libmnl resolves"
if grep -q 'not found' <<<"$ldd_out"; then
	fail "ldd tcpfs in the image: $(grep 'not found' <<<"$ldd_out")"
else
	pass "every shared library of tcpfs is in the image"
fi
assert_match '^tcpfs [0-9]' "$(prun /usr/sbin/tcpfs -V 2>&1 | head -n 1)" "tcpfs -V runs in the image"
assert_eq "" "$(prun sh -c 'command -v gcc cc clang meson ninja' 2>&1)" "no build tools in the runtime image"
assert_ok "fusermount3 in the image" prun fusermount3 -V >/dev/null
assert_ok "the man page in the image" prun test -s /usr/share/man/man8/tcpfs.8

# need-packages installs only what is missing: here, offline, it tries for
# the missing one alone (and fails, with no network)
np=$(pm run --rm --network=none -v "$SRC/deploy/need-packages.sh:/np:ro" \
	"localhost/tcpfs-run-base:$TAG" sh /np libmnl0 tcpfs-no-such-package 2>&1)
assert_match '^need-packages: installing tcpfs-no-such-package$' \
	"$(head -n 1 <<<"$np")" "need-packages asks apt for the missing package only"

# --- sockets to look for, each in its own namespace
# the namespace of this test (the host-wide daemon's: --network=host)
start_holder hh
hold_ok hh listen l 4 127.0.0.1 0
hold_ok hh name l
NH=$HELD

# A workload container, started before tcpfs: the host's tcpfs directory
# bind-mounted read-only, as deploy/k8s/pod-example.yaml does.
D=$WORK/run-tcpfs
mkdir -p "$D" && mount --bind "$D" "$D" && mount --make-shared "$D" ||
	die "cannot make $D a shared bind mount"
at_exit "while is_mounted '$D'; do umount -l '$D' || break; done"
pm run -d --name "web-$TAG" --network=none -v "$D:/run/tcpfs:ro,rslave" \
	--entrypoint sleep "$IMAGE" 600 >/dev/null || die "podman run web"
WEB_PID=$(pm inspect -f '{{.State.Pid}}' "web-$TAG")
[ -n "$WEB_PID" ] && [ "$WEB_PID" -gt 0 ] || die "no pid for web-$TAG"
# its listener, started from the host in its network namespace
start_holder hw nsenter -n -t "$WEB_PID"
hold_ok hw listen l 4 127.0.0.1 0
hold_ok hw name l
NW=$HELD
[ "$(readlink "/proc/$WEB_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ] ||
	die "web-$TAG is in this test's network namespace"

# lists LISTING NAME: the kernel/ LISTING (ls -1) holds NAME
lists() { grep -qxF -- "$2" <<<"$1"; }

# --- the host-wide daemon, as README.md runs it (--network=host here is this
# test's namespace)
pm run -d --name "tcpfs-$TAG" --pid=host --network=host \
	--device /dev/fuse --device /dev/net/tun \
	--cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE \
	--cap-add BPF --cap-add PERFMON \
	--security-opt apparmor=unconfined --security-opt unmask=/proc/sys \
	-v "$D:/run/tcpfs:rshared" "$IMAGE" >/dev/null ||
	die "podman run the host-wide daemon"
wait_until 20 test -d "$D/kernel" ||
	die "$D/kernel did not appear in 20 s: $(pm logs "tcpfs-$TAG" 2>&1 | tail -n 5)"
pass "the daemon's mount propagates to the host (rshared)"
host_ls=$(ls -1 "$D/kernel")
if lists "$host_ls" "$NH"; then pass "host: kernel/ lists this namespace's listener"; else
	fail "host: $D/kernel lacks $NH: $host_ls"
fi
if lists "$host_ls" "$NW"; then fail "host: kernel/ lists web's $NW"; else
	pass "host: kernel/ does not list the other namespace's socket"
fi
# --pid=host: the daemon sees the holder's process, by its host pid
pid_line=$(cat "$D/kernel/$NH/pid" 2>&1)
assert_match "^${H_PID[hh]} " "$pid_line" "pid file names the host pid (--pid=host)"
assert_match '^[0-9]+$' "$(cat "$D/engine/clone" 2>&1)" \
	"the host-wide daemon's engine runs (/dev/net/tun, NET_ADMIN, /proc/sys)"

# the workload container, started before the mount, sees it (rslave), and
# in it the namespace tcpfs(8) says: its own where kernel/ is per reader,
# else the daemon's
web_ls=$(pm exec "web-$TAG" ls -1 /run/tcpfs/kernel 2>&1)
if grep -q 'shows each reader' "$SRC/man/tcpfs.8"; then
	own=$NW other=$NH view="its own namespace (per reader)"
else
	own=$NH other=$NW view="the daemon's namespace"
fi
if lists "$web_ls" "$own" && ! lists "$web_ls" "$other"; then
	pass "workload container sees the mount made after it started: $view"
else
	fail "workload container: /run/tcpfs/kernel should list $own, not $other ($view): $web_ls"
fi
# (":ro" makes the bind of $D read-only, not the tcpfs mount that reaches it
# later by propagation: README.md says so; no write is tried here, as it would
# reach the host's sockets through a tcpfs that is not per reader)

# podman stop: the daemon unmounts, and the unmount reaches the host and the
# workload; started again, its new mount reaches both (no dead mount left)
pm stop -t 10 "tcpfs-$TAG" >/dev/null || fail "podman stop the host-wide daemon"
# 0, not 137: no copy of the mount (the workload's follows it, rslave) kept
# the daemon alive until podman killed it
assert_eq 0 "$(pm inspect -f '{{.State.ExitCode}}' "tcpfs-$TAG")" \
	"podman stop: the daemon unmounts and exits by itself"
if wait_until 10 bash -c "! test -d '$D/kernel'"; then
	pass "podman stop: the mount is gone from the host"
else
	fail "podman stop: $D/kernel is still there"
fi
assert_eq 1 "$(count_mounts "$D")" "podman stop: only the bind is left on $D"
assert_fails "podman stop: the mount is gone from the workload" \
	pm exec "web-$TAG" test -d /run/tcpfs/kernel
pm start "tcpfs-$TAG" >/dev/null || fail "podman start the host-wide daemon"
if wait_until 20 pm exec "web-$TAG" test -d /run/tcpfs/kernel; then
	pass "podman start: the new mount reaches the workload"
else
	fail "podman start: no /run/tcpfs/kernel in the workload in 20 s"
fi

# Killed, the daemon leaves a dead mount on the host (ENOTCONN) that stops
# its own restart (runc cannot stat the volume); README's recovery, umount
# -l on the host, lets it start again, and the workload sees the new mount.
pm kill -s KILL "tcpfs-$TAG" >/dev/null || fail "podman kill the host-wide daemon"
wait_until 10 bash -c "[ \"\$(podman ps -q -f name=tcpfs-$TAG)\" = '' ]"
assert_eq 2 "$(count_mounts "$D")" "podman kill: a dead mount stays on the host"
assert_fails "podman kill: the daemon cannot start on its dead mount" \
	pm start "tcpfs-$TAG" 2>/dev/null
umount -l "$D" || fail "umount -l $D"
pm start "tcpfs-$TAG" >/dev/null || fail "podman start after umount -l"
if wait_until 20 pm exec "web-$TAG" test -d /run/tcpfs/kernel; then
	pass "umount -l, podman start: the new mount reaches the workload"
else
	fail "umount -l, podman start: no /run/tcpfs/kernel in the workload in 20 s"
fi

# --- the debug form: a daemon in web's network namespace
pm run -d --name "dbg-$TAG" --network "container:web-$TAG" \
	--device /dev/fuse --device /dev/net/tun \
	--cap-add SYS_ADMIN --cap-add NET_ADMIN \
	--security-opt apparmor=unconfined --security-opt unmask=/proc/sys \
	"$IMAGE" >/dev/null || die "podman run the debug form"
DBG_PID=$(pm inspect -f '{{.State.Pid}}' "dbg-$TAG")
assert_eq "$(readlink "/proc/$WEB_PID/ns/net")" "$(readlink "/proc/$DBG_PID/ns/net")" \
	"--network container: shares web's network namespace"
indbg() { pm exec "dbg-$TAG" "$@"; }
wait_until 20 indbg test -d /run/tcpfs/kernel ||
	die "debug form: no /run/tcpfs/kernel in 20 s: $(pm logs "dbg-$TAG" 2>&1 | tail -n 5)"
dbg_ls=$(indbg ls -1 /run/tcpfs/kernel 2>&1)
if lists "$dbg_ls" "$NW"; then pass "debug form: kernel/ lists web's listener"; else
	fail "debug form: kernel/ lacks $NW: $dbg_ls"
fi
if lists "$dbg_ls" "$NH"; then fail "debug form: kernel/ lists the host's $NH"; else
	pass "debug form: kernel/ does not list the host's socket"
fi
assert_match '^[0-9]+$' "$(indbg cat /run/tcpfs/engine/clone 2>&1)" \
	"debug form: the engine runs in web's namespace"
assert_ok "debug form: its TUN device is in web's namespace" \
	nsenter -n -t "$WEB_PID" ip link show tcpfs0 >/dev/null

# nothing of the test's containers is left running
assert_ok "every container removed" remove_containers >/dev/null 2>&1
assert_fails "web's process is gone" kill -0 "$WEB_PID" 2>/dev/null

log "whole test: $(($(date +%s) - CONTAINER_T0)) s (imports ${T_IMPORT} s, build ${T_BUILD} s)"
finish
