#!/bin/bash
# bench/netns_view.sh: what reading kernel/ costs a reader in another network
# namespace than the daemon's (the daemon opens sock_diag in the reader's
# namespace and keeps it), against a reader in the daemon's own, measured
# side by side in one run, as root, in fresh namespaces.
#
# Both namespaces hold N established loopback sockets (N/2 pairs). The read:
#   ls MNT/kernel | wc -l; cat MNT/kernel/*/state | sort | uniq -c
# run through `nsenter --net=NS` in each (the same wrapper both times),
# own and other alternating, RUNS runs each after one warm-up (the first
# read opens the other namespace's handles): the medians and the median of
# the runs' ratios. Then, if the mount has netns/: `ls MNT/netns` with NNS
# extra namespaces (each held by a sleeping process), its median time, and
# `ls -d /proc/*/ns/net` as a reference. Prints absolute figures and the
# ratio other/own (the target: at most 1.2).
#
# usage: bench/netns_view.sh [N]        (default 1000)
# env:   TCPFS (default build/src/tcpfs), RUNS (5), NNS (200)
set -u -o pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
: "${TCPFS:=$HERE/../build/src/tcpfs}"
: "${RUNS:=5}" "${NNS:=200}"
N=${1:-1000}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

[ "$(id -u)" -eq 0 ] || { echo "netns_view: run as root" >&2; exit 77; }
[ -x "$TCPFS" ] || { echo "netns_view: no tcpfs at $TCPFS (set TCPFS=)" >&2; exit 1; }

if [ "${NETNS_VIEW_INNER:-}" != "$$" ]; then
	NETNS_VIEW_INNER=$$ exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi

WORK=$(mktemp -d /tmp/tcpfs-bench.XXXXXX)
MNT=$WORK/mnt
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	umount -l "$MNT" 2>/dev/null
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap '' PIPE

ip link set lo up
mkdir -p "$MNT"
"$TCPFS" "$MNT" -f >"$WORK/tcpfs.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	[ -d "$MNT/kernel" ] && break
	sleep 0.1
done
[ -d "$MNT/kernel" ] || { echo "tcpfs did not mount: $(cat "$WORK/tcpfs.log")" >&2; exit 1; }

# The other namespace, held by a sleeper.
unshare --net -- sh -c 'ip link set lo up; exec sleep 3600' &
OTHER=$!
PIDS+=($OTHER)
sleep 0.2
OWN_NS=/proc/self/ns/net
OTHER_NS=/proc/$OTHER/ns/net
[ "$(readlink "$OTHER_NS")" != "$(readlink "$OWN_NS")" ] || { echo "no second namespace" >&2; exit 1; }
OWN_NS=/proc/$$/ns/net

# grow NS: N sockets in namespace NS, held by kernel_pairs.py.
grow() {
	local ns=$1 in=$WORK/in.$RANDOM out fd line
	out=$in.out
	mkfifo "$in" "$out"
	nsenter --net="$ns" -- "$PY" "$HERE/kernel_pairs.py" <"$in" >"$out" &
	PIDS+=($!)
	exec {fd}>"$in"
	echo "grow $N" >&$fd
	read -r line <"$out"
	case $line in ok*) ;; *) echo "kernel_pairs: $line" >&2; exit 1 ;; esac
	HOLD_FDS+=("$fd")
}
HOLD_FDS=()
grow "$OWN_NS"
grow "$OTHER_NS"

# time_us NS CMD: the time of one run of CMD as a reader in NS, in us; the
# output in $WORK/last.
time_us() {
	local t0 t1
	t0=$(date +%s%N)
	nsenter --net="$1" -- bash -c "$2" >"$WORK/last"
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
. "$HERE/stats.sh"

# Own and other alternate, run by run, so that a change of load on the
# machine falls on both; after one warm-up each.
READ="ls $MNT/kernel | wc -l; cat $MNT/kernel/*/state | sort | uniq -c"
echo "netns_view: $N sockets in each namespace, median of $RUNS (alternating) after a warm-up; load $(cut -d' ' -f1-3 /proc/loadavg)"
time_us "$OWN_NS" "$READ" >/dev/null
time_us "$OTHER_NS" "$READ" >/dev/null
: >"$WORK/own" >"$WORK/other" >"$WORK/ratio"
for ((i = 0; i < RUNS; i++)); do
	a=$(time_us "$OWN_NS" "$READ")
	own_n=$(head -n 1 "$WORK/last")
	b=$(time_us "$OTHER_NS" "$READ")
	other_n=$(head -n 1 "$WORK/last")
	echo "$a" >>"$WORK/own"
	echo "$b" >>"$WORK/other"
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", b / a }' >>"$WORK/ratio"
done
[ "$own_n" -ge "$N" ] && [ "$other_n" -ge "$N" ] ||
	echo "netns_view: a listing is short: own $own_n, other $other_n" >&2
own=$(median <"$WORK/own")
other=$(median <"$WORK/other")
printf 'kernel/ read (ls + cat */state), own namespace:   %8.1f ms\n' "$(awk -v t="$own" 'BEGIN { print t / 1000 }')"
printf 'kernel/ read (ls + cat */state), other namespace: %8.1f ms\n' "$(awk -v t="$other" 'BEGIN { print t / 1000 }')"
echo "ratio other/own: median of the runs' ratios $(median <"$WORK/ratio"), of the medians $(awk -v a="$other" -v b="$own" 'BEGIN { printf "%.2f", a / b }') (target <= 1.2)"
grep -q "sequence numbers are off" "$WORK/tcpfs.log" &&
	echo "(kbpf off: no sequence numbers looked up; $(grep -m1 "are off" "$WORK/tcpfs.log"))"

[ -d "$MNT/netns" ] || { echo "no netns/ in this tcpfs: ls netns/ not measured"; exit 0; }
for ((i = 0; i < NNS; i++)); do
	unshare --net -- sleep 3600 &
	PIDS+=($!)
done
sleep 0.5
count=$(ls "$MNT/netns" | wc -l)
: >"$WORK/ls" >"$WORK/ref"
for ((i = 0; i < RUNS; i++)); do
	time_us "$OWN_NS" "ls $MNT/netns | wc -l" >>"$WORK/ls"
	time_us "$OWN_NS" "ls -d /proc/[0-9]*/ns/net 2>/dev/null | wc -l" >>"$WORK/ref"
done
t=$(median <"$WORK/ls")
t2=$(median <"$WORK/ref")
printf 'ls netns/ with %d namespaces (%d listed): %.1f ms\n' "$((NNS + 2))" "$count" "$(awk -v t="$t" 'BEGIN { print t / 1000 }')"
printf 'reference, ls -d /proc/*/ns/net: %.1f ms; ratio %.2f\n' "$(awk -v t="$t2" 'BEGIN { print t / 1000 }')" "$(awk -v a="$t" -v b="$t2" 'BEGIN { print a / b }')"
