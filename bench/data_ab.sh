#!/bin/bash
# bench/data_ab.sh: two builds of tcpfs, A (the reference) and B, on the
# engine -> kernel path through `data` (dd bs=1M for DUR seconds into an
# engine connection, bench/tcpio.c sink at the kernel's end), or with
# DIR=rx kernel -> engine (bench/tcpio.c serve for DUR seconds, dd bs=1M
# out of `data` to its end), the daemons alternated round by round in one
# network namespace, as root.
#
# For a change that moves a few percent on a busy machine, where
# bench/engine_tun.sh's figures swing by 1.5x with the scheduler's
# placement: the daemon runs pinned to DCPU, dd and the sink to UCPU, and
# each round's B/A ratio is taken between two transfers seconds apart.
# Prints per transfer Gbit/s and the daemon's CPU seconds per GiB moved
# (utime + stime), then the medians and the median of the rounds' ratios.
#
# usage: bench/data_ab.sh BUILD_A BUILD_B
# env:   ROUNDS (10), MTU (1500), DUR (3 s), DCPU (1), UCPU (0),
#        OFFLOAD (on), DIR (tx; rx)
set -u -o pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
: "${ROUNDS:=10}" "${MTU:=1500}" "${DUR:=3}" "${DCPU:=1}" "${UCPU:=0}" "${OFFLOAD:=on}" "${DIR:=tx}"
[ $# -eq 2 ] || { echo "usage: bench/data_ab.sh BUILD_A BUILD_B" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "data_ab: run as root" >&2; exit 77; }
for b in "$1" "$2"; do
	[ -x "$b/src/tcpfs" ] || { echo "data_ab: no tcpfs at $b/src/tcpfs" >&2; exit 1; }
done
if [ "${DATA_AB_INNER:-}" != "$$" ]; then
	DATA_AB_INNER=$$ exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi

WORK=$(mktemp -d /tmp/tcpfs-data-ab.XXXXXX)
MNT=$WORK/mnt
DPID=
. "$HERE/daemon.sh"
. "$HERE/stats.sh"
trap 'stop_daemon; rm -rf --one-file-system "$WORK"' EXIT
mkdir -p "$MNT"
cc -O2 -o "$WORK/tcpio" "$HERE/tcpio.c" || exit 1
ip link set lo up

echo "data_ab: $(date -u '+%F %T UTC'); $(uname -r); $(nproc) CPUs; DIR=$DIR MTU=$MTU DUR=${DUR}s ROUNDS=$ROUNDS; uptime:$(uptime)"
echo "  A: $1"
echo "  B: $2"
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
port=20000
# one BUILD: prints "GBITS CPU_S_PER_GIB", or "- -"
transfer() {
	local s n t0 t1 bytes secs
	taskset -c "$DCPU" "$1/src/tcpfs" "$MNT" -f --mtu="$MTU" --msl=1 --offload="$OFFLOAD" >"$WORK/log" 2>&1 &
	DPID=$!
	for ((i = 0; i < 100; i++)); do
		[ -e "$MNT/engine/clone" ] && ip link show tcpfs0 2>/dev/null | grep -q UP && break
		sleep 0.05
	done
	port=$((port + 1))
	if [ "$DIR" = rx ]; then
		taskset -c "$UCPU" timeout 60 "$WORK/tcpio" serve $port "$DUR" >/dev/null 2>&1 &
	else
		taskset -c "$UCPU" timeout 60 "$WORK/tcpio" sink $port >"$WORK/sink" 2>/dev/null &
	fi
	s=$!
	for ((i = 0; i < 100; i++)); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.02; done
	if ! n=$(timeout 5 cat "$MNT/engine/clone") || ! echo "connect 198.19.253.1:$port" >"$MNT/engine/$n/ctl"; then
		kill $s
		stop_daemon
		echo "- -"
		return
	fi
	t0=$(ticks "$DPID")
	if [ "$DIR" = rx ]; then # the go byte, then the bytes to EOF
		local e0=$EPOCHREALTIME
		printf x >"$MNT/engine/$n/data"
		taskset -c "$UCPU" dd if="$MNT/engine/$n/data" of=/dev/null bs=1M 2>"$WORK/dd"
		echo "$(awk '/bytes/ { print $1 }' "$WORK/dd") $(awk -v a="$e0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" >"$WORK/sink"
	else
		timeout -s INT "$DUR" taskset -c "$UCPU" dd if=/dev/zero of="$MNT/engine/$n/data" bs=1M 2>/dev/null
	fi
	t1=$(ticks "$DPID")
	echo close >"$MNT/engine/$n/ctl"
	wait $s
	stop_daemon
	read -r bytes secs <"$WORK/sink" || { echo "- -"; return; }
	awk -v b="$bytes" -v s="$secs" -v t=$((t1 - t0)) -v hz="$HZ" \
		'BEGIN { if (b > 0 && s > 0) printf "%.2f %.3f\n", b * 8 / s / 1e9, t / hz / (b / 2^30); else print "- -" }'
}
GA=() GB=() CA=() CB=() R=() RC=()
for ((r = 1; r <= ROUNDS; r++)); do
	# the order flips each round: what one transfer leaves behind (a
	# device torn down, caches) falls on each build alike
	if ((r % 2)); then
		read -r ga ca < <(transfer "$1")
		read -r gb cb < <(transfer "$2")
	else
		read -r gb cb < <(transfer "$2")
		read -r ga ca < <(transfer "$1")
	fi
	GA+=("$ga") GB+=("$gb") CA+=("$ca") CB+=("$cb")
	R+=("$(ratio "$gb" "$ga")") RC+=("$(ratio "$cb" "$ca")")
	echo "  round $r: A $ga Gbit/s ($ca cpu-s/GiB)  B $gb Gbit/s ($cb cpu-s/GiB)  B/A ${R[-1]}, cpu ${RC[-1]}"
done
echo "  median: A $(median "${GA[@]}") Gbit/s, $(median "${CA[@]}") cpu-s/GiB;" \
	"B $(median "${GB[@]}") Gbit/s, $(median "${CB[@]}") cpu-s/GiB"
echo "  B/A, median of the rounds' ratios: throughput $(median "${R[@]}"), daemon CPU per GiB $(median "${RC[@]}")"
echo "  uptime:$(uptime)"
