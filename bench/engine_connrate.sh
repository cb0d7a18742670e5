#!/bin/bash
# bench/engine_connrate.sh: connect+close rate to one peer, with the
# engine's TIME_WAIT reuse on and off, beside the kernel's own rate with
# tcp_tw_reuse=1 over the same number of ephemeral ports, measured in the
# same run (bench/engine_connrate.c):
#   kernel      the kernel's client to a kernel server on loopback
#   engine on   the engine's driver without FUSE (as bench/engine_raw.c),
#               --tw-reuse=on, to the same server over its TUN device
#   engine off  the same with --tw-reuse=off: once every port holds a
#               TIME_WAIT connection, connects are refused until 2 MSL end
#   fs on/off   the mounted daemon: clone, "connect", "close" by ctl, with
#               --tw-reuse=on and off and --ports=$FS_PORTS, narrower, so
#               that the slower path runs out within DUR (once each;
#               FUSE's own cost is another bench's, this shows the effect
#               through it)
# Every client closes first, so its side of every connection ends in
# TIME_WAIT (MSL 30 s: 60 s, longer than a run). Prints connects a second
# (median of REPS) and refused connects (EADDRNOTAVAIL).
#
# Without reuse the long-run rate is at most PORTS / 60 s, whatever the
# speed: the script prints that bound beside the figures of DUR.
#
# usage: sudo bench/engine_connrate.sh
# env:   BUILD (../build), PORTS (32768-60999, the default: 28,232), DUR (10 s per
#        run), REPS (3), FS (1; 0: no run through the filesystem), FS_PORTS
#        (40000-44095: 4,096)
set -u -o pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin
HERE=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:=$HERE/../build}" "${PORTS:=32768-60999}" "${DUR:=10}" "${REPS:=3}" "${FS:=1}"
: "${FS_PORTS:=40000-44095}"
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "engine_connrate: no build directory" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "engine_connrate: run as root" >&2; exit 77; }
[ -c /dev/net/tun ] || { echo "engine_connrate: no /dev/net/tun" >&2; exit 77; }
# a network and mount namespace of its own: the TUN device, the sysctls
if [ "${CONNRATE_INNER:-}" != "$$" ]; then
	CONNRATE_INNER=$$ exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi
WORK=$(mktemp -d /tmp/tcpfs-connrate.XXXXXX)
SRV=() DPID=
cleanup() {
	[ -z "$DPID" ] || { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
	umount -l "$WORK/mnt" 2>/dev/null
	for p in "${SRV[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

BIN=$WORK/engine_connrate
cc -O2 -flto -D_GNU_SOURCE -I"$HERE/../include" -o "$BIN" "$HERE/engine_connrate.c" \
	"$BUILD/src/drv/libdrv.a" "$BUILD/src/util/libutil.a" "$BUILD/src/tcp/libtcp.a" \
	"$BUILD/src/link/liblink.a" "$BUILD/src/wire/libwire.a" \
	$(pkg-config --libs libmnl fuse3) -lm || exit 1

lo=${PORTS%-*} hi=${PORTS#*-}
ip link set lo up
sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="$lo $hi"
# one server (port 9300) for the engine; one a repetition for the kernel,
# whose TIME_WAIT sockets of a run must not be the next one's
PORT=9300
SRV=()
for ((p = PORT; p <= PORT + REPS; p++)); do
	"$BIN" serve $p &
	SRV+=($!)
done
for ((i = 0; i < 50; i++)); do [ "$(ss -tlnH | wc -l)" -gt "$REPS" ] && break; sleep 0.1; done

echo "engine_connrate: $(date -u '+%F %T UTC'); $(uname -r); $(nproc) CPUs; uptime:$(uptime)"
echo "tcpfs: $BUILD ($(git -C "$HERE/.." describe --always --dirty 2>/dev/null || echo 'no git'))"
echo "PORTS=$PORTS ($((hi - lo + 1)) ports) DUR=${DUR}s REPS=$REPS; TIME_WAIT 60 s; kernel tcp_tw_reuse=1, tcp_tw_reuse_delay=$(sysctl -n net.ipv4.tcp_tw_reuse_delay 2>/dev/null || echo '?') ms"

# run NAME CMD...: one measurement, "CONNECTS REFUSED SECONDS" into R_NAME
declare -A RATE REF
run() {
	local name=$1 out
	shift
	out=$("$@" 2>"$WORK/err") || { echo "  $name: failed: $(tail -n 2 "$WORK/err")"; return; }
	read -r n r s <<<"$out"
	RATE[$name]+="$(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.0f", n / s }') "
	REF[$name]+="$r "
	printf '  %-10s %7d connects %7d refused %6.2f s  %8.0f/s\n' "$name" "$n" "$r" "$s" \
		"$(awk -v n="$n" -v s="$s" 'BEGIN { print n / s }')"
}
. "$HERE/stats.sh"

for ((rep = 1; rep <= REPS; rep++)); do
	echo "rep $rep:"
	run kernel "$BIN" kernel 127.0.0.1 $((PORT + rep)) "$DUR"
	run "engine on" env PORTS="$PORTS" TW_REUSE=on MSL=30 "$BIN" engine 198.19.253.1 $PORT "$DUR"
	run "engine off" env PORTS="$PORTS" TW_REUSE=off MSL=30 "$BIN" engine 198.19.253.1 $PORT "$DUR"
done

fsrun() { # fsrun on|off
	"$BUILD/src/tcpfs" "$WORK/mnt" -f --ports="$FS_PORTS" --msl=30 --tw-reuse="$1" >"$WORK/tcpfs.log" 2>&1 &
	DPID=$!
	for ((i = 0; i < 100; i++)); do [ -d "$WORK/mnt/engine" ] && break; sleep 0.1; done
	sleep 1 # the TUN device's addresses
	run "fs $1" "$BIN" fs "$WORK/mnt" 198.19.253.1 $PORT "$DUR"
	kill "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
}
if [ "$FS" = 1 ]; then
	mkdir -p "$WORK/mnt"
	echo "through the filesystem (once each, --ports=$FS_PORTS):"
	fsrun on
	fsrun off
fi

k=$(median <<<"${RATE[kernel]}")
on=$(median <<<"${RATE[engine on]}")
off=$(median <<<"${RATE[engine off]}")
echo "medians: kernel ${k}/s, engine on ${on}/s (refused $(median <<<"${REF[engine on]}")), engine off ${off}/s (refused $(median <<<"${REF[engine off]}"))"
awk -v k="$k" -v on="$on" -v off="$off" -v n=$((hi - lo + 1)) 'BEGIN {
	printf "ratios: engine on / engine off %.2f (over %d s); engine on / kernel %.2f\n", off ? on / off : 0, '"$DUR"', k ? on / k : 0
	printf "without reuse, in the long run: at most %d ports / 60 s = %.0f/s (engine on / that: %.1f)\n", n, n / 60, on / (n / 60) }'
if [ "$FS" = 1 ]; then
	awk -v on="${RATE[fs on]:--}" -v off="${RATE[fs off]:--}" 'BEGIN {
		if (on == "-" || off == "-" || !off) { printf "through the filesystem: on %s/s, off %s/s (a run failed)\n", on, off; exit }
		printf "through the filesystem: on %d/s, off %d/s, ratio %.2f\n", on, off, on / off }'
fi
